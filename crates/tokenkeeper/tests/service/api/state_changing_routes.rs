//! Every route that changes something refuses a request without its credential, and the
//! request changes nothing: the host API's without the key (401), the dashboard's from a
//! browser that is not signed in (sent to sign in, or refused) and from one that is but sends
//! no CSRF token (403). The routes are read from the lists the router is built from, so a
//! route is covered from the day it is added.

use crate::admin::admin_dashboard::{signed_in, with_dashboard, ADMIN_PASSWORD};
use crate::backend_tests;
use crate::support::{location, new_browser, spawn, t0, Setup, TestApp, API_KEY};
use chrono::Duration;
use reqwest::{Method, StatusCode};
use test_databases::Backend;
use tokenkeeper::domain::{Account, NewNotification, NotificationKind, NotificationStatus};
use tokenkeeper::store::Lease;

backend_tests!(every_state_changing_route_refuses_a_request_without_its_credential);

/// The methods that may change something; a route served for any other is only read.
const CHANGING: [Method; 4] = [Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

/// A form that would act if it were taken: the right password for the sign-in, the
/// confirmation for a delete; only the CSRF token is missing.
const FORM: [(&str, &str); 2] = [("password", ADMIN_PASSWORD), ("confirmed", "yes")];

async fn every_state_changing_route_refuses_a_request_without_its_credential(backend: Backend) {
    let Some(app) = spawn(backend, with_dashboard(Setup::default())).await else {
        return;
    };
    let ada = app.linked("ada").await;
    let failed = failed_delivery(&app, &ada).await;
    let fill = |path: &str| {
        let id = match path.starts_with("/admin/outbox/") {
            true => failed,
            false => ada.id,
        };
        let filled = path
            .replace("{user_id}", ada.user_id.as_str())
            .replace("{number}", &ada.id.to_string())
            .replace("{id}", &id.to_string());
        assert!(
            !filled.contains('{'),
            "{path}: a path parameter this test does not know how to fill"
        );
        filled
    };
    let (operator, _) = signed_in(&app).await;
    let before = state(&app).await;
    let mut checked = Vec::new();

    for (method, path) in tokenkeeper::http::api_routes() {
        let url = app.url(&fill(&path));
        if !CHANGING.contains(&method) {
            // Listed as read-only, and served so: a route listed with the wrong method would
            // escape the checks below.
            let answer = app
                .browser
                .request(method.clone(), url)
                .bearer_auth(API_KEY)
                .send()
                .await
                .unwrap();
            assert_ne!(answer.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
            continue;
        }
        let answer = new_browser()
            .request(method.clone(), url)
            .json(&serde_json::json!({"user_id": "zed", "email": "zed@example.com"}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(state(&app).await, before, "{method} {path} without the key");
        checked.push(format!("{method} {path}"));
    }

    for (method, path, _) in tokenkeeper::http::dashboard_routes() {
        let url = app.url(&fill(path));
        if !CHANGING.contains(&method) {
            let answer = operator.request(method, url).send().await.unwrap();
            assert_ne!(answer.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
            continue;
        }
        // Not signed in: sent to sign in; the sign-in form itself refuses a post without its
        // own token, right password or not.
        let stranger = new_browser();
        let answer = stranger
            .request(method.clone(), url.clone())
            .form(&FORM)
            .send()
            .await
            .unwrap();
        let sent_to_sign_in =
            answer.status() == StatusCode::SEE_OTHER && location(&answer).path() == "/admin/login";
        assert!(
            sent_to_sign_in || answer.status() == StatusCode::FORBIDDEN,
            "{method} {path} without a sign-in answered {}",
            answer.status()
        );
        assert!(!is_signed_in(&app, &stranger).await, "{method} {path}");
        assert_eq!(
            state(&app).await,
            before,
            "{method} {path} without a sign-in"
        );

        // Signed in, but without the form's token (as from another site's page).
        let answer = operator
            .request(method.clone(), url)
            .form(&FORM)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(
            state(&app).await,
            before,
            "{method} {path} without its token"
        );
        assert!(is_signed_in(&app, &operator).await, "{method} {path}");
        checked.push(format!("{method} {path}"));
    }

    // The lists were read, not found empty.
    for route in [
        "DELETE /api/v1/accounts/{user_id}",
        "POST /admin/accounts/{number}/delete",
        "POST /admin/logout",
    ] {
        assert!(checked.iter().any(|c| c == route), "{route}: {checked:?}");
    }
}

/// An email that could not be delivered, for the outbox's retry; its id.
async fn failed_delivery(app: &TestApp, account: &Account) -> i64 {
    let email = NewNotification {
        account_id: account.id,
        kind: NotificationKind::ReconnectRequired,
        episode: NewNotification::episode_of(account.linked_at),
        send_after: t0(),
        deadline: t0() + Duration::days(10),
    };
    app.store.add_notifications(&[email], t0()).await.unwrap();
    let lease = Lease {
        holder: "worker".into(),
        now: t0(),
        until: t0() + Duration::minutes(5),
    };
    let id = app.store.claim_notifications(&lease, 1).await.unwrap()[0].id();
    app.store
        .mark_failed(
            id,
            "worker",
            "550 no such mailbox",
            NotificationStatus::Failed,
        )
        .await
        .unwrap();
    id
}

/// What a refused request could have changed: every account as stored (its version moves
/// with any write) and every email of the outbox.
async fn state(app: &TestApp) -> Vec<String> {
    let mut state = Vec::new();
    for account in app.store.list_accounts(0, 100).await.unwrap() {
        state.push(format!(
            "account {} {} v{} {} {:?}",
            account.id, account.user_id, account.version, account.status, account.last_refreshed_at
        ));
        for email in app.store.notifications_for(account.id).await.unwrap() {
            state.push(format!(
                "email {} {:?} {} {}",
                email.id, email.status, email.attempts, email.send_after
            ));
        }
    }
    state
}

async fn is_signed_in(app: &TestApp, browser: &reqwest::Client) -> bool {
    let answer = browser.get(app.url("/admin")).send().await.unwrap();
    answer.status() == StatusCode::OK
}
