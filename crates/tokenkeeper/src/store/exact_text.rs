//! Text compared byte for byte. On MySQL such columns have a binary collation, and sqlx then
//! reports them as binary and refuses to read them as `String`: this type reads them as
//! UTF-8 on every database.

use sqlx::error::BoxDynError;
#[cfg(feature = "mysql")]
use sqlx::MySql;
#[cfg(feature = "postgres")]
use sqlx::Postgres;
#[cfg(feature = "sqlite")]
use sqlx::Sqlite;
use sqlx::{Decode, Type};

pub(in crate::store) struct ExactText(pub String);

#[cfg(feature = "sqlite")]
impl Type<Sqlite> for ExactText {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
}

#[cfg(feature = "sqlite")]
impl<'r> Decode<'r, Sqlite> for ExactText {
    fn decode(value: sqlx::sqlite::SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self(<String as Decode<Sqlite>>::decode(value)?))
    }
}

#[cfg(feature = "postgres")]
impl Type<Postgres> for ExactText {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <String as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <String as Type<Postgres>>::compatible(ty)
    }
}

#[cfg(feature = "postgres")]
impl<'r> Decode<'r, Postgres> for ExactText {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self(<String as Decode<Postgres>>::decode(value)?))
    }
}

#[cfg(feature = "mysql")]
impl Type<MySql> for ExactText {
    fn type_info() -> sqlx::mysql::MySqlTypeInfo {
        <String as Type<MySql>>::type_info()
    }

    fn compatible(ty: &sqlx::mysql::MySqlTypeInfo) -> bool {
        <String as Type<MySql>>::compatible(ty) || <Vec<u8> as Type<MySql>>::compatible(ty)
    }
}

#[cfg(feature = "mysql")]
impl<'r> Decode<'r, MySql> for ExactText {
    fn decode(value: sqlx::mysql::MySqlValueRef<'r>) -> Result<Self, BoxDynError> {
        let bytes = <&[u8] as Decode<MySql>>::decode(value)?;
        Ok(Self(String::from_utf8(bytes.to_vec())?))
    }
}
