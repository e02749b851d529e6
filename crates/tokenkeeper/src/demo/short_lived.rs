//! The demo's second network: a fake X, whose access tokens live a few seconds here (two hours
//! at X: the demo need not wait that long) and whose refresh tokens are single use. ada links
//! her X account too, and the host app's reads show refresh on read: a fresh token costs no
//! call, a token past half its life is renewed first, and the rotated refresh token is
//! stored.

use anyhow::Context;
use fake_linkedin::{FakeNetwork, FakeNetworkConfig, NetworkEndpoint, NetworkKind};
use url::Url;

/// Shorter than the default minute a read asks for: a read renews the token once less than
/// half its life is left.
const ACCESS_TOKEN_SECONDS: i64 = 4;

pub(super) async fn start_fake_x() -> anyhow::Result<FakeNetwork> {
    FakeNetwork::start(
        NetworkKind::X,
        FakeNetworkConfig {
            access_token_ttl: Some(chrono::Duration::seconds(ACCESS_TOKEN_SECONDS)),
            ..FakeNetworkConfig::default()
        },
    )
    .await
    .context("cannot start the fake X")
}

/// `[providers.x]`, pointed at the fake.
pub(super) fn provider_vars(x: &FakeNetwork) -> impl Iterator<Item = (String, String)> {
    let config = FakeNetworkConfig::default();
    [
        ("KIND", "x".to_owned()),
        ("CLIENT_ID", config.client_id),
        ("CLIENT_SECRET", config.client_secret),
        ("AUTHORIZE_URL", x.authorize_url()),
        ("TOKEN_URL", x.token_url()),
        ("USERINFO_URL", x.me_url()),
        (
            "REVOCATION_URL",
            x.revoke_url().expect("X has a revocation endpoint"),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (format!("TOKENKEEPER_PROVIDERS__X__{k}"), v))
}

pub(super) async fn link_and_read(
    browser: &reqwest::Client,
    base: &Url,
    api_key: &str,
    x: &FakeNetwork,
) -> anyhow::Result<()> {
    let link: serde_json::Value = browser
        .post(base.join("/api/v1/connect-links")?)
        .bearer_auth(api_key)
        .json(&serde_json::json!({
            "user_id": "ada", "email": "ada@example.com", "provider": "x"
        }))
        .send()
        .await?
        .error_for_status()
        .context("asking for an X connect link")?
        .json()
        .await?;
    let url = link["url"].as_str().context("connect link without url")?;
    let page = browser.get(url).send().await?;
    anyhow::ensure!(
        page.status().is_success(),
        "connecting ada's X account failed with {}",
        page.status()
    );
    println!(
        "linked ada's X account through /connect/x (PKCE; {ACCESS_TOKEN_SECONDS}-second access tokens here, single-use refresh tokens)"
    );

    let read = |query: &'static str| async move {
        let answer: serde_json::Value = browser
            .get(base.join(&format!("/api/v1/accounts/ada?provider=x{query}"))?)
            .bearer_auth(api_key)
            .send()
            .await?
            .error_for_status()
            .context("reading ada's X token")?
            .json()
            .await?;
        anyhow::Ok(answer)
    };
    let calls = || x.controls().calls(NetworkEndpoint::Refresh);
    let first = read("").await?;
    println!(
        "  GET /api/v1/accounts/ada?provider=x: token ...{}, expires {}; refresh calls to X: {}",
        tail(&first),
        first["token_expires_at"],
        calls()
    );
    // Past half the token's life.
    tokio::time::sleep(std::time::Duration::from_millis(
        (ACCESS_TOKEN_SECONDS * 1000 * 3 / 4) as u64,
    ))
    .await;
    let renewed = read("").await?;
    println!(
        "  GET again {} s later, under half its life left: renewed first, token ...{}, expires {}; refresh calls to X: {}",
        ACCESS_TOKEN_SECONDS * 3 / 4,
        tail(&renewed),
        renewed["token_expires_at"],
        calls()
    );
    let again = read("").await?;
    println!(
        "  GET once more: the same token ...{}, no call; refresh calls to X: {}",
        tail(&again),
        calls()
    );
    Ok(())
}

/// The last characters of a token: enough to tell two apart on screen.
fn tail(account: &serde_json::Value) -> String {
    let token = account["access_token"].as_str().unwrap_or_default();
    token
        .chars()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}
