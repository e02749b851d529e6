use super::{SweepOutcome, SweepReport};
use crate::domain::EnumText;

/// The summary `tokenkeeper sweep` prints.
pub fn render_report(report: &SweepReport) -> String {
    let mut out = String::new();
    if report.outcome == SweepOutcome::DryRun {
        out.push_str(&format!(
            "dry run as of {}: {} account(s) due, nothing changed\n",
            report
                .as_of
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            report.counts.due
        ));
        for a in &report.would_refresh {
            out.push_str(&format!(
                "  {:<20} due {}  {:<16} {}\n",
                a.user_id,
                a.expiration.format("%Y-%m-%d %H:%M"),
                a.status,
                if a.has_refresh_token {
                    "refresh"
                } else {
                    "no refresh token: reconnect email"
                }
            ));
        }
        return out;
    }
    let c = &report.counts;
    out.push_str(&format!(
        "sweep as of {}: {}\n  due {}  refreshed {}  failing {}  needs reconnect {}  skipped {}\n",
        report
            .as_of
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        report.outcome.as_str(),
        c.due,
        c.refreshed,
        c.failing,
        c.needs_reconnect,
        c.skipped
    ));
    if c.unreadable > 0 {
        out.push_str(&format!(
            "  unreadable {}: not refreshed, their stored rows do not read (the log names them; `tokenkeeper doctor` names those whose tokens do not open)\n",
            c.unreadable
        ));
    }
    if let Some(error) = &report.error {
        out.push_str(&format!("  {error}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refresh::DueAccount;
    use crate::store::SweepCounts;
    use chrono::{TimeZone, Utc};

    fn report(outcome: SweepOutcome) -> SweepReport {
        SweepReport {
            run_id: Some(7),
            as_of: Utc.with_ymd_and_hms(2026, 4, 21, 12, 0, 0).unwrap(),
            outcome,
            counts: SweepCounts {
                due: 5,
                refreshed: 2,
                failing: 1,
                needs_reconnect: 1,
                skipped: 1,
                unreadable: 0,
            },
            error: None,
            would_refresh: Vec::new(),
        }
    }

    #[test]
    fn a_run_is_summed_up_with_its_outcome_counts_and_error() {
        let mut failed = report(SweepOutcome::Failed);
        failed.error = Some("LinkedIn misconfiguration: invalid_client".into());
        assert_eq!(
            render_report(&failed),
            "sweep as of 2026-04-21T12:00:00Z: failed\n  due 5  refreshed 2  failing 1  needs reconnect 1  skipped 1\n  LinkedIn misconfiguration: invalid_client\n"
        );
    }

    #[test]
    fn accounts_whose_tokens_do_not_open_are_counted_apart() {
        let mut run = report(SweepOutcome::Completed);
        run.counts.due = 6;
        run.counts.unreadable = 1;
        let text = render_report(&run);
        assert!(
            text.contains("\n  unreadable 1: not refreshed, their stored rows do not read"),
            "{text}"
        );
        assert!(!render_report(&report(SweepOutcome::Completed)).contains("unreadable"));
    }

    #[test]
    fn a_dry_run_lists_what_it_would_do_and_says_it_changed_nothing() {
        let mut dry = report(SweepOutcome::DryRun);
        dry.counts = SweepCounts {
            due: 2,
            ..SweepCounts::default()
        };
        let due = Utc.with_ymd_and_hms(2026, 4, 20, 8, 30, 0).unwrap();
        dry.would_refresh = vec![
            DueAccount {
                account_id: 1,
                user_id: "ada".into(),
                expiration: due,
                status: "active",
                has_refresh_token: true,
            },
            DueAccount {
                account_id: 2,
                user_id: "linus".into(),
                expiration: due,
                status: "refresh_failing",
                has_refresh_token: false,
            },
        ];
        let text = render_report(&dry);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "dry run as of 2026-04-21T12:00:00Z: 2 account(s) due, nothing changed"
        );
        assert!(lines[1].contains("ada") && lines[1].ends_with("refresh"));
        assert!(lines[2].contains("linus") && lines[2].contains("refresh_failing"));
        assert!(lines[2].ends_with("no refresh token: reconnect email"));
        assert_eq!(lines.len(), 3);
    }
}
