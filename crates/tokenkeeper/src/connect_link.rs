//! Signed, expiring links into the connect flow. The host app (or a reconnect email) hands one
//! to a user; whoever holds it may connect an account of exactly that provider for exactly
//! that user and email, until it expires. An HMAC over every parameter makes a forged or altered link worthless.
//! A link completes one connection: its identity (`link_hash`) is recorded when it is used.
//! Every link carries a random id of its own under the signature, so two links issued for one
//! user in the same second are still two links, each usable once.

use crate::domain::{EmailAddress, ProviderName, UserId};
use crate::secret_values::{hex_sha256, random_token};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;
use url::Url;

type HmacSha256 = Hmac<Sha256>;

/// Random bytes in a link's id: no two links share one.
const LINK_ID_BYTES: usize = 16;

pub const CONNECT_PATH: &str = "/connect/linkedin";

/// Where a provider's connect links lead: `/connect/{provider}` (LinkedIn's is [`CONNECT_PATH`]).
pub fn connect_path(provider: &ProviderName) -> String {
    format!("/connect/{provider}")
}

/// The query string of a connect link, as received.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LinkParams {
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub return_to: Option<String>,
    pub expires: Option<i64>,
    /// Present (as `1`) only on links that allow replacing the connected LinkedIn member.
    pub allow_member_change: Option<String>,
    /// The link's own random id; absent on links issued before links had one.
    pub link_id: Option<String>,
    pub sig: Option<String>,
}

/// What the issuer of a link allows beyond connecting: each is part of the signature.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkOptions {
    /// The account may be reconnected with a different LinkedIn member than the one stored.
    pub allow_member_change: bool,
}

/// What a valid link allows: connecting this user, with this email, then going back there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRequest {
    pub provider: ProviderName,
    pub user_id: UserId,
    pub email: EmailAddress,
    pub return_to: Option<Url>,
    pub expires_at: DateTime<Utc>,
    pub options: LinkOptions,
    /// Identifies this one link (the SHA-256 of its signature, hex): what "used" is recorded for.
    pub link_hash: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinkError {
    #[error("the link is incomplete or damaged")]
    Malformed,
    #[error("the link's signature does not match: it was altered or not issued by this service")]
    Forged,
    #[error("the link has expired")]
    Expired,
    #[error("the link points back to a site that is not allowed")]
    ReturnNotAllowed,
}

#[derive(Clone)]
pub struct ConnectLinks {
    key: SecretString,
    base: Url,
    allowed_return_origins: Vec<url::Origin>,
}

impl ConnectLinks {
    pub fn new(key: SecretString, base: Url, allowed_return_origins: Vec<url::Origin>) -> Self {
        Self {
            key,
            base,
            allowed_return_origins,
        }
    }

    /// Whether `return_to` may be redirected to after connecting (no open redirect).
    pub fn check_return_to(&self, raw: &str) -> Result<Url, LinkError> {
        let url = Url::parse(raw).map_err(|_| LinkError::ReturnNotAllowed)?;
        if self.allowed_return_origins.contains(&url.origin()) {
            Ok(url)
        } else {
            Err(LinkError::ReturnNotAllowed)
        }
    }

    pub fn issue(
        &self,
        user_id: &UserId,
        email: &EmailAddress,
        return_to: Option<&Url>,
        expires_at: DateTime<Utc>,
    ) -> Url {
        self.issue_with(
            user_id,
            email,
            return_to,
            expires_at,
            LinkOptions::default(),
        )
    }

    pub fn issue_with(
        &self,
        user_id: &UserId,
        email: &EmailAddress,
        return_to: Option<&Url>,
        expires_at: DateTime<Utc>,
        options: LinkOptions,
    ) -> Url {
        self.issue_for(
            ProviderName::linkedin_ref(),
            user_id,
            email,
            return_to,
            expires_at,
            options,
        )
    }

    /// A link connecting `provider`'s account of the user: valid at that provider's path only.
    pub fn issue_for(
        &self,
        provider: &ProviderName,
        user_id: &UserId,
        email: &EmailAddress,
        return_to: Option<&Url>,
        expires_at: DateTime<Utc>,
        options: LinkOptions,
    ) -> Url {
        let expires = expires_at.timestamp();
        let return_to = return_to.map(Url::as_str);
        let link_id = random_token(LINK_ID_BYTES);
        let sig = self.sign(
            provider,
            Some(&link_id),
            user_id.as_str(),
            email.as_str(),
            return_to,
            expires,
            options,
        );
        let mut url = self
            .base
            .join(&connect_path(provider))
            .expect("a path joins any base");
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("user_id", user_id.as_str())
                .append_pair("email", email.as_str());
            if let Some(r) = return_to {
                query.append_pair("return_to", r);
            }
            query.append_pair("expires", &expires.to_string());
            if options.allow_member_change {
                query.append_pair("allow_member_change", "1");
            }
            query.append_pair("link_id", &link_id);
            query.append_pair("sig", &sig);
        }
        url
    }

    /// A LinkedIn link (`/connect/linkedin`).
    pub fn verify(
        &self,
        params: &LinkParams,
        now: DateTime<Utc>,
    ) -> Result<ConnectRequest, LinkError> {
        self.verify_for(ProviderName::linkedin_ref(), params, now)
    }

    /// A link opened at `provider`'s path: its signature covers the provider, so a link
    /// issued for one provider is forged at another's.
    pub fn verify_for(
        &self,
        provider: &ProviderName,
        params: &LinkParams,
        now: DateTime<Utc>,
    ) -> Result<ConnectRequest, LinkError> {
        let (Some(user_id), Some(email), Some(expires), Some(sig)) = (
            params.user_id.as_deref(),
            params.email.as_deref(),
            params.expires,
            params.sig.as_deref(),
        ) else {
            return Err(LinkError::Malformed);
        };
        let options = match params.allow_member_change.as_deref() {
            None => LinkOptions::default(),
            Some("1") => LinkOptions {
                allow_member_change: true,
            },
            Some(_) => return Err(LinkError::Malformed),
        };
        let link_id = params.link_id.as_deref();
        if link_id.is_some_and(|id| !is_link_id(id))
            || (link_id.is_none() && provider.as_str() != ProviderName::LINKEDIN)
        {
            return Err(LinkError::Malformed);
        }
        let given = URL_SAFE_NO_PAD.decode(sig).map_err(|_| LinkError::Forged)?;
        self.mac(
            provider,
            link_id,
            user_id,
            email,
            params.return_to.as_deref(),
            expires,
            options,
        )
        .verify_slice(&given)
        .map_err(|_| LinkError::Forged)?;
        // Only a link we signed gets this far, so its contents passed these checks once; they
        // are repeated because the allow-list or the rules may have changed since.
        let expires_at = DateTime::from_timestamp(expires, 0).ok_or(LinkError::Malformed)?;
        if expires_at <= now {
            return Err(LinkError::Expired);
        }
        let return_to = params
            .return_to
            .as_deref()
            .map(|r| self.check_return_to(r))
            .transpose()?;
        Ok(ConnectRequest {
            provider: provider.clone(),
            user_id: UserId::parse(user_id).map_err(|_| LinkError::Malformed)?,
            email: EmailAddress::parse(email).map_err(|_| LinkError::Malformed)?,
            return_to,
            expires_at,
            options,
            link_hash: hex_sha256(&given),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn sign(
        &self,
        provider: &ProviderName,
        link_id: Option<&str>,
        user_id: &str,
        email: &str,
        return_to: Option<&str>,
        expires: i64,
        options: LinkOptions,
    ) -> String {
        URL_SAFE_NO_PAD.encode(
            self.mac(
                provider, link_id, user_id, email, return_to, expires, options,
            )
            .finalize()
            .into_bytes(),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn mac(
        &self,
        provider: &ProviderName,
        link_id: Option<&str>,
        user_id: &str,
        email: &str,
        return_to: Option<&str>,
        expires: i64,
        options: LinkOptions,
    ) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(self.key.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        // Fields are separated by a newline, which none of them can contain (link ids, user
        // ids and emails are checked, URLs are encoded), so no two links share a message. Each
        // version of the message has its own first line: links issued before ids (v1, v2 with
        // an option) still verify, and adding or removing an id or an option breaks a
        // signature. LinkedIn's links keep v3, so links issued before there were other
        // providers still verify; every other provider's (v4) names it, so a link is forged
        // at any provider's path but its own.
        let return_to = return_to.unwrap_or("");
        let allow = u8::from(options.allow_member_change);
        let message = match link_id {
            // `verify_for` refuses other providers' links without an id before asking: links
            // before ids were LinkedIn's alone.
            id if provider.as_str() != ProviderName::LINKEDIN => format!(
                "connect-v4\n{provider}\n{}\n{user_id}\n{email}\n{return_to}\n{expires}\n{allow}",
                id.unwrap_or("")
            ),
            Some(id) => format!(
                "connect-v3\n{id}\n{user_id}\n{email}\n{return_to}\n{expires}\n{}",
                u8::from(options.allow_member_change)
            ),
            None if options.allow_member_change => format!(
                "connect-v2\n{user_id}\n{email}\n{return_to}\n{expires}\nallow_member_change"
            ),
            None => format!("connect-v1\n{user_id}\n{email}\n{return_to}\n{expires}"),
        };
        mac.update(message.as_bytes());
        mac
    }
}

/// What a link id may be (any URL-safe base64 up to 64 characters): nothing that could pass for a newline.
fn is_link_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn links() -> ConnectLinks {
        ConnectLinks::new(
            SecretString::from("k".repeat(32)),
            Url::parse("http://tk.example").unwrap(),
            vec![Url::parse("https://app.example.com").unwrap().origin()],
        )
    }

    fn params_of(url: &Url) -> LinkParams {
        let query = url.query().unwrap();
        serde_urlencoded_from(query)
    }

    fn serde_urlencoded_from(query: &str) -> LinkParams {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        LinkParams {
            user_id: get("user_id"),
            email: get("email"),
            return_to: get("return_to"),
            expires: get("expires").map(|e| e.parse().unwrap()),
            allow_member_change: get("allow_member_change"),
            link_id: get("link_id"),
            sig: get("sig"),
        }
    }

    #[test]
    fn a_link_verifies_until_it_expires() {
        let now = Utc::now();
        let user = UserId::parse("u-1").unwrap();
        let email = EmailAddress::parse("ada@example.com").unwrap();
        let back = Url::parse("https://app.example.com/settings").unwrap();
        let url = links().issue(&user, &email, Some(&back), now + Duration::minutes(15));
        assert_eq!(url.path(), CONNECT_PATH);
        let request = links().verify(&params_of(&url), now).unwrap();
        assert_eq!(request.user_id, user);
        assert_eq!(request.return_to, Some(back));
        assert_eq!(
            links().verify(&params_of(&url), now + Duration::minutes(16)),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn any_altered_field_is_a_forgery() {
        let now = Utc::now();
        let url = links().issue(
            &UserId::parse("u-1").unwrap(),
            &EmailAddress::parse("ada@example.com").unwrap(),
            None,
            now + Duration::minutes(15),
        );
        let good = params_of(&url);
        let mut other_user = params_of(&url);
        other_user.user_id = Some("u-2".into());
        let mut later = params_of(&url);
        later.expires = Some(good.expires.unwrap() + 3600);
        let mut with_return = params_of(&url);
        with_return.return_to = Some("https://app.example.com/".into());
        for forged in [other_user, later, with_return] {
            assert_eq!(links().verify(&forged, now), Err(LinkError::Forged));
        }
        let other_key = ConnectLinks::new(
            SecretString::from("z".repeat(32)),
            Url::parse("http://tk.example").unwrap(),
            vec![],
        );
        assert_eq!(other_key.verify(&good, now), Err(LinkError::Forged));
        assert_eq!(
            links().verify(&LinkParams::default(), now),
            Err(LinkError::Malformed)
        );
    }

    #[test]
    fn allowing_a_member_change_is_signed() {
        let now = Utc::now();
        let user = UserId::parse("u-1").unwrap();
        let email = EmailAddress::parse("ada@example.com").unwrap();
        let expires = now + Duration::minutes(15);
        let plain = links().issue(&user, &email, None, expires);
        let allowing = links().issue_with(
            &user,
            &email,
            None,
            expires,
            LinkOptions {
                allow_member_change: true,
            },
        );
        let verified = links().verify(&params_of(&allowing), now).unwrap();
        assert!(verified.options.allow_member_change);
        assert!(
            !links()
                .verify(&params_of(&plain), now)
                .unwrap()
                .options
                .allow_member_change
        );
        assert_ne!(
            verified.link_hash,
            links().verify(&params_of(&plain), now).unwrap().link_hash
        );
        // The permission can be neither added to a link nor stripped from one.
        let mut added = params_of(&plain);
        added.allow_member_change = Some("1".into());
        let mut stripped = params_of(&allowing);
        stripped.allow_member_change = None;
        for forged in [added, stripped] {
            assert_eq!(links().verify(&forged, now), Err(LinkError::Forged));
        }
        let mut odd = params_of(&allowing);
        odd.allow_member_change = Some("true".into());
        assert_eq!(links().verify(&odd, now), Err(LinkError::Malformed));
    }

    #[test]
    fn links_issued_before_options_still_verify() {
        // The message format of the first links, signed by hand as they were then.
        let now = Utc::now();
        let expires = (now + Duration::minutes(15)).timestamp();
        let mut mac = HmacSha256::new_from_slice("k".repeat(32).as_bytes()).unwrap();
        mac.update(format!("connect-v1\nu-1\nada@example.com\n\n{expires}").as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        let params = LinkParams {
            user_id: Some("u-1".into()),
            email: Some("ada@example.com".into()),
            expires: Some(expires),
            sig: Some(sig),
            ..LinkParams::default()
        };
        let request = links().verify(&params, now).unwrap();
        assert!(!request.options.allow_member_change);
    }

    #[test]
    fn links_issued_before_ids_still_verify_with_their_option() {
        // The message format of links that allowed a member change before links had ids.
        let now = Utc::now();
        let expires = (now + Duration::minutes(15)).timestamp();
        let mut mac = HmacSha256::new_from_slice("k".repeat(32).as_bytes()).unwrap();
        mac.update(
            format!("connect-v2\nu-1\nada@example.com\n\n{expires}\nallow_member_change")
                .as_bytes(),
        );
        let params = LinkParams {
            user_id: Some("u-1".into()),
            email: Some("ada@example.com".into()),
            expires: Some(expires),
            allow_member_change: Some("1".into()),
            sig: Some(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())),
            ..LinkParams::default()
        };
        assert!(
            links()
                .verify(&params, now)
                .unwrap()
                .options
                .allow_member_change
        );
    }

    #[test]
    fn two_links_issued_at_once_are_two_links() {
        let now = Utc::now();
        let user = UserId::parse("u-1").unwrap();
        let email = EmailAddress::parse("ada@example.com").unwrap();
        let expires = now + Duration::minutes(15);
        let first = links().issue(&user, &email, None, expires);
        let second = links().issue(&user, &email, None, expires);
        let first = params_of(&first);
        let second = params_of(&second);
        assert_ne!(first.link_id, second.link_id);
        assert_ne!(
            links().verify(&first, now).unwrap().link_hash,
            links().verify(&second, now).unwrap().link_hash
        );

        // The id is signed: it can be neither changed, swapped, nor dropped.
        let with_id = |id: Option<&str>| LinkParams {
            link_id: id.map(str::to_owned),
            ..first.clone()
        };
        for forged in [
            with_id(Some("AAAAAAAAAAAAAAAAAAAAAA")),
            with_id(second.link_id.as_deref()),
            with_id(None),
        ] {
            assert_eq!(links().verify(&forged, now), Err(LinkError::Forged));
        }
        for odd in ["", "a\nb", "a b", "a=", &"a".repeat(65)] {
            assert_eq!(
                links().verify(&with_id(Some(odd)), now),
                Err(LinkError::Malformed),
                "{odd:?}"
            );
        }
    }

    #[test]
    fn return_to_must_be_an_allowed_origin() {
        let l = links();
        assert!(l.check_return_to("https://app.example.com/x?y=1").is_ok());
        for bad in [
            "https://evil.example.com/",
            "http://app.example.com/",
            "https://app.example.com.evil.com/",
            "javascript:alert(1)",
            "/relative",
        ] {
            assert_eq!(
                l.check_return_to(bad),
                Err(LinkError::ReturnNotAllowed),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_link_connects_only_the_provider_it_was_issued_for() {
        let now = Utc::now();
        let user = UserId::parse("u-1").unwrap();
        let email = EmailAddress::parse("u@example.com").unwrap();
        let x = ProviderName::parse("x").unwrap();
        let url = links().issue_for(
            &x,
            &user,
            &email,
            None,
            now + Duration::minutes(15),
            LinkOptions::default(),
        );
        assert_eq!(url.path(), "/connect/x");
        let request = links().verify_for(&x, &params_of(&url), now).unwrap();
        assert_eq!(request.provider, x);
        assert_eq!(request.user_id, user);
        // The same query at another provider's path is forged, LinkedIn's included.
        assert_eq!(
            links().verify(&params_of(&url), now),
            Err(LinkError::Forged)
        );
        let google = ProviderName::parse("google").unwrap();
        assert_eq!(
            links().verify_for(&google, &params_of(&url), now),
            Err(LinkError::Forged)
        );
        // And a LinkedIn link is forged at x's path.
        let linkedin = links().issue(&user, &email, None, now + Duration::minutes(15));
        assert_eq!(linkedin.path(), CONNECT_PATH);
        assert_eq!(
            links().verify_for(&x, &params_of(&linkedin), now),
            Err(LinkError::Forged)
        );
        // Links without an id were LinkedIn's alone: another provider refuses them unasked.
        let mut without_id = params_of(&url);
        without_id.link_id = None;
        assert_eq!(
            links().verify_for(&x, &without_id, now),
            Err(LinkError::Malformed)
        );
    }
}
