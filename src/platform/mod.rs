//! What depends on the operating system, in one place, so that the rest of the house
//! does not: writing a file atomically, reading memory figures and the processor's name,
//! tying a worker process's life to its parent's, and counting a process's threads.
//!
//! The workbench runs on Linux (and WSL2). The calls here are POSIX where a POSIX call
//! exists (`getrusage`, `rename`, a pipe's end-of-file); what only Linux offers (the
//! parent-death signal, `/proc`) is behind `cfg(target_os = "linux")`, and elsewhere
//! either has a portable fallback or says plainly that it is not available. Like
//! `chapters` and `contract`, this folder imports nothing of the project.

mod atomic_file;
mod cpu_time;
mod load;
mod machine;
mod memory;
mod parent;
mod threads;

pub use atomic_file::{check_writable, write_atomically};
pub use cpu_time::{CpuTime, children_cpu_time};
pub use load::{kernel_release, load_average};
pub use machine::{machine_memory_gib, processor_model};
pub use memory::{keep_freed_memory, peak_rss_mb};
pub use parent::{die_with_parent, leave_stop_signals_to_parent};
pub use threads::{SchedulerTimes, thread_count};

/// The text after `key` on the first line of the `/proc` file `file` that starts with
/// it, trimmed (`MemTotal:` in `/proc/meminfo` gives `24576000 kB`). `/proc` is Linux's:
/// everywhere else this is `None`, and the figures read through it are unknown.
#[cfg(target_os = "linux")]
fn proc_field(file: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let value = text.lines().find_map(|line| line.strip_prefix(key))?;
    Some(value.trim().to_string())
}

/// See the Linux version: elsewhere there is no `/proc`.
#[cfg(not(target_os = "linux"))]
fn proc_field(_file: &str, _key: &str) -> Option<String> {
    None
}
