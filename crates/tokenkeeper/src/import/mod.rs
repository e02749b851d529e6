//! Bringing in tokens an application already holds: rows from a CSV or JSON Lines file (or
//! one from the API), validated one by one, completed by LinkedIn (introspection where an
//! expiry is unknown, userinfo where the member is), and written in batches, each account
//! only where it is new or newer.

mod csv_rows;
mod json_lines;
mod lines;
mod lookups;
mod plan;
mod read;
mod row;
mod run;
mod source;

pub use json_lines::row_of_json;
pub use lookups::{Holder, TokenLookups};
pub use read::{Rows, SourceError, SourceRow};
pub use row::{RawRow, RowProblems, ValidRow, COLUMNS, MAX_NAME_LEN, MAX_SCOPE_LEN, MAX_TOKEN_LEN};
pub use run::{ImportOptions, ImportReport, Importer, OneRowError, RowError, BATCH_ROWS};
pub use source::{rows, Format};
