//! The dashboard names each account's provider: the list shows it and filters by it, and an
//! account's page names the provider and its network, and "Refresh now" tells what that
//! network did, on every backend.

use crate::admin::admin_dashboard::{page, post, signed_in, with_dashboard};
use crate::backend_tests;
use crate::storage::rules::linked;
use crate::support::networks::spawn_with_networks;
use crate::support::{spawn, t0, Setup};
use chrono::Duration;
use fake_linkedin::networks::NetworkEndpoint;
use fake_linkedin::{Fault, NetworkKind};
use reqwest::StatusCode;
use test_databases::Backend;
use tokenkeeper::domain::ProviderName;

backend_tests!(
    the_accounts_list_shows_and_filters_by_provider,
    refresh_now_names_the_account_s_network,
);

async fn the_accounts_list_shows_and_filters_by_provider(backend: Backend) {
    let setup = with_dashboard(
        Setup::default()
            .var("PROVIDERS__X__KIND", "x")
            .var("PROVIDERS__X__CLIENT_ID", "x-app"),
    );
    let Some(app) = spawn(backend, setup).await else {
        return;
    };
    app.linked("ada").await;
    let carol = app
        .store
        .save_linked_account(
            &linked("carol", t0(), true).through(ProviderName::parse("x").unwrap()),
        )
        .await
        .unwrap();
    let (browser, _) = signed_in(&app).await;

    let (_, all) = page(&app, &browser, "/admin/accounts").await;
    assert!(all.contains(">ada</a></td><td>linkedin</td>"), "{all}");
    assert!(all.contains(">carol</a></td><td>x</td>"), "{all}");
    assert!(
        all.contains(r#"<option value="x">x</option>"#),
        "the filter offers each configured provider: {all}"
    );

    let (_, on_x) = page(&app, &browser, "/admin/accounts?provider=x").await;
    assert!(
        on_x.contains(">carol</a>") && !on_x.contains(">ada</a>"),
        "{on_x}"
    );
    assert!(on_x.contains(r#"<option value="x" selected>"#), "{on_x}");
    let (_, on_linkedin) = page(&app, &browser, "/admin/accounts?provider=linkedin").await;
    assert!(
        on_linkedin.contains(">ada</a>") && !on_linkedin.contains(">carol</a>"),
        "{on_linkedin}"
    );
    // A provider that is not configured filters nothing out, as an unknown status does.
    let (_, unknown) = page(&app, &browser, "/admin/accounts?provider=google").await;
    assert!(
        unknown.contains(">ada</a>") && unknown.contains(">carol</a>"),
        "{unknown}"
    );

    let (_, one) = page(&app, &browser, &format!("/admin/accounts/{}", carol.id)).await;
    assert!(one.contains(r#"<td id="provider">x (X)</td>"#), "{one}");
    assert!(one.contains("X member m-carol"), "{one}");
}

async fn refresh_now_names_the_account_s_network(backend: Backend) {
    let setup = with_dashboard(Setup::default());
    let Some(app) = spawn_with_networks(backend, &[NetworkKind::X], setup).await else {
        return;
    };
    let (_, bo) = app.connect_through(NetworkKind::X, "bo").await;
    app.at(t0() + Duration::hours(3));
    let (browser, csrf) = signed_in(&app).await;
    let refresh = format!("/admin/accounts/{}/refresh", bo.id);
    let form = [("csrf", csrf.as_str())];
    let press = || post(&app, &browser, &refresh, &form);

    // X is down: nothing changed, and the page says X, not LinkedIn.
    let x = app.network(NetworkKind::X);
    x.inject_fault(NetworkEndpoint::Refresh, Fault::Status(503), Some(1));
    let (status, body) = press().await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(
            "X did not answer usefully; nothing was changed, and the sweep will try again."
        ),
        "{body}"
    );
    assert!(!body.contains("LinkedIn did not answer"), "{body}");

    // The member revoked the app at X: X refuses the refresh token for good.
    x.revoke_member(bo.member_id.as_str());
    let (status, body) = press().await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("X refused the refresh token for good: the member is asked to reconnect."),
        "{body}"
    );
    assert!(!body.contains("LinkedIn refused"), "{body}");
    assert!(
        body.contains(r#"<td id="status">needs_reconnect</td>"#),
        "{body}"
    );
}
