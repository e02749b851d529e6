//! The SQLite database holds every member's tokens: it and the `-wal` and `-shm` files that
//! hold the same data are readable by their owner only, whatever the umask.

use crate::service_tests;
use crate::support::t0;
use chrono::Duration;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use test_databases::{Backend, TestDatabase};
use tokenkeeper::domain::{
    AccessToken, EmailAddress, ExpiryPolicy, LinkedAccount, MemberId, RefreshToken, TokenSet,
    UserId,
};
use tokenkeeper::store::{self, Store};

fn file_of(db: &TestDatabase) -> PathBuf {
    PathBuf::from(db.url.strip_prefix("sqlite://").unwrap())
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn companions(path: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| PathBuf::from(format!("{}{suffix}", path.display()));
    [path.to_owned(), with("-wal"), with("-shm")]
}

/// Opens the store and writes an account, so the WAL and its index exist.
async fn open_and_write(db: &TestDatabase) -> std::sync::Arc<dyn Store> {
    let store = store::connect(&db.url, crate::support::test_cipher())
        .await
        .expect("database opens");
    store.migrate().await.unwrap();
    let account = LinkedAccount::new(
        UserId::parse("ada").unwrap(),
        MemberId::parse("m-ada").unwrap(),
        EmailAddress::parse("ada@example.com").unwrap(),
        None,
        TokenSet {
            access_token: AccessToken::new("access-ada"),
            token_expires_at: t0() + Duration::days(60),
            refresh_token: Some(RefreshToken::new("refresh-ada")),
            refresh_token_expires_at: Some(t0() + Duration::days(365)),
            scope: String::new(),
        },
        t0(),
        &ExpiryPolicy::default(),
    );
    store.save_linked_account(&account).await.unwrap();
    store
}

service_tests!(a_new_database_and_its_wal_and_shm_are_readable_by_their_owner_only);
async fn a_new_database_and_its_wal_and_shm_are_readable_by_their_owner_only() {
    let db = TestDatabase::create(Backend::Sqlite).await.unwrap();
    let path = file_of(&db);
    let _store = open_and_write(&db).await;
    for file in companions(&path) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

service_tests!(an_existing_database_readable_by_others_is_restricted_to_its_owner);
async fn an_existing_database_readable_by_others_is_restricted_to_its_owner() {
    let db = TestDatabase::create(Backend::Sqlite).await.unwrap();
    let path = file_of(&db);
    // As an earlier version, or a careless copy, left it.
    drop(open_and_write(&db).await);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

    let store = open_and_write(&db).await;
    assert_eq!(
        store.count_accounts().await.unwrap(),
        1,
        "the data is intact"
    );
    for file in companions(&path) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}
