//! The stored tokens: every account's `token` and `refresh_token` opened as `serve` would open
//! them, under the keyring and the rule for plaintext. A row that does not open is neither
//! served nor refreshed; the doctor names it (account id and user id, never a value), so an
//! operator can see to it before a member or the host app finds it. Nothing is changed: the
//! database is not migrated, only read.

use super::{Finding, PATIENCE};
use crate::config::Config;
use crate::crypto::{is_plaintext, Plaintext, Row, TokenCipher, ALLOW_PLAINTEXT_SETTING};
use crate::domain::{AccessToken, RefreshToken, UserId};
use crate::store::{KeyRotationStore, SealedRow, SqlStore};
use std::fmt::Write as _;

const CHECK: &str = "tokens";
/// Rows read per round trip.
const BATCH: i64 = 1000;
/// Rows the finding names; the rest are counted.
const NAMED: usize = 10;

/// `database_answers`: whether the database check passed; the rows are not read otherwise.
pub async fn examine(config: &Config, database_answers: bool) -> Finding {
    let Ok(cipher) = config.encryption.cipher() else {
        return Finding::fail(
            CHECK,
            "encryption.keys is not set: `serve` and `sweep` refuse to start without it; set it to an entry `tokenkeeper keys generate` prints",
        );
    };
    if !database_answers {
        return Finding::warn(CHECK, "not checked: the database check failed");
    }
    let opened = tokio::time::timeout(
        PATIENCE,
        SqlStore::connect(config.database_url.expose(), cipher.clone()),
    )
    .await;
    let Ok(Ok(store)) = opened else {
        return Finding::warn(CHECK, "not checked: the database did not open");
    };
    let recorded = match tokio::time::timeout(PATIENCE, store.recorded_plaintext_unmigrated()).await
    {
        Ok(Ok(recorded)) => recorded,
        _ => return Finding::warn(CHECK, "not checked: the database did not answer"),
    };
    let Some(plaintext) = cipher.configured_plaintext().or(recorded) else {
        return Finding::warn(
            CHECK,
            "not checked until the migrations are applied: they record whether this database accepts plaintext tokens",
        );
    };
    match survey(&store, &cipher, plaintext).await {
        Ok(survey) => survey.finding(plaintext, store.plaintext_source()),
        Err(why) => Finding::warn(CHECK, format!("not checked: {why}")),
    }
}

/// What reading every row found.
#[derive(Default)]
struct Survey {
    accounts: u64,
    /// Rows holding a bare value that `plaintext` accepts.
    plaintext: u64,
    unreadable: u64,
    named: Vec<String>,
}

async fn survey(
    store: &SqlStore,
    cipher: &TokenCipher,
    plaintext: Plaintext,
) -> Result<Survey, String> {
    let mut survey = Survey::default();
    let mut after_id = 0;
    loop {
        let rows = match tokio::time::timeout(PATIENCE, store.sealed_rows(after_id, BATCH)).await {
            Ok(Ok(rows)) => rows,
            Ok(Err(e)) => return Err(crate::telemetry::error_chain(&e)),
            Err(_) => return Err(format!("a read took longer than {}s", PATIENCE.as_secs())),
        };
        let Some(last) = rows.last() else {
            return Ok(survey);
        };
        after_id = last.id;
        for row in &rows {
            survey.accounts += 1;
            match unreadable(cipher, plaintext, row) {
                Some(why) => survey.unreadable(row, &why),
                None if is_plaintext(&row.token)
                    || row.refresh_token.as_deref().is_some_and(is_plaintext) =>
                {
                    survey.plaintext += 1
                }
                None => {}
            }
        }
    }
}

/// Why the row's tokens would not be read, or `None` when both open.
fn unreadable(cipher: &TokenCipher, plaintext: Plaintext, row: &SealedRow) -> Option<String> {
    let Ok(user_id) = UserId::parse(&row.user_id) else {
        return Some("user_id is not a valid user id".into());
    };
    let at = Row::linkedin(&user_id);
    if let Err(e) = cipher.read::<AccessToken>(at, &row.token, plaintext) {
        return Some(e.to_string());
    }
    let refresh = row.refresh_token.as_deref();
    match refresh.map(|stored| cipher.read::<RefreshToken>(at, stored, plaintext)) {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    }
}

impl Survey {
    /// Counts the row, and names it while fewer than [`NAMED`] are.
    fn unreadable(&mut self, row: &SealedRow, why: &str) {
        self.unreadable += 1;
        if self.named.len() < NAMED {
            self.named.push(format!(
                "account {} of user {:?}: {why}",
                row.id, row.user_id
            ));
        }
    }

    fn finding(&self, plaintext: Plaintext, source: &str) -> Finding {
        let rule = match plaintext {
            Plaintext::Refused => {
                format!("plaintext refused ({ALLOW_PLAINTEXT_SETTING} false, {source})")
            }
            Plaintext::Accepted => {
                format!("plaintext accepted ({ALLOW_PLAINTEXT_SETTING} true, {source})")
            }
        };
        if self.unreadable > 0 {
            let mut message = format!(
                "{} of {} account(s) hold tokens that cannot be read, so they are neither served nor refreshed ({rule}): {}",
                self.unreadable,
                self.accounts,
                self.named.join("; ")
            );
            let more = self.unreadable - self.named.len() as u64;
            if more > 0 {
                let _ = write!(message, "; and {more} more");
            }
            message.push_str(
                "; their members must reconnect, unless the values can be put right (a key back in encryption.keys, plaintext from before encryption sealed by `tokenkeeper keys rotate`)",
            );
            return Finding::fail(CHECK, message);
        }
        match plaintext {
            Plaintext::Refused => Finding::ok(
                CHECK,
                format!("the tokens of {} account(s) open; {rule}", self.accounts),
            ),
            Plaintext::Accepted => Finding::warn(
                CHECK,
                format!(
                    "the tokens of {} account(s) open, {} of them plaintext; {rule}, so a value written into the database without the key is read as a token: run `tokenkeeper keys rotate`, then set {ALLOW_PLAINTEXT_SETTING} = false",
                    self.accounts, self.plaintext
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_ten_unreadable_rows_are_named_and_the_rest_counted() {
        let mut survey = Survey {
            accounts: 20,
            ..Survey::default()
        };
        for id in 1..=12 {
            let row = SealedRow {
                id,
                user_id: format!("u-{id}"),
                version: 1,
                token: String::new(),
                refresh_token: None,
            };
            survey.unreadable(&row, "token: the stored value is empty, which is no token");
        }
        assert_eq!((survey.unreadable, survey.named.len()), (12, NAMED));
        let finding = survey.finding(Plaintext::Refused, "as configured");
        assert_eq!(finding.level, super::super::Level::Fail);
        assert!(
            finding.message.starts_with("12 of 20 account(s)"),
            "{}",
            finding.message
        );
        assert!(
            finding.message.contains("account 10 of user \"u-10\""),
            "{}",
            finding.message
        );
        assert!(!finding.message.contains("u-11"), "{}", finding.message);
        assert!(
            finding.message.contains("; and 2 more;"),
            "{}",
            finding.message
        );

        survey.unreadable = NAMED as u64;
        let finding = survey.finding(Plaintext::Refused, "as configured");
        assert!(!finding.message.contains("more"), "{}", finding.message);
    }
}
