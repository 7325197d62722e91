//! `workbench`: the tour of every chapter, and the tools around them (the corpus
//! generator, the embedded store, timelines of any trace, the comparison of two
//! results).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use workbench::chapters::{self, Chapter};
use workbench::cli::{self, StoreFlags, corpus_folder, parse_duration};
use workbench::contract::Summary;
use workbench::exercises::{self, workspace::Workspace};
use workbench::harness::corpus::{self, CorpusSpec};
use workbench::harness::store;
use workbench::harness::workload::Workload;
use workbench::platform::children_cpu_time;
use workbench::report::compare::compare;
use workbench::report::growth::{self, Growth, GrowthRow};
use workbench::report::python::{self, Plan, Venv};
use workbench::report::{Bench, Machine, Report, Results, Run, Sample, Section, html, timeline};
use workbench::trace::Trace;

/// The chapter whose bounded channel the report's backpressure section shows.
const PIPELINE: &str = "ch09-pipeline";
/// The backpressure runs' batch, in multiples of the tour's.
const BACKPRESSURE_BATCH: usize = 3;

#[derive(Parser)]
#[command(
    name = "workbench",
    about = "One thumbnail maker, written once per concurrency pattern.",
    version = cli::version::VERSION,
    long_version = cli::version::LONG_VERSION
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Action>,
}

#[derive(Subcommand)]
enum Action {
    /// Run every chapter once, print the comparison table and write the report (the
    /// default).
    Tour {
        #[command(flatten)]
        report: ReportFlags,
    },
    /// Write the report: criterion's results (from `cargo bench --bench chapters`) and a
    /// traced run of every chapter, as report.md and SVG charts.
    Report {
        #[command(flatten)]
        report: ReportFlags,
        /// Run `cargo bench --bench chapters` first (about 15 minutes).
        #[arg(long)]
        bench: bool,
    },
    /// How the cost grows with the batch: a few chapters on `io` with 48, 480 and 4,800
    /// images (several minutes), into growth.json, which the report then draws.
    Growth {
        /// The report's folder, where growth.json goes.
        #[arg(long, default_value = "reports/local")]
        out: PathBuf,
        /// The batches, in images.
        #[arg(long, value_delimiter = ',', default_values_t = growth::COUNTS)]
        counts: Vec<usize>,
        /// The chapters.
        #[arg(long, value_delimiter = ',', default_values_t = growth::CHAPTERS.map(String::from))]
        chapters: Vec<String>,
        /// The embedded store's latency: short, so that ch00's 4,800 images take a
        /// minute or two, not a quarter of an hour.
        #[arg(long, default_value = "5ms", value_parser = parse_duration)]
        latency: Duration,
    },
    /// Where the CPU step's time goes: the kernel bench's pictures made into thumbnails
    /// on one thread, the decode, resizes and encodes timed apart (a few seconds), into
    /// profile.svg and profile.md.
    Profile {
        /// The folder the chart and the table go to.
        #[arg(long, default_value = "reports/local")]
        out: PathBuf,
        /// Runs per picture; each piece's median is taken over them.
        #[arg(long, default_value_t = 50)]
        rounds: usize,
    },
    /// Draw traces (written by any chapter's `--trace`) as a timeline; several are drawn
    /// one under another on one time axis. Or convert one to the Trace Event Format.
    Timeline {
        /// The traces to draw.
        #[arg(required = true, value_name = "TRACE.json")]
        traces: Vec<PathBuf>,
        /// The drawing: FILE.svg, or FILE.html (a page holding the SVG) [default: the
        /// first trace's name with .svg].
        #[arg(short, long, value_name = "FILE.svg|FILE.html")]
        out: Option<PathBuf>,
        /// Write the trace in the Trace Event Format to this file instead, for
        /// ui.perfetto.dev or chrome://tracing (one trace only).
        #[arg(long, value_name = "OUT.json", conflicts_with = "out")]
        chrome_trace: Option<PathBuf>,
    },
    /// Compare two results.json (two machines, two commits, before and after a change):
    /// the ratio of every median, significant only when their intervals do not overlap.
    Compare {
        /// The earlier results.json (or the folder holding it).
        old: PathBuf,
        /// The later results.json (or the folder holding it).
        new: PathBuf,
        /// Print JSON instead of a Markdown table.
        #[arg(long)]
        json: bool,
    },
    /// Generate a seeded corpus of photo-like images.
    Corpus {
        /// What to generate.
        #[command(flatten)]
        spec: CorpusSpec,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Add the real-photo samples: a JPEG for each EXIF orientation, a Display P3
        /// photo, WebP files and a GIF.
        #[arg(long)]
        photos: bool,
    },
    /// Serve a folder as an object store on 127.0.0.1 (GET, HEAD, PUT, listing).
    Serve {
        /// The folder to serve; PUT writes into it.
        #[arg(long)]
        root: PathBuf,
        /// Port (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Accept connections and never answer (to see client timeouts).
        #[arg(long)]
        stall: bool,
        /// Speak HTTPS with this PEM certificate (see `workbench cert`).
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Latency, bandwidth, failures, connection cap.
        #[command(flatten)]
        knobs: StoreFlags,
    },
    /// Write a self-signed certificate for localhost and 127.0.0.1 (cert.pem, key.pem)
    /// into a folder, to try HTTPS: `serve --tls-cert DIR/cert.pem --tls-key
    /// DIR/key.pem`, and a chapter with `--ca-cert DIR/cert.pem`.
    Cert {
        /// The folder to write cert.pem and key.pem into.
        dir: PathBuf,
    },
    /// The classroom: list, check, hint, reset or watch the exercises in `exercises/`.
    Exercises {
        #[command(subcommand)]
        command: exercises::command::Command,
    },
    /// The Python programs in `python/`: their environment, and their workloads.
    Python {
        #[command(subcommand)]
        action: PythonAction,
    },
}

/// What `workbench python` does.
#[derive(Subcommand)]
enum PythonAction {
    /// Create the virtual environment (`python-venv` in the target folder) from the
    /// pinned `python/requirements.txt`.
    Setup,
    /// Run every Python program beside its chapter on every workload, and the GIL
    /// measurement, into `python.md` and its charts.
    Compare {
        /// Folder for python.md and its charts.
        #[arg(long, default_value = "reports/local")]
        out: PathBuf,
        /// Images per run.
        #[arg(long, default_value_t = 48)]
        count: usize,
        /// The embedded store's latency.
        #[arg(long, default_value = "50ms", value_parser = parse_duration)]
        latency: Duration,
        /// Runs of each program; the median is kept.
        #[arg(long, default_value_t = 3)]
        repeat: usize,
    },
    /// Prepare a workload for one Python run and serve it until standard input closes
    /// (the programs start this themselves when given `--workload`).
    Stage {
        /// The Python program (`py-ch00-sequential`): names the output on `mixed`.
        #[arg(long)]
        chapter: String,
        /// The workload.
        #[arg(long, value_enum)]
        workload: Workload,
        /// Images in the corpus.
        #[arg(long, default_value_t = 48)]
        count: usize,
        /// Latency, bandwidth, failures, connection cap.
        #[command(flatten)]
        knobs: StoreFlags,
    },
}

/// Where the tour and the report write, and how they run the chapters.
#[derive(Debug, Clone, clap::Args)]
struct ReportFlags {
    #[command(flatten)]
    runs: RunFlags,
    /// Folder for the report (report.md, charts) and the traces.
    #[arg(long, default_value = "reports/local")]
    out: PathBuf,
    /// Criterion's results folder [default: `criterion` in the target folder].
    #[arg(long)]
    criterion: Option<PathBuf>,
}

/// How the tour and the report run the chapters.
#[derive(Debug, Clone, clap::Args)]
struct RunFlags {
    /// The workload every chapter runs.
    #[arg(long, value_enum, default_value_t = Workload::Mixed)]
    workload: Workload,
    /// Images per run.
    #[arg(long, default_value_t = 48)]
    count: usize,
    /// The embedded store's latency.
    #[arg(long, default_value = "50ms", value_parser = parse_duration)]
    latency: Duration,
    /// Runs of each chapter: their mean, spread and median are reported.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
}

impl Default for RunFlags {
    fn default() -> Self {
        RunFlags {
            workload: Workload::Mixed,
            count: 48,
            latency: Duration::from_millis(50),
            runs: 3,
        }
    }
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        None => tour(&RunFlags::default(), Path::new("reports/local"), None),
        Some(Action::Tour { report: flags }) => tour(&flags.runs, &flags.out, flags.criterion),
        Some(Action::Report {
            report: flags,
            bench,
        }) => report(&flags.runs, &flags.out, flags.criterion, bench),
        Some(Action::Corpus { spec, out, photos }) => make_corpus(spec, out, photos),
        Some(Action::Timeline {
            traces,
            out,
            chrome_trace,
        }) => draw_timeline(&traces, out, chrome_trace),
        Some(Action::Compare { old, new, json }) => compare_results(&old, &new, json),
        Some(Action::Growth {
            out,
            counts,
            chapters,
            latency,
        }) => measure_growth(&out, &counts, &chapters, latency),
        Some(Action::Profile { out, rounds }) => profile(&out, rounds),
        Some(Action::Exercises { command }) => {
            let classroom = Workspace::new(env!("CARGO_MANIFEST_DIR"));
            return exercises::command::run(command, &classroom);
        }
        Some(Action::Serve {
            root,
            port,
            stall,
            tls_cert,
            tls_key,
            knobs,
        }) => {
            let mut config = knobs.config(root);
            config.port = port;
            config.stall = stall;
            config.tls = tls_cert
                .zip(tls_key)
                .map(|(cert, key)| store::TlsFiles { cert, key });
            store::serve_until_ctrl_c(config).context("the store stopped")
        }
        Some(Action::Cert { dir }) => store::write_self_signed(&dir)
            .map(|files| println!("wrote {} and {}", files.cert.display(), files.key.display()))
            .context("cannot make a self-signed certificate"),
        Some(Action::Python { action }) => python(action),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("workbench: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// `workbench profile`: times the CPU step's pieces, prints the table and writes it
/// with its chart.
fn profile(out: &Path, rounds: usize) -> Result<()> {
    let profile = workbench::report::profile::measure(rounds)?;
    profile.write(out)?;
    print!("{}", profile.table().markdown());
    println!(
        "{} runs per picture, one core: {} and {} in {}",
        profile.rounds,
        workbench::report::profile::CHART,
        workbench::report::profile::TABLE,
        out.display()
    );
    Ok(())
}

/// `workbench timeline`: draws traces as SVG or HTML, or converts one to the Trace
/// Event Format.
fn draw_timeline(paths: &[PathBuf], out: Option<PathBuf>, chrome: Option<PathBuf>) -> Result<()> {
    let traces = paths
        .iter()
        .map(|path| {
            Trace::read(path).with_context(|| {
                format!(
                    "{} is not a trace written by a chapter's --trace (nor in its format)",
                    path.display()
                )
            })
        })
        .collect::<Result<Vec<Trace>>>()?;
    if let Some(chrome) = chrome {
        let [trace] = &traces[..] else {
            bail!(
                "--chrome-trace converts one trace; {} were given",
                traces.len()
            );
        };
        trace
            .write_chrome(&chrome)
            .with_context(|| format!("writing {}", chrome.display()))?;
        println!(
            "{}: {} spans in the Trace Event Format; open it at https://ui.perfetto.dev or in chrome://tracing",
            chrome.display(),
            trace.spans.len()
        );
        return Ok(());
    }
    let out = out.unwrap_or_else(|| paths[0].with_extension("svg"));
    let drawn: Vec<&Trace> = traces.iter().collect();
    let svg = timeline::draw(&drawn);
    let text = match out.extension().and_then(|e| e.to_str()) {
        Some("svg") => svg,
        Some("html") => {
            let titles: Vec<String> = traces.iter().map(timeline::title).collect();
            html::page(&titles.join("; "), &svg)
        }
        _ => bail!("{}: the drawing must end in .svg or .html", out.display()),
    };
    workbench::platform::write_atomically(&out, text.as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    let chapters: Vec<&str> = traces.iter().map(|t| t.chapter.as_str()).collect();
    match chapters[..] {
        [one] => println!("{}: the timeline of {one}", out.display()),
        _ => println!(
            "{}: {} timelines on one time axis ({})",
            out.display(),
            chapters.len(),
            chapters.join(", ")
        ),
    }
    Ok(())
}

fn python(action: PythonAction) -> Result<()> {
    match action {
        PythonAction::Setup => {
            let venv = Venv::of_this_build();
            venv.create().context("creating the Python environment")?;
            println!("The Python environment is ready: {}", venv.dir.display());
        }
        PythonAction::Compare {
            out,
            count,
            latency,
            repeat,
        } => {
            ensure_chapters_built()?;
            let plan = Plan {
                workloads: Workload::ALL.to_vec(),
                count,
                latency,
                repeats: repeat,
            };
            write_python_comparison(&plan, &out)?;
        }
        PythonAction::Stage {
            chapter,
            workload,
            count,
            knobs,
        } => cli::python::stage(&chapter, workload, count, &knobs)?,
    }
    Ok(())
}

/// `workbench compare`: two results.json as a table of ratios.
fn compare_results(old: &Path, new: &Path, json: bool) -> Result<()> {
    let before = Results::read(old)?;
    let after = Results::read(new)?;
    let found = compare(&before, &after);
    if json {
        println!("{}", serde_json::to_string_pretty(&found)?);
    } else {
        print!(
            "{}",
            found.markdown(&old.display().to_string(), &new.display().to_string())
        );
    }
    Ok(())
}

fn make_corpus(spec: CorpusSpec, out: PathBuf, photos: bool) -> Result<()> {
    let mut files = corpus::generate(&spec, &out)
        .with_context(|| format!("generating into {}", out.display()))?;
    if photos {
        files.extend(
            corpus::write_samples(&spec, &out)
                .with_context(|| format!("writing samples into {}", out.display()))?,
        );
    }
    println!("{} images in {}", files.len(), out.display());
    Ok(())
}

/// The tour: every chapter on the workload, the comparison table, and the report.
fn tour(flags: &RunFlags, out: &Path, criterion: Option<PathBuf>) -> Result<()> {
    ensure_chapters_built()?;
    let machine = Machine::this();
    println!(
        "The tour: every chapter {} time(s) on the `{}` workload ({} images); this machine has {} cores.",
        flags.runs,
        flags.workload.name(),
        flags.count,
        machine.cores
    );
    prepare_corpora(flags)?;
    println!(
        "\nOverlap, in the last column, is the time spent working (download, resize, upload) \
         summed over every worker, divided by the wall time: 1 means one thing at a time, 10 \
         means ten at once.\n"
    );
    let runs = run_every_chapter(flags, out)?;
    println!("{}", table(&runs));
    let backpressure = backpressure_runs(flags, out)?;
    let report = write_report(
        flags,
        machine,
        runs,
        backpressure,
        &criterion_folder(criterion),
        out,
    )?;
    let example = out.join("traces").join(format!(
        "{}-{}.json",
        chapters::ALL.last().map_or("ch00-sequential", |c| c.name),
        flags.workload.name()
    ));
    println!(
        "\nNext:\n  open {} in a browser (charts, tables, and what they show)\n  \
         draw a run of your own:\n    cargo run --release --bin ch04-thread-pool -- --trace my-run.json\n    \
         cargo run --release -- timeline my-run.json -o my-run.svg\n  \
         or one of the tour's, with another beside it: cargo run --release -- timeline {} {}",
        report.display(),
        out.join("traces")
            .join(format!("ch00-sequential-{}.json", flags.workload.name()))
            .display(),
        example.display()
    );
    Ok(())
}

/// Generates the corpora the tour runs on before the first chapter does, saying so: on a
/// first run this takes from seconds to a minute, and silence would look like a hang.
fn prepare_corpora(flags: &RunFlags) -> Result<()> {
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
fn prepare_corpus(workload: Workload, spec: &CorpusSpec) -> Result<()> {
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

/// `workbench growth`: each of `names` once on `io` with each batch of `counts`; the
/// rows go to `growth.json` in `out`, for the report to draw.
fn measure_growth(out: &Path, counts: &[usize], names: &[String], latency: Duration) -> Result<()> {
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

/// The report: criterion's results (after running the bench, if asked) and a traced run
/// of every chapter.
fn report(flags: &RunFlags, out: &Path, criterion: Option<PathBuf>, bench: bool) -> Result<()> {
    if bench {
        run_bench()?;
    }
    ensure_chapters_built()?;
    let machine = Machine::this();
    let runs = run_every_chapter(flags, out)?;
    let backpressure = backpressure_runs(flags, out)?;
    write_report(
        flags,
        machine,
        runs,
        backpressure,
        &criterion_folder(criterion),
        out,
    )?;
    Ok(())
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
fn write_python_comparison(plan: &Plan, folder: &Path) -> Result<()> {
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

/// Runs every chapter once, traced, with a progress display; traces go to `out/traces/`.
fn run_every_chapter(flags: &RunFlags, out: &Path) -> Result<Vec<Run>> {
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
fn table(runs: &[Run]) -> String {
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
fn backpressure_runs(flags: &RunFlags, out: &Path) -> Result<Vec<(String, Run)>> {
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
fn run_chapter(
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

/// Criterion's results: `criterion` in the cargo target folder this binary was built
/// into, unless given.
fn criterion_folder(given: Option<PathBuf>) -> PathBuf {
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

/// `cargo run` builds only the `workbench` binary; the tour needs every chapter's. When
/// started by cargo (which sets `CARGO`), build them with the same profile.
fn ensure_chapters_built() -> Result<()> {
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
