//! CSV, read a line at a time. No field of an account may hold a line break (ids, tokens,
//! times, names and scopes all refuse control characters), so a record must end on the line
//! it starts on. A quote that opens a field and never closes it (one stray `"`) then costs its
//! own line only: the line is reported and reading goes on with the next one, where a CSV
//! reader that lets a quoted field run on would swallow the rest of the file into one field,
//! holding it all in memory.

use super::lines::{Line, Lines, MAX_LINE_BYTES};
use super::read::{Rows, SourceError, SourceRow};
use super::row::{RawRow, COLUMNS};
use csv::StringRecord;
use std::io::Read;

pub fn csv_rows(reader: impl Read + Send + 'static) -> Result<Rows, SourceError> {
    let mut records = Records::new(reader);
    let headers = loop {
        match records.next_record()? {
            Some(Record::Blank) => continue,
            Some(Record::Fields) => {
                break records
                    .fields
                    .strings()
                    .ok_or_else(|| header("it is not valid UTF-8"))?
            }
            Some(Record::TooLong) => {
                return Err(header(&format!(
                    "its line is longer than {MAX_LINE_BYTES} bytes"
                )))
            }
            Some(Record::Unclosed) => {
                return Err(header("a quoted column name is not closed on its line"))
            }
            None => return Err(header("the file is empty")),
        }
    };
    for column in &headers {
        if !COLUMNS.contains(&column) {
            return Err(SourceError::UnknownColumn(column_name(column)));
        }
    }
    for required in ["user_id", "email", "access_token"] {
        if !headers.iter().any(|c| c == required) {
            return Err(SourceError::MissingColumn(required));
        }
    }
    Ok(Box::new(CsvRows { records, headers }))
}

fn header(why: &str) -> SourceError {
    SourceError::Header(why.to_owned())
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

struct CsvRows<R> {
    records: Records<R>,
    headers: StringRecord,
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = Result<SourceRow, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let record = match self.records.next_record() {
                Err(e) => return Some(Err(SourceError::Io(e))),
                Ok(None) => return None,
                Ok(Some(record)) => record,
            };
            let line = self.records.lines.number();
            let width = self.headers.len();
            let row = match record {
                Record::Blank => continue,
                Record::TooLong => Err(format!("is longer than {MAX_LINE_BYTES} bytes")),
                Record::Unclosed => Err(
                    "has a quote (\") that opens a field and is not closed on this line; the line is skipped and reading goes on with the next one".to_owned(),
                ),
                Record::Fields if self.records.fields.count != width => Err(format!(
                    "has {} fields where the header has {width}",
                    self.records.fields.count
                )),
                Record::Fields => match self.records.fields.strings() {
                    None => Err("is not valid UTF-8".to_owned()),
                    Some(fields) => fields
                        .deserialize::<RawRow>(Some(&self.headers))
                        .map_err(|_| "a field cannot be read as text".to_owned()),
                },
            };
            return Some(Ok(SourceRow { line, row }));
        }
    }
}

/// What one line holds.
enum Record {
    /// An empty line, skipped as CSV readers do.
    Blank,
    /// A whole record, its fields in [`Fields`].
    Fields,
    /// A line longer than [`MAX_LINE_BYTES`], skipped unread.
    TooLong,
    /// The line ends inside a quoted field.
    Unclosed,
}

/// One record per line.
struct Records<R> {
    lines: Lines<R>,
    fields: Fields,
}

impl<R: Read> Records<R> {
    fn new(reader: R) -> Self {
        Self {
            lines: Lines::new(reader),
            fields: Fields::new(),
        }
    }

    fn next_record(&mut self) -> std::io::Result<Option<Record>> {
        match self.lines.next_line()? {
            Line::End => return Ok(None),
            Line::TooLong => return Ok(Some(Record::TooLong)),
            Line::Read => {}
        }
        let text = self.lines.text();
        let text = text.strip_suffix(b"\n").unwrap_or(text);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.is_empty() {
            return Ok(Some(Record::Blank));
        }
        Ok(Some(self.fields.parse(&[text, b"\n"])))
    }

    #[cfg(test)]
    fn held(&self) -> usize {
        self.lines.held()
            + self.fields.output.capacity()
            + self.fields.ends.capacity() * size_of::<usize>()
    }
}

/// The fields of one line, parsed by csv-core into buffers that never outgrow a line.
struct Fields {
    parser: csv_core::Reader,
    /// The fields' bytes, one after the other; a line's fields are never longer than the line.
    output: Vec<u8>,
    /// Where each field ends in `output`; grows with the widest line, itself bounded.
    ends: Vec<usize>,
    count: usize,
}

impl Fields {
    fn new() -> Self {
        Self {
            // Only `\n` ends a record: a `\r` before it is taken off with the line's end, and
            // one anywhere else stays in its field, where validation refuses it.
            parser: csv_core::ReaderBuilder::new()
                .terminator(csv_core::Terminator::Any(b'\n'))
                .build(),
            output: vec![0; MAX_LINE_BYTES + 1],
            ends: vec![0; COLUMNS.len() + 1],
            count: 0,
        }
    }

    /// Parses one line, given in pieces (its text, then the `\n` that must end it).
    fn parse(&mut self, pieces: &[&[u8]]) -> Record {
        use csv_core::ReadRecordResult;
        self.parser.reset();
        let (mut written, mut ended) = (0, 0);
        for piece in pieces {
            let mut input: &[u8] = piece;
            loop {
                let (result, read, wrote, ends) = self.parser.read_record(
                    input,
                    &mut self.output[written..],
                    &mut self.ends[ended..],
                );
                input = &input[read..];
                written += wrote;
                ended += ends;
                match result {
                    ReadRecordResult::Record => {
                        self.count = ended;
                        return Record::Fields;
                    }
                    ReadRecordResult::OutputEndsFull => {
                        // A line of n bytes has at most n + 1 fields: this stays bounded.
                        let grown = self.ends.len() * 2;
                        self.ends.resize(grown, 0);
                    }
                    // The output holds a whole line: it cannot fill.
                    ReadRecordResult::OutputFull => return Record::TooLong,
                    ReadRecordResult::InputEmpty | ReadRecordResult::End => break,
                }
            }
        }
        // The `\n` was taken into a quoted field.
        Record::Unclosed
    }

    /// The fields of the last record as text, if they are UTF-8.
    fn strings(&self) -> Option<StringRecord> {
        let mut start = 0;
        let mut fields = Vec::with_capacity(self.count);
        for &end in &self.ends[..self.count] {
            fields.push(std::str::from_utf8(&self.output[start..end]).ok()?);
            start = end;
        }
        Some(StringRecord::from(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: impl Read + Send + 'static) -> Vec<(u64, Result<String, String>)> {
        csv_rows(text)
            .unwrap()
            .map(|r| {
                let r = r.unwrap();
                (r.line, r.row.map(|row| row.user_id.unwrap_or_default()))
            })
            .collect()
    }

    const HEADER: &str = "user_id,email,access_token,member_id\n";

    #[test]
    fn rows_come_with_their_line_numbers() {
        let text = format!("{HEADER}u-1,a@example.com,AQV1,m1\nu-2,b@example.com\n\n\"u-3\",\"c@example.com\",\"AQ\"\"V3\",m3\r\nu-4,d@example.com,AQV4,m4");
        let got = read(std::io::Cursor::new(text));
        assert_eq!(got[0], (2, Ok("u-1".into())));
        assert_eq!(
            got[1],
            (3, Err("has 2 fields where the header has 4".into()))
        );
        assert_eq!(got[2], (5, Ok("u-3".into())));
        assert_eq!(got[3], (6, Ok("u-4".into())));
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn a_stray_quote_costs_its_own_line_only() {
        let mut text = HEADER.to_owned();
        text.push_str("u-1,\"a@example.com,AQV1,m1\n");
        for i in 2..=2000 {
            text.push_str(&format!("u-{i},u{i}@example.com,AQV{i},m{i}\n"));
        }
        let got = read(std::io::Cursor::new(text));
        assert_eq!(got.len(), 2000);
        assert_eq!(got[0].0, 2);
        let why = got[0].1.clone().unwrap_err();
        assert!(why.contains("not closed on this line"), "{why}");
        for (i, (line, row)) in got[1..].iter().enumerate() {
            assert_eq!(*line, i as u64 + 3);
            assert_eq!(row.as_deref(), Ok(format!("u-{}", i + 2).as_str()));
        }
    }

    #[test]
    fn a_field_may_not_run_onto_the_next_line() {
        let text = format!("{HEADER}\"u-1\nx\",a@example.com,AQV1,m1\nu-2,b@example.com,AQV2,m2\n");
        let got = read(std::io::Cursor::new(text));
        assert_eq!(got[0].0, 2);
        assert!(got[0].1.is_err());
        // The next line is read as a row of its own, as every line is.
        assert_eq!(got[1], (3, Ok("x\"".into())));
        assert_eq!(got[2], (4, Ok("u-2".into())));
    }

    #[test]
    fn an_overlong_record_is_reported_and_never_held() {
        // 64 MiB in one field, never more than a line's worth in memory.
        let long = std::io::repeat(b'x').take(64 << 20);
        let text = HEADER
            .as_bytes()
            .chain(&b"u-1,a@example.com,\""[..])
            .chain(long)
            .chain(&b"\",m1\nu-2,b@example.com,AQV2,m2\n"[..]);
        let mut records = Records::new(text);
        assert!(matches!(
            records.next_record().unwrap(),
            Some(Record::Fields)
        ));
        assert!(matches!(
            records.next_record().unwrap(),
            Some(Record::TooLong)
        ));
        assert_eq!(records.lines.number(), 2);
        assert!(matches!(
            records.next_record().unwrap(),
            Some(Record::Fields)
        ));
        assert_eq!(records.lines.number(), 3);
        assert!(records.held() < 4 * MAX_LINE_BYTES, "{}", records.held());
        assert!(records.next_record().unwrap().is_none());
    }

    #[test]
    fn a_line_wider_than_the_columns_is_read_whole() {
        let cells: Vec<String> = (0..30).map(|i| format!("c{i}")).collect();
        let text = format!("{}\n", cells.join(","));
        let mut records = Records::new(std::io::Cursor::new(text));
        assert!(matches!(
            records.next_record().unwrap(),
            Some(Record::Fields)
        ));
        let read = records.fields.strings().unwrap();
        assert_eq!(read.iter().collect::<Vec<_>>(), cells);
    }

    #[test]
    fn many_fields_on_one_line_are_counted() {
        let text = format!("{HEADER}{}\n", ["x"; 100].join(","));
        let got = read(std::io::Cursor::new(text));
        assert_eq!(
            got[0],
            (2, Err("has 100 fields where the header has 4".into()))
        );
    }

    #[test]
    fn a_header_must_name_known_columns_and_the_required_ones() {
        let unknown = csv_rows("\u{feff}user_id,email,acess_token,member_id\n".as_bytes());
        assert!(matches!(unknown, Err(SourceError::UnknownColumn(c)) if c == "acess_token"));
        let missing = csv_rows("user_id,email,member_id\n".as_bytes());
        assert!(matches!(
            missing,
            Err(SourceError::MissingColumn("access_token"))
        ));
        let headless = csv_rows("AQV-secret.token,u-1,a@example.com,m1\n".as_bytes());
        let Err(error) = headless else {
            panic!("accepted")
        };
        assert!(!error.to_string().contains("secret"), "{error}");
        let unclosed = csv_rows("user_id,\"email\n".as_bytes());
        assert!(matches!(unclosed, Err(SourceError::Header(_))));
    }
}
