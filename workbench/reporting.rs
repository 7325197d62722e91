//! The report: criterion's results (after running the bench, if asked), a traced run
//! of every chapter, the Python sections, written as Markdown, HTML and JSON.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use workbench::chapters::{self};
use workbench::harness::workload::Workload;
use workbench::report::growth::{self, Growth, GrowthRow};
use workbench::report::python::{self, Plan, Venv};
use workbench::report::{Bench, Machine, Report, Run, Section};

use crate::RunFlags;
use crate::runs::{
    backpressure_runs, ensure_chapters_built, prepare_corpus, run_chapter, run_every_chapter,
};

/// The report: criterion's results (after running the bench, if asked) and a traced run
/// of every chapter.
pub(crate) fn report(
    flags: &RunFlags,
    out: &Path,
    criterion: Option<PathBuf>,
    bench: bool,
) -> Result<()> {
    if bench {
        run_bench()?;
    }
    ensure_chapters_built()?;
    let machine = Machine::this();
    let runs = run_every_chapter(flags, out)?;
    finish_report(flags, machine, runs, criterion, out)?;
    Ok(())
}

/// The backpressure runs, then the report on them and on `runs`; the path of
/// `report.html`.
pub(crate) fn finish_report(
    flags: &RunFlags,
    machine: Machine,
    runs: Vec<Run>,
    criterion: Option<PathBuf>,
    out: &Path,
) -> Result<PathBuf> {
    let backpressure = backpressure_runs(flags, out)?;
    write_report(
        flags,
        machine,
        runs,
        backpressure,
        &criterion_folder(criterion),
        out,
    )
}

/// Writes the report and says where; returns the path of `report.html`.
fn write_report(
    flags: &RunFlags,
    machine: Machine,
    runs: Vec<Run>,
    backpressure: Vec<(String, Run)>,
    criterion: &Path,
    out: &Path,
) -> Result<PathBuf> {
    let report = Report {
        workload: flags.workload,
        latency: flags.latency,
        runs,
        backpressure,
        bench: Bench::read(criterion),
        machine,
    };
    let plan = Plan {
        workloads: vec![flags.workload],
        count: flags.count,
        latency: flags.latency,
        repeats: 1,
    };
    let mut more = python_sections(&plan)?;
    more.push(growth::section(Growth::read(out).as_ref())?);
    let written = report
        .write_with(out, more)
        .with_context(|| format!("writing the report into {}", out.display()))?;
    for note in &written.notes {
        println!("note: {note}");
    }
    println!(
        "The report, with {} charts: {} and {}; every figure in {} and {} CSV files",
        written.charts.len(),
        written.html.display(),
        written.report.display(),
        written.results.display(),
        written.csvs.len()
    );
    Ok(written.html)
}

/// The Python sections: each Python program beside its chapter, and the GIL measured;
/// or, without the Python environment, one that says how to make it.
fn python_sections(plan: &Plan) -> Result<Vec<Section>> {
    let venv = Venv::of_this_build();
    if !venv.is_ready() {
        println!(
            "note: no Python rows: {} is missing; {}",
            venv.dir.display(),
            python::HOW_TO_SET_UP
        );
        return Ok(vec![python::missing_section(&venv)]);
    }
    println!("The Python programs beside their chapters, and the GIL on `cpu`:");
    let measured = python::measure(plan, &venv, |row| {
        println!("  {:<48} {:>7.2} s", row.label(), row.wall_s);
    })?;
    println!(
        "{}",
        python::gil_verdict(&measured.gil, Machine::this().cores)
    );
    Ok(python::sections(&measured, Machine::this().cores)?)
}

/// `workbench python compare`: the Python sections alone, as `python.md` and its charts.
pub(crate) fn write_python_comparison(plan: &Plan, folder: &Path) -> Result<()> {
    write_sections(&python_sections(plan)?, &folder.join("python.md"))
}

/// Writes `sections` on their own as the Markdown file `file`, their charts beside it.
fn write_sections(sections: &[Section], file: &Path) -> Result<()> {
    let folder = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    for chart in sections.iter().flat_map(|s| &s.charts) {
        let path = folder.join(&chart.file);
        workbench::platform::write_atomically(&path, chart.svg.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let markdown: String = sections.iter().map(Section::markdown).collect();
    workbench::platform::write_atomically(file, markdown.as_bytes())
        .with_context(|| format!("writing {}", file.display()))?;
    println!("{}", file.display());
    Ok(())
}

/// Criterion's results: `criterion` in the cargo target folder this binary was built
/// into, unless given.
pub(crate) fn criterion_folder(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| {
        let exe = std::env::current_exe().unwrap_or_default();
        exe.ancestors()
            .find(|dir| dir.join("CACHEDIR.TAG").is_file())
            .map_or_else(
                || PathBuf::from("target/criterion"),
                |t| t.join("criterion"),
            )
    })
}

/// Runs the full criterion bench (needs cargo: run this through `cargo run`).
fn run_bench() -> Result<()> {
    let Some(cargo) = std::env::var_os("CARGO") else {
        bail!(
            "--bench needs cargo: run `cargo bench --bench chapters` first, or use `cargo run --release -- report --bench`"
        );
    };
    println!("Running `cargo bench --bench chapters` (about 15 minutes)...");
    let status = Command::new(cargo)
        .args(["bench", "--bench", "chapters"])
        .status()
        .context("running cargo bench")?;
    if !status.success() {
        bail!("`cargo bench --bench chapters` failed");
    }
    Ok(())
}

/// `workbench growth`: each of `names` once on `io` with each batch of `counts`; the
/// rows go to `growth.json` in `out`, for the report to draw.
pub(crate) fn measure_growth(
    out: &Path,
    counts: &[usize],
    names: &[String],
    latency: Duration,
) -> Result<()> {
    ensure_chapters_built()?;
    // Not the tour's `traces/`: these runs would overwrite its `io` traces.
    let traces = out.join("growth-traces");
    std::fs::create_dir_all(&traces).with_context(|| format!("creating {}", traces.display()))?;
    let cores = Machine::this().cores;
    println!("How the cost grows with the batch, on `io`, on {cores} cores:");
    let mut rows = Vec::new();
    for &count in counts {
        prepare_corpus(Workload::Io, &Workload::Io.corpus(count))?;
        let flags = RunFlags {
            workload: Workload::Io,
            count,
            latency,
            runs: 1,
        };
        for name in names {
            let chapter = chapters::find(name).with_context(|| format!("no chapter {name}"))?;
            if let Some(why) = chapters::missing_program(chapter.name) {
                println!("  {name:<20} skipped: {why}");
                continue;
            }
            let run = run_chapter(chapter, Workload::Io, &flags, &[], &traces)?;
            let cpu = run.cpu().unwrap_or_default();
            let row = GrowthRow {
                chapter: chapter.name.to_string(),
                images: count,
                wall_s: run.summary.wall_s,
                cpu_s: cpu.user_s + cpu.system_s,
                peak_rss_mb: run.summary.peak_rss_mb,
                failed: run.summary.failed.len(),
            };
            println!(
                "  {:<20} {:>6} images {:>8.2} s {:>8.2} CPU s {:>6.0} MiB",
                row.chapter, row.images, row.wall_s, row.cpu_s, row.peak_rss_mb
            );
            rows.push(row);
        }
    }
    let growth = Growth {
        latency_ms: latency.as_secs_f64() * 1e3,
        cores,
        rows,
    };
    growth
        .write(out)
        .with_context(|| format!("writing {}", out.join(growth::FILE).display()))?;
    write_sections(&[growth::section(Some(&growth))?], &out.join("growth.md"))?;
    println!(
        "{}: the next report in {} draws it too",
        out.join(growth::FILE).display(),
        out.display()
    );
    Ok(())
}
