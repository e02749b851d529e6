//! The physical lines of an import file, each read whole only when it is short enough to hold
//! one account. A longer line is skipped without being held: one bad line costs neither memory
//! nor the lines after it.

use std::io::{BufRead, BufReader, Read};

/// A line longer than this is no account: it is reported, and skipped unread.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

pub enum Line {
    /// The line is in [`Lines::text`], with its `\n` when it had one.
    Read,
    /// The line was longer than [`MAX_LINE_BYTES`] and has been skipped.
    TooLong,
    /// The file has no more lines.
    End,
}

pub struct Lines<R> {
    reader: BufReader<R>,
    number: u64,
    buffer: Vec<u8>,
}

impl<R: Read> Lines<R> {
    pub fn new(reader: R) -> Self {
        Self {
            reader: BufReader::new(reader),
            number: 0,
            buffer: Vec::new(),
        }
    }

    pub fn next_line(&mut self) -> std::io::Result<Line> {
        self.number += 1;
        self.buffer.clear();
        let read = (&mut self.reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut self.buffer)?;
        if read == 0 {
            return Ok(Line::End);
        }
        if self.buffer.len() > MAX_LINE_BYTES && self.buffer.last() != Some(&b'\n') {
            self.buffer.clear();
            skip_line(&mut self.reader)?;
            return Ok(Line::TooLong);
        }
        Ok(Line::Read)
    }

    /// The number of the line last read, from 1.
    pub fn number(&self) -> u64 {
        self.number
    }

    pub fn text(&self) -> &[u8] {
        &self.buffer
    }

    /// What the reader holds at most, whatever the lines: for tests.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.buffer.capacity() + self.reader.capacity()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_last_line_of_exactly_the_limit_is_read() {
        let text = format!(
            "{}\n{}",
            "a".repeat(MAX_LINE_BYTES),
            "b".repeat(MAX_LINE_BYTES)
        );
        let mut lines = Lines::new(std::io::Cursor::new(text));
        assert!(matches!(lines.next_line().unwrap(), Line::Read));
        assert_eq!(lines.text().len(), MAX_LINE_BYTES + 1);
        assert!(matches!(lines.next_line().unwrap(), Line::Read));
        assert_eq!(lines.text().len(), MAX_LINE_BYTES);
        assert!(matches!(lines.next_line().unwrap(), Line::End));
    }

    #[test]
    fn a_longer_line_is_skipped_to_its_end() {
        let text = format!("{}\nnext\n", "a".repeat(3 * MAX_LINE_BYTES));
        let mut lines = Lines::new(std::io::Cursor::new(text));
        assert!(matches!(lines.next_line().unwrap(), Line::TooLong));
        assert!(matches!(lines.next_line().unwrap(), Line::Read));
        assert_eq!((lines.number(), lines.text()), (2, &b"next\n"[..]));
    }
}
