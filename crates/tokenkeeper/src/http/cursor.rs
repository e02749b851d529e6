//! The list's paging cursor: opaque to the host app (base64url of the last account id it saw,
//! with a version prefix so the format can change), and checked when it comes back, so a
//! cursor made by hand is a 400, never a database error.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

const PREFIX: &str = "a1:";

/// Where the next page starts: after this account id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub after_id: i64,
}

impl Cursor {
    pub fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{PREFIX}{}", self.after_id))
    }

    pub fn decode(raw: &str) -> Option<Self> {
        // Ids are short; a long cursor is not ours, and is not decoded at all.
        if raw.len() > 64 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let digits = text.strip_prefix(PREFIX)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let after_id = digits.parse().ok()?;
        Some(Self { after_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_written() {
        for after_id in [0, 1, 42, i64::MAX] {
            let cursor = Cursor { after_id };
            assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        }
    }

    #[test]
    fn forged_cursors_are_refused() {
        let forged = [
            String::new(),
            "not base64!".to_owned(),
            URL_SAFE_NO_PAD.encode("42"),
            URL_SAFE_NO_PAD.encode("a1:"),
            URL_SAFE_NO_PAD.encode("a1:-1"),
            URL_SAFE_NO_PAD.encode("a1:+1"),
            URL_SAFE_NO_PAD.encode("a1:1 OR 1=1"),
            URL_SAFE_NO_PAD.encode("a1:99999999999999999999"),
            URL_SAFE_NO_PAD.encode([b'a', b'1', b':', 0xff]),
            "A".repeat(100),
        ];
        for raw in forged {
            assert_eq!(Cursor::decode(&raw), None, "{raw:?}");
        }
    }
}
