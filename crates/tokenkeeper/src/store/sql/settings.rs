//! What a database records about itself (`store_settings`, written by its migrations), and the
//! rule for plaintext tokens that follows from it.

use super::{on_each, Pool, SqlStore, Statement};
use crate::crypto::{Plaintext, ALLOW_PLAINTEXT_SETTING};
use crate::store::rows::TokenReader;
use crate::store::StoreError;

static SETTING: Statement = Statement::new("SELECT value FROM store_settings WHERE name = ?");

/// Whether the database accepts plaintext tokens when the configuration does not say: `true`
/// only for one that held some when it was first migrated to this version.
const ALLOW_PLAINTEXT: &str = "allow_plaintext";

impl Pool {
    /// `allow_plaintext` as the database recorded it. A value other than `true` refuses:
    /// whatever is wrong with the record, plaintext is not let in by it.
    pub(super) async fn recorded_plaintext(&self) -> Result<Plaintext, StoreError> {
        let recorded: Option<String> = on_each!(Pool, self, |pool, dialect| {
            sqlx::query_scalar(SETTING.sql(dialect))
                .bind(ALLOW_PLAINTEXT)
                .fetch_optional(pool)
                .await?
        });
        Ok(Plaintext::allowed(recorded.as_deref() == Some("true")))
    }
}

impl SqlStore {
    /// Whether plaintext token values are read as tokens: `encryption.allow_plaintext` when
    /// set, else what the database recorded, read when the store migrated it. Refused until
    /// then: a store that has not read the record does not guess in the attacker's favour.
    pub fn plaintext(&self) -> Plaintext {
        self.cipher
            .configured_plaintext()
            .or_else(|| self.recorded_plaintext.get().copied())
            .unwrap_or(Plaintext::Refused)
    }

    /// Where the rule comes from, for messages: the configuration or the database.
    pub fn plaintext_source(&self) -> &'static str {
        match self.cipher.configured_plaintext() {
            Some(_) => "as configured",
            None => "as this database recorded when it was first migrated to this version",
        }
    }

    pub(in crate::store) fn tokens(&self) -> TokenReader<'_> {
        TokenReader {
            cipher: &self.cipher,
            plaintext: self.plaintext(),
        }
    }

    /// Reads the database's record, once its migrations are applied.
    pub(super) async fn read_settings(&self) -> Result<(), StoreError> {
        let recorded = self.pool.recorded_plaintext().await?;
        let _ = self.recorded_plaintext.set(recorded);
        if self.plaintext() == Plaintext::Accepted {
            tracing::warn!(
                "plaintext token values are read as tokens ({ALLOW_PLAINTEXT_SETTING} is true, {}): \
                 anyone who can write to the database can plant one; once `tokenkeeper keys rotate` \
                 reports no plaintext left, set {ALLOW_PLAINTEXT_SETTING} = false",
                self.plaintext_source()
            );
        }
        Ok(())
    }

    /// What the database recorded, without migrating it: for the doctor, which changes
    /// nothing. `None` while the migration that records it is not applied.
    pub async fn recorded_plaintext_unmigrated(&self) -> Result<Option<Plaintext>, StoreError> {
        if self.pool.unapplied_migrations().await?.is_empty() {
            Ok(Some(self.pool.recorded_plaintext().await?))
        } else {
            Ok(None)
        }
    }
}
