//! The processor time a child process used, counted by the kernel.

use nix::sys::resource::{UsageWho, getrusage};

/// User and system processor seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTime {
    /// Seconds running the program's own code.
    pub user_s: f64,
    /// Seconds in the kernel on its behalf (system calls: reading sockets, writing files,
    /// starting threads and processes).
    pub system_s: f64,
}

impl CpuTime {
    /// What was used between `earlier` and `self`.
    pub fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user_s: (self.user_s - earlier.user_s).max(0.0),
            system_s: (self.system_s - earlier.system_s).max(0.0),
        }
    }
}

/// The processor time of every child this process has started and waited for, and of
/// their own children that *they* waited for (POSIX `getrusage(RUSAGE_CHILDREN)`).
///
/// Read it before and after running a child: the difference is that child's whole
/// process tree, threads and worker processes included. A chapter waits for its worker
/// processes, so their time is in it.
pub fn children_cpu_time() -> CpuTime {
    match getrusage(UsageWho::RUSAGE_CHILDREN) {
        Ok(usage) => {
            let seconds = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
            CpuTime {
                user_s: seconds(usage.user_time()),
                system_s: seconds(usage.system_time()),
            }
        }
        Err(_) => CpuTime::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_child_adds_to_the_children_time() {
        let before = children_cpu_time();
        // A shell that spins for a while, then exits; `status` waits for it.
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"])
            .status()
            .unwrap();
        assert!(status.success());
        let used = children_cpu_time().since(before);
        assert!(used.user_s + used.system_s > 0.0, "{used:?}");
    }
}
