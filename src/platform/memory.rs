//! The peak memory of this process.

/// The peak resident memory of this program so far, in MiB; 0 where it cannot be read.
///
/// On Linux it is `VmHWM` in `/proc/self/status`: the high-water mark of this program's
/// own memory. Elsewhere it is `getrusage` (POSIX), which on Linux would not do: there
/// `ru_maxrss` keeps the peak of the process *before* it started this program, so a
/// chapter started by `cargo run` would report cargo's memory as its own.
pub fn peak_rss_mb() -> f64 {
    if let Some(kib) = super::proc_field("/proc/self/status", "VmHWM:")
        .and_then(|value| value.trim_end_matches("kB").trim().parse::<f64>().ok())
    {
        return kib / 1024.0;
    }
    match nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF) {
        // The BSDs count `ru_maxrss` in KiB; macOS counts it in bytes.
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
