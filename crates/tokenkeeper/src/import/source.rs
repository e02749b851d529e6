//! Reading an import file row by row, in CSV (with a header) or JSON Lines, without holding
//! more than one row at a time. Each row comes with the line it starts on, so problems can be
//! reported as `line N: ...`.

use super::row::{RawRow, COLUMNS};
use std::io::{BufRead, BufReader, Read};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    /// Guessed from a file name: `.jsonl` and `.ndjson` are JSON Lines, anything else CSV.
    pub fn of_path(path: &str) -> Self {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            Format::Jsonl
        } else {
            Format::Csv
        }
    }
}

/// A problem with the whole file: nothing in it can be imported.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("the CSV header has no column {0:?}")]
    MissingColumn(&'static str),
    #[error("the CSV header has a column {0:?}, which is none of: {columns}", columns = COLUMNS.join(", "))]
    UnknownColumn(String),
    #[error("the CSV header cannot be read: {0}")]
    Header(String),
    #[error("reading the file failed")]
    Io(#[from] std::io::Error),
}

/// One row read, or why it could not be.
pub struct SourceRow {
    pub line: u64,
    pub row: Result<RawRow, String>,
}

pub type Rows = Box<dyn Iterator<Item = Result<SourceRow, SourceError>> + Send>;

/// A JSON line longer than this is no account: it is reported, and skipped unread.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

pub fn rows(reader: impl Read + Send + 'static, format: Format) -> Result<Rows, SourceError> {
    match format {
        Format::Csv => csv_rows(reader),
        Format::Jsonl => Ok(Box::new(JsonLines {
            reader: BufReader::new(reader),
            line: 0,
            buffer: Vec::new(),
        })),
    }
}

fn csv_rows(reader: impl Read + Send + 'static) -> Result<Rows, SourceError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let headers = reader
        .headers()
        .map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(io) => SourceError::Io(io),
            _ => SourceError::Header("it is not valid UTF-8 CSV".into()),
        })?
        .clone();
    for column in &headers {
        if !COLUMNS.contains(&column) {
            return Err(SourceError::UnknownColumn(column_name(column)));
        }
    }
    for required in ["user_id", "email", "access_token", "member_id"] {
        if !headers.iter().any(|c| c == required) {
            return Err(SourceError::MissingColumn(required));
        }
    }
    let width = headers.len();
    Ok(Box::new(reader.into_records().map(move |record| {
        let (line, record) = match record {
            Ok(record) => (record.position().map_or(0, |p| p.line()), Ok(record)),
            Err(e) => (e.position().map_or(0, |p| p.line()), Err(e)),
        };
        let row = match record {
            Ok(record) => record
                .deserialize::<RawRow>(Some(&headers))
                .map_err(|_| "a field cannot be read as text".to_owned()),
            Err(e) => match e.into_kind() {
                csv::ErrorKind::Io(io) => return Err(SourceError::Io(io)),
                csv::ErrorKind::UnequalLengths { len, .. } => {
                    Err(format!("has {len} fields where the header has {width}"))
                }
                csv::ErrorKind::Utf8 { .. } => Err("is not valid UTF-8".to_owned()),
                _ => Err("cannot be read as CSV".to_owned()),
            },
        };
        Ok(SourceRow { line, row })
    })))
}

/// A header cell that looks like a column name is quoted back; anything else may be the
/// first row of a file without a header, tokens included, and is not.
fn column_name(cell: &str) -> String {
    let looks_like_a_name = cell.len() <= 40
        && cell
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b' ');
    if looks_like_a_name {
        cell.to_owned()
    } else {
        "(not shown: is the header line missing?)".to_owned()
    }
}

struct JsonLines<R> {
    reader: BufReader<R>,
    line: u64,
    buffer: Vec<u8>,
}

impl<R: Read> Iterator for JsonLines<R> {
    type Item = Result<SourceRow, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.line += 1;
            self.buffer.clear();
            let read = (&mut self.reader)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut self.buffer);
            match read {
                Err(e) => return Some(Err(SourceError::Io(e))),
                Ok(0) => return None,
                Ok(_) => {}
            }
            let line = self.line;
            if self.buffer.len() > MAX_LINE_BYTES && self.buffer.last() != Some(&b'\n') {
                if let Err(e) = skip_line(&mut self.reader) {
                    return Some(Err(SourceError::Io(e)));
                }
                let row = Err(format!("is longer than {MAX_LINE_BYTES} bytes"));
                return Some(Ok(SourceRow { line, row }));
            }
            if self.buffer.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let row = serde_json::from_slice::<RawRow>(&self.buffer).map_err(json_problem);
            return Some(Ok(SourceRow { line, row }));
        }
    }
}

/// One row given as a JSON object (the API's body), with the same care for what errors say.
pub fn row_of_json(value: serde_json::Value) -> Result<RawRow, String> {
    serde_json::from_value(value).map_err(json_problem)
}

fn skip_line(reader: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(());
        }
        match available.iter().position(|b| *b == b'\n') {
            Some(at) => {
                reader.consume(at + 1);
                return Ok(());
            }
            None => {
                let all = available.len();
                reader.consume(all);
            }
        }
    }
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

    fn read(text: &'static str, format: Format) -> Vec<(u64, Result<String, String>)> {
        rows(text.as_bytes(), format)
            .unwrap()
            .map(|r| {
                let r = r.unwrap();
                (r.line, r.row.map(|row| row.user_id.unwrap_or_default()))
            })
            .collect()
    }

    #[test]
    fn csv_rows_come_with_their_line_numbers() {
        let text = "user_id,email,access_token,member_id\nu-1,a@example.com,AQV1,m1\nu-2,b@example.com\n\"u-3\nx\",c@example.com,AQV3,m3\nu-4,d@example.com,AQV4,m4\n";
        let got = read(text, Format::Csv);
        assert_eq!(got[0], (2, Ok("u-1".into())));
        assert_eq!(
            got[1],
            (3, Err("has 2 fields where the header has 4".into()))
        );
        assert_eq!(got[2], (4, Ok("u-3\nx".into())));
        assert_eq!(got[3], (6, Ok("u-4".into())));
    }

    #[test]
    fn a_csv_header_must_name_known_columns_and_the_required_ones() {
        let unknown = rows(
            "user_id,email,acess_token,member_id\n".as_bytes(),
            Format::Csv,
        );
        assert!(matches!(unknown, Err(SourceError::UnknownColumn(c)) if c == "acess_token"));
        let missing = rows("user_id,email,member_id\n".as_bytes(), Format::Csv);
        assert!(matches!(
            missing,
            Err(SourceError::MissingColumn("access_token"))
        ));
        let headless = rows(
            "u-1,a@example.com,AQV-secret.token,m1\n".as_bytes(),
            Format::Csv,
        );
        let Err(error) = headless else {
            panic!("accepted")
        };
        assert!(!error.to_string().contains("secret"), "{error}");
    }

    #[test]
    fn json_lines_skip_blanks_and_never_quote_values() {
        let text = "{\"user_id\":\"u-1\"}\n\n{\"user_id\":\"u-2\",\"acces_token\":\"AQV-secret\"}\n\"AQV-secret\"\n{\"user_id\":\n";
        let got = read(text, Format::Jsonl);
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
        let got = read(long, Format::Jsonl);
        assert_eq!(got.len(), 2);
        assert!(got[0].1.clone().unwrap_err().contains("longer than"));
        assert_eq!(got[1], (2, Ok("u-2".into())));
    }

    #[test]
    fn formats_are_guessed_from_the_name() {
        assert_eq!(Format::of_path("tokens.JSONL"), Format::Jsonl);
        assert_eq!(Format::of_path("tokens.ndjson"), Format::Jsonl);
        assert_eq!(Format::of_path("tokens.csv"), Format::Csv);
        assert_eq!(Format::of_path("-"), Format::Csv);
    }
}
