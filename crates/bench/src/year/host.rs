//! What the people around tokenkeeper do over HTTP: the host app (asks for connect links,
//! reads tokens, uses them at the network, reports the ones refused) and a member's browser
//! (follows a link through the network's consent page and back, signed in as that member).

use anyhow::{bail, Context};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use url::Url;

/// How a member's attempt to (re)connect ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connect {
    Connected,
    /// The link had expired, or was used (410): the member goes through the host app instead.
    LinkSpent,
    /// Anything else, with what the last page said.
    Failed(String),
}

/// What a read of the member's token showed the host app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// The network accepted the token.
    Works,
    /// The network refused it; the host app reported it (`/invalid`) and got this outcome.
    Refused(String),
    /// tokenkeeper holds no usable token for the member (no account, or one to reconnect).
    NoToken(String),
    /// The service did not answer usefully (an instance down, a provider outage).
    Unavailable(String),
}

#[derive(Clone)]
pub struct Host {
    http: reqwest::Client,
    api_key: String,
}

impl Host {
    pub fn new(api_key: String) -> anyhow::Result<Self> {
        Ok(Self {
            // The browser follows redirects itself, to carry cookies between hosts.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(60))
                .build()?,
            api_key,
        })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A connect link for the member, from the host app (`POST /api/v1/connect-links`).
    pub async fn connect_link(
        &self,
        service: &Url,
        user_id: &str,
        email: &str,
        provider: &str,
    ) -> anyhow::Result<String> {
        let answer = self
            .http
            .post(service.join("/api/v1/connect-links")?)
            .bearer_auth(&self.api_key)
            .json(&serde_json::json!({"user_id": user_id, "email": email, "provider": provider}))
            .send()
            .await?;
        let status = answer.status();
        let body: serde_json::Value = answer.json().await.unwrap_or_default();
        if !status.is_success() {
            bail!("connect link for {user_id}: {status} {body}");
        }
        body["url"]
            .as_str()
            .map(str::to_owned)
            .context("a connect link answer without url")
    }

    /// Follows `link` as the member's browser: tokenkeeper's link, the network's consent page
    /// (the `fake_member` cookie signs the member in there), the callback. `service` replaces
    /// the link's own address, as a load balancer in front of the instances would.
    pub async fn follow(&self, link: &str, service: &Url, sub: &str) -> anyhow::Result<Connect> {
        let mut url = Url::parse(link)?;
        rebase(&mut url, service)?;
        let mut jar: Vec<(String, String)> = Vec::new();
        for _ in 0..8 {
            let origin = url.origin().ascii_serialization();
            let mut cookie = format!("fake_member={sub}");
            for (_, pair) in jar.iter().filter(|(o, _)| *o == origin) {
                cookie.push_str("; ");
                cookie.push_str(pair);
            }
            let answer = self
                .http
                .get(url.clone())
                .header(COOKIE, cookie)
                .send()
                .await?;
            for value in answer.headers().get_all(SET_COOKIE) {
                if let Some(pair) = value.to_str().ok().and_then(|v| v.split(';').next()) {
                    jar.push((origin.clone(), pair.trim().to_owned()));
                }
            }
            let status = answer.status();
            let at_callback = url.path().ends_with("/callback");
            if status.is_redirection() {
                if at_callback {
                    return Ok(Connect::Connected);
                }
                let location = answer
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .context("a redirect without Location")?;
                url = url.join(location)?;
                continue;
            }
            let page = answer.text().await.unwrap_or_default();
            return Ok(match (at_callback, status) {
                (true, s) if s.is_success() => Connect::Connected,
                (false, StatusCode::GONE) => Connect::LinkSpent,
                _ => Connect::Failed(format!("{status} at {}: {}", url.path(), excerpt(&page))),
            });
        }
        Ok(Connect::Failed("too many redirects".into()))
    }

    /// Reads the member's token (`GET /api/v1/accounts/{user_id}`), uses it at the network
    /// (`use_url`: who it belongs to), and reports it to tokenkeeper if the network refuses it.
    pub async fn read_and_use(
        &self,
        service: &Url,
        user_id: &str,
        provider: &str,
        use_url: &str,
    ) -> anyhow::Result<Read> {
        let mut account_url = service.join(&format!("/api/v1/accounts/{user_id}"))?;
        account_url
            .query_pairs_mut()
            .append_pair("provider", provider);
        let answer = self
            .http
            .get(account_url)
            .bearer_auth(&self.api_key)
            .send()
            .await?;
        let status = answer.status();
        let body: serde_json::Value = answer.json().await.unwrap_or_default();
        if status == StatusCode::NOT_FOUND {
            return Ok(Read::NoToken("no account".into()));
        }
        if !status.is_success() {
            return Ok(Read::Unavailable(format!("{status} {}", body["error"])));
        }
        let token = body["access_token"].as_str().unwrap_or_default();
        let used = self.http.get(use_url).bearer_auth(token).send().await?;
        if used.status().is_success() {
            return Ok(Read::Works);
        }
        if body["status"] != "active" {
            return Ok(Read::NoToken(format!("status {}", body["status"])));
        }
        let mut invalid_url = service.join(&format!("/api/v1/accounts/{user_id}/invalid"))?;
        invalid_url
            .query_pairs_mut()
            .append_pair("provider", provider);
        let answer = self
            .http
            .post(invalid_url)
            .bearer_auth(&self.api_key)
            .send()
            .await?;
        let status = answer.status();
        let body: serde_json::Value = answer.json().await.unwrap_or_default();
        Ok(Read::Refused(if status.is_success() {
            body["result"].as_str().unwrap_or("?").to_owned()
        } else {
            format!("{status} {}", body["error"])
        }))
    }
}

/// Points `url` at `service`, keeping its path and query.
fn rebase(url: &mut Url, service: &Url) -> anyhow::Result<()> {
    url.set_host(service.host_str())?;
    url.set_port(service.port())
        .map_err(|()| anyhow::anyhow!("cannot set the port of {url}"))?;
    Ok(())
}

fn excerpt(page: &str) -> String {
    let text: String = page.chars().filter(|c| !c.is_control()).take(200).collect();
    text
}
