//! How far back a report looks: `--since 30d` or `--since 12h`. Parsed once at the edge; a
//! window of zero, a negative one or one longer than ten years is refused, since it can only
//! be a typo.

use chrono::Duration;
use std::fmt;
use std::str::FromStr;

const MAX_DAYS: i64 = 3650;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookback(Duration);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookbackError {
    #[error(
        "{0:?} is not a length of time: write a whole number of days or hours, like 30d or 12h"
    )]
    Malformed(String),
    #[error("{0:?} looks back no time at all: a report needs at least 1h")]
    Empty(String),
    #[error("{0:?} is negative: write how far back to look, like 30d")]
    Negative(String),
    #[error("{0:?} is longer than {MAX_DAYS} days (ten years)")]
    TooLong(String),
}

impl Lookback {
    pub const fn days(days: i64) -> Self {
        Self(Duration::days(days))
    }

    pub fn duration(self) -> Duration {
        self.0
    }
}

impl FromStr for Lookback {
    type Err = LookbackError;

    fn from_str(raw: &str) -> Result<Self, LookbackError> {
        let text = raw.trim();
        let malformed = || LookbackError::Malformed(raw.to_owned());
        let (number, per_unit) = match text.chars().last() {
            Some('d') => (&text[..text.len() - 1], Duration::days(1)),
            Some('h') => (&text[..text.len() - 1], Duration::hours(1)),
            _ => return Err(malformed()),
        };
        if let Some(positive) = number.strip_prefix('-') {
            return Err(match positive.parse::<u64>() {
                Ok(0) => LookbackError::Empty(raw.to_owned()),
                Ok(_) => LookbackError::Negative(raw.to_owned()),
                Err(_) => malformed(),
            });
        }
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        let count: i64 = number
            .parse()
            .map_err(|_| LookbackError::TooLong(raw.to_owned()))?;
        if count == 0 {
            return Err(LookbackError::Empty(raw.to_owned()));
        }
        let max_units = Duration::days(MAX_DAYS).num_seconds() / per_unit.num_seconds();
        if count > max_units {
            return Err(LookbackError::TooLong(raw.to_owned()));
        }
        Ok(Self(per_unit * count as i32))
    }
}

/// `30d` when whole days, else `36h`: the form it is written in.
impl fmt::Display for Lookback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hours = self.0.num_hours();
        if hours % 24 == 0 {
            write!(f, "{}d", hours / 24)
        } else {
            write!(f, "{hours}h")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_hours_are_accepted() {
        assert_eq!("30d".parse(), Ok(Lookback::days(30)));
        assert_eq!(
            "12h".parse::<Lookback>().unwrap().duration(),
            Duration::hours(12)
        );
        assert_eq!("3650d".parse(), Ok(Lookback::days(3650)));
        assert_eq!("48h".parse::<Lookback>().unwrap().to_string(), "2d");
        assert_eq!("36h".parse::<Lookback>().unwrap().to_string(), "36h");
    }

    #[test]
    fn absurd_negative_and_malformed_lengths_are_refused_by_name() {
        let refused = |raw: &str| raw.parse::<Lookback>().unwrap_err();
        assert_eq!(refused("-5d"), LookbackError::Negative("-5d".into()));
        assert_eq!(refused("0d"), LookbackError::Empty("0d".into()));
        assert_eq!(refused("3651d"), LookbackError::TooLong("3651d".into()));
        assert_eq!(refused("87601h"), LookbackError::TooLong("87601h".into()));
        assert_eq!(
            refused("99999999999999999999d"),
            LookbackError::TooLong("99999999999999999999d".into())
        );
        for raw in ["30", "d", "30 days", "1.5d", "30w", "+3d", "", "30é"] {
            assert_eq!(refused(raw), LookbackError::Malformed(raw.into()), "{raw}");
        }
        assert!(refused("-5d").to_string().contains("negative"));
    }
}
