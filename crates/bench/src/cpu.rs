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
