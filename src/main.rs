//! `workbench`: the tour of every chapter, and the tools around them (the corpus
//! generator and the embedded store).

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use workbench::chapters::{self, Chapter};
use workbench::cli::{Workload, parse_bytes, parse_duration};
use workbench::corpus::{self, CorpusSpec};
use workbench::job::Summary;
use workbench::server::{self, StoreConfig};

#[derive(Parser)]
#[command(
    name = "workbench",
    about = "One thumbnail maker, written once per concurrency pattern."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Action>,
}

#[derive(Subcommand)]
enum Action {
    /// Run every chapter on each workload and compare them (the default).
    Tour {
        /// The workloads to run.
        #[arg(long, value_enum, value_delimiter = ',', default_values_t = Workload::ALL)]
        workloads: Vec<Workload>,
        /// Folder for the traces of every run.
        #[arg(long, default_value = "out/tour")]
        out: PathBuf,
    },
    /// Generate a seeded corpus of photo-like images.
    Corpus {
        /// How many images.
        #[arg(long, default_value_t = 48)]
        count: usize,
        /// How many of them are PNG (the last ones).
        #[arg(long, default_value_t = 4)]
        png: usize,
        /// The seed: the same seed gives byte-identical files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Image width.
        #[arg(long, default_value_t = 1920)]
        width: u32,
        /// Image height.
        #[arg(long, default_value_t = 1280)]
        height: u32,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Serve a folder as an object store on 127.0.0.1 (GET, HEAD, PUT, listing).
    Serve {
        /// The folder to serve; PUT writes into it.
        #[arg(long)]
        root: PathBuf,
        /// Port (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Wait before the first byte of every answer.
        #[arg(long, default_value = "50ms", value_parser = parse_duration)]
        latency: Duration,
        /// Bytes per second per connection (`500K`, `2M`).
        #[arg(long, value_parser = parse_bytes)]
        bandwidth: Option<u64>,
        /// The share of objects that answer 503.
        #[arg(long, default_value_t = 0.0)]
        fail_rate: f64,
        /// The seed that picks which objects fail.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// At most this many connections served at once.
        #[arg(long)]
        max_conns: Option<usize>,
        /// Accept connections and never answer (to see client timeouts).
        #[arg(long)]
        stall: bool,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        None => tour(&Workload::ALL, &PathBuf::from("out/tour")),
        Some(Action::Tour { workloads, out }) => tour(&workloads, &out),
        Some(Action::Corpus {
            count,
            png,
            seed,
            width,
            height,
            out,
        }) => make_corpus(
            CorpusSpec {
                count,
                png,
                seed,
                width,
                height,
            },
            out,
        ),
        Some(Action::Serve {
            root,
            port,
            latency,
            bandwidth,
            fail_rate,
            seed,
            max_conns,
            stall,
        }) => {
            let mut config = StoreConfig::new(root);
            config.port = port;
            config.latency = latency;
            config.bandwidth = bandwidth;
            config.fail_rate = fail_rate;
            config.seed = seed;
            config.max_conns = max_conns;
            config.stall = stall;
            server::serve_until_ctrl_c(config).context("the store stopped")
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("workbench: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn make_corpus(spec: CorpusSpec, out: PathBuf) -> Result<()> {
    let files = corpus::generate(&spec, &out)
        .with_context(|| format!("generating into {}", out.display()))?;
    println!("{} images in {}", files.len(), out.display());
    Ok(())
}

/// Runs every chapter on every workload, one after the other, and prints a table.
fn tour(workloads: &[Workload], out: &PathBuf) -> Result<()> {
    ensure_chapters_built()?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    println!(
        "The tour: every chapter on {} workload(s); this machine has {} cores.\n",
        workloads.len(),
        cores()
    );
    for &workload in workloads {
        println!("workload {}", workload.name());
        println!(
            "  {:<22} {:>8} {:>10} {:>8} {:>7}",
            "chapter", "wall s", "images/s", "overlap", "failed"
        );
        let mut baseline = None;
        for chapter in chapters::ALL {
            let summary = run_chapter(chapter, workload, out)?;
            let speedup = *baseline.get_or_insert(summary.wall_s) / summary.wall_s.max(1e-9);
            println!(
                "  {:<22} {:>8.2} {:>10.1} {:>8.2} {:>7}   {:.1}x ch00",
                chapter.name,
                summary.wall_s,
                summary.images_per_second(),
                summary.overlap,
                summary.failed.len(),
                speedup
            );
        }
        println!();
    }
    println!("Traces are in {}.", out.display());
    Ok(())
}

fn run_chapter(chapter: &Chapter, workload: Workload, out: &std::path::Path) -> Result<Summary> {
    let binary = chapters::binary_path(chapter.name)?;
    let trace = out.join(format!("{}-{}.json", chapter.name, workload.name()));
    let output = Command::new(&binary)
        .args([
            "--workload",
            workload.name(),
            "--json",
            "--quiet",
            "--trace",
        ])
        .arg(&trace)
        .output()
        .with_context(|| format!("running {}", binary.display()))?;
    if output.status.code() == Some(2) {
        bail!(
            "{} could not run: {}",
            chapter.name,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_slice(&output.stdout)
        .with_context(|| format!("reading the summary of {}", chapter.name))
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

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
