//! How many threads this process has, and how the scheduler treated one of them.

use std::time::Duration;

/// What the scheduler did with the calling thread so far: how long it ran on a core, and
/// how long it was ready to run but waited for a free one (Linux:
/// `/proc/thread-self/schedstat`); `None` elsewhere.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchedulerTimes {
    /// Time on a core: the thread was *running*.
    pub on_cpu: Duration,
    /// Time in the run queue: the thread was *runnable*, waiting for a core.
    pub runnable: Duration,
}

impl SchedulerTimes {
    /// The calling thread's times, from its birth until now.
    pub fn of_this_thread() -> Option<SchedulerTimes> {
        let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        let mut nanos = text.split_whitespace().map(|n| n.parse::<u64>().ok());
        Some(SchedulerTimes {
            on_cpu: Duration::from_nanos(nanos.next()??),
            runnable: Duration::from_nanos(nanos.next()??),
        })
    }

    /// The times between an earlier reading and this one.
    pub fn since(self, earlier: SchedulerTimes) -> SchedulerTimes {
        SchedulerTimes {
            on_cpu: self.on_cpu.saturating_sub(earlier.on_cpu),
            runnable: self.runnable.saturating_sub(earlier.runnable),
        }
    }
}

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
    fn a_busy_thread_is_seen_on_a_core() {
        let before = SchedulerTimes::of_this_thread().expect("schedstat on Linux");
        let mut x: u64 = 1;
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let spent = SchedulerTimes::of_this_thread().unwrap().since(before);
        // 30 ms of wall time are spent either on a core or waiting for one.
        let seen = spent.on_cpu + spent.runnable;
        assert!(seen >= Duration::from_millis(25), "only {seen:?} seen");
    }

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
