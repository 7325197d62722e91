//! `results.json`: every figure of the report, for scripts and for `workbench compare`.
//!
//! One [`Row`] per thing measured, keyed by implementation (`rust`, or another language
//! running the same job), chapter, workload, how it was measured (`tour`: the tour's
//! traced runs; `bench`, `sweep`, `gil`: criterion) and a variant (a flag, a worker
//! count). Two files made on two machines, two commits, or before and after an exercise
//! line up row by row on that key. The report's tables are stored beside the rows, as
//! shown.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::machine::{Build, Machine};
use super::section::Table;
use super::stats::Stats;

/// The version of this file's layout; a reader refuses a newer one.
pub const FORMAT: u32 = 1;

/// One thing measured, and its figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Which implementation ran: `rust` for the chapters of this project.
    pub implementation: String,
    /// The chapter.
    pub chapter: String,
    /// The workload (`cpu`, `io`, `mixed`).
    pub workload: String,
    /// How it was measured: `tour`, `bench`, `sweep` or `gil`.
    pub measure: String,
    /// What was changed for this row (`--gil`, `workers 4`), or empty.
    #[serde(default)]
    pub variant: String,
    /// Seconds per run: mean, spread, extremes, median and its interval.
    #[serde(flatten)]
    pub stats: Stats,
    /// Processor seconds per run in the program's own code, over its whole process tree
    /// (threads and worker processes), where measured.
    pub user_s: Option<f64>,
    /// Processor seconds per run in the kernel on its behalf, where measured.
    pub system_s: Option<f64>,
    /// Work time over wall time, from the trace, where traced.
    pub overlap: Option<f64>,
    /// The peak memory, in MiB, where known.
    pub peak_rss_mb: Option<f64>,
    /// Images that failed, where known.
    pub failed: Option<usize>,
    /// The least time any pattern could take for the same run (see
    /// [`floor`](super::floor)), where its inputs were measured; wall over it is the
    /// distance to it.
    #[serde(default)]
    pub floor_s: Option<f64>,
    /// The processor seconds per run of the store the run was served by, in a process
    /// of its own, where measured.
    #[serde(default)]
    pub store_cpu_s: Option<f64>,
}

impl Row {
    /// The key that lines this row up with its counterpart in another file.
    pub fn key(&self) -> (String, String, String, String, String) {
        (
            self.implementation.clone(),
            self.chapter.clone(),
            self.workload.clone(),
            self.measure.clone(),
            self.variant.clone(),
        )
    }
}

/// The load average before and after the measurements, and whether that was too busy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Load {
    /// 1, 5 and 15 minutes, when the runs began.
    pub before: Option<[f64; 3]>,
    /// The same when the report was written.
    pub after: Option<[f64; 3]>,
    /// The warning the report shows when the machine was busy.
    pub busy: Option<String>,
}

/// The whole of `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The layout's version, [`FORMAT`].
    pub format: u32,
    /// When the report was written (an HTTP date, UTC).
    pub written: String,
    /// The machine.
    pub machine: Machine,
    /// The build.
    pub build: Build,
    /// How busy the machine was.
    pub load: Load,
    /// Every thing measured.
    pub rows: Vec<Row>,
    /// The report's tables as shown, by name (each is also a CSV file).
    pub tables: BTreeMap<String, Table>,
}

/// Why a `results.json` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// It is not a results file this version understands.
    #[error("{path} is not a results.json this workbench can read: {cause}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        cause: String,
    },
}

impl Results {
    /// Reads `path` (a `results.json`, or a folder holding one).
    pub fn read(path: &Path) -> Result<Results, ResultsError> {
        let file = if path.is_dir() {
            path.join("results.json")
        } else {
            path.to_path_buf()
        };
        let shown = file.display().to_string();
        let bytes = std::fs::read(&file).map_err(|source| ResultsError::Read {
            path: shown.clone(),
            source,
        })?;
        let results: Results =
            serde_json::from_slice(&bytes).map_err(|e| ResultsError::Format {
                path: shown.clone(),
                cause: e.to_string(),
            })?;
        if results.format > FORMAT {
            return Err(ResultsError::Format {
                path: shown,
                cause: format!(
                    "its format is {}, and this workbench reads up to {FORMAT}",
                    results.format
                ),
            });
        }
        Ok(results)
    }
}
