//! A network's `Retry-After` (undocumented and often absent at LinkedIn), as hostile as any
//! other input. Whatever it says, the result is a plain duration the engine then caps by its
//! own budget.

use chrono::{DateTime, Utc};
use std::time::Duration;

/// Seconds (`120`) or an HTTP date; anything else is treated as absent. A number too large
/// for a u64 is as good as "forever", which the engine's budget turns into "not this sweep".
pub(crate) fn parse(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn reads_seconds_dates_and_ignores_nonsense() {
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
        assert_eq!(parse("3600", now), Some(Duration::from_secs(3600)));
        assert_eq!(
            parse("18446744073709551615", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            parse("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            parse("Mon, 02 Mar 2026 08:01:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse("Mon, 02 Mar 2026 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        for nonsense in ["soon", "", "-5", "1.5", "0x10"] {
            assert_eq!(parse(nonsense, now), None, "{nonsense:?}");
        }
    }
}
