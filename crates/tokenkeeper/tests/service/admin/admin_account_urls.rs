//! Dashboard URLs for any user id. User ids are the host app's, taken exactly as sent: they
//! may hold `/`, `?`, `#` or `%`, or be `.` or `..`. Every link and form of the dashboard
//! that names an account reaches that account once a browser has read the URL (a browser
//! removes dot segments, `%2e` ones included), and never another one: here `victim`, whose
//! account must come through unchanged.

use crate::admin::admin_browser::{arrived, sign_in, text_of, Driver};
use crate::admin::admin_dashboard::{page, post, signed_in, with_dashboard, ADMIN_PASSWORD};
use crate::support::{spawn, t0, Setup, TestApp};
use crate::{backend_tests, service_tests};
use chrono::Duration;
use fantoccini::{Client, Locator};
use reqwest::StatusCode;
use test_databases::Backend;
use tokenkeeper::domain::EnumText;
use tokenkeeper::domain::{NewNotification, NotificationKind, NotificationStatus};
use tokenkeeper::store::Lease;

backend_tests!(
    every_link_and_form_of_the_dashboard_reaches_the_account_it_names,
    the_list_pages_through_every_account_linked_by_its_number,
);
service_tests!(any_user_ids_account_is_opened_refreshed_emailed_and_deleted_in_a_real_browser);

/// User ids a path encoder that keeps `/` or `.` gets wrong.
const ODD_IDS: [&str; 9] = [
    "team/ada",
    "x/../victim",
    "a%2Fb",
    "a/b",
    "..",
    ".",
    "%2e%2e",
    "café",
    "what?now=1#top",
];
const VICTIM: &str = "victim";

/// Links every odd id and `victim` through the connect flow.
async fn link_everyone(app: &TestApp) {
    for (i, user) in ODD_IDS.iter().chain([&VICTIM]).enumerate() {
        let answer = app.connect(user, &format!("member{i}@example.com")).await;
        assert_eq!(answer.status(), StatusCode::OK, "linking {user:?}");
    }
}

/// Text as the page's HTML escaping wrote it, read back.
fn unescaped(html: &str) -> String {
    [
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#x27;", "'"),
        ("&#39;", "'"),
        ("&#x2f;", "/"),
        ("&#x2F;", "/"),
        ("&amp;", "&"),
    ]
    .iter()
    .fold(html.to_owned(), |text, (entity, plain)| {
        text.replace(entity, plain)
    })
}

/// The `href` of the page's link whose text is `text`.
fn link_to(page: &str, text: &str) -> String {
    page.split("<a ")
        .skip(1)
        .find_map(|rest| {
            let (attributes, rest) = rest.split_once('>')?;
            let (shown, _) = rest.split_once("</a>")?;
            let href = attributes.split("href=\"").nth(1)?.split('"').next()?;
            (unescaped(shown) == text).then(|| unescaped(href))
        })
        .unwrap_or_else(|| panic!("no link to {text:?} in\n{page}"))
}

/// The `action` of the form whose button has the id `button`.
fn action_of(page: &str, button: &str) -> String {
    page.split("<form")
        .skip(1)
        .find_map(|form| {
            let form = form.split("</form>").next()?;
            form.contains(&format!("<button id=\"{button}\""))
                .then(|| form.split("action=\"").nth(1)?.split('"').next())
                .flatten()
                .map(unescaped)
        })
        .unwrap_or_else(|| panic!("no form with the button {button} in\n{page}"))
}

/// The user id an account page shows.
fn shown_user(page: &str) -> String {
    let marker = "<tr><th>User</th><td>";
    let start = page
        .find(marker)
        .unwrap_or_else(|| panic!("no account in\n{page}"));
    unescaped(page[start + marker.len()..].split("</td>").next().unwrap())
}

/// `href` as a browser on `page_path` resolves it: `url` follows the URL standard browsers
/// follow, dot segments (`..`, `%2e%2e`) removed.
fn resolved(app: &TestApp, page_path: &str, href: &str) -> String {
    let url = app.url(page_path).join(href).unwrap();
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// Each account's links (from the list and from the outbox's failed deliveries) open its
/// page; its Refresh, Resend and Delete forms, and the confirmation's, act on it.
async fn every_link_and_form_of_the_dashboard_reaches_the_account_it_names(backend: Backend) {
    let Some(app) = spawn(backend, with_dashboard(Setup::default())).await else {
        return;
    };
    link_everyone(&app).await;
    // One failed delivery per account, so that the outbox links to each.
    for user in ODD_IDS.iter().chain([&VICTIM]) {
        let account = app.account(user).await;
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
            .mark_failed(id, "worker", "550 gone", NotificationStatus::Failed)
            .await
            .unwrap();
    }
    let now = t0() + Duration::hours(1);
    app.at(now);
    let (browser, csrf) = signed_in(&app).await;
    let (_, list) = page(&app, &browser, "/admin/accounts").await;
    let (_, outbox) = page(&app, &browser, "/admin/outbox").await;
    let every = ODD_IDS.len() + 1;
    assert!(
        outbox.contains(&format!("<b>{every}</b>failed")),
        "{outbox}"
    );
    assert!(outbox.contains("<b>0</b>pending"), "{outbox}");
    let csrf_only = [("csrf", csrf.as_str())];

    for user in ODD_IDS {
        let mut opened = Vec::new();
        for (listing, html) in [("/admin/accounts", &list), ("/admin/outbox", &outbox)] {
            let path = resolved(&app, listing, &link_to(html, user));
            let (status, body) = page(&app, &browser, &path).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{user:?}: {listing} links to {path}"
            );
            assert_eq!(shown_user(&body), user, "{listing} links to {path}");
            opened.push((path, body));
        }
        let (path, account_page) = opened.pop().unwrap();

        let refresh = resolved(&app, &path, &action_of(&account_page, "refresh-now"));
        let (status, body) = post(&app, &browser, &refresh, &csrf_only).await;
        assert_eq!((status, shown_user(&body)), (StatusCode::OK, user.into()));
        assert!(body.contains("Refreshed: new tokens are stored."), "{body}");
        assert_eq!(app.account(user).await.last_refreshed_at, Some(now));

        // The Resend form is there while the member has to reconnect.
        crate::support::raw_sql::execute(
            app.config.database_url.expose(),
            &format!(
                "UPDATE social_network SET status = 'needs_reconnect' WHERE id = {}",
                app.account(user).await.id
            ),
        )
        .await
        .unwrap();
        let (_, account_page) = page(&app, &browser, &path).await;
        let resend = resolved(&app, &path, &action_of(&account_page, "resend"));
        let (status, body) = post(&app, &browser, &resend, &csrf_only).await;
        assert_eq!((status, shown_user(&body)), (StatusCode::OK, user.into()));
        assert!(body.contains("id=\"flash\""), "{body}");

        let delete = resolved(&app, &path, &action_of(&account_page, "delete"));
        let (status, confirm) = post(&app, &browser, &delete, &csrf_only).await;
        assert_eq!(status, StatusCode::OK);
        let keep = resolved(&app, &delete, &link_to(&confirm, "Keep it"));
        let (status, body) = page(&app, &browser, &keep).await;
        assert_eq!((status, shown_user(&body)), (StatusCode::OK, user.into()));
        let for_good = resolved(&app, &delete, &action_of(&confirm, "confirm-delete"));
        let confirmed = [("csrf", csrf.as_str()), ("confirmed", "yes")];
        let (status, body) = post(&app, &browser, &for_good, &confirmed).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("is deleted"), "{user:?}: {body}");
        let gone = tokenkeeper::domain::UserId::parse(user).unwrap();
        assert!(app
            .store
            .account_by_user(tokenkeeper::domain::ProviderName::linkedin_ref(), &gone)
            .await
            .unwrap()
            .is_none());
    }
    let victim = app.account(VICTIM).await;
    assert_eq!(victim.last_refreshed_at, None);
    assert_eq!(victim.status.as_str(), "active");
}

/// Opens `user`'s page the way an operator does: from the accounts list.
async fn open_from_the_list(app: &TestApp, browser: &Client, user: &str) {
    browser
        .goto(app.url("/admin/accounts").as_str())
        .await
        .unwrap();
    browser
        .find(Locator::LinkText(user))
        .await
        .unwrap_or_else(|e| panic!("no link to {user:?}: {e}"))
        .click()
        .await
        .unwrap();
    arrived(browser, Locator::Id("refresh-now")).await;
    assert_eq!(text_of(browser, "#account td").await, user);
}

async fn press(browser: &Client, button: &str, then: Locator<'_>) {
    browser
        .find(Locator::Id(button))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrived(browser, then).await;
}

async fn signed_in_browser(app: &TestApp, browser: &Client) {
    browser.goto(app.url("/admin").as_str()).await.unwrap();
    sign_in(browser, ADMIN_PASSWORD).await;
    arrived(browser, Locator::Id("by-status")).await;
}

/// The reconnect email of `user`'s account.
async fn reconnect_email(app: &TestApp, user: &str) -> NotificationStatus {
    let account = app.account(user).await;
    let emails = app.store.notifications_for(account.id).await.unwrap();
    emails
        .into_iter()
        .find(|n| n.kind == NotificationKind::ReconnectRequired)
        .expect("a reconnect email")
        .status
}

async fn any_user_ids_account_is_opened_refreshed_emailed_and_deleted_in_a_real_browser() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let app = spawn(Backend::Sqlite, with_dashboard(Setup::default()))
        .await
        .unwrap();
    link_everyone(&app).await;
    let browser = driver.browser().await;

    let now = t0() + Duration::days(1);
    app.at(now);
    signed_in_browser(&app, &browser).await;
    for user in ODD_IDS {
        open_from_the_list(&app, &browser, user).await;
        press(&browser, "refresh-now", Locator::Id("flash")).await;
        assert_eq!(
            text_of(&browser, "#flash").await,
            "Refreshed: new tokens are stored."
        );
        assert_eq!(text_of(&browser, "#account td").await, user);
        assert_eq!(
            app.account(user).await.last_refreshed_at,
            Some(now),
            "{user:?}"
        );
    }
    assert_eq!(app.account(VICTIM).await.last_refreshed_at, None);

    // Every member revokes the app; the sweep asks each to reconnect, and the emails go out.
    for member in app.fake.controls().members() {
        app.fake.controls().revoke_member(&member.sub);
    }
    app.sweep_at(t0() + Duration::days(60)).await;
    crate::support::raw_sql::execute(
        app.config.database_url.expose(),
        "UPDATE notifications SET status = 'sent', attempts = 1",
    )
    .await
    .unwrap();
    signed_in_browser(&app, &browser).await;
    for user in ODD_IDS {
        open_from_the_list(&app, &browser, user).await;
        press(&browser, "resend", Locator::Id("flash")).await;
        assert!(
            text_of(&browser, "#flash").await.contains("queued again"),
            "{user:?}"
        );
        assert_eq!(text_of(&browser, "#account td").await, user);
        assert_eq!(
            reconnect_email(&app, user).await,
            NotificationStatus::Pending
        );

        press(&browser, "delete", Locator::Id("confirm-delete")).await;
        press(&browser, "confirm-delete", Locator::Id("message")).await;
        let message = text_of(&browser, "#message").await;
        assert!(
            message.starts_with(&format!("The account of {user} is deleted")),
            "{message}"
        );
        let gone = tokenkeeper::domain::UserId::parse(user).unwrap();
        assert!(app
            .store
            .account_by_user(tokenkeeper::domain::ProviderName::linkedin_ref(), &gone)
            .await
            .unwrap()
            .is_none());
    }
    assert_eq!(
        reconnect_email(&app, VICTIM).await,
        NotificationStatus::Sent
    );
    assert_eq!(app.account(VICTIM).await.last_refreshed_at, None);
    browser.close().await.unwrap();
}

/// The list shows 50 accounts a page, each linked by its number, and a link to the next page
/// while there may be more: 51 accounts make two pages, the second without such a link.
async fn the_list_pages_through_every_account_linked_by_its_number(backend: Backend) {
    let Some(app) = spawn(backend, with_dashboard(Setup::default())).await else {
        return;
    };
    let seeded = app.seed(51, t0()).await;
    let listed = |i: usize| {
        let account = &seeded[i];
        format!(
            "<a href=\"/admin/accounts/{}\">{}</a>",
            account.id, account.user_id
        )
    };
    let (browser, _) = signed_in(&app).await;
    let (status, first) = page(&app, &browser, "/admin/accounts").await;
    assert_eq!(status, StatusCode::OK);
    for i in 0..50 {
        assert!(
            first.contains(&listed(i)),
            "{} missing from\n{first}",
            listed(i)
        );
    }
    assert!(!first.contains(&listed(50)), "{first}");
    let next = link_to(&first, "Next page");
    let (status, second) = page(&app, &browser, &resolved(&app, "/admin/accounts", &next)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(second.contains(&listed(50)), "{second}");
    assert!(!second.contains(&listed(49)), "{second}");
    assert!(!second.contains("Next page"), "{second}");
}
