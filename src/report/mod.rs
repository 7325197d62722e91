//! `report.md` and its charts: criterion's measurements of every chapter on every
//! workload, and one traced run of each chapter drawn as a timeline.
//!
//! - [`bench`](mod@bench): criterion's results, and the names the bench gives them.
//! - [`machine`]: the machine and the crate versions the numbers depend on.
//! - [`chart`]: the SVG charts.
//! - [`python`]: the Python programs' environment, and their runs beside the chapters.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub mod bench;
pub mod chart;
pub mod machine;
pub mod python;

pub use bench::{
    Bench, Estimate, GIL_CHAPTER, GIL_GROUP, SWEEP_IMAGES, SWEEP_WORKLOAD, bench_id, sweep_id,
};
pub use machine::{Machine, crate_versions};

use chart::{Bar, BarGroup, Line};

use crate::chapters;
use crate::contract::Summary;
use crate::harness::workload::Workload;
use crate::platform::write_atomically;
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

/// One traced run of a chapter: its summary and its spans.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The summary the chapter printed.
    pub summary: Summary,
    /// The trace it wrote.
    pub trace: Trace,
}

/// Everything a report is made from.
#[derive(Debug, Clone)]
pub struct Report {
    /// The workload of the traced runs.
    pub workload: Workload,
    /// One traced run per chapter, in chapter order.
    pub runs: Vec<Run>,
    /// The pipeline with and without its bounded channel (label, run), when that
    /// chapter exists: traced runs on `cpu` with one resizer.
    pub backpressure: Vec<(String, Run)>,
    /// Criterion's results.
    pub bench: Bench,
    /// The machine.
    pub machine: Machine,
}

/// What [`Report::write`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// `report.md`.
    pub report: PathBuf,
    /// Every chart.
    pub charts: Vec<PathBuf>,
    /// What the report lacks, for the person who asked for it.
    pub notes: Vec<String>,
}

impl Report {
    /// Writes `report.md` and its SVG charts into `folder` (created if missing).
    pub fn write(&self, folder: &Path) -> Result<Written, ReportError> {
        std::fs::create_dir_all(folder).map_err(|source| ReportError::Write {
            path: folder.to_path_buf(),
            source,
        })?;
        let mut out = ReportFolder {
            folder: folder.to_path_buf(),
            charts: Vec::new(),
        };
        let mut md = String::new();
        let mut notes = Vec::new();
        self.header(&mut md);
        self.tour_section(&mut md);
        self.bench_section(&mut md, &mut out, &mut notes)?;
        self.backpressure_section(&mut md);
        self.timeline_section(&mut md, &mut out)?;
        let report = folder.join("report.md");
        out.file(&report, &md)?;
        Ok(Written {
            report,
            charts: out.charts,
            notes,
        })
    }

    fn header(&self, md: &mut String) {
        let m = &self.machine;
        let _ = writeln!(md, "# Thumbnail workbench: the report\n");
        let _ = writeln!(
            md,
            "Every chapter makes the same thumbnails; only the concurrency differs. \
             Measured on **{} cores** ({}), {}, {:.0} GiB of memory, on {}.\n",
            m.cores,
            m.model,
            m.os,
            m.memory_gib,
            httpdate::fmt_http_date(std::time::SystemTime::now())
        );
        let crates: Vec<String> = crate_versions()
            .iter()
            .map(|(name, version)| format!("{name} {version}"))
            .collect();
        let _ = writeln!(md, "Crates: {}.\n", crates.join(", "));
    }

    /// What the pipeline's bounded channel buys: memory that does not grow with the
    /// batch. Counted from the traces, and the peak memory from the summaries.
    fn backpressure_section(&self, md: &mut String) {
        let Some((_, first)) = self.backpressure.first() else {
            return;
        };
        let _ = writeln!(
            md,
            "## Backpressure\n\n{} on `cpu` ({} images) with two downloaders and one \
             resizer, so that downloads are far quicker than resizes. With the bounded \
             channel, at most its capacity, plus one image per downloader and per resizer, \
             wait between the stages; without it, nearly the whole batch does, and the peak \
             memory grows with it. Images waiting (downloaded, not yet being resized) are \
             counted from the trace.\n",
            first.summary.chapter, first.summary.images
        );
        let _ = writeln!(md, "| run | wall s | images waiting at most | peak MiB |");
        let _ = writeln!(md, "|---|---:|---:|---:|");
        for (label, run) in &self.backpressure {
            let _ = writeln!(
                md,
                "| {label} | {:.2} | {} | {:.0} |",
                run.summary.wall_s,
                run.trace.most_images_waiting(),
                run.summary.peak_rss_mb
            );
        }
        md.push('\n');
    }

    /// The table of the traced runs (the tour's table).
    fn tour_section(&self, md: &mut String) {
        let _ = writeln!(
            md,
            "## One run of each chapter on `{}`\n\nOne traced run each (not a benchmark: \
             see the medians below). Overlap is the time spent working, summed over every \
             worker, over the wall time.\n",
            self.workload.name(),
        );
        md.push_str(&comparison_table(&self.runs));
        md.push('\n');
    }

    fn bench_section(
        &self,
        md: &mut String,
        out: &mut ReportFolder,
        notes: &mut Vec<String>,
    ) -> Result<(), ReportError> {
        let bench = &self.bench;
        let _ = writeln!(md, "## Benchmarks\n");
        if !bench.found || bench.results.is_empty() {
            let why = if bench.found {
                "holds no results"
            } else {
                "does not exist"
            };
            let note = format!(
                "no criterion results: {} {why}; run `cargo bench --bench chapters` (about \
                 15 minutes), then the report again, for medians, speedups and worker sweeps",
                bench.folder.display()
            );
            let _ = writeln!(md, "> {}.\n", capitalise(&note));
            notes.push(note);
            return Ok(());
        }
        let _ = writeln!(
            md,
            "Each chapter binary timed as a whole process by criterion (start-up included), \
             median of its samples with the 95% confidence interval; on `io` and `mixed` \
             the embedded store answers after 50 ms.\n"
        );
        let mut missing = Vec::new();
        let chapter_names: Vec<String> = chapters::ALL.iter().map(|c| c.name.to_string()).collect();
        let mut speedups = Vec::new();
        for workload in Workload::ALL {
            let measured: Vec<(String, Option<Estimate>)> = chapters::ALL
                .iter()
                .map(|c| (c.name.to_string(), bench.get(&bench_id(workload, c.name))))
                .collect();
            missing.extend(
                measured
                    .iter()
                    .filter(|(_, e)| e.is_none())
                    .map(|(name, _)| bench_id(workload, name)),
            );
            let bars: Vec<Bar> = measured
                .iter()
                .filter_map(|(name, e)| {
                    let e = (*e)?;
                    Some(Bar {
                        label: name.clone(),
                        value: e.median_s,
                        interval: Some((e.low_s, e.high_s)),
                    })
                })
                .collect();
            if bars.is_empty() {
                continue;
            }
            let file = format!("bench-{}.svg", workload.name());
            let title = format!(
                "Workload {}: seconds per run (median, 95% interval)",
                workload.name()
            );
            out.chart(&file, &chart::bars(&title, "seconds", " s", &bars)?)?;
            let _ = writeln!(
                md,
                "### Workload `{}`\n\n![{title}]({file})\n",
                workload.name()
            );
            let baseline = measured.first().and_then(|(_, e)| *e);
            md.push_str(
                "| chapter | median s | 95% interval | speedup over ch00 |\n|---|---:|---:|---:|\n",
            );
            for (name, estimate) in &measured {
                let Some(e) = estimate else { continue };
                let speedup = baseline.map_or("-".to_string(), |b| {
                    format!("{:.1}x", b.median_s / e.median_s.max(1e-12))
                });
                let _ = writeln!(
                    md,
                    "| {name} | {:.3} | {:.3} to {:.3} | {speedup} |",
                    e.median_s, e.low_s, e.high_s
                );
            }
            md.push('\n');
            speedups.push(BarGroup {
                name: workload.name().to_string(),
                values: measured
                    .iter()
                    .map(|(_, e)| Some(baseline?.median_s / e.as_ref()?.median_s.max(1e-12)))
                    .collect(),
            });
        }
        if !speedups.is_empty() {
            let title = "Speedup over ch00-sequential (higher is better)";
            out.chart(
                "speedup.svg",
                &chart::grouped_bars(
                    title,
                    "times faster than ch00",
                    &chapter_names,
                    &speedups,
                    Some(1.0),
                )?,
            )?;
            let _ = writeln!(md, "### Speedup\n\n![{title}](speedup.svg)\n");
        }
        self.sweep_section(md, out, &mut missing)?;
        self.gil_section(md, out)?;
        if let Some(kernel) = bench.get("kernel/jpeg_1920x1280_to_32_64_200") {
            let _ = writeln!(
                md,
                "### The CPU step alone\n\nOne 1920x1280 JPEG to three thumbnails on one \
                 thread: {:.1} ms (median), so at best {:.0} images per second per core.\n",
                kernel.median_s * 1e3,
                1.0 / kernel.median_s.max(1e-12)
            );
        }
        if !missing.is_empty() {
            let note = format!(
                "criterion has no result for {} benchmark(s): {}",
                missing.len(),
                missing.join(", ")
            );
            let _ = writeln!(md, "> Partial results: {note}.\n");
            notes.push(note);
        }
        Ok(())
    }

    fn sweep_section(
        &self,
        md: &mut String,
        out: &mut ReportFolder,
        missing: &mut Vec<String>,
    ) -> Result<(), ReportError> {
        let mut lines = Vec::new();
        for chapter in chapters::ALL {
            let Some(flag) = chapter.sweep else { continue };
            let mut points = Vec::new();
            for &workers in chapters::SWEEP_WORKERS {
                let id = sweep_id(chapter.name, workers);
                match self.bench.get(&id) {
                    Some(e) => points.push((workers as f64, e.median_s)),
                    None => missing.push(id),
                }
            }
            if !points.is_empty() {
                lines.push(Line {
                    name: format!("{} {flag}", chapter.name),
                    points,
                });
            }
        }
        if lines.is_empty() {
            return Ok(());
        }
        let title = format!(
            "Worker sweep: {} images of `{}`, median seconds per run",
            SWEEP_IMAGES,
            SWEEP_WORKLOAD.name()
        );
        out.chart(
            "sweep.svg",
            &chart::lines(&title, "workers", "seconds", &lines)?,
        )?;
        let _ = writeln!(
            md,
            "### Worker sweep\n\nEach chapter that has a worker count, run with 1 to {} \
             workers on {} images of `{}`.\n\n![{title}](sweep.svg)\n",
            chapters::SWEEP_WORKERS.last().copied().unwrap_or(1),
            SWEEP_IMAGES,
            SWEEP_WORKLOAD.name()
        );
        Ok(())
    }

    fn gil_section(&self, md: &mut String, out: &mut ReportFolder) -> Result<(), ReportError> {
        if chapters::find(GIL_CHAPTER).is_none() {
            return Ok(());
        }
        let bars: Vec<Bar> = [
            ("threads", "threads"),
            ("gil", "threads with a simulated GIL"),
        ]
        .iter()
        .filter_map(|(id, label)| {
            let e = self.bench.get(&format!("{GIL_GROUP}/{id}"))?;
            Some(Bar {
                label: label.to_string(),
                value: e.median_s,
                interval: Some((e.low_s, e.high_s)),
            })
        })
        .collect();
        if bars.len() < 2 {
            return Ok(());
        }
        let title = format!("{GIL_CHAPTER} on `cpu`: with and without a simulated GIL");
        out.chart("gil.svg", &chart::bars(&title, "seconds", " s", &bars)?)?;
        let _ = writeln!(md, "### The simulated GIL\n\n![{title}](gil.svg)\n");
        Ok(())
    }

    fn timeline_section(&self, md: &mut String, out: &mut ReportFolder) -> Result<(), ReportError> {
        let x_max = self
            .runs
            .iter()
            .map(|r| r.trace.figures().wall_s)
            .fold(0.0, f64::max);
        let _ = writeln!(
            md,
            "## Timelines\n\nOne lane per worker, one bar per step: download, resize, \
             upload, and waiting (queue_wait). Every timeline has the same time axis, \
             so their lengths compare directly.\n"
        );
        for run in &self.runs {
            let name = &run.summary.chapter;
            let file = format!("timeline-{name}.svg");
            let title = format!(
                "{name} on {}: {:.2} s, overlap {:.1}",
                self.workload.name(),
                run.summary.wall_s,
                run.summary.overlap
            );
            out.chart(&file, &chart::timeline(&title, &run.trace, x_max)?)?;
            let _ = writeln!(md, "![{title}]({file})\n");
        }
        Ok(())
    }
}

/// The comparison table of some runs, in Markdown: chapter, wall time, images per
/// second, speedup over the first run (ch00), overlap, failures, peak memory.
pub fn comparison_table(runs: &[Run]) -> String {
    let mut md = String::from(
        "| chapter | wall s | images/s | speedup | overlap | failed | peak MiB |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    let baseline = runs
        .iter()
        .find(|r| r.summary.chapter == chapters::ALL[0].name)
        .map(|r| r.summary.wall_s);
    for run in runs {
        let s = &run.summary;
        let speedup = baseline.map_or("-".to_string(), |b| {
            format!("{:.1}x", b / s.wall_s.max(1e-9))
        });
        let _ = writeln!(
            md,
            "| {} | {:.2} | {:.1} | {speedup} | {:.2} | {} | {:.0} |",
            s.chapter,
            s.wall_s,
            s.images_per_second(),
            s.overlap,
            s.failed.len(),
            s.peak_rss_mb
        );
    }
    md
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The report's folder and the charts written into it so far.
struct ReportFolder {
    folder: PathBuf,
    charts: Vec<PathBuf>,
}

impl ReportFolder {
    fn file(&self, path: &Path, text: &str) -> Result<(), ReportError> {
        write_atomically(path, text.as_bytes()).map_err(|source| ReportError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    fn chart(&mut self, name: &str, svg: &str) -> Result<(), ReportError> {
        let path = self.folder.join(name);
        self.file(&path, svg)?;
        self.charts.push(path);
        Ok(())
    }
}
