//! Bringing in tokens an application already holds: rows from a CSV or JSON Lines file (or
//! one from the API), validated one by one, completed by LinkedIn's introspection where an
//! expiry is unknown, and written in batches, each account only where it is new or newer.

pub mod command;
mod csv_rows;
mod introspect;
mod lines;
mod plan;
mod row;
mod run;
mod source;

pub use introspect::Introspector;
pub use row::{RawRow, RowProblems, ValidRow, COLUMNS};
pub use run::{ImportOptions, ImportReport, Importer, OneRowError, RowError, BATCH_ROWS};
pub use source::{row_of_json, rows, Format, Rows, SourceError, SourceRow};
