//! Peak resident memory of this process, from Linux's accounting.

/// Resets the peak ("VmHWM") so the next reading covers only what follows.
pub fn reset_peak() {
    // Writing 5 to clear_refs resets the peak RSS (Linux 4.0+); elsewhere, a no-op.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
