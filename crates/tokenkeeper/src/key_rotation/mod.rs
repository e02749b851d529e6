//! Key rotation, `tokenkeeper keys rotate`: every stored token moved onto the active key,
//! batch by batch (`batch.rs`), to the end of the table with a progress bar and a summary
//! (`run.rs`). The store offers the rows (`store::KeyRotationStore`); the cipher opens and
//! seals them.

mod batch;
mod run;
#[cfg(test)]
mod tests;

pub use batch::{rotate_batch, RotationError, RotationSummary};
pub use run::{render_summary, rotate_all};
