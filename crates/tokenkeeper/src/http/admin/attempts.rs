//! What a sign-in attempt may cost. One client may try 5 times in a burst, then once every 12
//! seconds, so guessing from one address is slow. There is no budget shared by all clients:
//! many addresses flooding it would keep the operator out for as long as the flood lasts.
//! What all clients share is the password check itself: argon2 is made to be expensive, so at
//! most one check per core runs at a time, and the others wait their turn, first come first
//! served, for as long as their request may last. A flood then slows the operator's sign-in
//! down; it cannot refuse it, nor take more than the cores the checks were given.

use crate::config::Config;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Attempts one client may make in a burst, then one every 12 seconds.
const PER_CLIENT: u32 = 5;

pub struct LoginAttempts {
    per_client: DefaultKeyedRateLimiter<IpAddr>,
    /// One permit per password check allowed to run at once. Tokio's semaphore hands permits
    /// out in the order they were asked for.
    checks: Arc<Semaphore>,
}

impl LoginAttempts {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::with_checks_at_once(cores)
    }

    fn with_checks_at_once(checks: usize) -> Self {
        let burst = NonZeroU32::new(PER_CLIENT).expect("a burst above zero");
        Self {
            per_client: RateLimiter::keyed(Quota::per_minute(burst).allow_burst(burst)),
            checks: Arc::new(Semaphore::new(checks)),
        }
    }

    /// Whether `client` may try now; each call counts as an attempt.
    pub fn allow(&self, client: IpAddr) -> bool {
        self.per_client.retain_recent();
        self.per_client.check_key(&client).is_ok()
    }

    /// Whether `password` is the dashboard's, once a check may run. The check runs on a
    /// blocking thread, holding its permit until it ends: a request given up meanwhile (the
    /// client gone, the request timeout) leaves its place in the queue, but never frees a
    /// permit while its argon2 work still runs.
    pub async fn password_matches(&self, config: Arc<Config>, password: String) -> bool {
        let permit = Arc::clone(&self.checks)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let check = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let hash = config.admin.password_hash.as_ref();
            hash.is_some_and(|hash| crate::crypto::password_matches(hash, &password))
        });
        check.await.unwrap_or_else(|error| {
            tracing::error!(%error, "the dashboard's password check failed");
            false
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Waker};

    /// A configuration whose dashboard password is `right`, hashed with argon2's smallest
    /// costs: the check reads them from the hash, and takes a moment in a debug build.
    fn dashboard_config() -> Arc<Config> {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let params = argon2::Params::new(1024, 1, 1, None).unwrap();
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let salt = SaltString::encode_b64(b"attempts-salt").unwrap();
        let hash = argon.hash_password(b"right", &salt).unwrap().to_string();
        let vars = [
            ("TOKENKEEPER_LINKEDIN__CLIENT_ID", "id"),
            ("TOKENKEEPER_LINKEDIN__CLIENT_SECRET", "secret"),
            (
                "TOKENKEEPER_CONNECT__SIGNING_KEY",
                "a-signing-key-of-at-least-32-characters",
            ),
            ("TOKENKEEPER_ADMIN__PASSWORD_HASH", hash.as_str()),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        Arc::new(Config::load_from(None, vars).unwrap())
    }

    #[test]
    fn each_client_has_five_attempts_in_a_burst_of_its_own() {
        let attempts = LoginAttempts::new();
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..PER_CLIENT {
            assert!(attempts.allow(one));
        }
        assert!(!attempts.allow(one));
        // Other clients lose nothing by it, however many they are.
        for i in 0..=255u8 {
            assert!(attempts.allow(IpAddr::from([10, 0, 0, i])));
        }
    }

    #[tokio::test]
    async fn a_check_waits_while_every_permit_is_taken_and_runs_once_one_is_free() {
        let attempts = LoginAttempts::with_checks_at_once(2);
        let config = dashboard_config();
        let held = Arc::clone(&attempts.checks).acquire_many_owned(2).await;
        let mut check = pin!(attempts.password_matches(config.clone(), "right".into()));
        let mut context = Context::from_waker(Waker::noop());
        assert!(check.as_mut().poll(&mut context).is_pending());
        tokio::task::yield_now().await;
        assert!(check.as_mut().poll(&mut context).is_pending());
        drop(held);
        assert!(check.await);
        assert!(!attempts.password_matches(config, "wrong".into()).await);
        assert_eq!(attempts.checks.available_permits(), 2);
    }
}
