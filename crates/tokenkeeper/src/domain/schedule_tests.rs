use super::*;
use chrono::TimeZone;

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn noon_and_midnight(tz: Tz) -> Schedule {
    Schedule::parse("0 0,12 * * *", tz).unwrap()
}

/// Every slot in [from, to).
fn slots(schedule: &Schedule, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let mut cursor = from - Duration::seconds(1);
    while let Some(slot) = schedule.next_after(cursor) {
        if slot >= to {
            break;
        }
        out.push(slot);
        cursor = slot;
    }
    out
}

#[test]
fn noon_and_midnight_in_utc() {
    let s = noon_and_midnight(Tz::UTC);
    assert_eq!(
        s.next_after(utc(2026, 5, 1, 9, 0)),
        Some(utc(2026, 5, 1, 12, 0))
    );
    assert_eq!(
        s.next_after(utc(2026, 5, 1, 12, 0)),
        Some(utc(2026, 5, 2, 0, 0))
    );
    assert_eq!(
        s.latest_at_or_before(utc(2026, 5, 1, 11, 59)),
        Some(utc(2026, 5, 1, 0, 0))
    );
    assert_eq!(
        s.latest_at_or_before(utc(2026, 5, 1, 12, 0)),
        Some(utc(2026, 5, 1, 12, 0))
    );
}

#[test]
fn local_noon_in_other_time_zones() {
    let paris = noon_and_midnight(chrono_tz::Europe::Paris);
    // Summer time in Paris is UTC+2.
    assert_eq!(
        paris.next_after(utc(2026, 7, 1, 0, 0)),
        Some(utc(2026, 7, 1, 10, 0))
    );
    let tokyo = noon_and_midnight(chrono_tz::Asia::Tokyo);
    assert_eq!(
        tokyo.next_after(utc(2026, 7, 1, 0, 0)),
        Some(utc(2026, 7, 1, 3, 0))
    );
    let new_york = noon_and_midnight(chrono_tz::America::New_York);
    assert_eq!(
        new_york.next_after(utc(2026, 1, 10, 12, 0)),
        Some(utc(2026, 1, 10, 17, 0))
    );
}

#[test]
fn daylight_saving_days_keep_exactly_two_slots() {
    for (tz, day_start, day_end) in [
        // Europe springs forward on 29 March 2026 and falls back on 25 October 2026.
        (
            chrono_tz::Europe::Paris,
            utc(2026, 3, 28, 23, 0),
            utc(2026, 3, 29, 22, 0),
        ),
        (
            chrono_tz::Europe::Paris,
            utc(2026, 10, 24, 22, 0),
            utc(2026, 10, 25, 23, 0),
        ),
        // The US: 8 March and 1 November 2026.
        (
            chrono_tz::America::New_York,
            utc(2026, 3, 8, 5, 0),
            utc(2026, 3, 9, 4, 0),
        ),
        (
            chrono_tz::America::New_York,
            utc(2026, 11, 1, 4, 0),
            utc(2026, 11, 2, 5, 0),
        ),
    ] {
        let s = noon_and_midnight(tz);
        let found = slots(&s, day_start, day_end);
        assert_eq!(found.len(), 2, "{tz} {day_start}: {found:?}");
    }
}

#[test]
fn a_midnight_that_does_not_exist_still_gets_its_slot() {
    // Santiago springs forward at midnight (6 September 2026): 00:00 does not exist that day.
    let s = noon_and_midnight(chrono_tz::America::Santiago);
    let found = slots(&s, utc(2026, 9, 5, 12, 0), utc(2026, 9, 7, 12, 0));
    // Two days of slots, none skipped and none doubled.
    assert_eq!(found.len(), 4, "{found:?}");
    for pair in found.windows(2) {
        assert!(pair[1] - pair[0] >= Duration::hours(11), "{found:?}");
    }
}

#[test]
fn a_week_of_slots_has_fourteen() {
    let s = noon_and_midnight(chrono_tz::Europe::Berlin);
    let found = slots(&s, utc(2026, 3, 25, 0, 0), utc(2026, 4, 1, 0, 0));
    assert_eq!(found.len(), 14);
}

#[test]
fn rejects_a_bad_expression() {
    assert!(Schedule::parse("every noon", Tz::UTC).is_err());
}

#[test]
fn a_slot_whose_local_time_does_not_exist_runs_at_the_first_valid_time_after_it() {
    let half_past_two = |tz| Schedule::parse("30 2 * * *", tz).unwrap();
    // Berlin jumps from 02:00 CET to 03:00 CEST on 29 March 2026: 02:30 never happens, so the
    // slot runs at 03:00 CEST (01:00 UTC), not at 02:30 of the evening before or a day late.
    let berlin = half_past_two(chrono_tz::Europe::Berlin);
    assert_eq!(
        berlin.next_after(utc(2026, 3, 28, 12, 0)),
        Some(utc(2026, 3, 29, 1, 0))
    );
    assert_eq!(
        berlin.next_after(utc(2026, 3, 29, 1, 0)),
        Some(utc(2026, 3, 30, 0, 30))
    );
    assert_eq!(
        berlin.latest_at_or_before(utc(2026, 3, 29, 6, 0)),
        Some(utc(2026, 3, 29, 1, 0))
    );
    // Santiago jumps from 00:00 -04 to 01:00 -03 on 6 September 2026: its midnight slot runs
    // at 01:00 -03 (04:00 UTC), not at 23:00 -04 the evening before (03:00 UTC).
    let santiago = noon_and_midnight(chrono_tz::America::Santiago);
    assert_eq!(
        slots(&santiago, utc(2026, 9, 5, 12, 0), utc(2026, 9, 7, 12, 0)),
        [
            utc(2026, 9, 5, 16, 0),
            utc(2026, 9, 6, 4, 0),
            utc(2026, 9, 6, 15, 0),
            utc(2026, 9, 7, 3, 0)
        ]
    );
    assert_eq!(
        santiago.latest_at_or_before(utc(2026, 9, 6, 3, 59)),
        Some(utc(2026, 9, 5, 16, 0))
    );
    // New York jumps from 02:00 EST to 03:00 EDT on 8 March 2026: 03:00 EDT is 07:00 UTC.
    let new_york = half_past_two(chrono_tz::America::New_York);
    assert_eq!(
        new_york.next_after(utc(2026, 3, 7, 12, 0)),
        Some(utc(2026, 3, 8, 7, 0))
    );
    assert_eq!(
        new_york.latest_at_or_before(utc(2026, 3, 8, 12, 0)),
        Some(utc(2026, 3, 8, 7, 0))
    );
}

#[test]
fn a_slot_whose_local_time_happens_twice_runs_once_at_the_first() {
    // Berlin falls back from 03:00 CEST to 02:00 CET on 25 October 2026: 02:30 happens twice.
    let s = Schedule::parse("30 2 * * *", chrono_tz::Europe::Berlin).unwrap();
    let found = slots(&s, utc(2026, 10, 24, 12, 0), utc(2026, 10, 26, 12, 0));
    assert_eq!(
        found,
        [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],
        "{found:?}"
    );
}
