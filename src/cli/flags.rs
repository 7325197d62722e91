//! The flags every chapter shares, and how a chapter's command line is read.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser};

use crate::contract::{DecodeLimits, HttpConfig, OutputFormat, Sizes};
use crate::harness::store::StoreConfig;
use crate::harness::workload::Workload;
use crate::io::s3::S3Flags;
use crate::kernel::DEFAULT_MAX_PIXELS;

use super::version::{LONG_VERSION, VERSION};

/// The flags every chapter has.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Where the images come from: a folder, a file of URLs (one per line), or an HTTP
    /// prefix that lists its objects. Without it, the default corpus is served by the
    /// embedded store.
    #[arg(long, value_name = "FOLDER|FILE|URL", value_parser = place)]
    pub source: Option<String>,

    /// Where the thumbnails go: a folder, or an HTTP prefix that accepts PUT (by
    /// default, the folder out/CHAPTER/).
    #[arg(long, value_name = "FOLDER|URL", value_parser = place)]
    pub out: Option<String>,

    /// A ready-made workload (used when --source is not given): `cpu` reads the corpus
    /// from a folder; `io` serves small images with latency; `mixed` serves full-size
    /// images with latency and PUTs the thumbnails back.
    #[arg(long, value_enum)]
    pub workload: Option<Workload>,

    /// Thumbnail widths, in pixels.
    #[arg(long, default_value_t = Sizes::default())]
    pub sizes: Sizes,

    /// The thumbnails' format: `auto` keeps JPEG and PNG, and makes any other image a
    /// PNG if it has transparency, a JPEG if not; `same` keeps the source's format (a
    /// GIF gives PNG); `jpeg`, `png` and `webp` (lossless) force one.
    #[arg(long, default_value_t = OutputFormat::Auto, value_name = "auto|jpeg|png|webp|same")]
    pub format: OutputFormat,

    /// Write every span (worker, image, phase, start, end) to this JSON file.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,

    /// The trace's format: `workbench` (what `workbench timeline` and the report read)
    /// or `chrome` (the Trace Event Format, for ui.perfetto.dev and chrome://tracing).
    #[arg(long, value_enum, default_value_t = TraceFormat::Workbench, requires = "trace")]
    pub trace_format: TraceFormat,

    /// Print the summary as one line of JSON.
    #[arg(long)]
    pub json: bool,

    /// No progress bar, and only failures and the summary.
    #[arg(long)]
    pub quiet: bool,

    /// Connect and read timeout of every transfer (`500ms`, `10s`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// The longest one transfer may take in all, retries included, however steadily its
    /// bytes come (`30s`, `2m`): --timeout bounds each silence, this bounds the total.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub deadline: Duration,

    /// How many times a request that failed for a passing reason (connection refused or
    /// reset, a timeout, HTTP 429, 500, 502, 503, 504) is tried again, after a random
    /// wait that doubles at each try.
    #[arg(long, default_value_t = HttpConfig::default().retries)]
    pub retries: u32,

    /// Trust the certificates in this PEM file for HTTPS, besides the system's (or
    /// those of $SSL_CERT_FILE): a self-signed server's, a private CA's.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Images whose header declares more pixels than this are refused unread.
    #[arg(long, default_value_t = DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,

    /// Images whose decoded pixels would take more than this many MiB (width x height x
    /// channels x bytes per sample) are refused unread; at the default, eight workers
    /// hold at most 2 GiB of decoded pixels.
    #[arg(long, default_value_t = DecodeLimits::DEFAULT.max_decoded_bytes >> 20, value_parser = clap::value_parser!(u64).range(1..=1 << 40))]
    pub max_decoded_mb: u64,

    /// The largest image accepted, in bytes.
    #[arg(long, default_value_t = HttpConfig::default().max_bytes)]
    pub max_bytes: u64,

    /// Images in the generated corpus.
    #[arg(long, default_value_t = 48, help_heading = STORE_HEADING)]
    pub count: usize,

    /// Add the real-photo samples to the generated corpus: a JPEG for each EXIF
    /// orientation, a Display P3 photo, WebP files and a GIF.
    #[arg(long, help_heading = STORE_HEADING)]
    pub photos: bool,

    /// The embedded store's knobs, used when it serves the corpus.
    #[command(flatten, next_help_heading = STORE_HEADING)]
    pub store: StoreFlags,

    /// Credentials and endpoint for `s3://` sources and outputs.
    #[command(flatten, next_help_heading = S3_HEADING)]
    pub s3: S3Flags,
}

/// The format `--trace` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TraceFormat {
    /// The workbench's own: the run's spans as they were recorded.
    Workbench,
    /// The Trace Event Format that Perfetto and chrome://tracing open.
    Chrome,
}

/// The embedded store's knobs: what a chapter's store does when it serves the corpus,
/// and what `workbench serve` does.
#[derive(Debug, Clone, Args)]
pub struct StoreFlags {
    /// Embedded store: wait before the first byte of every answer.
    #[arg(long, default_value = "50ms", value_parser = parse_duration)]
    pub latency: Duration,

    /// Embedded store: bytes per second per connection (`500K`, `2M`).
    #[arg(long, value_parser = parse_bytes)]
    pub bandwidth: Option<u64>,

    /// Embedded store: the share of images that answer 503 (chosen by --fail-seed),
    /// every time they are asked for: a permanent failure.
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,

    /// Embedded store: the share of requests, drawn afresh each time, that fail in
    /// passing (a 503, or the connection closed unanswered): a retry gets through.
    #[arg(long, default_value_t = 0.0)]
    pub flaky_rate: f64,

    /// Embedded store: the seed that picks which images fail.
    #[arg(long, alias = "seed", default_value_t = 0)]
    pub fail_seed: u64,

    /// Embedded store: at most this many connections served at once.
    #[arg(long)]
    pub max_conns: Option<usize>,
}

impl StoreFlags {
    /// A store serving `root` with these knobs (on a free port, answering).
    pub fn config(&self, root: impl Into<PathBuf>) -> StoreConfig {
        let mut config = StoreConfig::new(root);
        config.latency = self.latency;
        config.bandwidth = self.bandwidth;
        config.fail_rate = self.fail_rate;
        config.seed = self.fail_seed;
        config.flaky_rate = self.flaky_rate;
        config.max_conns = self.max_conns;
        config
    }
}

/// A chapter with no flags of its own.
#[derive(Debug, Clone, Default, Args)]
pub struct NoFlags {}

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

/// The flags of a chapter: the chapter's own (`F`), listed first by `--help` because
/// they are the lesson, then the common ones under their headings.
#[derive(Debug, Parser)]
struct ChapterCli<F: Args> {
    #[command(flatten)]
    chapter: F,
    #[command(flatten, next_help_heading = JOB_HEADING)]
    common: Common,
}

/// `--help`'s heading over the flags that say what the job is.
const JOB_HEADING: &str = "Job";
/// `--help`'s heading over the corpus and the embedded store's knobs.
const STORE_HEADING: &str = "Corpus and embedded store (when no --source is given)";
/// `--help`'s heading over the S3 flags.
const S3_HEADING: &str = "S3 (for s3:// sources and outputs)";

/// Reads `--source` and `--out`: refuses a URL scheme the workbench does not read, so
/// that `htp://host/` is a usage error (exit 2), not a folder called `htp:`.
fn place(text: &str) -> Result<String, String> {
    crate::io::scheme::check(text).map(|()| text.to_string())
}

/// What `--help` ends with: examples, and what the exit codes mean.
fn after_help(chapter: &str) -> String {
    let examples = [
        ("the default corpus, served by the embedded store", ""),
        (
            "a folder in, a folder out",
            " --source photos/ --out thumbs/",
        ),
        (
            "a bucket in and out, the summary as one JSON line",
            " --source s3://bucket/in/ --out s3://bucket/out/ --json",
        ),
    ];
    let mut text = String::from("Examples:\n");
    for (what, flags) in examples {
        text += &format!("  # {what}\n  {chapter}{flags}\n");
    }
    text += "\nExit codes:\n\
             \x20 0    every image has its thumbnails\n\
             \x20 1    some images failed; each is named with its cause\n\
             \x20 2    the run could not start: a bad flag, an unreadable or empty source, an unwritable output\n";
    if chapter == "ch06-shared-state" {
        text += "  3    --deadlock only: the deadlock it provokes was detected and reported\n";
    }
    text += "  130  a second Ctrl-C ended the run at once";
    text
}

/// Parses the command line of `chapter`: the common flags and the chapter's own.
/// On a bad flag it prints the error and exits with code 2.
pub fn parse<F: Args>(chapter: &str) -> (Common, F) {
    parse_from(chapter, std::env::args_os())
}

/// [`parse`] over the arguments `args` (the first one is the program's name), for a
/// chapter with roles that reads its role first (`ch10-distributed enqueue ...`).
pub fn parse_from<F: Args>(
    chapter: &str,
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> (Common, F) {
    let matches = command::<F>(chapter).get_matches_from(args);
    match ChapterCli::<F>::from_arg_matches(&matches) {
        Ok(cli) => (cli.common, cli.chapter),
        Err(error) => error.exit(),
    }
}

/// The command line of `chapter`, with its own flags `F`: what `--help` and `--version`
/// print, and what parsing accepts.
pub fn command<F: Args>(chapter: &str) -> clap::Command {
    let about = crate::chapters::find(chapter).map_or("", |c| c.pattern);
    ChapterCli::<F>::command()
        .name(chapter.to_string())
        .about(about)
        .version(VERSION)
        .long_version(LONG_VERSION)
        .after_help(after_help(chapter))
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

    /// The store's knobs, as a chapter and `workbench serve` both read them.
    #[derive(Debug, Parser)]
    struct Knobs {
        #[command(flatten)]
        store: StoreFlags,
    }

    #[test]
    fn store_flags_become_the_store_config() {
        let parsed = Knobs::try_parse_from(["serve", "--latency", "10ms", "--fail-rate", "0.5"])
            .unwrap()
            .store;
        let config = parsed.config("corpus");
        assert_eq!(config.root, std::path::Path::new("corpus"));
        assert_eq!(config.latency, Duration::from_millis(10));
        assert_eq!((config.fail_rate, config.seed), (0.5, 0));
        let flaky = Knobs::try_parse_from(["serve", "--flaky-rate", "0.25"]).unwrap();
        assert_eq!(flaky.store.config("corpus").flaky_rate, 0.25);
        // `--seed` is the older name of `--fail-seed`, still accepted.
        for flag in ["--fail-seed", "--seed"] {
            let parsed = Knobs::try_parse_from(["serve", flag, "7"]).unwrap().store;
            assert_eq!(parsed.config("corpus").seed, 7);
        }
    }
}
