//! The store's cost, said beside the chapter's.
//!
//! On `io` and `mixed` the bench serves the images from `workbench serve`, a process of
//! its own, as a real object store would be: then the store's work (accepting, waiting
//! out its latency, sending, writing the PUTs) does not run inside the chapter's
//! process, so a pattern is not charged for it; and it is measured, so a pattern cannot
//! hide it either. The bench reads both processor times around every run and writes
//! their means per run into a [`COST_FILE`] beside criterion's result, which
//! [`Bench::read`](super::Bench::read) collects.
//!
//! The chapter's time comes from `getrusage(RUSAGE_CHILDREN)` (its whole process tree,
//! waited for); the store's from `/proc/PID/stat` (the store is still running, so it has
//! not been waited for yet).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::platform::{CpuTime, write_atomically};

/// The file the bench writes beside a benchmark's criterion folder.
pub const COST_FILE: &str = "cost.json";

/// Processor seconds per run of a benchmark: the chapter's, and the store's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// The chapter's process tree: seconds per run in its own code.
    pub user_s: f64,
    /// The chapter's process tree: seconds per run in the kernel on its behalf.
    pub system_s: f64,
    /// The store process's user and system seconds per run; `None` without a store.
    pub store_cpu_s: Option<f64>,
    /// The runs the means are taken over.
    pub runs: usize,
}

/// A [`Cost`] and the benchmark it belongs to, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    /// The benchmark's full name (`mixed/ch09-pipeline`).
    name: String,
    #[serde(flatten)]
    cost: Cost,
}

/// Sums processor time over runs, for [`Cost`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    chapter: CpuTime,
    store_s: Option<f64>,
    runs: usize,
}

impl Tally {
    /// Adds one run: the chapter's time, and the store's if there is a store.
    pub fn add(&mut self, chapter: CpuTime, store: Option<CpuTime>) {
        self.chapter.user_s += chapter.user_s;
        self.chapter.system_s += chapter.system_s;
        if let Some(store) = store {
            *self.store_s.get_or_insert(0.0) += store.user_s + store.system_s;
        }
        self.runs += 1;
    }

    /// The means per run, or `None` before the first run.
    pub fn cost(&self) -> Option<Cost> {
        let runs = self.runs as f64;
        (self.runs > 0).then(|| Cost {
            user_s: self.chapter.user_s / runs,
            system_s: self.chapter.system_s / runs,
            store_cpu_s: self.store_s.map(|s| s / runs),
            runs: self.runs,
        })
    }
}

/// Writes the cost of benchmark `name` into `folder` (the benchmark's criterion folder).
pub fn write(folder: &Path, name: &str, cost: Cost) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)?;
    let record = Record {
        name: name.to_string(),
        cost,
    };
    let json = serde_json::to_string_pretty(&record).map_err(std::io::Error::other)?;
    write_atomically(&folder.join(COST_FILE), json.as_bytes())
}

/// Reads a [`COST_FILE`]: the benchmark's name and its cost, or `None` if unreadable.
pub fn read(file: &Path) -> Option<(String, Cost)> {
    let record: Record = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    Some((record.name, record.cost))
}

/// The processor time process `pid` has used so far, from `/proc/PID/stat` (Linux), or
/// `None` where that cannot be read.
pub fn process_cpu_time(pid: u32) -> Option<CpuTime> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat, USER_HZ)
}

/// The unit of `/proc`'s times: Linux reports them in ticks of `USER_HZ`, which it
/// keeps at 100 per second on every architecture it exports to user space, whatever
/// the kernel's own tick rate.
const USER_HZ: f64 = 100.0;

/// `utime` and `stime` (fields 14 and 15) of a `/proc/PID/stat` line, in seconds. The
/// process's name (field 2) is in brackets and may hold spaces, so fields are counted
/// from its closing bracket.
fn parse_stat(stat: &str, ticks_per_second: f64) -> Option<CpuTime> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name come field 3 (state) onwards: utime is field 14, index 11 here.
    let ticks = |index: usize| -> Option<f64> { fields.get(index)?.parse::<f64>().ok() };
    Some(CpuTime {
        user_s: ticks(11)? / ticks_per_second,
        system_s: ticks(12)? / ticks_per_second,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utime_and_stime_are_read_past_a_name_with_spaces() {
        let stat = "4242 (work bench) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 75 0 0 20 0 9";
        let cpu = parse_stat(stat, 100.0).unwrap();
        assert_eq!((cpu.user_s, cpu.system_s), (2.5, 0.75));
        assert_eq!(parse_stat("4242 (cut", 100.0), None);
    }

    #[test]
    fn this_process_has_used_some_processor_time() {
        let mut spin = 0u64;
        for i in 0..5_000_000u64 {
            spin = spin.wrapping_add(i * i);
        }
        assert!(spin > 0);
        let cpu = process_cpu_time(std::process::id()).unwrap();
        assert!(cpu.user_s + cpu.system_s > 0.0, "{cpu:?}");
        assert_eq!(process_cpu_time(u32::MAX), None);
    }

    #[test]
    fn a_tally_gives_means_per_run_and_a_cost_file_reads_back() {
        let mut tally = Tally::default();
        assert_eq!(tally.cost(), None);
        let cpu = |s: f64| CpuTime {
            user_s: s,
            system_s: s / 2.0,
        };
        tally.add(cpu(1.0), Some(cpu(0.2)));
        tally.add(cpu(3.0), Some(cpu(0.4)));
        let cost = tally.cost().unwrap();
        assert_eq!(cost.runs, 2);
        assert!((cost.user_s - 2.0).abs() < 1e-9 && (cost.system_s - 1.0).abs() < 1e-9);
        assert!((cost.store_cpu_s.unwrap() - 0.45).abs() < 1e-9);

        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "mixed/ch00-sequential", cost).unwrap();
        let (name, read_back) = read(&dir.path().join(COST_FILE)).unwrap();
        assert_eq!(name, "mixed/ch00-sequential");
        assert_eq!(read_back, cost);
        let mut no_store = Tally::default();
        no_store.add(cpu(1.0), None);
        assert_eq!(no_store.cost().unwrap().store_cpu_s, None);
    }
}
