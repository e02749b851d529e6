//! `tokenkeeper doctor`, each check failing and passing through real sockets: the database,
//! an SMTP server, the fake LinkedIn (which tells a wrong client secret from a right one as
//! LinkedIn does) and the running service's callback URL. The binary is run once each way
//! for its exit code and its lines.

use crate::email::smtp::{silent_server, SmtpServer};
use crate::support::{spawn, spawn_app, Setup, TestApp};
use crate::{backend_tests, service_tests};
use fake_linkedin::InvalidRefreshStyle;
use secrecy::SecretString;
use std::process::Output;
use std::time::Duration;
use test_databases::{Backend, TestDatabase};
use tokenkeeper::config::{Config, SmtpSecurity};
use tokenkeeper::doctor::{examine, Diagnosis, Level};
use url::Url;

service_tests!(
    doctor_passes_a_service_that_works,
    doctor_tells_a_wrong_client_secret_from_a_right_one,
    doctor_accepts_both_answers_linkedin_gives_right_credentials,
    doctor_fails_when_linkedin_cannot_be_reached,
    doctor_fails_an_unreachable_database_without_showing_its_url,
    doctor_fails_an_smtp_server_that_is_down_silent_or_refuses_the_login,
    doctor_fails_a_callback_url_that_does_not_reach_the_service,
    doctor_binary_exits_zero_when_all_is_well_and_one_naming_the_fix_otherwise,
    doctor_checks_each_provider_and_tells_a_wrong_secret_from_a_right_one,
);
backend_tests!(only [Postgres, MySql]: doctor_fails_a_database_server_that_refuses_us);
backend_tests!(doctor_warns_about_migrations_not_applied);

/// The spawned service's configuration as an operator of it would have it: the public URL is
/// where the service listens, and mail goes to `smtp`.
fn operator_config(app: &TestApp, smtp: &SmtpServer) -> Config {
    let mut config = app.config.clone();
    config.http.public_url = Some(app.base.clone());
    config.smtp.host = "127.0.0.1".into();
    config.smtp.port = smtp.port;
    config.smtp.security = SmtpSecurity::None;
    config
}

fn level(diagnosis: &Diagnosis, check: &str) -> Level {
    diagnosis
        .finding(check)
        .unwrap_or_else(|| panic!("no {check} finding in\n{diagnosis}"))
        .level
}

fn message<'a>(diagnosis: &'a Diagnosis, check: &str) -> &'a str {
    &diagnosis.finding(check).unwrap().message
}

async fn doctor_passes_a_service_that_works() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let diagnosis = examine(&operator_config(&app, &smtp)).await;
    assert!(diagnosis.healthy(), "{diagnosis}");
    for check in [
        "configuration",
        "database",
        "tokens",
        "smtp",
        "linkedin",
        "callback",
    ] {
        assert_eq!(level(&diagnosis, check), Level::Ok, "{diagnosis}");
    }
    assert!(diagnosis.to_string().ends_with("all checks passed\n"));
    // The hello was said, and nothing was sent.
    assert!(smtp.received().is_empty());
}

async fn doctor_tells_a_wrong_client_secret_from_a_right_one() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let mut config = operator_config(&app, &smtp);
    let right = examine(&config).await;
    assert_eq!(level(&right, "linkedin"), Level::Ok, "{right}");
    assert!(message(&right, "linkedin").contains("accepts"), "{right}");

    config.linkedin.client_secret = SecretString::from("a-wrong-secret-value");
    let wrong = examine(&config).await;
    assert_eq!(level(&wrong, "linkedin"), Level::Fail, "{wrong}");
    assert!(!wrong.healthy());
    let said = message(&wrong, "linkedin");
    assert!(
        said.contains("invalid_client") || said.contains("401"),
        "{said}"
    );
    assert!(said.contains("linkedin.client_secret"), "{said}");
    assert!(
        !wrong.to_string().contains("a-wrong-secret-value"),
        "{wrong}"
    );
    assert!(wrong.to_string().ends_with("1 check failed\n"), "{wrong}");
}

async fn doctor_accepts_both_answers_linkedin_gives_right_credentials() {
    let mut fake = Setup::default().fake;
    fake.invalid_refresh_style = InvalidRefreshStyle::InvalidRequest;
    let Some(app) = spawn(
        Backend::Sqlite,
        Setup {
            fake,
            ..Setup::default()
        },
    )
    .await
    else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let diagnosis = examine(&operator_config(&app, &smtp)).await;
    assert_eq!(level(&diagnosis, "linkedin"), Level::Ok, "{diagnosis}");

    // An app without programmatic refresh is refused the grant itself: its credentials are
    // right all the same.
    let mut fake = Setup::default().fake;
    fake.partner = false;
    let Some(app) = spawn(
        Backend::Sqlite,
        Setup {
            fake,
            ..Setup::default()
        },
    )
    .await
    else {
        return;
    };
    let diagnosis = examine(&operator_config(&app, &smtp)).await;
    assert_eq!(level(&diagnosis, "linkedin"), Level::Ok, "{diagnosis}");
    assert!(
        message(&diagnosis, "linkedin").contains("no programmatic refresh"),
        "{diagnosis}"
    );
}

/// A local port nobody listens on.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

async fn doctor_fails_when_linkedin_cannot_be_reached() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let mut config = operator_config(&app, &smtp);
    config.linkedin.token_url = Url::parse(&format!(
        "http://127.0.0.1:{}/oauth/v2/accessToken",
        closed_port().await
    ))
    .unwrap();
    let diagnosis = examine(&config).await;
    assert_eq!(level(&diagnosis, "linkedin"), Level::Fail, "{diagnosis}");
    assert!(
        message(&diagnosis, "linkedin").contains("network"),
        "{diagnosis}"
    );

    // A URL that answers, but is no token endpoint.
    config.linkedin.token_url = app.url("/oauth/v2/accessToken");
    let diagnosis = examine(&config).await;
    assert_eq!(level(&diagnosis, "linkedin"), Level::Fail, "{diagnosis}");
    assert!(
        message(&diagnosis, "linkedin").contains("linkedin.token_url"),
        "{diagnosis}"
    );
}

async fn doctor_fails_an_unreachable_database_without_showing_its_url() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let mut config = operator_config(&app, &smtp);
    let url = format!(
        "postgres://keeper:hunter2-db-password@127.0.0.1:{}/tokens",
        closed_port().await
    );
    config.database_url = Config::load_from(
        None,
        [
            ("TOKENKEEPER_DATABASE_URL".to_owned(), url),
            (
                "TOKENKEEPER_LINKEDIN__CLIENT_ID".to_owned(),
                "id".to_owned(),
            ),
            (
                "TOKENKEEPER_LINKEDIN__CLIENT_SECRET".to_owned(),
                "secret".to_owned(),
            ),
            (
                "TOKENKEEPER_CONNECT__SIGNING_KEY".to_owned(),
                "signing-key-0123456789abcdef0123456789".to_owned(),
            ),
        ],
    )
    .unwrap()
    .database_url;
    let diagnosis = examine(&config).await;
    assert_eq!(level(&diagnosis, "database"), Level::Fail, "{diagnosis}");
    let shown = diagnosis.to_string();
    assert!(shown.contains("cannot be reached at 127.0.0.1:"), "{shown}");
    assert!(!shown.contains("hunter2-db-password"), "{shown}");
    assert!(!shown.contains("keeper:"), "{shown}");
}

/// A server that answers, but not for this database: it exists nowhere.
async fn doctor_fails_a_database_server_that_refuses_us(backend: Backend) {
    let Some(app) = spawn(backend, Setup::default()).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let mut config = operator_config(&app, &smtp);
    let mut url = Url::parse(app.config.database_url.expose()).unwrap();
    url.set_path("tk_no_such_database");
    let mut vars = app.process_env();
    vars.retain(|(k, _)| k != "TOKENKEEPER_DATABASE_URL");
    vars.push(("TOKENKEEPER_DATABASE_URL".into(), url.to_string()));
    config.database_url = Config::load_from(None, vars).unwrap().database_url;
    let diagnosis = examine(&config).await;
    assert_eq!(level(&diagnosis, "database"), Level::Fail, "{diagnosis}");
    let said = message(&diagnosis, "database");
    assert!(said.starts_with("cannot open the "), "{said}");
    assert!(said.contains("database name"), "{said}");
}

/// Every backend tells which migrations it lacks, the bookkeeping table absent included, and
/// MariaDB whether its buffer pool holds the accounts.
async fn doctor_warns_about_migrations_not_applied(backend: Backend) {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let Some(fresh) = TestDatabase::create(backend).await else {
        return;
    };
    let mut config = operator_config(&app, &smtp);
    let mut vars: Vec<(String, String)> = app.process_env();
    vars.retain(|(k, _)| k != "TOKENKEEPER_DATABASE_URL");
    vars.push(("TOKENKEEPER_DATABASE_URL".into(), fresh.url.clone()));
    config.database_url = Config::load_from(None, vars).unwrap().database_url;
    let diagnosis = examine(&config).await;
    assert_eq!(level(&diagnosis, "database"), Level::Warn, "{diagnosis}");
    assert!(
        message(&diagnosis, "database").contains("tokenkeeper migrate"),
        "{diagnosis}"
    );
    // A warning is no failure.
    assert!(diagnosis.healthy(), "{diagnosis}");

    tokenkeeper::store::migrate_database(&fresh.url)
        .await
        .unwrap();
    let diagnosis = examine(&config).await;
    assert_eq!(level(&diagnosis, "database"), Level::Ok, "{diagnosis}");
    // On MariaDB it also says whether InnoDB's buffer pool holds the accounts table (a new
    // one always fits); the other databases read through the system's cache.
    let said = message(&diagnosis, "database");
    match backend {
        Backend::MySql => assert!(
            said.contains("InnoDB's buffer pool (")
                && said.contains("MB) holds the accounts table ("),
            "{said}"
        ),
        Backend::Sqlite | Backend::Postgres => assert!(!said.contains("InnoDB"), "{said}"),
    }
}

async fn doctor_fails_an_smtp_server_that_is_down_silent_or_refuses_the_login() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let mut config = operator_config(&app, &smtp);

    config.smtp.port = closed_port().await;
    let diagnosis = examine(&config).await;
    assert_eq!(level(&diagnosis, "smtp"), Level::Fail, "{diagnosis}");
    assert!(
        message(&diagnosis, "smtp").contains("smtp.port"),
        "{diagnosis}"
    );

    config.smtp.port = silent_server().await;
    config.smtp.timeout = Duration::from_millis(300);
    let diagnosis = examine(&config).await;
    assert_eq!(level(&diagnosis, "smtp"), Level::Fail, "{diagnosis}");
    assert!(
        message(&diagnosis, "smtp").contains("did not finish"),
        "{diagnosis}"
    );

    smtp.require_auth("keeper", "right-password");
    config.smtp.port = smtp.port;
    config.smtp.timeout = Duration::from_secs(10);
    config.smtp.username = "keeper".into();
    config.smtp.password = SecretString::from("wrong-password");
    let diagnosis = examine(&config).await;
    assert_eq!(level(&diagnosis, "smtp"), Level::Fail, "{diagnosis}");
    assert!(
        message(&diagnosis, "smtp").contains("smtp.password"),
        "{diagnosis}"
    );
    assert!(!diagnosis.to_string().contains("wrong-password"));

    config.smtp.password = SecretString::from("right-password");
    let diagnosis = examine(&config).await;
    assert_eq!(level(&diagnosis, "smtp"), Level::Ok, "{diagnosis}");
    assert_eq!(smtp.authenticated(), ["keeper"]);
    assert!(smtp.received().is_empty());
}

async fn doctor_fails_a_callback_url_that_does_not_reach_the_service() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let mut config = operator_config(&app, &smtp);

    config.http.public_url =
        Some(Url::parse(&format!("http://127.0.0.1:{}/", closed_port().await)).unwrap());
    let diagnosis = examine(&config).await;
    assert_eq!(level(&diagnosis, "callback"), Level::Fail, "{diagnosis}");
    assert!(
        message(&diagnosis, "callback").contains("cannot be reached"),
        "{diagnosis}"
    );

    // Another server answers there (the fake LinkedIn, as a proxy routing elsewhere would).
    let elsewhere = Url::parse(&app.fake.token_url())
        .unwrap()
        .join("/")
        .unwrap();
    config.http.public_url = Some(elsewhere);
    let diagnosis = examine(&config).await;
    assert_eq!(level(&diagnosis, "callback"), Level::Fail, "{diagnosis}");
    assert!(
        message(&diagnosis, "callback").contains("not as tokenkeeper does"),
        "{diagnosis}"
    );
}

/// Runs the built binary's `doctor` with exactly these variables.
async fn doctor(vars: Vec<(String, String)>) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tokenkeeper"));
    command.arg("doctor").env_clear().envs(vars);
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs"))
        .await
        .unwrap()
}

async fn doctor_binary_exits_zero_when_all_is_well_and_one_naming_the_fix_otherwise() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let mut vars = app.process_env();
    vars.extend([
        ("TOKENKEEPER_HTTP__PUBLIC_URL".into(), app.base.to_string()),
        ("TOKENKEEPER_SMTP__HOST".into(), "127.0.0.1".into()),
        ("TOKENKEEPER_SMTP__PORT".into(), smtp.port.to_string()),
        ("TOKENKEEPER_SMTP__SECURITY".into(), "none".into()),
    ]);
    let healthy = doctor(vars.clone()).await;
    let stdout = String::from_utf8_lossy(&healthy.stdout);
    assert!(healthy.status.success(), "{stdout}");
    // One line per check (configuration, database, tokens, smtp, linkedin, callback) and
    // the verdict.
    assert_eq!(stdout.lines().count(), 7, "{stdout}");
    assert!(stdout.ends_with("all checks passed\n"), "{stdout}");

    for (key, value) in &mut vars {
        if key == "TOKENKEEPER_LINKEDIN__CLIENT_SECRET" {
            *value = "a-wrong-secret-value".into();
        }
    }
    let sick = doctor(vars).await;
    let stdout = String::from_utf8_lossy(&sick.stdout);
    assert_eq!(sick.status.code(), Some(1), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("FAIL"))
        .expect("a failing line");
    assert!(line.contains("linkedin"), "{line}");
    assert!(line.contains("linkedin.client_secret"), "{line}");
    assert!(!stdout.contains("a-wrong-secret-value"), "{stdout}");
    assert!(!String::from_utf8_lossy(&sick.stderr).contains("a-wrong-secret-value"));
}

/// The `[providers.*]` sections of a configuration naming `networks` (each at its fake, with
/// `secret`) and an OpenID issuer nobody answers at.
fn providers_of(
    networks: &[&fake_linkedin::FakeNetwork],
    secret: &str,
    dead_issuer: &str,
) -> std::collections::BTreeMap<
    tokenkeeper::domain::ProviderName,
    tokenkeeper::config::ProviderSettings,
> {
    let mut vars = vec![
        (
            "TOKENKEEPER_LINKEDIN__CLIENT_ID".to_owned(),
            "id".to_owned(),
        ),
        (
            "TOKENKEEPER_LINKEDIN__CLIENT_SECRET".to_owned(),
            "secret".to_owned(),
        ),
        (
            "TOKENKEEPER_CONNECT__SIGNING_KEY".to_owned(),
            "0123456789abcdef0123456789abcdef".to_owned(),
        ),
        (
            "TOKENKEEPER_PROVIDERS__ACME__KIND".to_owned(),
            "oidc".to_owned(),
        ),
        (
            "TOKENKEEPER_PROVIDERS__ACME__ISSUER".to_owned(),
            dead_issuer.to_owned(),
        ),
        (
            "TOKENKEEPER_PROVIDERS__ACME__CLIENT_ID".to_owned(),
            "acme".to_owned(),
        ),
        (
            "TOKENKEEPER_PROVIDERS__ACME__DISPLAY_NAME".to_owned(),
            "Acme".to_owned(),
        ),
    ];
    for network in networks {
        let name = network.kind().name().to_uppercase();
        let var = |key: &str| format!("TOKENKEEPER_PROVIDERS__{name}__{key}");
        vars.extend([
            (var("KIND"), network.kind().name().to_owned()),
            (
                var("CLIENT_ID"),
                fake_linkedin::FakeNetworkConfig::default().client_id,
            ),
            (var("CLIENT_SECRET"), secret.to_owned()),
            (var("TOKEN_URL"), network.token_url()),
        ]);
    }
    Config::load_from(None, vars)
        .expect("providers load")
        .providers
}

async fn doctor_checks_each_provider_and_tells_a_wrong_secret_from_a_right_one() {
    use fake_linkedin::{FakeNetwork, FakeNetworkConfig, NetworkKind};
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let mut networks = Vec::new();
    for kind in [
        NetworkKind::X,
        NetworkKind::Facebook,
        NetworkKind::Instagram,
    ] {
        networks.push(
            FakeNetwork::start(kind, FakeNetworkConfig::default())
                .await
                .unwrap(),
        );
    }
    let networks: Vec<&FakeNetwork> = networks.iter().collect();
    // A port nothing listens on: bound, then let go.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_issuer = format!("http://{}/", dead.local_addr().unwrap());
    drop(dead);
    let mut config = operator_config(&app, &smtp);

    config.providers = providers_of(
        &networks,
        &FakeNetworkConfig::default().client_secret,
        &dead_issuer,
    );
    let right = examine(&config).await;
    for check in ["provider x", "provider facebook", "provider instagram"] {
        assert_eq!(level(&right, check), Level::Ok, "{right}");
    }
    assert!(
        message(&right, "provider x").contains("accepts our client"),
        "{right}"
    );
    assert!(
        message(&right, "provider instagram").contains("token alone"),
        "{right}"
    );
    assert_eq!(level(&right, "provider acme"), Level::Fail, "{right}");
    assert!(message(&right, "provider acme").contains("Acme"), "{right}");

    config.providers = providers_of(&networks, "a-wrong-secret-value", &dead_issuer);
    let wrong = examine(&config).await;
    for check in ["provider x", "provider facebook"] {
        assert_eq!(level(&wrong, check), Level::Fail, "{wrong}");
        assert!(message(&wrong, check).contains("client_secret"), "{wrong}");
    }
    // Instagram renews with the member's token alone: the secret is not asked.
    assert_eq!(level(&wrong, "provider instagram"), Level::Ok, "{wrong}");
    assert!(
        !wrong.to_string().contains("a-wrong-secret-value"),
        "{wrong}"
    );
}
