//! Instagram's flow, which Threads copies with `th_` names: the code exchange is a POST form
//! answering a one-hour token and the member's id; `{ig,th}_exchange_token` trades it for a
//! 60-day token; `{ig,th}_refresh_token` renews that one, but only inside
//! [issued + 24 h, expiry). A renewal asked too early is never sent: the answer is "too
//! early", with when to come back.

use super::graph::{callback_backoff, worth_retrying, Answer};
use super::graph_error::says_too_young;
use super::responses::{CodeExchange, TokenResponse};
use super::MetaClient;
use crate::provider::{HeldGrant, ProviderError, Renewal, TokenGrant};
use backon::Retryable;
use chrono::{DateTime, Duration, Utc};
use secrecy::ExposeSecret;
use url::Url;

/// When the network refuses a renewal our records thought old enough (its clock and ours
/// disagree), how long to leave it before asking again.
const TOO_YOUNG_AGAIN_AFTER: Duration = Duration::hours(1);

/// When a renewal may first be asked, if that is later than `now`: `min_age` after the
/// token's issue. A token that would be dead by then was not issued when our records say
/// (an import knows only when it arrived): the network, asked, is the judge.
pub(super) fn renewal_opens(
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    min_age: Duration,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let opens = issued_at + min_age;
    (now < opens && opens < expires_at).then_some(opens)
}

impl MetaClient {
    pub(super) async fn instagram_exchange_code(
        &self,
        code: &str,
        redirect_uri: &Url,
        now: DateTime<Utc>,
    ) -> Result<TokenGrant, ProviderError> {
        let secret = self.settings.client_secret.expose_secret();
        let form = [
            ("client_id", self.settings.client_id.as_str()),
            ("client_secret", secret),
            ("grant_type", "authorization_code"),
            ("redirect_uri", redirect_uri.as_str()),
            ("code", code),
        ];
        let secrets = [secret, code];
        let exchange = || {
            let request = self
                .graph
                .http()
                .post(self.settings.endpoints.token.clone());
            self.graph
                .call::<CodeExchange>(request.form(&form), &secrets)
        };
        // A code is single-use: only a request that got no answer at all is sent again.
        let answer = exchange
            .retry(callback_backoff())
            .when(ProviderError::no_answer)
            .await?;
        let short = answer
            .into_short_lived()
            .ok_or_else(|| self.graph.malformed("a code exchange without a token"))?;
        let scope = match &short.permissions {
            Some(granted) => granted.to_scope(),
            None => self.settings.scopes.join(" "),
        };
        let tokens = self.long_lived(&short.access_token, now, scope).await?;
        Ok(TokenGrant {
            tokens,
            subject: short.user_id.map(|id| id.into_string()),
        })
    }

    /// `{ig,th}_exchange_token`: the one-hour token for a 60-day one. Retried while the member
    /// waits: asking twice only issues a second token, and the first one is then unused.
    async fn long_lived(
        &self,
        short: &str,
        now: DateTime<Utc>,
        scope: String,
    ) -> Result<crate::domain::TokenSet, ProviderError> {
        let secret = self.settings.client_secret.expose_secret();
        let query = [
            ("grant_type", self.network.exchange_grant()),
            ("client_secret", secret),
            ("access_token", short),
        ];
        let secrets = [secret, short];
        let exchange = || {
            let request = self
                .graph
                .http()
                .get(self.settings.endpoints.exchange.clone());
            self.graph
                .call::<TokenResponse>(request.query(&query), &secrets)
        };
        let answer = exchange
            .retry(callback_backoff())
            .when(worth_retrying)
            .await?;
        answer
            .into_token_set(now, scope)
            .map_err(|detail| self.graph.malformed(detail))
    }

    /// `{ig,th}_refresh_token`, inside the window only.
    pub(super) async fn instagram_refresh(
        &self,
        held: &HeldGrant<'_>,
        min_age: Duration,
        now: DateTime<Utc>,
    ) -> Result<Renewal, ProviderError> {
        if let Some(retry_at) = renewal_opens(held.issued_at, held.token_expires_at, min_age, now) {
            return Ok(Renewal::TooEarly { retry_at });
        }
        let token = held.access_token.expose();
        let query = [
            ("grant_type", self.network.refresh_grant()),
            ("access_token", token),
        ];
        let request = self
            .graph
            .http()
            .get(self.settings.endpoints.refresh.clone());
        match self
            .graph
            .send::<TokenResponse>(request.query(&query), &[token])
            .await?
        {
            // The renewal keeps the grant's permissions: an empty scope leaves the stored one.
            Answer::Body(answer) => answer
                .into_token_set(now, String::new())
                .map(Renewal::Renewed)
                .map_err(|detail| self.graph.malformed(detail)),
            Answer::Refused(refusal) if refusal.error.as_ref().is_some_and(says_too_young) => {
                let retry_at = (held.issued_at + min_age).max(now + TOO_YOUNG_AGAIN_AFTER);
                tracing::info!(%retry_at, "the network says the token is too young to renew");
                Ok(Renewal::TooEarly { retry_at })
            }
            Answer::Refused(refusal) => Err(self.graph.refused(refusal)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_renewal_opens_a_day_after_issue_unless_the_token_is_dead_by_then() {
        let issued = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
        let day = Duration::hours(24);
        let sixty = issued + Duration::days(60);
        let opens = |now, expires| renewal_opens(issued, expires, day, now);
        assert_eq!(opens(issued, sixty), Some(issued + day));
        assert_eq!(
            opens(issued + day - Duration::seconds(1), sixty),
            Some(issued + day)
        );
        assert_eq!(opens(issued + day, sixty), None);
        // Our records cannot be right about its issue: the network decides.
        assert_eq!(opens(issued, issued + Duration::hours(2)), None);
    }
}
