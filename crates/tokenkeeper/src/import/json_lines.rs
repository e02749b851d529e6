//! JSON Lines: one JSON object per line, blank lines skipped, a line longer than 64 KiB
//! reported and skipped unread.

use super::lines::{Line, Lines, MAX_LINE_BYTES};
use super::read::{Rows, SourceError, SourceRow};
use super::row::{RawRow, COLUMNS};
use std::io::Read;

pub fn json_lines(reader: impl Read + Send + 'static) -> Rows {
    Box::new(JsonLines {
        lines: Lines::new(reader),
    })
}

struct JsonLines<R> {
    lines: Lines<R>,
}

impl<R: Read> Iterator for JsonLines<R> {
    type Item = Result<SourceRow, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let read = match self.lines.next_line() {
                Err(e) => return Some(Err(SourceError::Io(e))),
                Ok(read) => read,
            };
            let line = self.lines.number();
            let text = match read {
                Line::End => return None,
                Line::TooLong => {
                    let row = Err(format!("is longer than {MAX_LINE_BYTES} bytes"));
                    return Some(Ok(SourceRow { line, row }));
                }
                Line::Read => self.lines.text(),
            };
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let row = serde_json::from_slice::<RawRow>(text).map_err(json_problem);
            return Some(Ok(SourceRow { line, row }));
        }
    }
}

/// One row given as a JSON object (the API's body), with the same care for what errors say.
pub fn row_of_json(value: serde_json::Value) -> Result<RawRow, String> {
    serde_json::from_value(value).map_err(json_problem)
}

/// serde_json's messages quote the values they could not use, which may be tokens: only the
/// kind of problem is kept, and a field's name when the field is unknown.
fn json_problem(error: serde_json::Error) -> String {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            format!("is not valid JSON (at column {})", error.column())
        }
        Category::Data => {
            let message = error.to_string();
            if message.starts_with("unknown field") {
                let field = message.split('`').nth(1).unwrap_or_default();
                format!(
                    "has a key {:?}, which is none of: {}",
                    crate::telemetry::outside_text(field),
                    COLUMNS.join(", ")
                )
            } else {
                "must be one JSON object whose values are strings (or null)".to_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &'static str) -> Vec<(u64, Result<String, String>)> {
        json_lines(text.as_bytes())
            .map(|r| {
                let r = r.unwrap();
                (r.line, r.row.map(|row| row.user_id.unwrap_or_default()))
            })
            .collect()
    }

    #[test]
    fn json_lines_skip_blanks_and_never_quote_values() {
        let text = "{\"user_id\":\"u-1\"}\n\n{\"user_id\":\"u-2\",\"acces_token\":\"AQV-secret\"}\n\"AQV-secret\"\n{\"user_id\":\n";
        let got = read(text);
        assert_eq!(got[0], (1, Ok("u-1".into())));
        assert_eq!(got[1].0, 3);
        let unknown = got[1].1.clone().unwrap_err();
        assert!(unknown.contains("\"acces_token\""), "{unknown}");
        assert_eq!(got[2].0, 4);
        assert_eq!(got[3].0, 5);
        for (_, row) in &got[1..] {
            assert!(!row.clone().unwrap_err().contains("secret"), "{row:?}");
        }
    }

    #[test]
    fn an_overlong_json_line_is_reported_and_skipped() {
        let long: &'static str = Box::leak(
            format!(
                "{{\"user_id\":\"{}\"}}\n{{\"user_id\":\"u-2\"}}\n",
                "x".repeat(MAX_LINE_BYTES)
            )
            .into_boxed_str(),
        );
        let got = read(long);
        assert_eq!(got.len(), 2);
        assert!(got[0].1.clone().unwrap_err().contains("longer than"));
        assert_eq!(got[1], (2, Ok("u-2".into())));
    }
}
