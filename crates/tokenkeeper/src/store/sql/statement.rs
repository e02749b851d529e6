//! Statements are written once, with `?` parameters: SQLite and MySQL read them as they are,
//! PostgreSQL needs `$1`, `$2`, ..., computed on first use and kept for the process.

use std::borrow::Cow;
use std::sync::OnceLock;

/// Which SQL a database speaks; the domain tells the three apart by their URLs' schemes.
pub use crate::domain::Dialect;

/// One statement in `?` style, with its PostgreSQL form made once.
pub(in crate::store) struct Statement {
    text: Cow<'static, str>,
    numbered: OnceLock<String>,
}

impl Statement {
    pub(in crate::store) const fn new(text: &'static str) -> Self {
        Self {
            text: Cow::Borrowed(text),
            numbered: OnceLock::new(),
        }
    }

    /// A statement put together at run time (from an outbox table's description, say); kept
    /// for the process, as the `static` ones are, or made for one call whose shape varies.
    pub(in crate::store) fn built(text: String) -> Self {
        Self {
            text: Cow::Owned(text),
            numbered: OnceLock::new(),
        }
    }

    /// The statement as `dialect` reads it.
    pub(in crate::store) fn sql(&self, dialect: Dialect) -> &str {
        match dialect {
            Dialect::Postgres => self.numbered.get_or_init(|| numbered(&self.text)),
            Dialect::Sqlite | Dialect::MySql => &self.text,
        }
    }
}

/// `?` becomes `$1`, `$2`, ... in order, except inside quoted text.
fn numbered(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut n = 0;
    let mut quote = None;
    for c in text.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                out.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (None, '?') => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_gets_numbered_parameters_outside_quoted_text() {
        static S: Statement =
            Statement::new("UPDATE t SET a = ?, b = '?' WHERE c = ? AND d = \"x?\"");
        assert_eq!(
            S.sql(Dialect::Postgres),
            "UPDATE t SET a = $1, b = '?' WHERE c = $2 AND d = \"x?\""
        );
        assert_eq!(S.sql(Dialect::Sqlite), S.text);
        assert_eq!(S.sql(Dialect::MySql), S.text);
        // Made once: the same text every time.
        assert!(std::ptr::eq(
            S.sql(Dialect::Postgres),
            S.sql(Dialect::Postgres)
        ));
    }

    #[test]
    fn urls_name_their_dialect_by_scheme() {
        for (url, dialect) in [
            ("sqlite://tokenkeeper.db", Some(Dialect::Sqlite)),
            ("sqlite::memory:", Some(Dialect::Sqlite)),
            ("postgres://u@h/db", Some(Dialect::Postgres)),
            ("postgresql://u@h/db", Some(Dialect::Postgres)),
            ("mysql://root@127.0.0.1:3306/tk", Some(Dialect::MySql)),
            ("mariadb://root@127.0.0.1/tk", Some(Dialect::MySql)),
            ("postgres:u@h", None),
            ("mysql:root@h", None),
            ("mssql://sa@h/db", None),
            ("tokenkeeper.db", None),
        ] {
            assert_eq!(Dialect::of_url(url), dialect, "{url}");
        }
    }
}
