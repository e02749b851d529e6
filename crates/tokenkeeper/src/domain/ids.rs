use super::InvalidInput;
use std::fmt;

/// The host application's identifier for its user. Opaque to us; kept printable and bounded
/// so it can travel in signed links and log lines.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    /// In characters, as a JSON Schema's `maxLength` counts: an id the API's document allows
    /// is one the API takes.
    pub const MAX_LEN: usize = 255;

    /// What `parse` accepts, as an ECMA-262 (and Python) regular expression for the API's
    /// OpenAPI document, with `MAX_LEN` as `maxLength`: no control character (Unicode `Cc`)
    /// anywhere, no whitespace (Unicode `White_Space`, as `char::is_whitespace`) at either end.
    pub const PATTERN: &'static str = concat!(
        r"^[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]",
        r"(?:[^\x00-\x1F\x7F-\x9F]*",
        r"[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?$"
    );

    /// Taken exactly as given: two spellings never name one user, so whitespace around the id
    /// (a space, a tab, a no-break space) is refused rather than trimmed away.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        if raw.is_empty() {
            return Err(InvalidInput("user_id must not be empty".into()));
        }
        if raw.starts_with(char::is_whitespace) || raw.ends_with(char::is_whitespace) {
            return Err(InvalidInput(
                "user_id must not begin or end with whitespace".into(),
            ));
        }
        if raw.chars().count() > Self::MAX_LEN {
            return Err(InvalidInput(format!(
                "user_id must be at most {} characters",
                Self::MAX_LEN
            )));
        }
        if raw.chars().any(char::is_control) {
            return Err(InvalidInput(
                "user_id must not contain control characters".into(),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// LinkedIn's member identifier: the OpenID Connect `sub` claim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberId(String);

impl MemberId {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let trimmed = raw.trim();
        // Counted in characters, as the columns and the OpenAPI document's `maxLength` count.
        if trimmed.is_empty()
            || trimmed.chars().count() > 255
            || trimmed.chars().any(char::is_control)
        {
            return Err(InvalidInput(
                "LinkedIn member id (sub) must be 1 to 255 printable characters".into(),
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whose tokens an account holds. Only an import leaves it unknown: a row without a member
/// id whose access token LinkedIn refuses to describe, kept for its live refresh token. The
/// member's next connection tells who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountMember {
    Known(MemberId),
    NotKnownYet,
}

impl AccountMember {
    /// As stored: the id, or an empty text while it is not known (the column stays NOT NULL,
    /// as a host app's own table has it).
    pub fn as_str(&self) -> &str {
        match self {
            AccountMember::Known(id) => id.as_str(),
            AccountMember::NotKnownYet => "",
        }
    }

    /// Reads back what [`AccountMember::as_str`] stored.
    pub fn stored(raw: &str) -> Result<Self, InvalidInput> {
        if raw.is_empty() {
            return Ok(AccountMember::NotKnownYet);
        }
        MemberId::parse(raw).map(AccountMember::Known)
    }

    pub fn known(&self) -> Option<&MemberId> {
        match self {
            AccountMember::Known(id) => Some(id),
            AccountMember::NotKnownYet => None,
        }
    }
}

impl From<MemberId> for AccountMember {
    fn from(id: MemberId) -> Self {
        AccountMember::Known(id)
    }
}

impl fmt::Display for AccountMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountMember::Known(id) => id.fmt(f),
            AccountMember::NotKnownYet => f.write_str("not known yet"),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_member_id_is_up_to_255_characters_not_bytes() {
        assert!(MemberId::parse(&"\u{e9}".repeat(255)).is_ok());
        assert!(MemberId::parse(&"\u{e9}".repeat(256)).is_err());
        assert!(MemberId::parse(" \u{a0} ").is_err());
    }

    use super::*;

    #[test]
    fn user_id_rejects_empty_long_and_control_characters() {
        assert!(UserId::parse("  ").is_err());
        assert!(UserId::parse(&"x".repeat(256)).is_err());
        assert!(UserId::parse("a\nb").is_err());
        assert_eq!(UserId::parse("u 42").unwrap().as_str(), "u 42");
    }

    #[test]
    fn user_id_is_exact_with_no_whitespace_around_it() {
        for padded in [" u-42", "u-42 ", "u-42\u{a0}", "\u{2003}u-42", "u-42\t"] {
            let refused = UserId::parse(padded).unwrap_err();
            assert!(
                refused.0.contains("whitespace"),
                "{padded:?}: {}",
                refused.0
            );
        }
    }

    #[test]
    fn user_id_length_counts_characters_as_json_schema_does() {
        assert!(UserId::parse(&"\u{e9}".repeat(255)).is_ok());
        assert!(UserId::parse(&"\u{1f600}".repeat(255)).is_ok());
        assert!(UserId::parse(&"\u{e9}".repeat(256)).is_err());
    }

    /// The characters a `[^...]` class of `UserId::PATTERN` refuses, read from its text
    /// (`\xHH` and `\uHHHH` escapes, ranges with `-`).
    fn refused_by(class: &str) -> Vec<(u32, u32)> {
        let escape = |text: &str| -> (u32, usize) {
            let width = match &text[..2] {
                r"\x" => 2,
                r"\u" => 4,
                other => panic!("{other} in {class}"),
            };
            let code = u32::from_str_radix(&text[2..2 + width], 16).unwrap();
            (code, 2 + width)
        };
        let mut ranges = Vec::new();
        let mut rest = class;
        while !rest.is_empty() {
            let (low, used) = escape(rest);
            rest = &rest[used..];
            let high = match rest.strip_prefix('-') {
                Some(after) => {
                    let (high, used) = escape(after);
                    rest = &after[used..];
                    high
                }
                None => low,
            };
            ranges.push((low, high));
        }
        ranges
    }

    #[test]
    fn the_documented_pattern_refuses_what_parse_refuses() {
        // ^[^END](?:[^INSIDE]*[^END])?$
        let classes: Vec<&str> = UserId::PATTERN
            .split("[^")
            .skip(1)
            .map(|c| c.split(']').next().unwrap())
            .collect();
        assert_eq!(classes.len(), 3);
        assert_eq!(classes[0], classes[2]);
        let (end, inside) = (refused_by(classes[0]), refused_by(classes[1]));
        let refuses = |ranges: &[(u32, u32)], c: char| {
            ranges
                .iter()
                .any(|(low, high)| (*low..=*high).contains(&u32::from(c)))
        };
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(refuses(&inside, c), c.is_control(), "{c:?} inside");
            let at_an_end = c.is_control() || c.is_whitespace();
            assert_eq!(refuses(&end, c), at_an_end, "{c:?} at an end");
        }
    }

    #[test]
    fn member_id_must_be_printable() {
        assert!(MemberId::parse("").is_err());
        assert_eq!(MemberId::parse("782bbtaQ").unwrap().as_str(), "782bbtaQ");
    }

    #[test]
    fn ids_may_be_exactly_255_bytes() {
        assert!(UserId::parse(&"x".repeat(255)).is_ok());
        assert!(MemberId::parse(&"m".repeat(255)).is_ok());
        assert!(MemberId::parse(&"m".repeat(256)).is_err());
        assert!(MemberId::parse("m\u{7}").is_err());
        assert_eq!(MemberId::parse(" 782bbtaQ\n").unwrap().as_str(), "782bbtaQ");
    }

    #[test]
    fn an_unknown_member_is_stored_empty_and_read_back() {
        let unknown = AccountMember::NotKnownYet;
        assert_eq!(AccountMember::stored(unknown.as_str()).unwrap(), unknown);
        assert_eq!(unknown.known(), None);
        assert_eq!(unknown.to_string(), "not known yet");
        let known = AccountMember::from(MemberId::parse("782bbtaQ").unwrap());
        assert_eq!(AccountMember::stored(known.as_str()).unwrap(), known);
        assert_eq!(known.known().map(MemberId::as_str), Some("782bbtaQ"));
        assert_eq!(known.to_string(), "782bbtaQ");
        assert!(AccountMember::stored(" ").is_err());
    }

    #[test]
    fn ids_print_as_themselves() {
        assert_eq!(UserId::parse("u-42").unwrap().to_string(), "u-42");
        assert_eq!(MemberId::parse("782bbtaQ").unwrap().to_string(), "782bbtaQ");
    }
}
