//! The peak memory of this process, and how the allocator hands memory back.

/// Asks the C allocator to keep the memory a program frees for its next allocation,
/// instead of giving big blocks back to the system at once.
///
/// By default glibc maps every block over 128 KiB on its own and unmaps it when it is
/// freed, and returns the free top of its heap as soon as it passes 128 KiB. A thumbnail
/// program frees and allocates the same few sizes once per image (a file's bytes, a
/// decoded PNG, a resize buffer), so every image would ask the system for fresh pages
/// again, and each page costs a fault (several microseconds in a virtual machine) and,
/// when two threads share the memory, an interruption of the other core when it is given
/// back. With the thresholds raised, the second image reuses the first one's pages.
///
/// The peak memory does not grow: what is kept is what was in use a moment before. A
/// no-op where the allocator is not glibc.
#[allow(unsafe_code)] // a call into the C library, and nothing else
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // 32 MiB is the largest block glibc allows to live in its heaps (their size is
        // twice that); bigger ones are still mapped on their own.
        const KEEP_BELOW: libc::c_int = 32 << 20;
        // SAFETY: `mallopt` only changes two allocator settings; it is safe to call at
        // any time, and a refused value leaves the default in place.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, KEEP_BELOW);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 2 * KEEP_BELOW);
        }
    }
}

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

    /// Page faults of the calling thread so far.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn faults_of_this_thread() -> i64 {
        use nix::sys::resource::{UsageWho, getrusage};
        getrusage(UsageWho::RUSAGE_THREAD).map_or(0, |usage| usage.minor_page_faults())
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn a_block_freed_then_asked_for_again_comes_back_without_faults() {
        keep_freed_memory();
        // An image's worth of pixels, written so that its pages are really there.
        let image = || std::hint::black_box(vec![7u8; 8 << 20]);
        drop(image());
        let before = faults_of_this_thread();
        drop(image());
        let faults = faults_of_this_thread() - before;
        // 8 MiB is 2,048 pages; given back and taken again, each would fault.
        assert!(
            faults < 256,
            "{faults} page faults for memory freed a moment before"
        );
    }

    #[test]
    fn the_peak_counts_memory_in_use() {
        let touched = vec![1u8; 64 << 20]; // written, so resident
        std::hint::black_box(&touched);
        let peak = peak_rss_mb();
        assert!(peak >= 64.0, "64 MiB in use, yet a peak of {peak:.1} MiB");
    }
}
