//! The dashboard in a real browser: Debian's chromium, driven through chromedriver. It signs
//! in (after a wrong password is refused), filters the accounts, opens one, presses refresh
//! now and reads the outcome, and sees a form stripped of its CSRF token refused.
//!
//! Without chromedriver on the machine the test is reported ignored with the reason, except
//! under `CI=true`, where it fails: CI installs `chromium` and `chromium-driver` (`.ci/run`). With
//! `UPDATE_SCREENSHOT=1` it also saves the overview to `docs/admin-overview.png`, the picture
//! in docs/operating.md.

use crate::admin::admin_dashboard::{with_dashboard, ADMIN_PASSWORD};
use crate::service_tests;
use crate::support::{spawn, t0, Setup};
use chrono::Duration;
use fake_linkedin::FakeConfig;
use fantoccini::{Client, ClientBuilder, Locator};
use test_databases::Backend;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

service_tests!(the_dashboard_works_in_a_real_browser);

/// chromedriver on a free port, stopped when dropped.
pub struct Driver {
    _process: Child,
    url: String,
}

impl Driver {
    /// `None` (with a notice) when chromedriver is not installed, outside CI.
    pub async fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let spawned = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn();
        let mut process = match spawned {
            Ok(process) => process,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                crate::support::harness::not_run(
                    "the dashboard not tried in a browser: chromedriver is not installed \
                     (apt-get install chromium chromium-driver)",
                );
                return None;
            }
            Err(error) => panic!("chromedriver cannot start: {error}"),
        };
        // chromedriver says when it listens: that line is the signal, not a pause.
        let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
        loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("chromedriver stopped before listening");
            if line.contains("started successfully") {
                break;
            }
        }
        // Its later output is not read; drained so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Some(Self {
            _process: process,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    pub async fn browser(&self) -> Client {
        let mut options = serde_json::json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1000,1500", "--hide-scrollbars"],
        });
        if std::path::Path::new("/usr/bin/chromium").exists() {
            options["binary"] = "/usr/bin/chromium".into();
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("chromium starts under chromedriver")
    }
}

pub async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Waits until the page the last click led to shows `element`: a click that submits a form
/// may return before the next page has replaced the current one.
pub async fn arrived(browser: &Client, element: Locator<'_>) {
    browser
        .wait()
        .at_most(std::time::Duration::from_secs(20))
        .for_element(element)
        .await
        .unwrap_or_else(|e| panic!("the expected page did not come: {e}"));
}

pub async fn sign_in(browser: &Client, password: &str) {
    browser
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    browser
        .find(Locator::Id("sign-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn the_dashboard_works_in_a_real_browser() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let setup = with_dashboard(Setup {
        fake: FakeConfig {
            start_time: t0(),
            accept_unknown_refresh_tokens: true,
            ..FakeConfig::default()
        },
        ..Setup::default()
    });
    let app = spawn(Backend::Sqlite, setup).await.unwrap();
    // A small fleet whose refreshes fall on different days, swept daily for three weeks.
    for user in ["ada", "grace", "linus"] {
        app.linked(user).await;
    }
    for week in 0..6 {
        app.seed_named(&format!("w{week}"), 4, t0() - Duration::days(7 * week))
            .await;
    }
    // Linked most of a year ago: refreshed at the first sweep, their refresh tokens then
    // reach their end within the chart's 60 days, and their members will have to act.
    app.seed_named("old", 3, t0() - Duration::days(330)).await;
    for day in 0..21 {
        app.sweep_at(t0() + Duration::days(day)).await;
    }
    let now = t0() + Duration::days(21);
    app.at(now);

    let browser = driver.browser().await;
    browser.goto(app.url("/admin").as_str()).await.unwrap();
    assert_eq!(browser.current_url().await.unwrap().path(), "/admin/login");
    sign_in(&browser, "not the password").await;
    arrived(&browser, Locator::Id("refused")).await;
    assert_eq!(text_of(&browser, "#refused").await, "Wrong password.");
    sign_in(&browser, ADMIN_PASSWORD).await;
    arrived(&browser, Locator::Id("by-status")).await;
    assert_eq!(browser.current_url().await.unwrap().path(), "/admin");
    assert!(text_of(&browser, "#by-status").await.contains("active"));
    browser.find(Locator::Css("svg#ahead rect")).await.unwrap();
    if std::env::var("UPDATE_SCREENSHOT").as_deref() == Ok("1") {
        let png = browser.screenshot().await.unwrap();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/admin-overview.png");
        std::fs::write(path, png).unwrap();
    }

    // Filter by status, then search by email.
    browser
        .goto(app.url("/admin/accounts").as_str())
        .await
        .unwrap();
    browser
        .find(Locator::Css("#status option[value=active]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .find(Locator::Id("filter"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrived(
        &browser,
        Locator::XPath("//option[@value='active' and @selected]"),
    )
    .await;
    let url = browser.current_url().await.unwrap();
    assert!(url.query().unwrap().contains("status=active"), "{url}");
    assert!(text_of(&browser, "#accounts").await.contains("grace"));
    browser
        .find(Locator::Css("input[name=q]"))
        .await
        .unwrap()
        .send_keys("grace@example.com")
        .await
        .unwrap();
    browser
        .find(Locator::Id("filter"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrived(
        &browser,
        Locator::XPath("//input[@name='q' and @value='grace@example.com']"),
    )
    .await;
    let listed = text_of(&browser, "#accounts").await;
    assert!(
        listed.contains("grace") && !listed.contains("ada"),
        "{listed}"
    );

    // Open the account and refresh it now.
    browser
        .find(Locator::LinkText("grace"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrived(&browser, Locator::Id("refresh-now")).await;
    assert_eq!(
        browser.current_url().await.unwrap().path(),
        format!("/admin/accounts/{}", app.account("grace").await.id)
    );
    browser
        .find(Locator::Id("refresh-now"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrived(&browser, Locator::Id("flash")).await;
    assert_eq!(
        text_of(&browser, "#flash").await,
        "Refreshed: new tokens are stored."
    );
    assert!(text_of(&browser, "#last-refreshed")
        .await
        .contains(&now.format("%Y-%m-%d %H:%M").to_string()));
    assert_eq!(app.account("grace").await.last_refreshed_at, Some(now));

    // The same form without its CSRF token is refused, and changes nothing.
    app.at(now + Duration::hours(1));
    browser
        .execute(
            "document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())",
            vec![],
        )
        .await
        .unwrap();
    browser
        .find(Locator::Id("refresh-now"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    arrived(&browser, Locator::XPath("//h1[text()='Form refused']")).await;
    assert_eq!(app.account("grace").await.last_refreshed_at, Some(now));
    browser.close().await.unwrap();
}
