//! Domain enums stored as their text names, one encoding for all three databases: the same
//! values every existing database already holds.

use crate::domain::EnumText;
use crate::domain::{
    AccountEnd, AccountStatus, NotificationKind, NotificationStatus, RefreshOutcome, SweepOutcome,
    WebhookEventType,
};
use crate::store::DeliveryStatus;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

/// Implements sqlx's `Type`, `Encode` and `Decode` for enums with `as_str` and `parse`, for
/// any database whose text type does.
macro_rules! stored_as_text {
    ($($enum:ty),+ $(,)?) => {$(
        impl<DB: Database> Type<DB> for $enum
        where
            str: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $enum
        where
            &'q str: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as Database>::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                let text: &'q str = self.as_str();
                text.encode_by_ref(buf)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $enum
        where
            &'r str: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok(<$enum>::parse(<&'r str as Decode<'r, DB>>::decode(value)?)?)
            }
        }
    )+};
}

stored_as_text!(
    AccountStatus,
    NotificationKind,
    NotificationStatus,
    RefreshOutcome,
    SweepOutcome,
    WebhookEventType,
    AccountEnd,
    DeliveryStatus
);

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::{Sqlite, SqlitePool};
    use std::fmt::Debug;

    /// Each value is written as its name and read back as itself; a name the enum does not
    /// know is refused on reading, never taken for some other value.
    async fn round_trips<T>(pool: &SqlitePool, all: &[T], as_str: fn(T) -> &'static str)
    where
        T: Copy + PartialEq + Debug + Send + Unpin + Type<Sqlite>,
        T: for<'q> Encode<'q, Sqlite> + for<'r> Decode<'r, Sqlite>,
    {
        for &value in all {
            let (text, back): (String, T) = sqlx::query_as("SELECT ?, ?")
                .bind(value)
                .bind(value)
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!((text.as_str(), back), (as_str(value), value));
        }
        for unknown in ["paused", "", "Active", "refreshed "] {
            let read: Result<T, _> = sqlx::query_scalar("SELECT ?")
                .bind(unknown)
                .fetch_one(pool)
                .await;
            assert!(read.is_err(), "{unknown:?} was read as {read:?}");
        }
    }

    #[tokio::test]
    async fn enums_are_written_and_read_as_their_stored_names() {
        let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
        round_trips(&pool, AccountStatus::ALL, AccountStatus::as_str).await;
        round_trips(&pool, NotificationKind::ALL, NotificationKind::as_str).await;
        round_trips(&pool, NotificationStatus::ALL, NotificationStatus::as_str).await;
        round_trips(&pool, RefreshOutcome::ALL, RefreshOutcome::as_str).await;
        round_trips(&pool, SweepOutcome::ALL, SweepOutcome::as_str).await;
    }
}
