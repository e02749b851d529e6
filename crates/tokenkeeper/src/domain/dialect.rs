//! The databases the program can open, told apart by their URL's scheme. Configuration checks
//! `database_url` with it, and the store picks its SQL by it.

/// Which SQL a database speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
    /// MySQL 8 and MariaDB 10.6+.
    MySql,
}

impl Dialect {
    /// The dialect a database URL names, by its scheme.
    pub fn of_url(database_url: &str) -> Option<Dialect> {
        let scheme = database_url.split_once(':').map(|(s, _)| s)?;
        match scheme {
            "sqlite" => Some(Dialect::Sqlite),
            "postgres" | "postgresql" if database_url[scheme.len()..].starts_with("://") => {
                Some(Dialect::Postgres)
            }
            "mysql" | "mariadb" if database_url[scheme.len()..].starts_with("://") => {
                Some(Dialect::MySql)
            }
            _ => None,
        }
    }
}
