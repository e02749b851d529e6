//! Bringing in tokens an application already holds: rows from a CSV or JSON Lines file (or
//! one from the API), each naming its provider (LinkedIn when it names none), validated one by
//! one, completed by that provider (introspection where an expiry is unknown and it can
//! introspect, userinfo where the member is unknown or it cannot), and written in batches,
//! each account (a user at a provider) only where it is new or newer.

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
pub use run::{ImportOptions, ImportReport, Importer, Lookup, OneRowError, RowError, BATCH_ROWS};
pub use source::{rows, Format};
