use super::EnumText;
use serde::Serialize;
use strum::{Display, IntoStaticStr, VariantArray};

/// How a sweep ended, as its report says and, for a run that was recorded, as `sweep_runs`
/// holds it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, IntoStaticStr, VariantArray, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SweepOutcome {
    /// Recorded at the start of a run and kept until it finishes: a run still at it, or whose
    /// process died. Never the outcome of a report.
    Running,
    Completed,
    /// LinkedIn kept failing; the sweep stopped early and left the rest for the next slot.
    Degraded,
    /// The run itself could not work (database, misconfiguration, a bug that panicked).
    Failed,
    /// The process was shutting down: in-flight work was abandoned and its claims released.
    Interrupted,
    /// Another instance already runs this slot. Not recorded: the slot's row is the other's.
    SlotTaken,
    /// Not recorded: a dry run changes nothing.
    DryRun,
}

impl EnumText for SweepOutcome {
    const WHAT: &'static str = "sweep outcome";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_named_as_sweep_runs_and_reports_hold_them() {
        for &outcome in SweepOutcome::ALL {
            assert_eq!(SweepOutcome::parse(outcome.as_str()), Ok(outcome));
            assert_eq!(outcome.to_string(), outcome.as_str());
            // The JSON report and the stored row name an outcome alike.
            assert_eq!(
                serde_json::to_value(outcome).unwrap(),
                serde_json::Value::from(outcome.as_str())
            );
        }
        assert_eq!(SweepOutcome::Running.as_str(), "running");
        assert!(SweepOutcome::parse("done").is_err());
    }
}
