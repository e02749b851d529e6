//! What a reader of an import file yields: rows with the line each starts on, so problems
//! can be reported as `line N: ...`, or a problem with the whole file.

use super::row::{RawRow, COLUMNS};

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
