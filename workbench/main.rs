//! `workbench`: the tour of every chapter, and the tools around them (the corpus
//! generator, the embedded store, timelines of any trace, the comparison of two
//! results).
//!
//! This file holds the commands and their flags; running the chapters is in `runs.rs`,
//! the report in `reporting.rs`. The work itself is the library's (`src/`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use workbench::chapters::{self};
use workbench::cli::{self, StoreFlags, parse_duration};
use workbench::exercises::{self, workspace::Workspace};
use workbench::harness::corpus::{self, CorpusSpec};
use workbench::harness::store;
use workbench::harness::workload::Workload;
use workbench::report::compare::compare;
use workbench::report::growth::{self};
use workbench::report::python::{Plan, Venv};
use workbench::report::{Machine, Results, html, timeline};
use workbench::trace::Trace;

mod reporting;
mod runs;

use reporting::{finish_report, measure_growth, report, write_python_comparison};
use runs::{ensure_chapters_built, prepare_corpora, run_every_chapter, table};

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
pub(crate) struct RunFlags {
    /// The workload every chapter runs.
    #[arg(long, value_enum, default_value_t = Workload::Mixed)]
    pub(crate) workload: Workload,
    /// Images per run.
    #[arg(long, default_value_t = 48)]
    pub(crate) count: usize,
    /// The embedded store's latency.
    #[arg(long, default_value = "50ms", value_parser = parse_duration)]
    pub(crate) latency: Duration,
    /// Runs of each chapter: their mean, spread and median are reported.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) runs: u32,
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
            // Every request's body passes through buffers of the same few sizes: kept,
            // not handed back to the system after each one (a run of ch09 on `mixed`
            // cost the store 800 page faults, now 130).
            workbench::platform::keep_freed_memory();
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
    let report = finish_report(flags, machine, runs, criterion, out)?;
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
