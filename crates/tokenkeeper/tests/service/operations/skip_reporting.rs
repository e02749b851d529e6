//! A run says what it did not test: a backend without a server shows its tests as ignored,
//! with the reason, and in the summary's count; so does a test one of whose checks needs a
//! tool this machine lacks. Under `CI=true` they fail instead. And no test escapes the
//! suite's harness by being written the standard way.

use crate::support::harness::conclude;
use crate::{backend_tests, service_tests};
use libtest_mimic::Completion;
use std::process::Output;
use test_databases::{Backend, TestDatabase};

backend_tests!(a_backend_test_gets_a_database_of_its_own_backend);

async fn a_backend_test_gets_a_database_of_its_own_backend(backend: Backend) {
    let db = TestDatabase::create(backend)
        .await
        .expect("the harness runs a test only where its backend is reachable");
    assert_eq!(db.backend, backend);
    let scheme = match backend {
        Backend::Sqlite => "sqlite://",
        Backend::Postgres => "postgres://",
        Backend::MySql => "mysql://",
    };
    assert!(db.url.starts_with(scheme), "{}", db.url);
}

/// This suite's binary, run again on the test above with PostgreSQL pointed at a closed port.
async fn run_without_postgres(ci: bool) -> Output {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut command = tokio::process::Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "a_backend_test_gets_a_database_of_its_own_backend",
            "--test-threads=1",
            "--color=never",
        ])
        .env(
            "TOKENKEEPER_TEST_POSTGRES_URL",
            format!("postgres://postgres@127.0.0.1:{closed_port}/postgres"),
        )
        .env_remove("CI");
    if ci {
        command.env("CI", "true");
    }
    command.output().await.expect("the suite runs")
}

service_tests!(an_unreachable_postgres_is_reported_as_skipped);
async fn an_unreachable_postgres_is_reported_as_skipped() {
    let output = run_without_postgres(false).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let postgres_line = stdout
        .lines()
        .find(|l| l.contains("operations::skip_reporting::postgres::"))
        .unwrap_or_else(|| panic!("no PostgreSQL test reported:\n{stdout}"));
    assert!(
        postgres_line.contains("... ignored (postgres unreachable: cannot reach postgres://"),
        "{postgres_line}"
    );
    assert!(
        stdout.contains("test result: ok. 2 passed; 0 failed; 1 ignored;"),
        "{stdout}"
    );
}

service_tests!(an_unreachable_postgres_fails_the_run_under_ci);
async fn an_unreachable_postgres_fails_the_run_under_ci() {
    let output = run_without_postgres(true).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(101), "{stdout}");
    assert!(
        stdout.contains("under CI=true every backend must run"),
        "{stdout}"
    );
    assert!(
        stdout.contains("test result: FAILED. 2 passed; 1 failed; 0 ignored;"),
        "{stdout}"
    );
}

service_tests!(a_check_that_did_not_run_is_ignored_outside_ci_and_fails_under_it);
async fn a_check_that_did_not_run_is_ignored_outside_ci_and_fails_under_it() {
    for ci in [false, true] {
        assert!(matches!(
            conclude(Vec::new(), ci),
            Ok(Completion::Completed)
        ));
    }
    let not_run = || vec!["no python3".to_owned(), "no chromedriver".to_owned()];
    match conclude(not_run(), false) {
        Ok(Completion::Ignored { reason }) => {
            assert_eq!(reason.as_deref(), Some("no python3; no chromedriver"));
        }
        _ => panic!("expected the test ignored"),
    }
    let Err(failed) = conclude(not_run(), true) else {
        panic!("expected a failure under CI");
    };
    let message = failed.message().unwrap();
    assert!(message.contains("no python3; no chromedriver"), "{message}");
    assert!(
        message.contains("under CI=true every check must run"),
        "{message}"
    );
}

/// The tests whose checks need a tool besides cargo, one of them in a process of its own,
/// run by this suite's binary again where neither python3, chromedriver nor schemathesis's
/// `st` can be found.
async fn run_without_tools(ci: bool) -> Output {
    let mut command = tokio::process::Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "--test-threads=1",
            "--color=never",
            "webhooks::delivery::sqlite::events_are_signed_so_the_specifications_library_verifies_them",
            "webhooks::delivery::sqlite::a_refused_delivery_is_retried_with_backoff_until_delivered",
            "admin::admin_browser::the_dashboard_works_in_a_real_browser",
            "api::schemathesis::schemathesis_finds_no_failure_in_the_host_api",
        ])
        .env("PATH", "/nonexistent")
        .env_remove("CI");
    if ci {
        command.env("CI", "true");
    }
    command.output().await.expect("the suite runs")
}

service_tests!(tests_whose_tools_are_missing_are_reported_ignored_with_the_reason);
async fn tests_whose_tools_are_missing_are_reported_ignored_with_the_reason() {
    let output = run_without_tools(false).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} not reported:\n{stdout}"))
            .to_owned()
    };
    let python = "... ignored (webhook signatures not verified: python3 cannot run";
    for name in [
        "webhooks::delivery::sqlite::events_are_signed",
        "webhooks::delivery::sqlite::a_refused_delivery",
    ] {
        let reported = line(name);
        assert!(reported.contains(python), "{reported}");
        assert!(
            reported.contains("pip install standardwebhooks"),
            "{reported}"
        );
    }
    let browser = line("admin::admin_browser::");
    assert!(
        browser.contains(
            "... ignored (the dashboard not tried in a browser: chromedriver is not installed"
        ),
        "{browser}"
    );
    let schemathesis = line("api::schemathesis::");
    assert!(
        schemathesis.contains("... ignored (the OpenAPI document not checked: st cannot run"),
        "{schemathesis}"
    );
    assert!(
        schemathesis.contains("pip install schemathesis=="),
        "{schemathesis}"
    );
    assert!(
        stdout.contains("test result: ok. 0 passed; 0 failed; 4 ignored;"),
        "{stdout}"
    );
}

service_tests!(tests_whose_tools_are_missing_fail_the_run_under_ci);
async fn tests_whose_tools_are_missing_fail_the_run_under_ci() {
    let output = run_without_tools(true).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(101), "{stdout}");
    assert!(
        stdout.contains("under CI=true every check must run"),
        "{stdout}"
    );
    assert!(
        stdout.contains("test result: FAILED. 0 passed; 4 failed; 0 ignored;"),
        "{stdout}"
    );
}

service_tests!(every_test_in_the_suite_is_registered);
async fn every_test_in_the_suite_is_registered() {
    // The standard attributes compile here but their tests would never run.
    let attributes = ["#[test]", "#[tokio::test"];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/service");
    let mut unregistered = Vec::new();
    let mut files = Vec::new();
    let mut folders = vec![dir];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(
        files.len() > 70,
        "the suite's files were not found: {files:?}"
    );
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap();
        for (number, line) in source.lines().enumerate() {
            if attributes.iter().any(|a| line.trim_start().starts_with(a)) {
                unregistered.push(format!("{}:{}", path.display(), number + 1));
            }
        }
    }
    assert_eq!(
        unregistered,
        Vec::<String>::new(),
        "register these with backend_tests! or service_tests!"
    );
}

service_tests!(several_filters_select_the_tests_any_of_them_names);
async fn several_filters_select_the_tests_any_of_them_names() {
    // As with the standard harness: `cargo test -- one two` runs both.
    let output = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--list",
            "--exact",
            "operations::skip_reporting::sqlite::a_backend_test_gets_a_database_of_its_own_backend",
            "operations::skip_reporting::every_test_in_the_suite_is_registered",
        ])
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    let listed: Vec<_> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test").map(str::to_owned))
        .collect();
    assert_eq!(
        listed,
        [
            "operations::skip_reporting::every_test_in_the_suite_is_registered",
            "operations::skip_reporting::sqlite::a_backend_test_gets_a_database_of_its_own_backend",
        ]
    );
}
