//! The report: criterion's measurements of every chapter on every workload, and timed,
//! traced runs of each chapter drawn as timelines, written as `report.md`,
//! `report.html`, `results.json` and one CSV per table.
//!
//! - [`bench`](mod@bench): criterion's results, and the names the bench gives them.
//! - [`machine`]: the machine, its load and the build the numbers depend on.
//! - [`floor`]: the least time any pattern could take, from measured inputs.
//! - [`store_cost`]: the processor time of the chapter and of the store, per run.
//! - [`stats`]: mean, spread and the median's interval of repeated runs.
//! - [`section`]: the report as a list of sections (words, charts, tables).
//! - [`sections`]: each section, built from the measurements.
//! - [`chart`]: the SVG charts; [`timeline`]: a run's timeline.
//! - [`results`]: `results.json`; [`compare`]: two of them side by side.
//! - [`python`]: the Python programs' environment, and their runs beside the chapters.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod bench;
pub mod chart;
pub mod compare;
pub mod floor;
pub mod growth;
pub mod html;
pub mod machine;
pub mod profile;
pub mod python;
pub mod results;
pub mod section;
mod sections;
pub mod stats;
pub mod store_cost;
pub mod timeline;

pub use bench::{
    BENCH_IMAGES, BENCH_LATENCY, Bench, Estimate, GIL_CHAPTER, GIL_GROUP, SWEEP_IMAGES,
    SWEEP_WORKLOAD, bench_id, sweep_id,
};
pub use machine::{Build, Machine, crate_versions};
pub use results::Results;
pub use section::{Chart, Section, Table};
pub use stats::Stats;

use crate::contract::Summary;
use crate::harness::workload::Workload;
use crate::platform::{CpuTime, load_average, write_atomically};
use crate::trace::Trace;

/// Why the report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file or folder could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A chart could not be drawn.
    #[error(transparent)]
    Chart(#[from] chart::ChartError),
}

/// One timed run of a chapter: its wall time and the processor time of its process tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The batch's wall time, as the chapter measured it.
    pub wall_s: f64,
    /// The processor time of the chapter's process and everything it started.
    pub cpu: CpuTime,
}

/// A chapter run one or more times: the summary and trace of its last run, and every
/// run's timing.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The summary the chapter printed (its last run).
    pub summary: Summary,
    /// The trace it wrote (its last run).
    pub trace: Trace,
    /// Every run's wall and processor time; empty when only the summary is known.
    pub samples: Vec<Sample>,
}

impl Run {
    /// The wall times' figures: of every sample, or of the summary alone.
    pub fn stats(&self) -> Stats {
        let walls: Vec<f64> = if self.samples.is_empty() {
            vec![self.summary.wall_s]
        } else {
            self.samples.iter().map(|s| s.wall_s).collect()
        };
        Stats::of(&walls).unwrap_or(Stats {
            runs: 0,
            mean_s: 0.0,
            sd_s: 0.0,
            min_s: 0.0,
            max_s: 0.0,
            median_s: 0.0,
            median_low_s: 0.0,
            median_high_s: 0.0,
        })
    }

    /// The mean processor time per run, when measured.
    pub fn cpu(&self) -> Option<CpuTime> {
        if self.samples.is_empty() {
            return None;
        }
        let n = self.samples.len() as f64;
        Some(CpuTime {
            user_s: self.samples.iter().map(|s| s.cpu.user_s).sum::<f64>() / n,
            system_s: self.samples.iter().map(|s| s.cpu.system_s).sum::<f64>() / n,
        })
    }
}

/// Everything a report is made from.
#[derive(Debug, Clone)]
pub struct Report {
    /// The workload of the traced runs.
    pub workload: Workload,
    /// The store's latency in the traced runs (on `io` and `mixed`).
    pub latency: Duration,
    /// The runs of each chapter, in chapter order.
    pub runs: Vec<Run>,
    /// The pipeline with and without its bounded channel (label, run), when that
    /// chapter exists: traced runs on `cpu` with one resizer.
    pub backpressure: Vec<(String, Run)>,
    /// Criterion's results.
    pub bench: Bench,
    /// The machine, as it was when the runs began.
    pub machine: Machine,
}

/// What [`Report::write`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// `report.md`.
    pub report: PathBuf,
    /// `report.html`: the same, with its charts inline.
    pub html: PathBuf,
    /// `results.json`.
    pub results: PathBuf,
    /// One CSV per table.
    pub csvs: Vec<PathBuf>,
    /// Every chart.
    pub charts: Vec<PathBuf>,
    /// What the report lacks or warns about, for the person who asked for it.
    pub notes: Vec<String>,
}

impl Report {
    /// Writes the report into `folder` (created if missing): `report.md` and its SVG
    /// charts, `report.html`, `results.json` and a CSV per table.
    pub fn write(&self, folder: &Path) -> Result<Written, ReportError> {
        self.write_with(folder, Vec::new())
    }

    /// Writes the report, with `more` sections (measured elsewhere: the Python
    /// programs) after its own, in every form the report takes.
    pub fn write_with(&self, folder: &Path, more: Vec<Section>) -> Result<Written, ReportError> {
        let written_at = httpdate::fmt_http_date(std::time::SystemTime::now());
        let after = load_average();
        let load = results::Load {
            before: self.machine.load_before,
            after,
            busy: self.machine.busy(after),
        };
        let build = Build::this();
        let mut notes = Vec::new();
        let floor = self.floor_inputs(&mut notes);
        let mut sections = sections::all(self, &build, &load, floor.as_ref(), &mut notes)?;
        sections.extend(more);
        notes.extend(load.busy.iter().cloned());

        create_folder(folder)?;
        let mut charts = Vec::new();
        let mut csvs = Vec::new();
        let mut tables = BTreeMap::new();
        for section in &sections {
            for chart in &section.charts {
                let path = folder.join(&chart.file);
                write_file(&path, &chart.svg)?;
                charts.push(path);
            }
            for table in &section.tables {
                let path = folder.join(format!("{}.csv", table.name));
                write_file(&path, &table.csv())?;
                csvs.push(path);
                tables.insert(table.name.clone(), table.clone());
            }
        }
        let title = "Thumbnail workbench: the report";
        let intro = format!(
            "Every chapter makes the same thumbnails; only the concurrency differs. \
             Measured on **{} cores** ({}), written {written_at}.",
            self.machine.cores, self.machine.model
        );
        let markdown: String = std::iter::once(format!("# {title}\n\n{intro}\n\n"))
            .chain(sections.iter().map(Section::markdown))
            .collect();
        let body: String = std::iter::once(format!(
            "<h1>{}</h1>\n<p>{}</p>\n",
            html::escape(title),
            html::inline(&intro)
        ))
        .chain(sections.iter().map(Section::html))
        .collect();
        let report = folder.join("report.md");
        write_file(&report, &markdown)?;
        let html_path = folder.join("report.html");
        write_file(&html_path, &html::page(title, &body))?;

        let results = Results {
            format: results::FORMAT,
            written: written_at,
            machine: self.machine.clone(),
            build,
            load,
            rows: sections::rows(self, floor.as_ref()),
            tables,
        };
        let results_path = folder.join("results.json");
        let json = serde_json::to_string_pretty(&results).map_err(|e| ReportError::Write {
            path: results_path.clone(),
            source: std::io::Error::other(e),
        })?;
        write_file(&results_path, &json)?;
        Ok(Written {
            report,
            html: html_path,
            results: results_path,
            csvs,
            charts,
            notes,
        })
    }
}

impl Report {
    /// The floor's inputs, measured now (the CPU step from the kernel bench when it
    /// ran); `None`, with a note, when they cannot be.
    fn floor_inputs(&self, notes: &mut Vec<String>) -> Option<floor::Inputs> {
        let ch00 = crate::chapters::binary_path(crate::chapters::ALL[0].name).ok()?;
        match floor::measure(&self.bench, self.machine.cores, self.latency, &ch00) {
            Ok(inputs) => Some(inputs),
            Err(e) => {
                notes.push(format!("no floor in this report: {e}"));
                None
            }
        }
    }
}

fn create_folder(folder: &Path) -> Result<(), ReportError> {
    std::fs::create_dir_all(folder).map_err(|source| ReportError::Write {
        path: folder.to_path_buf(),
        source,
    })
}

fn write_file(path: &Path, text: &str) -> Result<(), ReportError> {
    write_atomically(path, text.as_bytes()).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}
