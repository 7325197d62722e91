//! The flags every chapter shares, the workloads, and the driver that runs a chapter:
//! parse the flags, prepare the source and the output, hand the [`Job`] to the chapter,
//! then print the summary and write the trace.
//!
//! A chapter's `main` is one call:
//!
//! ```no_run
//! # use workbench::{cli, job::{Job, Outcome}};
//! fn main() -> std::process::ExitCode {
//!     cli::run("ch00-sequential", |job: &Job, _: &cli::NoFlags| {
//!         job.images().iter().map(|image| job.process(image)).collect::<Vec<Outcome>>()
//!     })
//! }
//! ```

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::corpus::{self, CorpusSpec};
use crate::job::{Failure, ImageError, Job, JobSpec, Outcome, Sizes, Summary};
use crate::kernel::DEFAULT_MAX_PIXELS;
use crate::s3::S3Flags;
use crate::server::{RunningStore, StoreConfig};
use crate::store::{HttpClient, HttpConfig, Output, SetupError, Source};
use crate::trace::{Trace, now_us};

/// The flags every chapter has.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Where the images come from: a folder, a file of URLs (one per line), or an HTTP
    /// prefix that lists its objects. Without it, the default corpus is served by the
    /// embedded store.
    #[arg(long, value_name = "FOLDER|FILE|URL")]
    pub source: Option<String>,

    /// Where the thumbnails go: a folder, or an HTTP prefix that accepts PUT (by
    /// default, the folder out/CHAPTER/).
    #[arg(long, value_name = "FOLDER|URL")]
    pub out: Option<String>,

    /// A ready-made workload (used when --source is not given): `cpu` reads the corpus
    /// from a folder; `io` serves small images with latency; `mixed` serves full-size
    /// images with latency and PUTs the thumbnails back.
    #[arg(long, value_enum)]
    pub workload: Option<Workload>,

    /// Thumbnail widths, in pixels.
    #[arg(long, default_value_t = Sizes::default())]
    pub sizes: Sizes,

    /// Write every span (worker, image, phase, start, end) to this JSON file.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,

    /// Print the summary as one line of JSON.
    #[arg(long)]
    pub json: bool,

    /// No progress bar, and only failures and the summary.
    #[arg(long)]
    pub quiet: bool,

    /// Connect and read timeout of every transfer (`500ms`, `10s`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Images whose header declares more pixels than this are refused unread.
    #[arg(long, default_value_t = DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,

    /// The largest image accepted, in bytes.
    #[arg(long, default_value_t = HttpConfig::default().max_bytes)]
    pub max_bytes: u64,

    /// The embedded store's knobs, used when it serves the corpus.
    #[command(flatten)]
    pub store: StoreFlags,

    /// Credentials and endpoint for `s3://` sources and outputs.
    #[command(flatten)]
    pub s3: S3Flags,
}

/// The embedded store's knobs, and the corpus it serves.
#[derive(Debug, Clone, Args)]
pub struct StoreFlags {
    /// Embedded store: wait before the first byte of every answer.
    #[arg(long, default_value = "50ms", value_parser = parse_duration)]
    pub latency: Duration,

    /// Embedded store: bytes per second per connection (`500K`, `2M`).
    #[arg(long, value_parser = parse_bytes)]
    pub bandwidth: Option<u64>,

    /// Embedded store: the share of images that answer 503 (chosen by --fail-seed).
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,

    /// Embedded store: the seed that picks which images fail.
    #[arg(long, default_value_t = 0)]
    pub fail_seed: u64,

    /// Embedded store: at most this many connections served at once.
    #[arg(long)]
    pub max_conns: Option<usize>,

    /// Images in the generated corpus.
    #[arg(long, default_value_t = 48)]
    pub count: usize,
}

/// A chapter with no flags of its own.
#[derive(Debug, Clone, Default, Args)]
pub struct NoFlags {}

/// The workloads the tour and the bench run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// Folder in, folder out, no network: the CPU step dominates.
    Cpu,
    /// Small images from the embedded store with latency: waiting dominates.
    Io,
    /// Full-size images from the embedded store, thumbnails PUT back: the realistic case.
    Mixed,
}

impl Workload {
    /// Every workload, in report order.
    pub const ALL: [Workload; 3] = [Workload::Cpu, Workload::Io, Workload::Mixed];

    /// The workload's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Cpu => "cpu",
            Workload::Io => "io",
            Workload::Mixed => "mixed",
        }
    }

    /// The corpus the workload uses, with `count` images.
    pub fn corpus(self, count: usize) -> CorpusSpec {
        let spec = match self {
            Workload::Io => CorpusSpec::small(),
            Workload::Cpu | Workload::Mixed => CorpusSpec::default_photos(),
        };
        CorpusSpec {
            count,
            png: spec.png.min(count),
            ..spec
        }
    }
}

/// Parses `250ms`, `2s`, `1.5s`, `1m`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (try 50ms or 2s)"))?;
    Duration::try_from_secs_f64(value * scale).map_err(|_| format!("'{text}' is not a duration"))
}

/// Parses a byte count with an optional `K`, `M` or `G` suffix (powers of 1024).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, scale) = match text.char_indices().last() {
        Some((i, 'K' | 'k')) => (&text[..i], 1u64 << 10),
        Some((i, 'M' | 'm')) => (&text[..i], 1 << 20),
        Some((i, 'G' | 'g')) => (&text[..i], 1 << 30),
        _ => (text, 1),
    };
    let value: u64 = number
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a byte count (try 500K or 2M)"))?;
    Ok(value.saturating_mul(scale))
}

/// The flags of a chapter: the common ones and the chapter's own (`F`).
#[derive(Debug, Parser)]
struct ChapterCli<F: Args> {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    chapter: F,
}

/// Parses the command line of `chapter`: the common flags and the chapter's own.
/// On a bad flag it prints the error and exits with code 2.
pub fn parse<F: Args>(chapter: &str) -> (Common, F) {
    let about = crate::chapters::find(chapter).map_or("", |c| c.pattern);
    let matches = ChapterCli::<F>::command()
        .name(chapter.to_string())
        .about(about)
        .get_matches();
    match ChapterCli::<F>::from_arg_matches(&matches) {
        Ok(cli) => (cli.common, cli.chapter),
        Err(error) => error.exit(),
    }
}

/// Runs a chapter: parses its flags, prepares the job, calls `schedule` with the job and
/// the chapter's flags, then reports. `schedule` is the chapter: it must return one
/// outcome per image of `job.images()`, in any order.
///
/// Exit code: 0 when every image succeeded, 1 when some failed, 2 when the run could not
/// start (a bad flag, an unreadable or empty source, an unwritable output).
pub fn run<F: Args>(chapter: &str, schedule: impl FnOnce(&Job, &F) -> Vec<Outcome>) -> ExitCode {
    let (common, flags) = parse::<F>(chapter);
    run_with(chapter, &common, |job| schedule(job, &flags))
}

/// [`run`] with flags already parsed (for chapters that look at their arguments first).
pub fn run_with(
    chapter: &str,
    common: &Common,
    schedule: impl FnOnce(&Job) -> Vec<Outcome>,
) -> ExitCode {
    match drive(chapter, common, schedule) {
        Ok(summary) if summary.failed.is_empty() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(error) => {
            eprintln!("{chapter}: {error}");
            ExitCode::from(2)
        }
    }
}

/// Where a run reads and writes, and the embedded store when one serves the corpus (it
/// stops when this is dropped).
pub struct Setup {
    /// The images' source.
    pub source: Source,
    /// The thumbnails' destination.
    pub output: Output,
    /// The embedded store, when the run started one.
    pub store: Option<RunningStore>,
}

/// Prepares the source and the output the flags describe, generating the corpus and
/// starting the embedded store when no `--source` is given.
pub fn setup(chapter: &str, common: &Common) -> Result<Setup, SetupError> {
    let out_folder = || Output::Folder(Path::new("out").join(chapter));
    let chosen_output = common
        .out
        .as_deref()
        .map(|out| Output::parse(out, &common.s3))
        .transpose()?;
    if let Some(source) = &common.source {
        return Ok(Setup {
            source: Source::parse(source, &common.s3)?,
            output: chosen_output.unwrap_or_else(out_folder),
            store: None,
        });
    }
    let workload = common.workload;
    let spec = workload
        .unwrap_or(Workload::Mixed)
        .corpus(common.store.count);
    let corpus_dir = corpus_folder(&spec)?;
    if workload == Some(Workload::Cpu) {
        return Ok(Setup {
            source: Source::Folder(corpus_dir),
            output: chosen_output.unwrap_or_else(out_folder),
            store: None,
        });
    }
    let flags = &common.store;
    let mut config = StoreConfig::new(&corpus_dir);
    config.latency = flags.latency;
    config.bandwidth = flags.bandwidth;
    config.fail_rate = flags.fail_rate;
    config.seed = flags.fail_seed;
    config.max_conns = flags.max_conns;
    let store = RunningStore::start(config)
        .map_err(|e| SetupError::Other(format!("cannot start the embedded store: {e}")))?;
    let output = match (chosen_output, workload) {
        (Some(output), _) => output,
        (None, Some(Workload::Mixed)) => Output::Http(format!("{}thumbs/{chapter}/", store.url())),
        (None, _) => out_folder(),
    };
    Ok(Setup {
        source: Source::Listing(store.url().to_string()),
        output,
        store: Some(store),
    })
}

/// The folder holding the corpus `spec`, generated on first use into the cache.
pub fn corpus_folder(spec: &CorpusSpec) -> Result<PathBuf, SetupError> {
    let root = cache_root();
    let files = corpus::cached(spec, &root).map_err(|e| {
        SetupError::Other(format!(
            "cannot prepare the corpus in {}: {e}",
            root.display()
        ))
    })?;
    files
        .first()
        .and_then(|file| file.parent())
        .map(Path::to_path_buf)
        .ok_or_else(|| SetupError::Other("the corpus is empty: --count must be at least 1".into()))
}

/// Where generated corpora are cached: `$WORKBENCH_CACHE`, else `corpus/` in the cargo
/// target folder the running binary was built into, else the system's temporary folder.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("WORKBENCH_CACHE") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(|target| target.join("corpus"))
        .unwrap_or_else(|| std::env::temp_dir().join("thumbnail-workbench-corpus"))
}

/// Prepares, runs and reports one chapter; the summary, or why the run could not start.
pub fn drive(
    chapter: &str,
    common: &Common,
    schedule: impl FnOnce(&Job) -> Vec<Outcome>,
) -> Result<Summary, SetupError> {
    let setup = setup(chapter, common)?;
    let http = HttpConfig {
        timeout: common.timeout,
        max_bytes: common.max_bytes,
    };
    let client = HttpClient::new(&http);
    let (images, refused) = setup.source.images(&client)?;
    setup.output.prepare(&client)?;
    let spec = JobSpec {
        sizes: common.sizes.clone(),
        output: setup.output.clone(),
        http,
        max_pixels: common.max_pixels,
    };
    let progress = progress_bar(images.len() as u64, common.quiet || common.json);
    let job = Job::new(spec, images, progress.clone());
    crate::job::set_quiet(common.quiet);

    let start_us = now_us();
    let outcomes = schedule(&job);
    let end_us = now_us();
    progress.finish_and_clear();

    let trace = Trace {
        chapter: chapter.to_string(),
        start_us,
        end_us,
        spans: job.tracer().spans(),
    };
    if let Some(path) = &common.trace {
        trace.write(path).map_err(|e| {
            SetupError::Other(format!("cannot write the trace {}: {e}", path.display()))
        })?;
    }
    let outcomes = account_for_every_image(job.images(), refused, outcomes);
    let mut summary = summarise(chapter, &outcomes, &trace);
    summary.peak_rss_mb += job.workers_peak_rss_mb();
    if common.json {
        println!("{}", serde_json::to_string(&summary).unwrap_or_default());
    } else {
        print!("{summary}");
        if !common.quiet {
            println!("  thumbnails in {}", setup.output);
        }
    }
    Ok(summary)
}

/// Puts the outcomes in input order, with the refused entries first, and marks every
/// image the chapter never reported as lost, so that a buggy chapter cannot hide an image.
fn account_for_every_image(
    images: &[crate::job::Image],
    refused: Vec<Outcome>,
    outcomes: Vec<Outcome>,
) -> Vec<Outcome> {
    let mut by_stem: HashMap<String, Outcome> = outcomes
        .into_iter()
        .map(|o| (o.image.stem.clone(), o))
        .collect();
    let mut all = refused;
    for image in images {
        all.push(by_stem.remove(&image.stem).unwrap_or_else(|| Outcome {
            image: image.clone(),
            result: Err(ImageError::Lost),
        }));
    }
    all
}

/// The summary of a run from its outcomes and its trace.
pub fn summarise(chapter: &str, outcomes: &[Outcome], trace: &Trace) -> Summary {
    let figures = trace.figures();
    let failed = outcomes
        .iter()
        .filter_map(|o| match &o.result {
            Err(error) => Some(Failure {
                source: o.image.source.clone(),
                error: error.to_string(),
            }),
            Ok(_) => None,
        })
        .collect();
    Summary {
        chapter: chapter.to_string(),
        images: outcomes.len(),
        thumbnails: outcomes
            .iter()
            .filter_map(|o| o.result.as_ref().ok())
            .map(Vec::len)
            .sum(),
        failed,
        wall_s: figures.wall_s,
        download_s: figures.download_s,
        resize_s: figures.resize_s,
        upload_s: figures.upload_s,
        overlap: figures.overlap,
        peak_rss_mb: peak_rss_mb(),
    }
}

/// The process's peak resident memory in MiB (Linux: `VmHWM` in `/proc/self/status`;
/// 0 where that is not available).
pub fn peak_rss_mb() -> f64 {
    proc_kib("/proc/self/status", "VmHWM:").map_or(0.0, |kib| kib / 1024.0)
}

/// A `key: N kB` figure from a Linux `/proc` file, in KiB; `None` where it is missing.
pub fn proc_kib(file: &str, key: &str) -> Option<f64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find_map(|line| line.strip_prefix(key))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

/// A progress bar on the terminal (stderr), or a hidden one when piped or quiet.
fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} images  {elapsed}") {
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_byte_counts_parse() {
        assert_eq!(parse_duration("50ms"), Ok(Duration::from_millis(50)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1s").is_err());
        assert_eq!(parse_bytes("500K"), Ok(500 * 1024));
        assert_eq!(parse_bytes("2M"), Ok(2 << 20));
        assert_eq!(parse_bytes("123"), Ok(123));
        assert!(parse_bytes("lots").is_err());
    }

    #[test]
    fn every_image_gets_exactly_one_outcome() {
        let image = |stem: &str| crate::job::Image {
            location: crate::job::Location::Url(format!("http://h/{stem}.jpg")),
            source: format!("http://h/{stem}.jpg"),
            stem: stem.into(),
        };
        let images = [image("a"), image("b")];
        let reported = vec![Outcome {
            image: image("b"),
            result: Ok(vec!["b_32.jpg".into()]),
        }];
        let all = account_for_every_image(&images, vec![], reported);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].result, Err(ImageError::Lost));
        assert!(all[1].result.is_ok());
    }
}
