//! `tokenkeeper demo`: the whole story on one machine with nothing configured. It starts the
//! fake LinkedIn, a fake X and the real service on free ports, with SQLite in a demo folder,
//! and links demo users through the real HTTP connect flow, following redirects as a browser
//! would. A small webhook receiver stands for the host app and prints the events it is sent.

mod receiver;
mod short_lived;

use crate::accounts_table::accounts_table;
use crate::app::Application;
use crate::config::Config;
use crate::domain::{ManualClock, SystemClock};
use crate::notify::Transport;
use crate::refresh::{render_report, SweepOptions};
use crate::store::AccountStore;
use anyhow::{bail, Context};
use fake_linkedin::{FakeConfig, FakeLinkedIn};
use rand::distributions::{Alphanumeric, DistString};
use std::path::Path;
use std::sync::Arc;

struct DemoUser {
    user_id: &'static str,
    email: &'static str,
    /// Whether the LinkedIn app has partner access (and so gets refresh tokens).
    partner: bool,
}

const USERS: &[DemoUser] = &[
    DemoUser {
        user_id: "ada",
        email: "ada@example.com",
        partner: true,
    },
    DemoUser {
        user_id: "grace",
        email: "grace@example.com",
        partner: true,
    },
    DemoUser {
        user_id: "linus",
        email: "linus@example.com",
        partner: false,
    },
];

pub async fn run(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the demo folder {}", dir.display()))?;
    let db_path = dir.join("tokenkeeper.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db_path.display()));
    }

    let fake = FakeLinkedIn::start(FakeConfig::default())
        .await
        .context("cannot start the fake LinkedIn")?;
    println!("fake LinkedIn listening on {}", fake.base_url());
    let x = short_lived::start_fake_x().await?;
    println!("fake X listening on {}", x.base_url());

    let api_key = Alphanumeric.sample_string(&mut rand::thread_rng(), 32);
    let webhook_secret = crate::crypto::WebhookSecret::generate();
    let receiver =
        receiver::DemoReceiver::start(crate::crypto::WebhookSecret::parse(&webhook_secret)?)
            .await
            .context("cannot start the demo's webhook receiver")?;
    let vars = [
        ("DATABASE_URL", format!("sqlite://{}", db_path.display())),
        ("HTTP__BIND", "127.0.0.1:0".to_owned()),
        // The demo runs its sweep itself, at day 50.
        ("SCHEDULE__ENABLED", "false".to_owned()),
        ("API__API_KEY", api_key.clone()),
        // A key of its own, made for this run: the demo's database is recreated each time.
        (
            "ENCRYPTION__KEYS",
            crate::crypto::new_entry(chrono::Utc::now()).to_string(),
        ),
        (
            "CONNECT__SIGNING_KEY",
            Alphanumeric.sample_string(&mut rand::thread_rng(), 48),
        ),
        ("LINKEDIN__CLIENT_ID", FakeConfig::default().client_id),
        (
            "LINKEDIN__CLIENT_SECRET",
            FakeConfig::default().client_secret,
        ),
        ("LINKEDIN__AUTHORIZE_URL", fake.authorize_url()),
        ("LINKEDIN__TOKEN_URL", fake.token_url()),
        ("LINKEDIN__INTROSPECT_URL", fake.introspect_url()),
        ("LINKEDIN__USERINFO_URL", fake.userinfo_url()),
        ("WEBHOOKS__URL", receiver.url.clone()),
        ("WEBHOOKS__SECRET", webhook_secret),
        // Delivered by the story itself, at the time its clock says.
        ("WEBHOOKS__POLL_SECONDS", "3600".to_owned()),
    ]
    .map(|(k, v)| (format!("TOKENKEEPER_{k}"), v));
    let vars = vars.into_iter().chain(short_lived::provider_vars(&x));
    let config = Config::load_from(None, vars).context("demo configuration")?;
    let app = Application::build(config, Arc::new(SystemClock)).await?;
    let base = app.public_url().clone();
    let store: Arc<dyn AccountStore> = app.services().store.clone();
    let engine = app.engine().clone();
    let emails_dir = dir.join("emails");
    let _ = std::fs::remove_dir_all(&emails_dir);
    // The demo's mail goes to .eml files instead of an SMTP server. Its clock, which the
    // webhooks' share, is moved with the story (day 50, then the reminders' day).
    let mail_clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let workers = crate::services::Services {
        clock: mail_clock.clone(),
        ..app.services().clone()
    };
    let mailer = workers.mail(Transport::files(&emails_dir))?;
    let webhooks = workers
        .webhooks()?
        .context("the demo configures webhooks")?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    println!("tokenkeeper listening on {base}");
    println!("database: {}\n", db_path.display());

    // A browser keeps cookies: the connect flow finishes only where it started.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .context("cannot build the demo's HTTP client")?;
    for user in USERS {
        fake.controls().set_partner(user.partner);
        let link: serde_json::Value = browser
            .post(base.join("/api/v1/connect-links")?)
            .bearer_auth(&api_key)
            .json(&serde_json::json!({"user_id": user.user_id, "email": user.email}))
            .send()
            .await?
            .error_for_status()
            .context("asking for a connect link")?
            .json()
            .await?;
        let url = link["url"].as_str().context("connect link without url")?;
        // reqwest follows the redirects: our link -> LinkedIn's consent -> our callback.
        let page = browser.get(url).send().await?;
        if !page.status().is_success() {
            bail!(
                "connecting {} failed with {}: {}",
                user.user_id,
                page.status(),
                page.text().await.unwrap_or_default()
            );
        }
        println!(
            "linked {} through the connect flow ({})",
            user.user_id,
            if user.partner {
                "partner app: refresh token"
            } else {
                "open product: no refresh token"
            }
        );
    }

    // One LinkedIn app is either a partner or not; linus stands for the users of an app
    // without partner access, and the fake goes back to partner mode for the others.
    fake.controls().set_partner(true);

    import_existing_member(&browser, &base, &api_key, &fake).await?;
    short_lived::link_and_read(&browser, &base, &api_key, &x).await?;

    mail_clock.set(chrono::Utc::now());
    show_webhooks(&webhooks, &receiver).await?;

    println!("\nStored accounts:");
    let accounts = store.list_accounts(0, 100).await?;
    print!("{}", accounts_table(&accounts));

    // Day 50: the accounts fall due. One member revoked the app at LinkedIn meanwhile.
    let revoked = accounts
        .iter()
        .find(|a| a.user_id.as_str() == "grace")
        .context("the demo user grace is linked")?;
    fake.controls().revoke_member(revoked.member_id.as_str());
    let day50 = accounts
        .iter()
        .map(|a| a.expiration)
        .max()
        .context("demo accounts exist")?;
    fake.controls().set_now(day50);
    println!(
        "\nMoving the clock to day 50 ({}); grace revoked the app on LinkedIn.",
        day50.format("%Y-%m-%d %H:%M")
    );
    println!(
        "$ tokenkeeper sweep --as-of {}",
        day50.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let report = engine
        .sweep(SweepOptions {
            as_of: Some(day50),
            ..SweepOptions::default()
        })
        .await?;
    print!("{}", render_report(&report));
    println!(
        "X presented no spent refresh token twice: {} reuse(s)",
        x.controls().refresh_token_reuses()
    );
    println!("\nAfter the sweep:");
    print!("{}", accounts_table(&store.list_accounts(0, 100).await?));
    println!(
        "\nada, and margaret whose tokens were imported, were refreshed: new tokens, next refresh 50\n\
         days on. grace revoked the app and linus's app has no partner access (no refresh\n\
         token): both need to reconnect."
    );

    mail_clock.set(day50);
    show_webhooks(&webhooks, &receiver).await?;
    let sent = mailer.send_pending().await?;
    println!(
        "\nDay 50: reconnect emails delivered from the outbox: {} (as .eml files in {})",
        sent.sent,
        emails_dir.display()
    );
    let reminder_day = day50 + chrono::Duration::days(7);
    mail_clock.set(reminder_day);
    let reminded = mailer.send_pending().await?;
    println!(
        "Day 57, three days before their tokens die, nobody has reconnected: {} reminder(s)",
        reminded.sent
    );
    print_subjects(&emails_dir)?;

    let _ = stop.send(());
    server.await??;
    fake.shutdown().await;
    Ok(())
}

/// A member the host app linked before it used tokenkeeper, 45 days ago: the app hands over
/// the tokens it holds (`POST /api/v1/accounts`, as `tokenkeeper import` does for a file), and
/// the account is due by the same policy as a new link, so the day-50 sweep refreshes it.
async fn import_existing_member(
    browser: &reqwest::Client,
    base: &url::Url,
    api_key: &str,
    fake: &FakeLinkedIn,
) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let linked_at = now - chrono::Duration::days(45);
    let access = format!(
        "AQ{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 60)
    );
    let refresh = format!(
        "AQ{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 60)
    );
    // LinkedIn knows the tokens: the app got them from it before.
    fake.controls().seed_access_token(
        &access,
        fake_linkedin::SeededToken {
            member: "MgT4rEt9qZ".into(),
            scope: vec!["openid".into(), "profile".into(), "w_member_social".into()],
            authorized_at: linked_at,
            expires_at: linked_at + chrono::Duration::days(60),
            refresh: Some((refresh.clone(), linked_at + chrono::Duration::days(365))),
            revoked: false,
        },
    );
    let answer: serde_json::Value = browser
        .post(base.join("/api/v1/accounts")?)
        .bearer_auth(api_key)
        .json(&serde_json::json!({
            "user_id": "margaret",
            "email": "margaret@example.com",
            "member_id": "MgT4rEt9qZ",
            "name": "Margaret",
            "access_token": access,
            "refresh_token": refresh,
            "token_expires_at": (linked_at + chrono::Duration::days(60)).to_rfc3339(),
            "refresh_token_expires_at": (linked_at + chrono::Duration::days(365)).to_rfc3339(),
            "linked_at": linked_at.to_rfc3339(),
            "scope": "openid,profile,w_member_social",
        }))
        .send()
        .await?
        .error_for_status()
        .context("importing an existing member")?
        .json()
        .await?;
    println!(
        "imported margaret (her tokens held by the app since {}): {}",
        linked_at.format("%Y-%m-%d"),
        answer["status"].as_str().unwrap_or("?")
    );
    Ok(())
}

/// Delivers the webhook events due now and prints what the receiver got.
async fn show_webhooks(
    webhooks: &crate::webhooks::WebhookDelivery,
    receiver: &receiver::DemoReceiver,
) -> anyhow::Result<()> {
    webhooks.deliver_pending().await?;
    println!("\nWebhook events your app received at {}:", receiver.url);
    for line in receiver.take() {
        println!("  {line}");
    }
    Ok(())
}

/// Prints who each .eml file is for and its subject, as a mail client's list would. The
/// files are named by random ids, so the list is sorted by recipient and subject instead.
fn print_subjects(dir: &Path) -> anyhow::Result<()> {
    let mut emails = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let text = std::fs::read_to_string(entry?.path())?;
        let header = |name: &str| {
            let mut value = String::new();
            let mut inside = false;
            for line in text.lines().take_while(|l| !l.is_empty()) {
                if line.starts_with([' ', '\t']) && inside {
                    value.push_str(line);
                } else {
                    inside = line.starts_with(name);
                    if inside {
                        value = line[name.len()..].trim().to_owned();
                    }
                }
            }
            value
        };
        emails.push((header("To:"), header("Subject:")));
    }
    emails.sort();
    let rows: Vec<Vec<String>> = emails
        .into_iter()
        .map(|(to, subject)| vec![String::new(), "to".into(), to, subject])
        .collect();
    print!("{}", crate::accounts_table::aligned_columns(&rows));
    Ok(())
}
