//! How busy the whole machine was over an interval, from /proc/stat: shows whether a run was
//! bound by the machine's cores (every process counted, the database and the fake included).

#[derive(Clone, Copy)]
pub struct CpuSample {
    busy: u64,
    total: u64,
}

pub fn sample() -> Option<CpuSample> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().sum();
    // idle and iowait are the 4th and 5th fields.
    let idle = fields.get(3).copied()? + fields.get(4).copied().unwrap_or(0);
    Some(CpuSample {
        busy: total - idle,
        total,
    })
}

/// Share of all cores busy between two samples, in percent.
pub fn busy_percent(before: Option<CpuSample>, after: Option<CpuSample>) -> f64 {
    match (before, after) {
        (Some(b), Some(a)) if a.total > b.total => {
            100.0 * (a.busy - b.busy) as f64 / (a.total - b.total) as f64
        }
        _ => f64::NAN,
    }
}

/// CPU time (user + system, every thread) a process has used so far, from `/proc/PID/stat`;
/// `None` reads this process. Linux reports it in clock ticks of 1/100 s on every platform it
/// runs on (USER_HZ is part of its user-space ABI).
pub fn process_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".into(),
    };
    stat_seconds(&std::fs::read_to_string(path).ok()?)
}

/// utime + stime (fields 14 and 15) of a `/proc/PID/stat` line, in seconds.
fn stat_seconds(stat: &str) -> Option<f64> {
    // The command name may hold spaces and parentheses; the fields counted from 3 start after
    // its last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some((ticks(14)? + ticks(15)?) as f64 / 100.0)
}

/// CPU time the calling thread has used so far, in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`):
/// unlike the wall clock, it does not grow while other processes hold the cores.
pub fn thread_nanos() -> Option<u64> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the duration of the call.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    (status == 0).then(|| now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_time_is_user_plus_system_whatever_the_command_name() {
        let stat = "4242 (bench (x) y) S 1 2 3 4 5 6 7 8 9 10 250 130 11 12 20 0 9 0 77";
        assert_eq!(stat_seconds(stat), Some(3.8));
        assert_eq!(stat_seconds("garbage"), None);
    }

    #[test]
    fn this_process_and_thread_have_used_some_cpu() {
        let spin: u64 = (0..2_000_000u64).fold(0, |a, b| a.wrapping_add(b * b));
        assert!(spin > 0);
        assert!(process_seconds(None).is_some());
        assert!(thread_nanos().is_some_and(|ns| ns > 0));
    }
}
