//! Domain enums stored as their text names, one encoding for all three databases: the same
//! values every existing database already holds.

use crate::domain::{AccountEnd, AccountStatus, NotificationKind, WebhookEventType};
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
    WebhookEventType,
    AccountEnd,
    DeliveryStatus
);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn enums_are_written_and_read_as_their_stored_names() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        for status in AccountStatus::ALL {
            let (text, back): (String, AccountStatus) = sqlx::query_as("SELECT ?, ?")
                .bind(status)
                .bind(status)
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!((text.as_str(), back), (status.as_str(), status));
        }
        for kind in NotificationKind::ALL {
            let text: String = sqlx::query_scalar("SELECT ?")
                .bind(kind)
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(text, kind.as_str());
        }
        let unknown: Result<AccountStatus, _> =
            sqlx::query_scalar("SELECT 'paused'").fetch_one(&pool).await;
        assert!(unknown.is_err());
    }
}
