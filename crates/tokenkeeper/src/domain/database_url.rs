//! The database URL, which may carry a password in its userinfo
//! (`postgres://user:PASSWORD@host/db`) or in its query (`?password=`, `?sslpassword=`, and
//! whatever other parameter names a secret). It prints itself (Display and Debug) with both
//! replaced by a marker; only opening the database reads it whole. Other URLs that may carry
//! a credential (a webhook's) print through [`redacted_url`].

use super::Dialect;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The whole URL, password included: for opening the database, never for printing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Default for DatabaseUrl {
    fn default() -> Self {
        Self::new("sqlite://tokenkeeper.db")
    }
}

/// The top-level `database_url` key: only the databases the program can open.
impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: Deserializer<'de>>(url: D) -> Result<Self, D::Error> {
        let url = String::deserialize(url)?;
        match Dialect::of_url(&url) {
            Some(_) => Ok(Self(url)),
            None => Err(D::Error::custom(
                "expected sqlite://PATH, postgres://USER@HOST/DB or mysql://USER@HOST/DB",
            )),
        }
    }
}

/// Printed with its secrets replaced by a marker.
impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        out.collect_str(self)
    }
}

/// The URL derefs to the full text so that `store::connect(&config.database_url)` reads as
/// it always did; formatting it goes through the redacting impls below.
impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_database_url(&self.0))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", redact_database_url(&self.0))
    }
}

impl PartialEq<&str> for DatabaseUrl {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Plain letters, so the URL stays readable (brackets would be percent-encoded).
const MARKER: &str = "redacted";

/// Parts of a query parameter's name that say its value is a secret.
const SECRET_NAMES: [&str; 5] = ["pass", "pwd", "secret", "token", "auth"];

/// `database_url` with every password and secret parameter replaced by `redacted`. A URL
/// that cannot be parsed is not printed at all beyond its scheme: a stray character in a
/// password must not make the whole URL, password included, come out as it is.
pub fn redact_database_url(database_url: &str) -> String {
    let scheme = database_url
        .split_once(':')
        .map_or("", |(scheme, _)| scheme);
    // Whatever comes before the first ':' is shown only if it can be a scheme at all.
    let scheme = if scheme
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        scheme
    } else {
        ""
    };
    let Ok(mut url) = Url::parse(database_url) else {
        return format!("{scheme}:{MARKER}");
    };
    // A password with an unescaped '/', '?' or '#' ends the authority early: `user:12` is
    // read as host and port, and the password's tail lands in the path or the query. An
    // '@' in a URL without userinfo gives it away.
    if url.username().is_empty() && database_url.contains('@') {
        let slashes = if url.has_host() { "//" } else { "" };
        return format!("{scheme}:{slashes}{MARKER}");
    }
    if url.password().is_some() {
        let _ = url.set_password(Some(MARKER));
    }
    if let Some(query) = url.query() {
        let query = redact_query(query);
        url.set_query(Some(&query));
    }
    if url.fragment().is_some() {
        url.set_fragment(Some(MARKER));
    }
    url.to_string()
}

/// How a URL that may carry a credential (a password, a token in its query) is printed: those
/// parts replaced by a marker.
pub fn redacted_url(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("redacted"));
    }
    if shown.query().is_some() {
        shown.set_query(Some("redacted"));
    }
    shown.to_string()
}

/// Each `key=value` pair keeps its text, except the value of a secret key.
fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let (key, _) = pair.split_once('=').unwrap_or((pair, ""));
            if names_a_secret(key) {
                format!("{key}={MARKER}")
            } else {
                pair.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Compared decoded, as the database driver reads it: `pass%77ord` is `password` too.
fn names_a_secret(raw_key: &str) -> bool {
    let key: String = url::form_urlencoded::parse(raw_key.as_bytes())
        .map(|(k, v)| format!("{k}{v}"))
        .collect::<String>()
        .to_ascii_lowercase();
    SECRET_NAMES.iter().any(|name| key.contains(name))
}

#[cfg(test)]
mod tests {
    use super::redact_database_url as redact;
    use super::DatabaseUrl;

    #[test]
    fn the_url_prints_itself_redacted_and_opens_whole() {
        let url = DatabaseUrl::new("postgres://u:secret@h/db?sslpassword=also");
        for shown in [url.to_string(), format!("{url:?}")] {
            assert!(
                !shown.contains("secret") && !shown.contains("also"),
                "{shown}"
            );
        }
        assert_eq!(url.expose(), "postgres://u:secret@h/db?sslpassword=also");
    }

    #[test]
    fn passwords_in_userinfo_and_query_are_redacted() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:redacted@h:5432/db"
        );
        let shown = redact(
            "postgres://u@h/db?sslmode=require&password=s1&SSLPassword=s2&pass%77ord=s3&api_token=s4&client_secret=s5&application_name=tk",
        );
        for secret in ["s1", "s2", "s3", "s4", "s5"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("sslmode=require") && shown.contains("application_name=tk"));
    }

    #[test]
    fn urls_without_secrets_are_unchanged() {
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://tokenkeeper.db"), "sqlite://tokenkeeper.db");
        assert_eq!(redact("sqlite:///var/lib/tk.db"), "sqlite:///var/lib/tk.db");
    }

    #[test]
    fn a_malformed_url_shows_no_part_of_its_password() {
        for url in [
            "postgres://u:pa/ss@h/db",
            "postgres://u:12/ss@h/db",
            "postgres://u:pa#ss@h/db",
            "postgres://u:pa?ss@h/db",
            "postgres://u:12?ss@h/db",
            "postgres://u:12#ss@h/db",
            "postgres://u:p ss@h/db",
            "u:pa ss@h/db",
            "u/x:pa ss",
        ] {
            let shown = redact(url);
            assert!(!shown.contains("ss"), "{url} -> {shown}");
        }
    }
}
