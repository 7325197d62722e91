//! The peak memory of this process.

/// The peak resident memory of this process so far, in MiB, from `getrusage` (POSIX).
/// 0 where the call fails.
pub fn peak_rss_mb() -> f64 {
    match nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF) {
        // Linux (and the BSDs) count `ru_maxrss` in KiB; macOS counts it in bytes.
        Ok(usage) if cfg!(target_os = "macos") => usage.max_rss() as f64 / (1024.0 * 1024.0),
        Ok(usage) => usage.max_rss() as f64 / 1024.0,
        Err(_) => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_counts_memory_in_use() {
        let touched = vec![1u8; 64 << 20]; // written, so resident
        std::hint::black_box(&touched);
        let peak = peak_rss_mb();
        assert!(peak >= 64.0, "64 MiB in use, yet a peak of {peak:.1} MiB");
    }
}
