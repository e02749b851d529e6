//! Reconnect emails through a real SMTP conversation: each policy rule sends exactly what it
//! promises, an outage loses nothing, and the link in the email reconnects the member.

use crate::backend_tests;
use crate::email::smtp::{Received, SmtpServer};
use crate::service_tests;
use crate::support::{spawn, spawn_app, t0, Setup, TestApp};
use chrono::{Duration, TimeZone, Utc};
use reqwest::StatusCode;
use test_databases::Backend;
use tokenkeeper::domain::EnumText;
use tokenkeeper::domain::{AccountStatus, NotificationKind, NotificationStatus};
use tokenkeeper::notify::{message_id, Renderer};
use tokenkeeper::store::ClaimedNotification;

backend_tests!(
    permanent_failure_sends_one_email_now_and_one_reminder,
    no_refresh_token_sends_one_email_at_day_fifty_and_one_reminder,
    transient_failure_far_from_expiry_sends_nothing,
    refresh_token_end_is_announced_30_7_and_1_days_ahead,
    the_emailed_link_reconnects_and_ends_the_episode,
    smtp_outage_loses_nothing_and_duplicates_nothing,
    two_workers_never_send_one_email_twice,
    a_resend_after_a_crash_keeps_its_message_id,
    an_email_that_keeps_failing_is_marked_failed_not_dropped,
);

/// The decoded text/plain part of a received email.
pub fn text_of(mail: &Received) -> String {
    mail.text().expect("a text part")
}

pub fn link_in(mail: &Received) -> url::Url {
    let text = text_of(mail);
    let line = text
        .lines()
        .find(|l| l.contains("/connect/linkedin?"))
        .expect("the email has a reconnect link");
    url::Url::parse(line.trim()).unwrap()
}

fn subjects(server: &SmtpServer) -> Vec<String> {
    server
        .received()
        .iter()
        .map(|m| m.header("Subject").unwrap_or_default())
        .collect()
}

async fn permanent_failure_sends_one_email_now_and_one_reminder(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let worker = app.delivery(smtp.port);
    let account = app.linked("ada").await;
    app.fake
        .controls()
        .revoke_member(account.member_id.as_str());
    let day50 = t0() + Duration::days(50);
    app.sweep_at(day50).await;

    let report = worker.send_pending().await.unwrap();
    assert_eq!(report.sent, 1);
    let mails = smtp.received();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].to[0].contains("ada@example.com"));
    assert!(
        mails[0].from.contains("tokenkeeper@localhost"),
        "{}",
        mails[0].from
    );
    assert!(subjects(&smtp)[0].starts_with("Action needed: reconnect your LinkedIn account"));
    assert!(mails[0].header("Message-ID").is_some());
    // Nothing more until the reminder's time.
    app.at(day50 + Duration::days(6));
    assert_eq!(worker.send_pending().await.unwrap().sent, 0);
    // Three days before the access token dies: the reminder, once.
    app.at(account.token_expires_at - Duration::days(3));
    assert_eq!(worker.send_pending().await.unwrap().sent, 1);
    assert!(subjects(&smtp)[1].starts_with("Reminder:"));
    app.at(account.token_expires_at + Duration::days(30));
    assert_eq!(worker.send_pending().await.unwrap().sent, 0);
    assert_eq!(smtp.received().len(), 2);
}

async fn no_refresh_token_sends_one_email_at_day_fifty_and_one_reminder(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let worker = app.delivery(smtp.port);
    app.fake.controls().set_partner(false);
    let account = app.linked("bo").await;
    app.at(t0() + Duration::days(49));
    assert_eq!(worker.send_pending().await.unwrap().sent, 0);
    app.sweep_at(t0() + Duration::days(50)).await;
    assert_eq!(worker.send_pending().await.unwrap().sent, 1);
    assert!(subjects(&smtp)[0].contains("(one click)"));
    let text = text_of(&smtp.received()[0]);
    assert!(
        text.contains("stops working with your LinkedIn account on"),
        "{text}"
    );
    app.at(account.token_expires_at - Duration::days(3));
    assert_eq!(worker.send_pending().await.unwrap().sent, 1);
    app.at(account.token_expires_at + Duration::days(1));
    assert_eq!(worker.send_pending().await.unwrap().sent, 0);
    assert_eq!(smtp.received().len(), 2);
}

async fn transient_failure_far_from_expiry_sends_nothing(backend: Backend) {
    let Some(app) = spawn(backend, Setup::default().var("REFRESH__MAX_ATTEMPTS", 1)).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let worker = app.delivery(smtp.port);
    let account = app.linked("ada").await;
    app.fake.controls().inject_fault(
        fake_linkedin::Endpoint::Token,
        fake_linkedin::Fault::Status(503),
        None,
    );
    app.sweep_at(t0() + Duration::days(50)).await;
    assert_eq!(
        app.account("ada").await.status,
        AccountStatus::RefreshFailing
    );
    assert_eq!(worker.send_pending().await.unwrap().sent, 0);
    // Within the warning window, one email; failing again writes no second one.
    app.sweep_at(account.token_expires_at - Duration::days(2))
        .await;
    app.sweep_at(account.token_expires_at - Duration::days(1))
        .await;
    assert_eq!(worker.send_pending().await.unwrap().sent, 1);
    assert!(subjects(&smtp)[0].contains("needs attention"));
}

async fn refresh_token_end_is_announced_30_7_and_1_days_ahead(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let worker = app.delivery(smtp.port);
    let account = app.linked("ada").await;
    let end = account.refresh_token_expires_at.unwrap();
    let policy = &app.config.notify;
    for days_before in [40, 30, 29, 7, 6, 1] {
        let now = end - Duration::days(days_before);
        app.at(now);
        tokenkeeper::notify::plan_reminders(app.store.as_ref(), policy, now)
            .await
            .unwrap();
        worker.send_pending().await.unwrap();
    }
    let kinds: Vec<_> = app
        .store
        .notifications_for(account.id)
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.kind.to_string(), n.status.to_string()))
        .collect();
    let sent = |k: &str| (k.to_owned(), "sent".to_owned());
    assert_eq!(
        kinds,
        [
            sent("refresh_token_ending_30"),
            sent("refresh_token_ending_7"),
            sent("refresh_token_ending_1")
        ]
    );
    let s = subjects(&smtp);
    assert!(
        s[0].ends_with("ends in 30 days")
            && s[1].ends_with("ends in 7 days")
            && s[2].ends_with("ends in 1 day"),
        "{s:?}"
    );
}

async fn the_emailed_link_reconnects_and_ends_the_episode(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let worker = app.delivery(smtp.port);
    let account = app.linked("ada").await;
    app.fake
        .controls()
        .revoke_member(account.member_id.as_str());
    let day50 = t0() + Duration::days(50);
    app.sweep_at(day50).await;
    worker.send_pending().await.unwrap();
    let link = link_in(&smtp.received()[0]);
    // The same person comes back: an account keeps its LinkedIn member.
    let member = app
        .fake
        .controls()
        .members()
        .into_iter()
        .find(|m| m.sub == account.member_id.as_str());
    app.fake.controls().login_as(member);

    // The member clicks a day later: the link leads through LinkedIn back to a stored account.
    app.at(day50 + Duration::days(1));
    let callback = app.consent(&link).await;
    let done = app.browser.get(callback).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let after = app.account("ada").await;
    assert_eq!(after.status, AccountStatus::Active);
    assert_eq!(after.id, account.id);
    assert_eq!(after.linked_at, day50 + Duration::days(1));
    // The pending reminder of that episode is cancelled and never sent.
    let statuses: Vec<_> = app
        .store
        .notifications_for(account.id)
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.kind.to_string(), n.status.to_string()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("reconnect_required".to_owned(), "sent".to_owned()),
            ("expiry_reminder".to_owned(), "cancelled".to_owned())
        ]
    );
    app.at(account.token_expires_at);
    assert_eq!(worker.send_pending().await.unwrap().sent, 0);
    // A forged variant of the emailed link is refused.
    let forged = link.as_str().replace("user_id=ada", "user_id=eve");
    assert_eq!(
        app.browser.get(&forged).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
}

/// Accounts whose members must reconnect, each with a pending email.
pub async fn members_to_email(app: &TestApp, count: usize) {
    app.fake.controls().set_partner(false);
    for i in 0..count {
        app.linked(&format!("user-{i}")).await;
    }
    app.sweep_at(t0() + Duration::days(50)).await;
}

async fn smtp_outage_loses_nothing_and_duplicates_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    let worker = app.delivery(smtp.port);
    members_to_email(&app, 3).await;
    smtp.set_down(true);
    let report = worker.send_pending().await.unwrap();
    assert_eq!((report.sent, report.retrying), (0, 3));
    // Retried with backoff: not before the first delay has passed.
    assert_eq!(worker.send_pending().await.unwrap().retrying, 0);
    smtp.set_down(false);
    app.at(app.clock_now() + Duration::minutes(2));
    assert_eq!(worker.send_pending().await.unwrap().sent, 3);
    assert_eq!(worker.send_pending().await.unwrap().sent, 0);
    let mut to: Vec<_> = smtp.received().iter().map(|m| m.to[0].clone()).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 3);
    assert_eq!(smtp.received().len(), 3);
}

async fn two_workers_never_send_one_email_twice(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    members_to_email(&app, 12).await;
    let (a, b) = (app.delivery(smtp.port), app.delivery(smtp.port));
    let (ra, rb) = tokio::join!(a.send_pending(), b.send_pending());
    assert_eq!(ra.unwrap().sent + rb.unwrap().sent, 12);
    let mut ids: Vec<_> = smtp
        .received()
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    assert_eq!(ids.len(), 12);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 12);
}

async fn a_resend_after_a_crash_keeps_its_message_id(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    members_to_email(&app, 1).await;
    // A worker claimed the email, sent it, and died before marking it sent.
    let now = app.clock_now();
    let lease = tokenkeeper::store::Lease {
        holder: "crashed-worker".into(),
        now,
        until: now + Duration::minutes(10),
    };
    let claimed = app.store.claim_notifications(&lease, 10).await.unwrap();
    let [ClaimedNotification::Email(claimed)] = &claimed[..] else {
        panic!("one email is due: {claimed:?}");
    };
    let worker = app.delivery(smtp.port);
    // While its claim holds, nobody else sends it.
    assert_eq!(worker.send_pending().await.unwrap().sent, 0);
    app.at(now + Duration::minutes(11));
    assert_eq!(worker.send_pending().await.unwrap().sent, 1);
    let expected = message_id(&claimed.dedupe_key, &app.config.smtp);
    assert_eq!(smtp.received()[0].header("Message-ID").unwrap(), expected);
    // The id depends only on the notification, so the lost first copy carried it too.
    assert_eq!(message_id(&claimed.dedupe_key, &app.config.smtp), expected);
}

async fn an_email_that_keeps_failing_is_marked_failed_not_dropped(backend: Backend) {
    let Some(app) = spawn(backend, Setup::default().var("SMTP__MAX_ATTEMPTS", 2)).await else {
        return;
    };
    let smtp = SmtpServer::start().await;
    smtp.set_down(true);
    let worker = app.delivery(smtp.port);
    members_to_email(&app, 1).await;
    assert_eq!(worker.send_pending().await.unwrap().retrying, 1);
    app.at(app.clock_now() + Duration::hours(1));
    assert_eq!(worker.send_pending().await.unwrap().failed, 1);
    let counts = app.store.notification_counts().await.unwrap();
    assert!(
        counts.contains(&(NotificationStatus::Failed, 1)),
        "{counts:?}"
    );
}

service_tests!(rendered_emails_match_their_snapshots);
async fn rendered_emails_match_their_snapshots() {
    use tokenkeeper::domain::{AccessToken, Account, EmailAddress, MemberId, ProviderName, UserId};
    let at = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
    let account = Account {
        id: 7,
        user_id: UserId::parse("42").unwrap(),
        provider: ProviderName::linkedin(),
        member_id: MemberId::parse("782bbtaQ").unwrap().into(),
        email: EmailAddress::parse("ada@example.com").unwrap(),
        name: Some("Ada <Lovelace>".into()),
        token: AccessToken::new("secret"),
        token_expires_at: at,
        refresh_token: None,
        refresh_token_expires_at: None,
        scope: String::new(),
        expiration: at,
        status: AccountStatus::NeedsReconnect,
        linked_at: at,
        last_refreshed_at: None,
        refresh_attempts: 0,
        last_error: None,
        created_at: at,
        updated_at: at,
        version: 1,
    };
    let settings = tokenkeeper::config::EmailSettings {
        template_dir: None,
        timezone: chrono_tz::Europe::Paris,
        product_name: "Acme Scheduler".into(),
        support_contact: "support@acme.example".into(),
    };
    let renderer = Renderer::new(&settings).unwrap();
    for &kind in NotificationKind::ALL {
        let email = renderer
            .render(
                kind,
                &account,
                at,
                "https://tk.example/connect/linkedin?x=1&sig=abc",
            )
            .unwrap();
        let rendered = format!(
            "Subject: {}\n\n{}\n----- html -----\n{}",
            email.subject, email.text, email.html
        );
        assert!(!rendered.contains("secret"));
        // One file per kind in tests/snapshots, named after the kind; under CI=true insta
        // writes nothing and a difference fails (docs/testing.md: reviewing snapshots).
        insta::with_settings!({
            snapshot_path => "../../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(kind.as_str(), rendered);
        });
    }
}

service_tests!(the_file_transport_writes_one_eml_file_per_email);
async fn the_file_transport_writes_one_eml_file_per_email() {
    let Some(app) = spawn(Backend::Sqlite, Setup::default()).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // A folder that does not exist yet, as the demo's after it cleared the last run's.
    let emails = dir.path().join("emails");
    let mut worker = app.delivery(0);
    worker.transport = tokenkeeper::notify::Transport::files(&emails);
    members_to_email(&app, 2).await;
    assert_eq!(worker.send_pending().await.unwrap().sent, 2);

    let mut recipients = Vec::new();
    for entry in std::fs::read_dir(&emails).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(path.extension().unwrap(), "eml", "{}", path.display());
        let eml = std::fs::read_to_string(&path).unwrap();
        let header = |name: &str| {
            eml.lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_else(|| panic!("{name} in {eml}"))
                .to_owned()
        };
        assert!(header("Subject: ").contains("LinkedIn"), "{eml}");
        assert!(eml.contains("/connect/linkedin?"), "{eml}");
        recipients.push(header("To: "));
    }
    recipients.sort();
    let mut expected = Vec::new();
    for i in 0..2 {
        expected.push(
            app.account(&format!("user-{i}"))
                .await
                .email
                .as_str()
                .to_owned(),
        );
    }
    expected.sort();
    assert_eq!(recipients, expected);
}
