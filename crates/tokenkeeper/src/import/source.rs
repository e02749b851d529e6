//! Reading an import file row by row, in CSV (with a header) or JSON Lines, a line at a time,
//! without holding more than one line (of at most 64 KiB).

use super::csv_rows::csv_rows;
use super::json_lines::json_lines;
use super::read::{Rows, SourceError};
use std::io::Read;

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

pub fn rows(reader: impl Read + Send + 'static, format: Format) -> Result<Rows, SourceError> {
    match format {
        Format::Csv => csv_rows(reader),
        Format::Jsonl => Ok(json_lines(reader)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_guessed_from_the_name() {
        assert_eq!(Format::of_path("tokens.JSONL"), Format::Jsonl);
        assert_eq!(Format::of_path("tokens.ndjson"), Format::Jsonl);
        assert_eq!(Format::of_path("tokens.csv"), Format::Csv);
        assert_eq!(Format::of_path("-"), Format::Csv);
    }
}
