//! Every event names the account's provider: `provider`, and `network` (its name before
//! there were other providers) with the same value, for a LinkedIn account and an X one.

use super::delivery::{deliver, spawn_with};
use crate::backend_tests;
use crate::storage::rules::linked;
use crate::support::webhook_receiver::Receiver;
use crate::support::{t0, Setup};
use test_databases::Backend;
use tokenkeeper::domain::ProviderName;

backend_tests!(every_event_names_the_accounts_provider);

async fn every_event_names_the_accounts_provider(backend: Backend) {
    let receiver = Receiver::start().await;
    let Some(app) = spawn_with(backend, &receiver, Setup::default()).await else {
        return;
    };
    app.linked("ada").await;
    let x = ProviderName::parse("x").unwrap();
    app.store
        .save_linked_account(&linked("ada", t0(), true).through(x))
        .await
        .unwrap();
    assert_eq!(deliver(&app).await.delivered, 2);

    let mut named: Vec<(String, String, String)> = receiver
        .received()
        .iter()
        .map(|event| {
            let body = event.json();
            let data = &body["data"];
            let text = |key: &str| data[key].as_str().unwrap_or("(absent)").to_owned();
            (text("user_id"), text("provider"), text("network"))
        })
        .collect();
    named.sort();
    assert_eq!(
        named,
        [
            ("ada".into(), "linkedin".into(), "linkedin".into()),
            ("ada".into(), "x".into(), "x".into()),
        ]
    );
}
