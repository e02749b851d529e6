//! The whole rotation: batch after batch to the end of the table, with a progress bar on a
//! terminal and a summary at the end.

use super::batch::{rotate_batch, RotationError, RotationSummary};
use crate::crypto::{Plaintext, ALLOW_PLAINTEXT_SETTING};
use crate::store::KeyRotationStore;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fmt::Write as _;
use std::io::IsTerminal;

/// Runs the rotation to the end of the table. `total` sizes the progress bar (rows may come
/// and go meanwhile: it is an estimate). A key missing from the keyring stops it, after the
/// batches before it were written.
pub async fn rotate_all(
    store: &dyn KeyRotationStore,
    batch: i64,
    total: u64,
) -> Result<RotationSummary, RotationError> {
    let progress = progress_bar(total);
    let mut summary = RotationSummary::default();
    let mut after_id = 0;
    let outcome = loop {
        let before = seen(&summary);
        match rotate_batch(store, after_id, batch, &mut summary).await {
            Ok(Some(last)) => {
                after_id = last;
                progress.inc(seen(&summary) - before);
            }
            Ok(None) => break Ok(summary),
            Err(e) => break Err(e),
        }
    };
    progress.finish_and_clear();
    outcome
}

fn seen(summary: &RotationSummary) -> u64 {
    summary.rotated + summary.already_current + summary.changed_concurrently + summary.failed
}

/// Drawn on stderr, and only on a terminal: piped output and logs get the summary alone.
fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows {per_sec} eta {eta}")
            .expect("the template is valid"),
    );
    bar
}

/// The summary as printed, one count a line, then the rows that failed, then what is left in
/// plaintext and what the operator can do about it.
pub fn render_summary(summary: &RotationSummary, active_kid: &str, plaintext: Plaintext) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "rotated to key {active_kid}: {}", summary.rotated);
    let _ = writeln!(text, "already current: {}", summary.already_current);
    let _ = writeln!(
        text,
        "skipped, changed concurrently: {}{}",
        summary.changed_concurrently,
        if summary.changed_concurrently > 0 {
            " (run again to take them)"
        } else {
            ""
        }
    );
    let _ = writeln!(text, "failed: {}", summary.failed);
    for (id, reason) in &summary.failures {
        let _ = writeln!(text, "  account {id}: {reason}");
    }
    if summary.failed > summary.failures.len() as u64 {
        let _ = writeln!(
            text,
            "  and {} more",
            summary.failed - summary.failures.len() as u64
        );
    }
    let _ = writeln!(
        text,
        "plaintext: {} sealed, {} left",
        summary.plaintext_sealed, summary.plaintext_left
    );
    let _ = writeln!(text, "{}", plaintext_advice(summary, plaintext));
    text
}

/// What the plaintext count means for `encryption.allow_plaintext`. The rows rewritten meanwhile
/// hold what their writers sealed, so once no plaintext is left the rule can close.
fn plaintext_advice(summary: &RotationSummary, plaintext: Plaintext) -> String {
    let left = summary.plaintext_left;
    match plaintext {
        Plaintext::Accepted if left == 0 => format!(
            "no plaintext is left: set {ALLOW_PLAINTEXT_SETTING} = false \
             (TOKENKEEPER_ENCRYPTION__ALLOW_PLAINTEXT=false), so that a value written into the \
             database without the key is never read as a token"
        ),
        Plaintext::Accepted => format!(
            "{left} row(s) still hold plaintext (named above): keep {ALLOW_PLAINTEXT_SETTING} \
             true until they are sealed or their members reconnect"
        ),
        Plaintext::Refused if left == 0 => {
            format!("plaintext is refused ({ALLOW_PLAINTEXT_SETTING} is false)")
        }
        Plaintext::Refused => format!(
            "{left} row(s) hold plaintext, which {ALLOW_PLAINTEXT_SETTING} = false refuses, so \
             they are neither served nor refreshed nor sealed: written without the key, by a \
             version before encryption or by someone with access to the database. If you know \
             them to be from an earlier version, run this once with {ALLOW_PLAINTEXT_SETTING} = \
             true to seal them; otherwise their members must reconnect"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(plaintext_sealed: u64, plaintext_left: u64) -> RotationSummary {
        RotationSummary {
            rotated: plaintext_sealed,
            failed: plaintext_left,
            plaintext_sealed,
            plaintext_left,
            ..RotationSummary::default()
        }
    }

    #[test]
    fn once_no_plaintext_is_left_the_operator_is_told_to_refuse_it() {
        let text = render_summary(&summary(3, 0), "k2", Plaintext::Accepted);
        assert!(text.contains("plaintext: 3 sealed, 0 left\n"), "{text}");
        assert!(
            text.contains("no plaintext is left: set encryption.allow_plaintext = false"),
            "{text}"
        );
    }

    #[test]
    fn plaintext_left_is_counted_and_the_rule_kept_open_or_explained() {
        let text = render_summary(&summary(1, 2), "k2", Plaintext::Accepted);
        assert!(text.contains("plaintext: 1 sealed, 2 left\n"), "{text}");
        assert!(text.contains("2 row(s) still hold plaintext"), "{text}");
        assert!(!text.contains("no plaintext is left"), "{text}");

        let text = render_summary(&summary(0, 2), "k2", Plaintext::Refused);
        assert!(
            text.contains(
                "2 row(s) hold plaintext, which encryption.allow_plaintext = false refuses"
            ),
            "{text}"
        );
        let text = render_summary(&summary(0, 0), "k2", Plaintext::Refused);
        assert!(
            text.contains("plaintext is refused (encryption.allow_plaintext is false)"),
            "{text}"
        );
    }
}
