//! The operators' dashboard over real HTTP: off without a password hash; signing in and out;
//! the cookie's attributes; CSRF tokens on every POST; the sign-in rate limit; pages that show
//! the fleet and never a token; refresh now, delete after confirmation, and the retry of a
//! failed delivery.

use crate::backend_tests;
use crate::support::{location, new_browser, spawn, spawn_app, t0, Setup, TestApp};
use chrono::Duration;
use reqwest::StatusCode;
use test_databases::Backend;
use tokenkeeper::domain::{NewNotification, NotificationKind, NotificationStatus};
use tokenkeeper::store::Lease;

backend_tests!(
    signing_in_opens_pages_that_show_the_fleet_and_no_token,
    refresh_now_and_delete_act_on_the_account,
    a_failed_delivery_is_queued_again_from_the_outbox,
    the_overview_shows_the_success_report_figures,
    resend_queues_the_reconnect_email_again_while_it_is_needed,
);
backend_tests!(only [Sqlite]: the_dashboard_is_off_without_a_password_hash);
backend_tests!(only [Sqlite]: a_wrong_password_is_refused_and_attempts_are_rate_limited);
backend_tests!(only [Sqlite]: a_post_without_its_csrf_token_is_refused);
backend_tests!(only [Sqlite]: signing_out_or_waiting_past_the_lifetime_ends_the_sign_in);

pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// The PHC string of `ADMIN_PASSWORD` under argon2id with small parameters: checking it costs
/// the tests milliseconds, and the service reads the parameters from the string.
pub fn admin_password_hash() -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let params = argon2::Params::new(1024, 1, 1, None).unwrap();
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"tokenkeeper-test").unwrap();
    argon
        .hash_password(ADMIN_PASSWORD.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

pub fn with_dashboard(setup: Setup) -> Setup {
    setup.var("ADMIN__PASSWORD_HASH", admin_password_hash())
}

/// The value of the first hidden `csrf` field of a page.
pub fn csrf_of(page: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = page.find(marker).expect("a form with a CSRF token") + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

/// Signs in with `password` in `browser`; the answer to the form's POST.
pub async fn sign_in(
    app: &TestApp,
    browser: &reqwest::Client,
    password: &str,
) -> reqwest::Response {
    let form = browser.get(app.url("/admin/login")).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let csrf = csrf_of(&form.text().await.unwrap());
    browser
        .post(app.url("/admin/login"))
        .form(&[("csrf", csrf.as_str()), ("password", password)])
        .send()
        .await
        .unwrap()
}

/// A browser signed in to the dashboard, and the CSRF token its pages carry.
pub async fn signed_in(app: &TestApp) -> (reqwest::Client, String) {
    let browser = new_browser();
    let answer = sign_in(app, &browser, ADMIN_PASSWORD).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&answer).path(), "/admin");
    let (status, overview) = page(app, &browser, "/admin").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_of(&overview);
    (browser, csrf)
}

pub async fn page(app: &TestApp, browser: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let answer = browser.get(app.url(path)).send().await.unwrap();
    (answer.status(), answer.text().await.unwrap())
}

pub async fn post(
    app: &TestApp,
    browser: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let answer = browser.post(app.url(path)).form(form).send().await.unwrap();
    (answer.status(), answer.text().await.unwrap())
}

async fn the_dashboard_is_off_without_a_password_hash(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for path in ["/admin", "/admin/login", "/admin/accounts"] {
        let (status, _) = page(&app, &app.browser, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = post(&app, &app.browser, "/admin/login", &[("password", "x")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn signing_in_opens_pages_that_show_the_fleet_and_no_token(backend: Backend) {
    let Some(app) = spawn(backend, with_dashboard(Setup::default())).await else {
        return;
    };
    let ann = app.linked("ann").await;
    app.linked("bob").await;
    // A sweep two months on refreshes both: the last 30 days then hold two refreshes.
    app.sweep_at(t0() + Duration::days(50)).await;
    let ann_now = app.account("ann").await;

    let stranger = new_browser();
    let answer = stranger.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&answer).path(), "/admin/login");

    let browser = new_browser();
    let answer = sign_in(&app, &browser, ADMIN_PASSWORD).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let cookies: Vec<_> = answer
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let sign_in_cookie = cookies.iter().find(|c| c.starts_with("tk_admin=")).unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(sign_in_cookie.contains(attribute), "{sign_in_cookie}");
    }
    assert!(!sign_in_cookie.contains("Secure"), "{sign_in_cookie}");

    let (status, overview) = page(&app, &browser, "/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(overview.contains("<b>2</b>active"), "{overview}");
    // The charts are drawn, not escaped into text.
    assert!(overview.contains(r#"<svg id="ahead""#), "{overview}");
    assert!(overview.contains(r#"<svg id="past""#), "{overview}");
    assert!(overview.contains("refreshed (2)"), "{overview}");
    assert!(overview.contains("Nothing needs attention"), "{overview}");

    let (_, list) = page(&app, &browser, "/admin/accounts?q=ANN@example.com").await;
    assert!(
        list.contains(">ann</a>") && !list.contains(">bob</a>"),
        "{list}"
    );
    // An account's page is addressed by its number.
    let ann_page = format!("/admin/accounts/{}", ann.id);
    assert!(
        list.contains(&format!("<a href=\"{ann_page}\">ann</a>")),
        "{list}"
    );
    let (_, list) = page(&app, &browser, "/admin/accounts?status=needs_reconnect").await;
    assert!(list.contains("No account matches"), "{list}");
    let (status, one) = page(&app, &browser, &ann_page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(one.contains("refresh: refreshed"), "{one}");
    assert!(one.contains("linked"), "{one}");
    let (status, _) = page(&app, &browser, "/admin/accounts/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A link from before, by user id, leads to the search for it.
    let answer = browser
        .get(app.url("/admin/accounts/ann"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let search = location(&answer);
    assert_eq!(
        (search.path(), search.query()),
        ("/admin/accounts", Some("q=ann"))
    );

    let mut shown = String::new();
    for path in [
        "/admin",
        "/admin/accounts",
        &ann_page,
        "/admin/runs",
        "/admin/outbox",
    ] {
        let (status, body) = page(&app, &browser, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        shown.push_str(&body);
    }
    for account in [&ann, &ann_now] {
        assert!(!shown.contains(account.token.expose()));
        let refresh = account.refresh_token.as_ref().unwrap();
        assert!(!shown.contains(refresh.expose()));
    }
}

async fn a_wrong_password_is_refused_and_attempts_are_rate_limited(backend: Backend) {
    let Some(app) = spawn(backend, with_dashboard(Setup::default())).await else {
        return;
    };
    let browser = new_browser();
    let answer = sign_in(&app, &browser, "wrong password").await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert!(answer.text().await.unwrap().contains("Wrong password."));
    let (status, _) = page(&app, &browser, "/admin").await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "a refused sign-in opens nothing"
    );
    // Five attempts per client in a burst: four more wrong ones, then even the right
    // password waits.
    for _ in 0..4 {
        let answer = sign_in(&app, &browser, "wrong password").await;
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    }
    let answer = sign_in(&app, &browser, ADMIN_PASSWORD).await;
    assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(answer.headers().contains_key(reqwest::header::RETRY_AFTER));
    let body = answer.text().await.unwrap();
    assert!(body.contains("Too many sign-in attempts"), "{body}");
    assert!(!body.contains(ADMIN_PASSWORD));
}

async fn a_post_without_its_csrf_token_is_refused(backend: Backend) {
    let Some(app) = spawn(backend, with_dashboard(Setup::default())).await else {
        return;
    };
    let ann = app.linked("ann").await;
    let refresh = format!("/admin/accounts/{}/refresh", ann.id);
    // The sign-in form's own token: a forged sign-in is refused, right password or not.
    let browser = new_browser();
    let (status, _) = post(
        &app,
        &browser,
        "/admin/login",
        &[("password", ADMIN_PASSWORD)],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (browser, csrf) = signed_in(&app).await;
    let forged = "A".repeat(csrf.len());
    for form in [vec![], vec![("csrf", "")], vec![("csrf", forged.as_str())]] {
        let (status, body) = post(&app, &browser, &refresh, &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{form:?}");
        assert!(body.contains("Form refused"), "{body}");
        let (status, _) = post(&app, &browser, "/admin/logout", &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{form:?}");
    }
    assert_eq!(app.account("ann").await.last_refreshed_at, None);
    let (status, body) = post(&app, &browser, &refresh, &[("csrf", csrf.as_str())]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Refreshed: new tokens are stored."), "{body}");
}

async fn signing_out_or_waiting_past_the_lifetime_ends_the_sign_in(backend: Backend) {
    let Some(app) = spawn(backend, with_dashboard(Setup::default())).await else {
        return;
    };
    let (browser, csrf) = signed_in(&app).await;
    let answer = browser
        .post(app.url("/admin/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let (status, _) = page(&app, &browser, "/admin").await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    let (browser, _) = signed_in(&app).await;
    app.at(t0() + Duration::hours(12) - Duration::seconds(1));
    assert_eq!(page(&app, &browser, "/admin").await.0, StatusCode::OK);
    app.at(t0() + Duration::hours(12));
    assert_eq!(
        page(&app, &browser, "/admin").await.0,
        StatusCode::SEE_OTHER
    );
}

async fn refresh_now_and_delete_act_on_the_account(backend: Backend) {
    let Some(app) = spawn(backend, with_dashboard(Setup::default())).await else {
        return;
    };
    let ann = app.linked("ann").await;
    app.at(t0() + Duration::days(1));
    let (browser, csrf) = signed_in(&app).await;
    let refresh = format!("/admin/accounts/{}/refresh", ann.id);
    let (status, body) = post(&app, &browser, &refresh, &[("csrf", csrf.as_str())]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Refreshed: new tokens are stored."), "{body}");
    assert!(body.contains("refresh: refreshed"), "{body}");
    assert_eq!(
        app.account("ann").await.last_refreshed_at,
        Some(t0() + Duration::days(1))
    );

    // The first press only asks.
    let (status, body) = post(
        &app,
        &browser,
        &format!("/admin/accounts/{}/delete", ann.id),
        &[("csrf", csrf.as_str())],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Delete for good"), "{body}");
    assert_eq!(app.account_count().await, 1);
    let (status, body) = post(
        &app,
        &browser,
        &format!("/admin/accounts/{}/delete", ann.id),
        &[("csrf", csrf.as_str()), ("confirmed", "yes")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("is deleted"), "{body}");
    assert_eq!(app.account_count().await, 0);
}

async fn a_failed_delivery_is_queued_again_from_the_outbox(backend: Backend) {
    let Some(app) = spawn(backend, with_dashboard(Setup::default())).await else {
        return;
    };
    let ann = app.linked("ann").await;
    let email = NewNotification {
        account_id: ann.id,
        kind: NotificationKind::ReconnectRequired,
        episode: NewNotification::episode_of(ann.linked_at),
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

    let (browser, csrf) = signed_in(&app).await;
    let (_, overview) = page(&app, &browser, "/admin").await;
    assert!(
        overview.contains("1 email(s) could not be delivered"),
        "{overview}"
    );
    let (_, outbox) = page(&app, &browser, "/admin/outbox").await;
    assert!(outbox.contains("550 no such mailbox"), "{outbox}");
    let retry = format!("/admin/outbox/{id}/retry");
    let (status, _) = post(&app, &browser, &retry, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let answer = browser
        .post(app.url(&retry))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let counts = app.store.notification_counts().await.unwrap();
    assert!(
        counts.contains(&(NotificationStatus::Pending, 1)),
        "{counts:?}"
    );
    let (_, outbox) = page(&app, &browser, "/admin/outbox").await;
    assert!(outbox.contains("No failed delivery."), "{outbox}");
}

/// The overview's success figures are the report's, over the gauges' 30 days: after a sweep
/// that refreshed two accounts, each figure as `tokenkeeper report` words it is on the page.
async fn the_overview_shows_the_success_report_figures(backend: Backend) {
    let Some(app) = spawn(backend, with_dashboard(Setup::default())).await else {
        return;
    };
    app.linked("ann").await;
    app.linked("bob").await;
    let day50 = t0() + Duration::days(50);
    app.sweep_at(day50).await;
    let (browser, _) = signed_in(&app).await;
    let (status, overview) = page(&app, &browser, "/admin").await;
    assert_eq!(status, StatusCode::OK);

    let report = tokenkeeper::report::SuccessReport::compute(
        app.store.as_ref(),
        tokenkeeper::store::Window {
            since: day50 - Duration::days(30),
            until: day50,
        },
    )
    .await
    .unwrap();
    assert_eq!(report.refreshed_automatically, 2);
    for (label, value) in tokenkeeper::report::figures(&report) {
        let shown = value.replace('>', "&gt;");
        assert!(
            overview.contains(&format!("<b>{shown}</b>{label} (last 30 days)")),
            "{label}: {shown} missing from the overview:\n{overview}"
        );
    }
    assert!(overview.contains("<b>2 of 2 due accounts (100.0%)</b>"));
}

/// "Resend the reconnect email": only once the email went out (or failed) and only while the
/// member still has to reconnect; the same row is queued again, due now, attempts reset.
async fn resend_queues_the_reconnect_email_again_while_it_is_needed(backend: Backend) {
    let Some(app) = spawn(backend, with_dashboard(Setup::default())).await else {
        return;
    };
    let ada = app.linked("ada").await;
    app.fake.controls().revoke_member(ada.member_id.as_str());
    app.sweep_at(t0() + Duration::days(50)).await;
    let reconnect_email = |notes: Vec<tokenkeeper::store::StoredNotification>| {
        notes
            .into_iter()
            .find(|n| n.kind == NotificationKind::ReconnectRequired)
            .expect("the sweep queued a reconnect email")
    };
    let email = reconnect_email(app.store.notifications_for(ada.id).await.unwrap());
    assert_eq!(email.status, NotificationStatus::Pending);

    let (browser, csrf) = signed_in(&app).await;
    let (_, account_page) = page(&app, &browser, &format!("/admin/accounts/{}", ada.id)).await;
    assert!(account_page.contains("Resend the reconnect email"));
    let resend_path = format!("/admin/accounts/{}/resend", ada.id);
    let resend = [("csrf", csrf.as_str())];
    let (status, answer) = post(&app, &browser, &resend_path, &resend).await;
    assert_eq!(status, StatusCode::OK);
    assert!(answer.contains("Nothing to resend"), "{answer}");

    // It went out, and the member says it never arrived.
    crate::support::raw_sql::execute(
        app.config.database_url.expose(),
        &format!(
            "UPDATE notifications SET status = 'sent', attempts = 1 WHERE id = {}",
            email.id
        ),
    )
    .await
    .unwrap();
    let (status, answer) = post(&app, &browser, &resend_path, &resend).await;
    assert_eq!(status, StatusCode::OK);
    assert!(answer.contains("queued again"), "{answer}");
    let again = reconnect_email(app.store.notifications_for(ada.id).await.unwrap());
    assert_eq!(
        (again.id, again.status, again.attempts),
        (email.id, NotificationStatus::Pending, 0)
    );

    // Without its CSRF token the form changes nothing.
    let (status, _) = post(&app, &browser, &resend_path, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Once the member reconnected, there is nothing to resend.
    crate::support::raw_sql::execute(
        app.config.database_url.expose(),
        &format!(
            "UPDATE notifications SET status = 'sent' WHERE id = {}",
            email.id
        ),
    )
    .await
    .unwrap();
    app.at(t0() + Duration::days(51));
    app.relinked("ada").await;
    // A day on, the sign-in has lapsed: sign in again.
    let (browser, csrf) = signed_in(&app).await;
    let resend = [("csrf", csrf.as_str())];
    let (status, answer) = post(&app, &browser, &resend_path, &resend).await;
    assert_eq!(status, StatusCode::OK);
    assert!(answer.contains("Nothing to resend"), "{answer}");
    let after = reconnect_email(app.store.notifications_for(ada.id).await.unwrap());
    assert_eq!(after.status, NotificationStatus::Sent);
}
