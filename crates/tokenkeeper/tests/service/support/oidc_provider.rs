//! A real OpenID provider in a child process: panva's oidc-provider, run by
//! `tests/oidc-provider/server.mjs` (see there for what it is configured with). A machine
//! without Node.js or without the provider's `node_modules` cannot run the tests that need it:
//! they say so (`not_run`) and are reported ignored, or fail under `CI=true`, as a test
//! without its browser or database is.
//!
//! `sign_in_and_consent` drives the provider's own sign-in and consent pages over HTTP, as a
//! browser would, and returns the authorization code.

use crate::support::{location, new_browser};
use serde::Deserialize;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use url::Url;

/// The running provider; dropping it kills the process (and closes its stdin, which ends it
/// too should the kill be missed).
pub struct OidcProvider {
    pub issuer: Url,
    pub clients: Vec<OidcClient>,
    _stdin: ChildStdin,
    _process: Child,
    _log: tempfile::NamedTempFile,
}

/// One client the provider knows, as its start line lists them.
#[derive(Debug, Clone, Deserialize)]
pub struct OidcClient {
    pub client_id: String,
    pub client_secret: String,
    /// `client_secret_basic` or `client_secret_post`.
    pub token_endpoint_auth_method: String,
}

/// One grant the token endpoint gave.
#[derive(Debug, Clone, Deserialize)]
pub struct Grant {
    /// `authorization_code` or `refresh_token`.
    pub grant_type: String,
    pub client_id: String,
    /// How the client authenticated: `client_secret_basic`, `client_secret_post` or `none`.
    pub authentication: String,
}

#[derive(Deserialize)]
struct Started {
    issuer: String,
    clients: Vec<OidcClient>,
}

/// Where server.mjs and its `node_modules` are.
fn folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc-provider")
}

const INSTALL: &str = "install Node.js 20.19 or newer, then run `npm ci` in \
                       crates/tokenkeeper/tests/oidc-provider";

impl OidcProvider {
    /// Starts the provider on a free port, with access tokens living `access_token_ttl` and
    /// every client allowed `redirect_uri`. `None`, with the reason given to the harness, when
    /// this machine cannot run it.
    pub async fn start(redirect_uri: &str, access_token_ttl: Duration) -> Option<Self> {
        Self::start_with(redirect_uri, access_token_ttl, false).await
    }

    /// `start`, the clients taking `redirect_uri` on any port of 127.0.0.1 (RFC 8252 §7.3):
    /// for the service under test, which is configured with this issuer before it binds its
    /// port, so its callback's port cannot be registered beforehand.
    pub async fn start_for_any_port(
        redirect_uri: &str,
        access_token_ttl: Duration,
    ) -> Option<Self> {
        Self::start_with(redirect_uri, access_token_ttl, true).await
    }

    async fn start_with(
        redirect_uri: &str,
        access_token_ttl: Duration,
        any_loopback_port: bool,
    ) -> Option<Self> {
        let node = Command::new("node").arg("--version").output().await;
        if !node.is_ok_and(|out| out.status.success()) {
            crate::support::harness::not_run(format!("the OpenID provider needs node: {INSTALL}"));
            return None;
        }
        if !folder().join("node_modules/oidc-provider").is_dir() {
            crate::support::harness::not_run(format!(
                "the OpenID provider is not installed: {INSTALL}"
            ));
            return None;
        }
        // Its warnings go to a file, read only when it fails to start: a pipe nobody reads
        // could fill up and stop it.
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut process = Command::new("node")
            .current_dir(folder())
            .args(["server.mjs", "--redirect-uri", redirect_uri])
            .arg("--access-token-ttl")
            .arg(access_token_ttl.as_secs().max(1).to_string())
            .args(any_loopback_port.then_some("--any-loopback-port"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts");
        let stdin = process.stdin.take().unwrap();
        let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
        // A bound only on failure: the line comes as soon as the socket is bound.
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await;
        let Ok(Ok(Some(line))) = first else {
            let _ = process.kill().await;
            let stderr = std::fs::read_to_string(log.path()).unwrap_or_default();
            panic!("the OpenID provider did not start ({first:?}):\n{stderr}");
        };
        let started: Started = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the provider's start line {line:?}: {e}"));
        Some(Self {
            issuer: Url::parse(&started.issuer).expect("the issuer is a URL"),
            clients: started.clients,
            _stdin: stdin,
            _process: process,
            _log: log,
        })
    }

    /// The client authenticating with `method` (`client_secret_basic`, `client_secret_post`).
    pub fn client(&self, method: &str) -> &OidcClient {
        self.clients
            .iter()
            .find(|c| c.token_endpoint_auth_method == method)
            .unwrap_or_else(|| panic!("no {method} client in {:?}", self.clients))
    }

    /// The grants the token endpoint has given so far, oldest first, as the provider saw
    /// them.
    pub async fn grants(&self) -> Vec<Grant> {
        let url = self.issuer.join("/test-only/grants").unwrap();
        reqwest::get(url).await.unwrap().json().await.unwrap()
    }

    /// How many grants of `grant_type` (`refresh_token`, `authorization_code`) it has given.
    pub async fn grants_of(&self, grant_type: &str) -> usize {
        let grants = self.grants().await;
        grants.iter().filter(|g| g.grant_type == grant_type).count()
    }

    /// A refresh sent straight to the token endpoint as `client`, past the service: the
    /// status and the body.
    pub async fn refresh_directly(
        &self,
        client: &OidcClient,
        refresh_token: &str,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        self.client_post("/token", client, &form).await
    }

    /// Revokes `refresh_token` at the revocation endpoint (RFC 7009) as `client`, which ends
    /// its whole grant at this provider.
    pub async fn revoke_refresh_token(&self, client: &OidcClient, refresh_token: &str) {
        let form = [
            ("token", refresh_token),
            ("token_type_hint", "refresh_token"),
        ];
        let (status, body) = self.client_post("/token/revocation", client, &form).await;
        assert!(status.is_success(), "revocation answered {status}: {body}");
    }

    /// A POST to one of the provider's client-authenticated endpoints, with the client's own
    /// authentication: HTTP Basic, or its credentials in the form.
    async fn client_post(
        &self,
        path: &str,
        client: &OidcClient,
        form: &[(&str, &str)],
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let mut form = form.to_vec();
        let request = reqwest::Client::new().post(self.issuer.join(path).unwrap());
        let request = match client.token_endpoint_auth_method.as_str() {
            "client_secret_basic" => {
                request.basic_auth(&client.client_id, Some(&client.client_secret))
            }
            _ => {
                form.push(("client_id", &client.client_id));
                form.push(("client_secret", &client.client_secret));
                request
            }
        };
        let answer = request.form(&form).send().await.unwrap();
        let status = answer.status();
        let text = answer.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }
}

/// Opens `authorize` in a fresh browser, signs in as `login` on the provider's page, confirms
/// its consent page, and returns the `code` of the redirect to `redirect_uri` (after checking
/// the `state` it carries, when the authorize URL had one).
pub async fn sign_in_and_consent(authorize: &Url, redirect_uri: &str, login: &str) -> String {
    let back = sign_in_and_consent_in(&new_browser(), authorize, redirect_uri, login).await;
    code_of(authorize, &back)
}

/// `sign_in_and_consent` in `browser` (the one that opened the service's connect link, whose
/// cookie the callback wants): the URL the provider sends it back to, not yet followed.
pub async fn sign_in_and_consent_in(
    browser: &reqwest::Client,
    authorize: &Url,
    redirect_uri: &str,
    login: &str,
) -> Url {
    let mut response = browser.get(authorize.clone()).send().await.unwrap();
    // Each page is at most: the sign-in form, the consent form, and the redirects between.
    for _ in 0..12 {
        if response.status().is_redirection() {
            let next = location(&response);
            if next.as_str().starts_with(redirect_uri) {
                return next;
            }
            response = browser.get(next).send().await.unwrap();
            continue;
        }
        let page = response.url().clone();
        let status = response.status();
        let html = response.text().await.unwrap();
        assert!(status.is_success(), "{page} answered {status}:\n{html}");
        let form = Form::read(&html).unwrap_or_else(|| panic!("no form at {page}:\n{html}"));
        let mut fields = form.hidden;
        match fields.iter().find(|(name, _)| name == "prompt") {
            Some((_, prompt)) if prompt == "login" => {
                fields.push(("login".into(), login.into()));
                fields.push(("password".into(), "any password".into()));
            }
            Some((_, prompt)) if prompt == "consent" => {}
            other => panic!("a form for {other:?} at {page}:\n{html}"),
        }
        let action = page.join(&form.action).unwrap();
        response = browser.post(action).form(&fields).send().await.unwrap();
    }
    panic!("no redirect to {redirect_uri} after a dozen pages");
}

/// The code of the provider's redirect back, after checking its `state` and that it is no
/// error.
fn code_of(authorize: &Url, back: &Url) -> String {
    let param = |url: &Url, name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if let Some(error) = param(back, "error") {
        panic!("the provider refused: {error}: {back}");
    }
    assert_eq!(param(back, "state"), param(authorize, "state"), "{back}");
    param(back, "code").unwrap_or_else(|| panic!("no code in {back}"))
}

/// The one form of a page of the provider's: where it posts, and its hidden fields.
struct Form {
    action: String,
    hidden: Vec<(String, String)>,
}

impl Form {
    fn read(html: &str) -> Option<Self> {
        let form = &html[html.find("<form")?..];
        let action = unescape(attribute(&form[..form.find('>')?], "action")?);
        let hidden = form
            .split("<input")
            .skip(1)
            .filter_map(|tag| {
                let tag = &tag[..tag.find('>')?];
                (attribute(tag, "type")? == "hidden").then_some(())?;
                Some((
                    attribute(tag, "name")?.to_owned(),
                    unescape(attribute(tag, "value")?),
                ))
            })
            .collect();
        Some(Self { action, hidden })
    }
}

/// The value of `name="..."` in one tag.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
