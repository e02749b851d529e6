//! Reconnect emails name the member's network: an X member's email, sent through a real SMTP
//! conversation, says "X" wherever a LinkedIn member's says "LinkedIn", links to X's connect
//! page, and states none of LinkedIn's own rules.

use crate::email::notify::text_of;
use crate::email::smtp::SmtpServer;
use crate::service_tests;
use crate::storage::rules::linked;
use crate::support::{spawn, t0, Setup};
use test_databases::Backend;
use tokenkeeper::domain::{NotificationPolicy, ProviderName};

service_tests!(an_x_members_email_names_x_throughout);

async fn an_x_members_email_names_x_throughout() {
    let setup = Setup::default()
        .var("PROVIDERS__X__KIND", "x")
        .var("PROVIDERS__X__CLIENT_ID", "x-app")
        .var("EMAIL__PRODUCT_NAME", "Acme Scheduler");
    let Some(app) = spawn(Backend::Sqlite, setup).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let worker = app.delivery(smtp.port);
    let x = ProviderName::parse("x").unwrap();
    let account = app
        .store
        .save_linked_account(&linked("ada", t0(), true).through(x))
        .await
        .unwrap();
    let now = NotificationPolicy::default().on_permanent_failure(&account, t0());
    app.store.add_notifications(&now, t0()).await.unwrap();

    assert_eq!(worker.send_pending().await.unwrap().sent, 1);
    let mails = smtp.received();
    assert_eq!(
        mails[0].header("Subject").as_deref(),
        Some("Action needed: reconnect your X account to Acme Scheduler")
    );
    let text = text_of(&mails[0]);
    for said in [
        "Your X connection has stopped working",
        "X no longer accepts the access Acme Scheduler had to your X account",
        "The link takes you to X's own page; if you are signed in to X",
        "X account: m-ada",
        "/connect/x?",
    ] {
        assert!(text.contains(said), "{said:?} not in:\n{text}");
    }
    assert!(!text.contains("LinkedIn"), "{text}");
}
