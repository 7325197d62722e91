//! How many threads this process has.

/// The number of threads of this process, where the system tells it (Linux: `Threads:`
/// in `/proc/self/status`); `None` elsewhere. `fork` needs it: only a single-threaded
/// process can be copied safely.
pub fn thread_count() -> Option<usize> {
    super::proc_field("/proc/self/status", "Threads:")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn a_second_thread_is_counted() {
        let (stop, wait) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || wait.recv());
        let count = thread_count();
        drop(stop);
        let _ = thread.join();
        assert!(count.is_some_and(|n| n >= 2), "counted {count:?} threads");
    }
}
