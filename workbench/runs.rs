//! Running the chapters for the tour, the report and the growth measurement: the
//! corpora prepared first, each chapter run traced, the terminal's comparison table.

use std::io::IsTerminal;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use workbench::chapters::{self, Chapter};
use workbench::cli::corpus_folder;
use workbench::contract::Summary;
use workbench::harness::corpus::CorpusSpec;
use workbench::harness::workload::Workload;
use workbench::platform::children_cpu_time;
use workbench::report::{Run, Sample};
use workbench::trace::Trace;

use crate::RunFlags;

/// The chapter whose bounded channel the report's backpressure section shows.
const PIPELINE: &str = "ch09-pipeline";
/// The backpressure runs' batch, in multiples of the tour's.
const BACKPRESSURE_BATCH: usize = 3;

/// Generates the corpora the tour runs on before the first chapter does, saying so: on a
/// first run this takes from seconds to a minute, and silence would look like a hang.
pub(crate) fn prepare_corpora(flags: &RunFlags) -> Result<()> {
    let mut specs = vec![(flags.workload, flags.workload.corpus(flags.count))];
    if chapters::find(PIPELINE).is_some() {
        specs.push((
            Workload::Cpu,
            Workload::Cpu.corpus(flags.count * BACKPRESSURE_BATCH),
        ));
    }
    for (workload, spec) in specs {
        prepare_corpus(workload, &spec)?;
    }
    Ok(())
}

/// Generates one corpus, saying so, with a ticking clock on a terminal.
pub(crate) fn prepare_corpus(workload: Workload, spec: &CorpusSpec) -> Result<()> {
    let started = Instant::now();
    println!(
        "Preparing the corpus for `{}`: {} images of {}x{} (made once, then cached)",
        workload.name(),
        spec.count,
        spec.width,
        spec.height
    );
    // A ticking clock on a terminal, so that a minute of drawing photos shows as work.
    let clock = if std::io::stderr().is_terminal() {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed}") {
        clock.set_style(style);
    }
    clock.enable_steady_tick(Duration::from_millis(200));
    let prepared = corpus_folder(spec).context("preparing the corpus");
    clock.finish_and_clear();
    prepared?;
    println!("  ready in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Runs every chapter once, traced, with a progress display; traces go to `out/traces/`.
pub(crate) fn run_every_chapter(flags: &RunFlags, out: &Path) -> Result<Vec<Run>> {
    let traces = out.join("traces");
    std::fs::create_dir_all(&traces).with_context(|| format!("creating {}", traces.display()))?;
    let progress = if std::io::stderr().is_terminal() {
        ProgressBar::new(chapters::ALL.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) =
        ProgressStyle::with_template("{bar:30} {pos}/{len} chapters  {msg}  {elapsed}")
    {
        progress.set_style(style);
    }
    progress.enable_steady_tick(Duration::from_millis(200));
    let mut runs = Vec::new();
    for chapter in chapters::ALL {
        if let Some(why) = chapters::missing_program(chapter.name) {
            // Printed even with no progress bar: it says how to get the chapter.
            progress.suspend(|| println!("  {:<22} skipped: {why}", chapter.name));
            progress.inc(1);
            continue;
        }
        progress.set_message(format!("running {}", chapter.name));
        let run = run_chapter(chapter, flags.workload, flags, &[], &traces)?;
        let stats = run.stats();
        progress.println(format!(
            "  {:<22} {:>6.2} s (median of {})",
            chapter.name, stats.median_s, stats.runs
        ));
        runs.push(run);
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok(runs)
}

/// The comparison table for the terminal: median wall time, processor time per run,
/// speedup over the first chapter.
pub(crate) fn table(runs: &[Run]) -> String {
    let baseline = runs.first().map(|r| r.stats().median_s);
    let mut text = format!(
        "{:<22} {:>8} {:>9} {:>8} {:>7} {:>7} {:>7} {:>8}\n",
        "chapter", "wall s", "images/s", "speedup", "user s", "sys s", "failed", "overlap"
    );
    for run in runs {
        let s = &run.summary;
        let median = run.stats().median_s;
        let speedup = baseline.map_or(0.0, |b| b / median.max(1e-9));
        let cpu = run.cpu().unwrap_or_default();
        text.push_str(&format!(
            "{:<22} {:>8.2} {:>9.1} {:>7.1}x {:>7.2} {:>7.2} {:>7} {:>8.2}\n",
            s.chapter,
            median,
            s.images as f64 / median.max(1e-9),
            speedup,
            cpu.user_s,
            cpu.system_s,
            s.failed.len(),
            s.overlap,
        ));
    }
    text
}

/// The pipeline chapter on `cpu`, three times the batch, with two downloaders and one
/// resizer (so downloads are far quicker than resizes), once with its bounded channel and
/// once `--unbounded`: the report's backpressure section. Empty when there is no pipeline.
pub(crate) fn backpressure_runs(flags: &RunFlags, out: &Path) -> Result<Vec<(String, Run)>> {
    let Some(pipeline) = chapters::find(PIPELINE) else {
        return Ok(Vec::new());
    };
    let traces = out.join("traces");
    let larger = RunFlags {
        count: flags.count * BACKPRESSURE_BATCH,
        runs: 1,
        ..flags.clone()
    };
    let stages = ["--download-workers", "2", "--resize-workers", "1"];
    let mut runs = Vec::new();
    for (label, unbounded) in [
        ("bounded (capacity 4)", None),
        ("unbounded", Some("--unbounded")),
    ] {
        let extra: Vec<&str> = stages.iter().copied().chain(unbounded).collect();
        let run = run_chapter(pipeline, Workload::Cpu, &larger, &extra, &traces)?;
        println!(
            "  {PIPELINE}, {label:<20} peak {:>5.0} MiB",
            run.summary.peak_rss_mb
        );
        runs.push((label.to_string(), run));
    }
    Ok(runs)
}

/// Runs `chapter` `flags.runs` times on `workload`, traced, with `extra` flags: every
/// run's wall and processor time, and the last run's summary and trace.
pub(crate) fn run_chapter(
    chapter: &Chapter,
    workload: Workload,
    flags: &RunFlags,
    extra: &[&str],
    traces: &Path,
) -> Result<Run> {
    let mut samples = Vec::new();
    let mut last = None;
    for _ in 0..flags.runs {
        let before = children_cpu_time();
        let (summary, trace) = run_chapter_once(chapter, workload, flags, extra, traces)?;
        samples.push(Sample {
            wall_s: summary.wall_s,
            cpu: children_cpu_time().since(before),
        });
        last = Some((summary, trace));
    }
    let Some((summary, trace)) = last else {
        bail!("{} was run no time", chapter.name);
    };
    Ok(Run {
        summary,
        trace,
        samples,
    })
}

/// Runs `chapter` once on `workload`, traced, with `extra` flags.
fn run_chapter_once(
    chapter: &Chapter,
    workload: Workload,
    flags: &RunFlags,
    extra: &[&str],
    traces: &Path,
) -> Result<(Summary, Trace)> {
    let binary = chapters::binary_path(chapter.name)?;
    let name = format!(
        "{}-{}{}.json",
        chapter.name,
        workload.name(),
        extra.join("")
    );
    let trace_file = traces.join(name);
    let count = flags.count.to_string();
    let latency = format!("{}ms", flags.latency.as_secs_f64() * 1e3);
    let output = Command::new(&binary)
        .args(["--workload", workload.name(), "--json", "--quiet"])
        .args(["--count", &count, "--latency", &latency])
        .args(extra)
        .arg("--trace")
        .arg(&trace_file)
        .output()
        .with_context(|| format!("running {}", binary.display()))?;
    if output.status.code() == Some(2) {
        bail!(
            "{} could not run: {}",
            chapter.name,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let summary: Summary = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("reading the summary of {}", chapter.name))?;
    let trace = Trace::read(&trace_file)
        .with_context(|| format!("reading the trace {}", trace_file.display()))?;
    Ok((summary, trace))
}

/// `cargo run` builds only the `workbench` binary; the tour needs every chapter's. When
/// started by cargo (which sets `CARGO`), build them with the same profile.
pub(crate) fn ensure_chapters_built() -> Result<()> {
    let missing = chapters::ALL.iter().any(|c| {
        chapters::binary_path(c.name)
            .map(|p| !p.exists())
            .unwrap_or(true)
    });
    let Some(cargo) = std::env::var_os("CARGO") else {
        if missing {
            bail!("the chapter binaries are not built: run `cargo build --release --bins` first");
        }
        return Ok(());
    };
    let exe = std::env::current_exe()?;
    let release = exe.parent().is_some_and(|dir| dir.ends_with("release"));
    let mut build = Command::new(cargo);
    build.args(["build", "--bins", "--quiet"]);
    if release {
        build.arg("--release");
    }
    let status = build.status().context("building the chapter binaries")?;
    if !status.success() {
        bail!("building the chapter binaries failed");
    }
    Ok(())
}
