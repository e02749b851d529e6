//! Operators' templates (`email.template_dir`): the emails sent use them, and a folder that
//! cannot give a member a working email (a file missing, unreadable, or without the reconnect
//! link, or a template that does not render) stops `serve` at start with a message naming
//! the key; one that fails only for some member keeps that member's email for later.

use crate::email::notify::{link_in, members_to_email, text_of};
use crate::email::smtp::SmtpServer;
use crate::service_tests;
use crate::support::{spawn, Setup};
use fake_linkedin::FakeConfig;
use reqwest::StatusCode;
use std::path::Path;
use std::time::Duration;
use test_databases::Backend;
use tokenkeeper::domain::NotificationStatus;

const TEXT: &str =
    "Custom text for {{name}} of {{product}}.\nClick:\n{{link}}\nend of custom-text\n";
const HTML: &str = "<p>Custom html of {{product}}: <a href=\"{{link}}\">reconnect</a></p>\n";

fn template_dir(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    dir
}

service_tests!(emails_use_the_operators_templates);
async fn emails_use_the_operators_templates() {
    let dir = template_dir(&[
        ("reconnect.txt", TEXT.as_bytes()),
        ("reconnect.html", HTML.as_bytes()),
    ]);
    let setup = Setup::default()
        .var("EMAIL__TEMPLATE_DIR", dir.path().display())
        .var("EMAIL__PRODUCT_NAME", "Acme");
    let Some(app) = spawn(Backend::Sqlite, setup).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    members_to_email(&app, 1).await;
    assert_eq!(
        app.delivery(smtp.port).send_pending().await.unwrap().sent,
        1
    );

    let mail = &smtp.received()[0];
    let text = text_of(mail);
    let name = app.account("user-0").await.name.unwrap();
    assert!(
        text.starts_with(&format!("Custom text for {name} of Acme.\nClick:\nhttp")),
        "{text}"
    );
    assert!(text.ends_with("end of custom-text\n"), "{text}");
    assert!(
        !text.contains("LinkedIn account:"),
        "the built-in text is gone"
    );
    assert!(mail.data.contains("Custom html of Acme"), "{}", mail.data);
    // The link the operator's template placed is a working reconnect link.
    let link = link_in(mail);
    let member = app.fake.controls().members().into_iter().next();
    app.fake.controls().login_as(member);
    let callback = app.consent(&link).await;
    let done = app.browser.get(callback).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
}

/// Runs `tokenkeeper serve` with `template_dir`; it must stop by itself with an error.
async fn serve_refuses(template_dir: &Path) -> String {
    let db = tempfile::tempdir().unwrap();
    let defaults = FakeConfig::default();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tokenkeeper"));
    command
        .arg("serve")
        .env_clear()
        .env(
            "TOKENKEEPER_DATABASE_URL",
            format!("sqlite://{}", db.path().join("tk.db").display()),
        )
        .env("TOKENKEEPER_HTTP__BIND", "127.0.0.1:0")
        .env("TOKENKEEPER_SCHEDULE__ENABLED", "false")
        .env("TOKENKEEPER_LINKEDIN__CLIENT_ID", defaults.client_id)
        .env(
            "TOKENKEEPER_LINKEDIN__CLIENT_SECRET",
            defaults.client_secret,
        )
        .env(
            "TOKENKEEPER_CONNECT__SIGNING_KEY",
            "signing-key-0123456789abcdef0123456789",
        )
        .env("TOKENKEEPER_EMAIL__TEMPLATE_DIR", template_dir)
        .env(
            "TOKENKEEPER_ENCRYPTION__KEYS",
            crate::support::ENCRYPTION_KEYS,
        )
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .expect("serve stops at start instead of running")
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "{stderr}");
    stderr
}

service_tests!(an_unusable_template_stops_serve_at_start_naming_the_key);
async fn an_unusable_template_stops_serve_at_start_naming_the_key() {
    let missing_html = template_dir(&[("reconnect.txt", TEXT.as_bytes())]);
    let without_link = template_dir(&[
        ("reconnect.txt", b"Hello {{name}}, please reconnect.\n"),
        ("reconnect.html", HTML.as_bytes()),
    ]);
    let not_text = template_dir(&[
        ("reconnect.txt", TEXT.as_bytes()),
        ("reconnect.html", b"<p>{{link}}</p>\xff\xfe"),
    ]);
    let undefined_value = template_dir(&[
        ("reconnect.txt", b"Hello {{ nmae }}: {{link}}\n"),
        ("reconnect.html", HTML.as_bytes()),
    ]);
    let syntax_error = template_dir(&[
        ("reconnect.txt", TEXT.as_bytes()),
        ("reconnect.html", b"<p>{% if link %}{{link}}</p>"),
    ]);
    for (dir, file, reason) in [
        (&missing_html, "reconnect.html", "No such file"),
        (&without_link, "reconnect.txt", "has no {{link}}"),
        (&not_text, "reconnect.html", "valid UTF-8"),
        (
            &undefined_value,
            "reconnect.txt",
            "cannot be rendered: undefined value",
        ),
        (
            &syntax_error,
            "reconnect.html",
            "is not a valid template: syntax error",
        ),
    ] {
        let stderr = serve_refuses(dir.path()).await;
        assert!(stderr.contains("`email.template_dir`"), "{file}: {stderr}");
        assert!(
            stderr.contains(&dir.path().join(file).display().to_string()),
            "{file}: {stderr}"
        );
        assert!(stderr.contains(reason), "{file}: {stderr}");
    }
}

service_tests!(a_template_failing_for_one_member_keeps_the_email_for_later);
async fn a_template_failing_for_one_member_keeps_the_email_for_later() {
    // Renders the start-up sample member, fails for every real one.
    let dir = template_dir(&[
        (
            "reconnect.txt",
            b"{% if member_id != '782bbtaQ' %}{{ link.nope }}{% endif %}{{link}}\n",
        ),
        ("reconnect.html", HTML.as_bytes()),
    ]);
    let setup = Setup::default().var("EMAIL__TEMPLATE_DIR", dir.path().display());
    let Some(app) = spawn(Backend::Sqlite, setup).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    members_to_email(&app, 1).await;
    let report = app.delivery(smtp.port).send_pending().await.unwrap();
    assert_eq!((report.sent, report.retrying, report.failed), (0, 1, 0));
    assert!(smtp.received().is_empty(), "nothing half-rendered is sent");
    let counts = app.store.notification_counts().await.unwrap();
    // The email waits (beside the reminder planned for later), neither failed nor sent.
    assert!(
        counts
            .iter()
            .all(|(status, _)| *status == NotificationStatus::Pending),
        "{counts:?}"
    );
}
