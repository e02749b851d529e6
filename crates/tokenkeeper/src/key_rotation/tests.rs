//! The rotation's decisions, over rows held in memory: what it rewrites, what it leaves, where
//! it stops. The service tests run it on every database.

use super::batch::*;
use crate::crypto::{Keyring, Plaintext, Row, TokenCipher};
use crate::domain::{AccessToken, RefreshToken, UserId};
use crate::store::{KeyRotationStore, Resealed, SealedRow, StoreError};
use async_trait::async_trait;
use std::sync::Mutex;

const OLD: &str = "old:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const NEW: &str = "new:HxweHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=";

struct Rows {
    cipher: TokenCipher,
    plaintext: Plaintext,
    rows: Mutex<Vec<SealedRow>>,
    /// Called between the read and the rewrite of a row, as a concurrent writer would.
    before_write: Box<dyn Fn(&mut SealedRow) + Send + Sync>,
}

#[async_trait]
impl KeyRotationStore for Rows {
    fn token_cipher(&self) -> &TokenCipher {
        &self.cipher
    }

    fn plaintext(&self) -> Plaintext {
        self.plaintext
    }

    async fn sealed_rows(&self, after_id: i64, limit: i64) -> Result<Vec<SealedRow>, StoreError> {
        let rows = self.rows.lock().unwrap();
        Ok(rows
            .iter()
            .filter(|r| r.id > after_id)
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn write_resealed(&self, writes: &[Resealed<'_>]) -> Result<Vec<bool>, StoreError> {
        let mut rows = self.rows.lock().unwrap();
        let mut written = Vec::new();
        for write in writes {
            let row = rows.iter_mut().find(|r| r.id == write.row.id).unwrap();
            (self.before_write)(row);
            if row.version != write.row.version {
                written.push(false);
                continue;
            }
            row.token = write.token.clone();
            row.refresh_token = write.refresh_token.clone();
            written.push(true);
        }
        Ok(written)
    }
}

fn cipher(entries: &str) -> TokenCipher {
    TokenCipher::new(Keyring::parse(entries, None).unwrap())
}

fn row(id: i64, by: &TokenCipher, refresh: bool) -> SealedRow {
    let user = UserId::parse(&format!("u-{id}")).unwrap();
    let at = Row::linkedin(&user);
    SealedRow {
        id,
        user_id: user.as_str().to_owned(),
        version: 1,
        token: by.seal(at, &AccessToken::new(format!("access-{id}"))),
        refresh_token: refresh.then(|| by.seal(at, &RefreshToken::new(format!("refresh-{id}")))),
    }
}

fn store(rows: Vec<SealedRow>) -> Rows {
    Rows {
        cipher: cipher(&format!("{NEW},{OLD}")),
        plaintext: Plaintext::Refused,
        rows: Mutex::new(rows),
        before_write: Box::new(|_| {}),
    }
}

async fn run(store: &Rows, batch: i64) -> Result<RotationSummary, RotationError> {
    let mut summary = RotationSummary::default();
    let mut after = 0;
    while let Some(last) = rotate_batch(store, after, batch, &mut summary).await? {
        after = last;
    }
    Ok(summary)
}

fn assert_opens(store: &Rows) {
    let cipher = &store.cipher;
    for r in store.rows.lock().unwrap().iter() {
        assert!(!cipher.needs_rotation(&r.token), "row {}", r.id);
        let user = UserId::parse(&r.user_id).unwrap();
        let token: AccessToken = cipher.open(Row::linkedin(&user), &r.token).unwrap();
        assert_eq!(token.expose(), format!("access-{}", r.id));
        if let Some(stored) = &r.refresh_token {
            assert!(!cipher.needs_rotation(stored));
            let refresh: RefreshToken = cipher.open(Row::linkedin(&user), stored).unwrap();
            assert_eq!(refresh.expose(), format!("refresh-{}", r.id));
        }
    }
}

#[tokio::test]
async fn every_value_under_an_old_key_or_in_plaintext_moves_to_the_active_key() {
    let old = cipher(OLD);
    let new = cipher(NEW);
    let mut plaintext = row(3, &old, true);
    plaintext.token = "access-3".into();
    plaintext.refresh_token = Some("refresh-3".into());
    let mut half = row(4, &new, true);
    half.refresh_token = row(4, &old, true).refresh_token;
    let mut store = store(vec![
        row(1, &old, true),
        row(2, &new, false),
        plaintext,
        half,
        row(5, &old, false),
    ]);
    store.plaintext = Plaintext::Accepted;
    let summary = run(&store, 2).await.unwrap();
    assert_eq!(summary.rotated, 4, "{summary:?}");
    assert_eq!(summary.already_current, 1, "{summary:?}");
    assert_eq!((summary.changed_concurrently, summary.failed), (0, 0));
    assert_eq!(
        (summary.plaintext_sealed, summary.plaintext_left),
        (1, 0),
        "{summary:?}"
    );
    assert_opens(&store);

    let again = run(&store, 2).await.unwrap();
    assert_eq!(
        again,
        RotationSummary {
            already_current: 5,
            ..RotationSummary::default()
        }
    );
}

#[tokio::test]
async fn a_value_already_current_is_kept_byte_for_byte() {
    let new = cipher(NEW);
    let mut mixed = row(1, &new, true);
    let current_refresh = mixed.refresh_token.clone();
    mixed.token = "access-1".into();
    let mut store = store(vec![mixed]);
    store.plaintext = Plaintext::Accepted;
    run(&store, 10).await.unwrap();
    assert_eq!(store.rows.lock().unwrap()[0].refresh_token, current_refresh);
    assert_opens(&store);
}

#[tokio::test]
async fn plaintext_that_is_refused_is_counted_failed_and_never_sealed() {
    let old = cipher(OLD);
    let mut planted = row(2, &old, true);
    planted.refresh_token = Some("refresh-planted".into());
    let mut empty = row(3, &old, false);
    empty.token = String::new();
    let store = store(vec![row(1, &old, true), planted, empty]);
    let summary = run(&store, 10).await.unwrap();
    assert_eq!((summary.rotated, summary.failed), (1, 2), "{summary:?}");
    assert_eq!(
        (summary.plaintext_sealed, summary.plaintext_left),
        (0, 1),
        "{summary:?}"
    );
    let named: Vec<i64> = summary.failures.iter().map(|(id, _)| *id).collect();
    assert_eq!(named, [2, 3]);
    assert!(
        summary.failures[0].1.contains("refresh_token")
            && summary.failures[0].1.contains("allow_plaintext"),
        "{summary:?}"
    );
    assert!(summary.failures[1].1.contains("empty"), "{summary:?}");
    let rows = store.rows.lock().unwrap();
    assert_eq!(rows[1].refresh_token.as_deref(), Some("refresh-planted"));
    assert_eq!(rows[2].token, "");
}

#[tokio::test]
async fn a_row_written_meanwhile_is_left_to_its_writer_and_counted() {
    let old = cipher(OLD);
    let mut store = store(vec![row(1, &old, true), row(2, &old, true)]);
    let refreshed = row(2, &cipher(NEW), true);
    store.before_write = Box::new(move |r| {
        if r.id == 2 {
            // A refresh landed: new values, a new version.
            *r = SealedRow {
                version: 2,
                ..refreshed.clone()
            };
        }
    });
    let summary = run(&store, 10).await.unwrap();
    assert_eq!((summary.rotated, summary.changed_concurrently), (1, 1));
    assert_eq!(store.rows.lock().unwrap()[1].version, 2);
    assert_opens(&store);
}

#[tokio::test]
async fn a_value_that_does_not_open_is_counted_failed_and_left_alone() {
    let old = cipher(OLD);
    let mut swapped = row(1, &old, true);
    let other = row(2, &old, true);
    swapped.token = other.token.clone();
    let store = store(vec![swapped, other, row(3, &old, false)]);
    let summary = run(&store, 10).await.unwrap();
    assert_eq!((summary.rotated, summary.failed), (2, 1), "{summary:?}");
    assert_eq!(summary.failures[0].0, 1);
    assert!(summary.failures[0].1.contains("token"), "{summary:?}");
    let rows = store.rows.lock().unwrap();
    assert!(
        store.cipher.needs_rotation(&rows[0].token),
        "left as it was"
    );
}

#[tokio::test]
async fn a_key_missing_from_the_keyring_stops_the_rotation_naming_it() {
    let old = cipher(OLD);
    let lost = cipher("lost-2026:AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    let store = store(vec![
        row(1, &old, true),
        row(2, &lost, true),
        row(3, &old, true),
    ]);
    let err = run(&store, 10).await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("lost-2026"), "{message}");
    assert!(message.contains("account 2"), "{message}");
    let rows = store.rows.lock().unwrap();
    assert!(
        !store.cipher.needs_rotation(&rows[0].token),
        "done before it"
    );
    assert!(store.cipher.needs_rotation(&rows[2].token), "stopped at it");
}
