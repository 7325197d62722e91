//! Criterion's results, as the report reads them. The bench (`benches/chapters.rs`) and
//! the report agree on the benchmarks' names through [`bench_id`], [`sweep_id`] and
//! [`GIL_GROUP`]; criterion writes each result to
//! `<target>/criterion/<name>/new/estimates.json`, which [`Bench::read`] collects.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::harness::workload::Workload;

/// The chapter whose `--gil` switch the report compares against the same chapter
/// without it, when that chapter exists.
pub const GIL_CHAPTER: &str = "ch06-shared-state";
/// The criterion group of that comparison; its benchmarks are `threads` and `gil`.
pub const GIL_GROUP: &str = "gil";
/// The workload of the worker sweeps.
pub const SWEEP_WORKLOAD: Workload = Workload::Mixed;
/// Images per run in the worker sweeps (fewer than the workloads' 48, so that a sweep
/// with one worker stays short).
pub const SWEEP_IMAGES: usize = 16;

/// The name of the benchmark of `chapter` on `workload`: criterion group `workload`,
/// function `chapter`.
pub fn bench_id(workload: Workload, chapter: &str) -> String {
    format!("{}/{chapter}", workload.name())
}

/// The name of the benchmark of `chapter` with `workers` workers in the sweep.
pub fn sweep_id(chapter: &str, workers: usize) -> String {
    format!("sweep/{chapter}/{workers}")
}

/// One benchmark's result: criterion's median and its 95% confidence interval, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The median time of one run.
    pub median_s: f64,
    /// The interval's lower end.
    pub low_s: f64,
    /// The interval's upper end.
    pub high_s: f64,
}

/// Every criterion result found, by benchmark name (`cpu/ch00-sequential`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bench {
    /// The folder read.
    pub folder: PathBuf,
    /// Whether the folder exists at all.
    pub found: bool,
    /// The results, by name.
    pub results: BTreeMap<String, Estimate>,
}

impl Bench {
    /// Reads every `new/estimates.json` under `folder` (criterion's output). A missing
    /// folder or an unreadable result is not an error: the report says what it lacks.
    pub fn read(folder: &Path) -> Bench {
        let mut bench = Bench {
            folder: folder.to_path_buf(),
            found: folder.is_dir(),
            results: BTreeMap::new(),
        };
        let mut pending = vec![folder.to_path_buf()];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if !path.is_dir() {
                    continue;
                }
                if entry.file_name() == "new" {
                    if let Some((name, estimate)) = read_result(&path) {
                        bench.results.insert(name, estimate);
                    }
                } else {
                    pending.push(path);
                }
            }
        }
        bench
    }

    /// The result called `name`, if measured.
    pub fn get(&self, name: &str) -> Option<Estimate> {
        self.results.get(name).copied()
    }
}

/// One result folder of criterion (`.../new/`): its full name from `benchmark.json` and
/// its median from `estimates.json` (nanoseconds there).
fn read_result(dir: &Path) -> Option<(String, Estimate)> {
    let read = |file: &str| -> Option<serde_json::Value> {
        serde_json::from_slice(&std::fs::read(dir.join(file)).ok()?).ok()
    };
    let name = read("benchmark.json")?["full_id"].as_str()?.to_string();
    let median = &read("estimates.json")?["median"];
    let seconds = |v: &serde_json::Value| v.as_f64().map(|ns| ns / 1e9);
    Some((
        name,
        Estimate {
            median_s: seconds(&median["point_estimate"])?,
            low_s: seconds(&median["confidence_interval"]["lower_bound"])?,
            high_s: seconds(&median["confidence_interval"]["upper_bound"])?,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criterion_results_are_read_by_their_full_name() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("cpu/ch00-sequential/new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(
            new.join("benchmark.json"),
            r#"{"full_id":"cpu/ch00-sequential"}"#,
        )
        .unwrap();
        std::fs::write(
            new.join("estimates.json"),
            r#"{"median":{"point_estimate":2e9,"confidence_interval":{"lower_bound":1e9,"upper_bound":3e9}}}"#,
        )
        .unwrap();
        // A result folder without its files is skipped, not fatal.
        std::fs::create_dir_all(dir.path().join("io/ch00-sequential/new")).unwrap();
        let bench = Bench::read(dir.path());
        assert!(bench.found);
        assert_eq!(bench.results.len(), 1);
        let e = bench
            .get(&bench_id(Workload::Cpu, "ch00-sequential"))
            .unwrap();
        assert_eq!((e.median_s, e.low_s, e.high_s), (2.0, 1.0, 3.0));
        assert!(!Bench::read(&dir.path().join("nothing")).found);
    }
}
