//! How a key's value becomes the typed value the program runs with, and back for printing.
//! Each section names these next to its fields (`#[serde(with = ...)]`), so a key's type, its
//! range and its check are written once, where the key is.

use crate::domain::redacted_url;
use secrecy::{ExposeSecret, SecretString};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};
use std::fmt::Display;
use std::marker::PhantomData;
use url::Url;

/// A key's text, read by `parse`; its error is the message the refusal gives after the key.
pub(super) fn text<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    parse: impl FnOnce(String) -> Result<T, String>,
) -> Result<T, D::Error> {
    parse(String::deserialize(deserializer)?).map_err(D::Error::custom)
}

/// A key whose empty text means "not set"; other text is read by `parse`.
pub(super) fn optional<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, D::Error> {
    text(deserializer, |text| match text.trim() {
        "" => Ok(None),
        text => parse(text).map(Some),
    })
}

/// Text with the blanks around it dropped.
pub(super) fn trimmed<'de, D: Deserializer<'de>>(text: D) -> Result<String, D::Error> {
    Ok(String::deserialize(text)?.trim().to_owned())
}

/// How a value is printed: as it displays itself.
pub(super) fn display<S: Serializer>(value: &impl Display, out: S) -> Result<S::Ok, S::Error> {
    out.collect_str(value)
}

/// How an optional value is printed: as it displays itself, or empty when not set.
pub(super) fn shown<S: Serializer>(
    value: &Option<impl Display>,
    out: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => out.collect_str(value),
        None => out.serialize_str(""),
    }
}

/// How a secret is printed: a marker, or nothing when it is not set.
pub(super) fn redacted<S: Serializer>(secret: &impl Secret, out: S) -> Result<S::Ok, S::Error> {
    out.serialize_str(if secret.is_set() { "[redacted]" } else { "" })
}

pub(super) trait Secret {
    fn is_set(&self) -> bool;
}

impl Secret for SecretString {
    fn is_set(&self) -> bool {
        !self.expose_secret().is_empty()
    }
}

impl Secret for crate::crypto::WebhookSecret {
    fn is_set(&self) -> bool {
        true
    }
}

impl<T: Secret> Secret for Option<T> {
    fn is_set(&self) -> bool {
        self.as_ref().is_some_and(Secret::is_set)
    }
}

/// One of an enum's names, as its `strum` attributes write them: `security = "starttls"`.
pub(super) mod choice {
    use serde::{Deserializer, Serializer};

    pub fn deserialize<'de, D, T>(name: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Copy + Into<&'static str> + strum::VariantArray,
    {
        let named = |v: &T| -> &'static str { (*v).into() };
        super::text(name, |name| {
            let found = T::VARIANTS.iter().find(|v| named(v) == name);
            found.copied().ok_or_else(|| {
                let quoted: Vec<String> = T::VARIANTS
                    .iter()
                    .map(|v| format!("{:?}", named(v)))
                    .collect();
                let (last, others) = quoted.split_last().expect("an enum has a value");
                format!("{name:?}: expected {} or {last}", others.join(", "))
            })
        })
    }

    pub fn serialize<S: Serializer, T: Copy + Into<&'static str>>(
        value: &T,
        out: S,
    ) -> Result<S::Ok, S::Error> {
        out.serialize_str((*value).into())
    }
}

/// A count or a duration in whole `U`nits from `MIN` to `MAX`, as in
/// `#[serde(rename = "poll_ms", with = "In::<Millis, 1, 3_600_000>")]`; `N` adds a note to the
/// refusal. Every number of the configuration is one of these, so none goes unchecked.
pub(super) struct In<U, const MIN: u64, const MAX: u64, N: Note = ()>(PhantomData<(U, N)>);

impl<U, const MIN: u64, const MAX: u64, N: Note> In<U, MIN, MAX, N> {
    pub fn deserialize<'de, D: Deserializer<'de>, T>(number: D) -> Result<T, D::Error>
    where
        U: Unit<T>,
    {
        let count = u64::deserialize(number)?;
        (MIN..=MAX)
            .contains(&count)
            .then(|| U::of(count))
            .flatten()
            .ok_or_else(|| D::Error::custom(format!("expected {MIN} to {MAX}{}", N::TEXT)))
    }

    pub fn serialize<S: Serializer, T>(value: &T, out: S) -> Result<S::Ok, S::Error>
    where
        U: Unit<T>,
    {
        out.serialize_u64(U::count(value))
    }
}

/// What the number of a key counts, and the type it becomes.
pub(super) trait Unit<T> {
    fn of(count: u64) -> Option<T>;
    fn count(value: &T) -> u64;
}

/// Said after the range in a refusal: `expected 1 to 10080 (a week)`.
pub(super) trait Note {
    const TEXT: &'static str = "";
}

impl Note for () {}

macro_rules! notes {
    ($($note:ident: $text:literal;)*) => {$(
        pub(super) struct $note;
        impl Note for $note {
            const TEXT: &'static str = $text;
        }
    )*};
}

notes! {
    ADay: " (a day)";
    AWeek: " (a week)";
    SixteenMiB: " (16 MiB)";
}

/// Things, not time: connections, attempts, bytes.
pub(super) struct Count;
pub(super) struct Millis;
pub(super) struct Seconds;
pub(super) struct Minutes;
pub(super) struct Hours;
pub(super) struct Days;
/// A share of 100, held as a ratio.
pub(super) struct Percent;

impl<T: Copy + TryFrom<u64>> Unit<T> for Count
where
    u64: TryFrom<T>,
{
    fn of(count: u64) -> Option<T> {
        T::try_from(count).ok()
    }
    fn count(value: &T) -> u64 {
        u64::try_from(*value).unwrap_or(u64::MAX)
    }
}

impl Unit<f64> for Percent {
    fn of(count: u64) -> Option<f64> {
        Some(count as f64 / 100.0)
    }
    fn count(ratio: &f64) -> u64 {
        (ratio * 100.0).round() as u64
    }
}

/// Units of `std::time::Duration` (what timers take) and of `chrono::Duration` (what is added
/// to dates).
macro_rules! units {
    ($($unit:ident / $count:ident: $type:ty = $of:expr;)*) => {$(
        impl Unit<$type> for $unit {
            fn of(count: u64) -> Option<$type> {
                $of(count)
            }
            fn count(value: &$type) -> u64 {
                value.$count().try_into().unwrap_or(0)
            }
        }
    )*};
}

type Std = std::time::Duration;
type Chrono = chrono::Duration;

units! {
    Millis / as_millis: Std = |n| Some(Std::from_millis(n));
    Seconds / as_secs: Std = |n| Some(Std::from_secs(n));
    Seconds / num_seconds: Chrono = |n: u64| Chrono::try_seconds(n.try_into().ok()?);
    Minutes / num_minutes: Chrono = |n: u64| Chrono::try_minutes(n.try_into().ok()?);
    Hours / num_hours: Chrono = |n: u64| Chrono::try_hours(n.try_into().ok()?);
    Days / num_days: Chrono = |n: u64| Chrono::try_days(n.try_into().ok()?);
}

/// An IANA time zone name (`UTC`, `Europe/Paris`).
pub(super) fn time_zone<'de, D: Deserializer<'de>>(name: D) -> Result<chrono_tz::Tz, D::Error> {
    text(name, |name| {
        name.parse().map_err(|_| {
            format!("{name:?} is not an IANA time zone name such as UTC or Europe/Paris")
        })
    })
}

/// An http(s) URL, or empty for none; printed without the credential it may carry.
pub(super) mod optional_url {
    use serde::{Deserializer, Serializer};
    use url::Url;

    pub fn deserialize<'de, D: Deserializer<'de>>(url: D) -> Result<Option<Url>, D::Error> {
        super::optional(url, super::parse_http_url)
    }

    pub fn serialize<S: Serializer>(url: &Option<Url>, out: S) -> Result<S::Ok, S::Error> {
        out.serialize_str(&url.as_ref().map(super::redacted_url).unwrap_or_default())
    }
}

/// An http(s) URL with a host, such as LinkedIn's endpoints.
pub(super) fn http_url<'de, D: Deserializer<'de>>(url: D) -> Result<Url, D::Error> {
    text(url, |url| parse_http_url(&url))
}

pub(super) fn parse_http_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| {
        format!(
            "{} is not a URL ({e}); expected http(s)://...",
            unparsed(text)
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("{:?}: expected an http(s) URL", redacted_url(&url)));
    }
    Ok(url)
}

/// A value that did not parse, as an error message shows it. A webhook URL may carry its
/// receiver's token in its query or a password before `@`; when the text has either, where
/// they end cannot be trusted, so none of it is shown.
fn unparsed(text: &str) -> String {
    if text.contains(['@', '?', '#']) {
        "the value (not shown: it may carry a credential)".to_string()
    } else {
        format!("{text:?}")
    }
}
