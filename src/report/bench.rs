//! Criterion's results, as the report reads them. The bench (`benches/chapters.rs`) and
//! the report agree on the benchmarks' names through [`bench_id`], [`sweep_id`] and
//! [`GIL_GROUP`]; criterion writes each result to
//! `<target>/criterion/<name>/new/estimates.json`, which [`Bench::read`] collects.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::stats::Stats;
use super::store_cost::{self, COST_FILE, Cost};
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

/// The store's latency on the `io` and `mixed` workloads of the bench, as in a chapter's
/// default run.
pub const BENCH_LATENCY: Duration = Duration::from_millis(50);
/// Images per workload in the bench, as in a chapter's default run.
pub const BENCH_IMAGES: usize = 48;

/// The name of the benchmark of `chapter` on `workload`: criterion group `workload`,
/// function `chapter`.
pub fn bench_id(workload: Workload, chapter: &str) -> String {
    format!("{}/{chapter}", workload.name())
}

/// The name of the benchmark of `chapter` with `workers` workers in the sweep.
pub fn sweep_id(chapter: &str, workers: usize) -> String {
    format!("sweep/{chapter}/{workers}")
}

/// One benchmark's result: criterion's median and its 95% confidence interval, in
/// seconds, and what criterion knows of the spread of its samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The median time of one run.
    pub median_s: f64,
    /// The interval's lower end.
    pub low_s: f64,
    /// The interval's upper end.
    pub high_s: f64,
    /// The mean time of one run, when criterion wrote it.
    pub mean_s: Option<f64>,
    /// The standard deviation of one run's time, when criterion wrote it.
    pub sd_s: Option<f64>,
    /// The shortest and the longest sample (time per run), from `sample.json`.
    pub range_s: Option<(f64, f64)>,
    /// How many samples criterion took.
    pub samples: usize,
}

impl Estimate {
    /// The estimate as [`Stats`]; where criterion lacks a figure, the median stands in
    /// for the mean and the interval for the range.
    pub fn stats(&self) -> Stats {
        let (min_s, max_s) = self.range_s.unwrap_or((self.low_s, self.high_s));
        Stats {
            runs: self.samples,
            mean_s: self.mean_s.unwrap_or(self.median_s),
            sd_s: self.sd_s.unwrap_or(0.0),
            min_s,
            max_s,
            median_s: self.median_s,
            median_low_s: self.low_s,
            median_high_s: self.high_s,
        }
    }
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
    /// The processor time of each benchmark's chapter and store, by name, where the
    /// bench measured it.
    pub costs: BTreeMap<String, Cost>,
}

impl Bench {
    /// Reads every `new/estimates.json` under `folder` (criterion's output). A missing
    /// folder or an unreadable result is not an error: the report says what it lacks.
    pub fn read(folder: &Path) -> Bench {
        let mut bench = Bench {
            folder: folder.to_path_buf(),
            found: folder.is_dir(),
            results: BTreeMap::new(),
            costs: BTreeMap::new(),
        };
        let mut pending = vec![folder.to_path_buf()];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if !path.is_dir() {
                    if entry.file_name() == COST_FILE
                        && let Some((name, cost)) = store_cost::read(&path)
                    {
                        bench.costs.insert(name, cost);
                    }
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

    /// The processor time of the benchmark called `name`, if measured.
    pub fn cost(&self, name: &str) -> Option<Cost> {
        self.costs.get(name).copied()
    }
}

/// One result folder of criterion (`.../new/`): its full name from `benchmark.json`, its
/// median, mean and standard deviation from `estimates.json`, its samples from
/// `sample.json` (nanoseconds, in both).
fn read_result(dir: &Path) -> Option<(String, Estimate)> {
    let read = |file: &str| -> Option<serde_json::Value> {
        serde_json::from_slice(&std::fs::read(dir.join(file)).ok()?).ok()
    };
    let name = read("benchmark.json")?["full_id"].as_str()?.to_string();
    let estimates = read("estimates.json")?;
    let median = &estimates["median"];
    let seconds = |v: &serde_json::Value| v.as_f64().map(|ns| ns / 1e9);
    let per_run = read("sample.json").map(|sample| per_run_seconds(&sample));
    let range_s = per_run.as_ref().and_then(|runs| {
        let min = runs.iter().copied().reduce(f64::min)?;
        let max = runs.iter().copied().reduce(f64::max)?;
        Some((min, max))
    });
    Some((
        name,
        Estimate {
            median_s: seconds(&median["point_estimate"])?,
            low_s: seconds(&median["confidence_interval"]["lower_bound"])?,
            high_s: seconds(&median["confidence_interval"]["upper_bound"])?,
            mean_s: seconds(&estimates["mean"]["point_estimate"]),
            sd_s: seconds(&estimates["std_dev"]["point_estimate"]),
            range_s,
            samples: per_run.map_or(0, |runs| runs.len()),
        },
    ))
}

/// Criterion's samples as seconds per run: each sample is `times[i]` nanoseconds for
/// `iters[i]` runs.
fn per_run_seconds(sample: &serde_json::Value) -> Vec<f64> {
    let numbers = |key: &str| -> Vec<f64> {
        sample[key]
            .as_array()
            .map(|values| values.iter().filter_map(|v| v.as_f64()).collect())
            .unwrap_or_default()
    };
    numbers("times")
        .iter()
        .zip(numbers("iters"))
        .filter(|(_, iters)| *iters > 0.0)
        .map(|(ns, iters)| ns / iters / 1e9)
        .collect()
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
        // Without sample.json, the interval stands in for the range.
        assert_eq!((e.stats().min_s, e.stats().max_s), (1.0, 3.0));
        assert!(!Bench::read(&dir.path().join("nothing")).found);
    }

    #[test]
    fn samples_give_the_range_of_one_run() {
        let sample = serde_json::json!({"iters": [1.0, 2.0], "times": [3e9, 2e9]});
        assert_eq!(per_run_seconds(&sample), [3.0, 1.0]);
    }
}
