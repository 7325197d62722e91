//! One run of a student's program on a small stage: a generated corpus served by the
//! embedded store, a fresh output folder, `--json --trace`, and a time limit (a program
//! that hangs is stopped and says so, it does not hang the checker).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::contract::{Sizes, Summary};
use crate::harness::corpus::{self, CorpusSpec};
use crate::harness::store::{RunningStore, StoreConfig};
use crate::kernel::{self, DEFAULT_MAX_PIXELS};
use crate::trace::{Span, Trace};

/// What a check's run stands on. Small on purpose: a check should take seconds.
#[derive(Debug, Clone)]
pub struct Stage {
    /// Images in the generated corpus (`img-000.jpg`, ...; the last one a PNG).
    pub images: usize,
    /// The store's wait before every answer: long enough that downloads in flight
    /// together show in the trace, short enough to keep a check quick.
    pub latency: Duration,
    /// The store's bytes per second for each answer, `None` for loopback speed: a cap
    /// makes the big image (the PNG) take several times as long as the others.
    pub bandwidth: Option<u64>,
    /// The share of images the store answers with 503, and the seed that picks them.
    pub fail_rate: f64,
    /// See `fail_rate`; it also picks the requests `flaky_rate` fails.
    pub fail_seed: u64,
    /// The share of requests the store fails in passing (a 503, or a connection closed
    /// before the answer): a client that tries again gets through.
    pub flaky_rate: f64,
    /// Adds `broken.jpg`, a file that is not an image.
    pub broken: bool,
    /// Flags given to the program after the stage's own.
    pub flags: &'static [&'static str],
    /// The run is stopped after this long: a hang is a finding, not a hung checker.
    pub time_limit: Duration,
}

impl Stage {
    /// Six images, 100 ms of latency, nothing failing, 60 s to finish.
    pub const fn new() -> Stage {
        Stage {
            images: 6,
            latency: Duration::from_millis(100),
            bandwidth: None,
            fail_rate: 0.0,
            fail_seed: 0,
            flaky_rate: 0.0,
            broken: false,
            flags: &[],
            time_limit: Duration::from_secs(60),
        }
    }

    /// The corpus this stage generates.
    pub fn corpus(&self) -> CorpusSpec {
        CorpusSpec {
            count: self.images,
            png: 1,
            seed: 13,
            width: 320,
            height: 200,
        }
    }
}

impl Default for Stage {
    fn default() -> Stage {
        Stage::new()
    }
}

/// What one run did.
#[derive(Debug)]
pub struct Trial {
    /// The exit code, or `None` when the run was stopped at the time limit.
    pub code: Option<i32>,
    /// The `--json` summary, when the program printed one.
    pub summary: Option<Summary>,
    /// Everything printed on stderr.
    pub stderr: String,
    /// The `--trace` file, when the program wrote one.
    pub trace: Option<Trace>,
    /// The time limit, to say it when the run was stopped.
    pub time_limit_s: u64,
    /// The corpus folder (the source files, to compute the expected thumbnails).
    corpus: PathBuf,
    /// The output folder.
    out: PathBuf,
}

/// Why a run could not even be staged.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("cannot prepare {0}: {1}")]
    Folder(PathBuf, std::io::Error),
    #[error("cannot generate the corpus: {0}")]
    Corpus(String),
    #[error("cannot start the store: {0}")]
    Store(String),
    #[error("cannot start {0}: {1}")]
    Start(PathBuf, std::io::Error),
}

/// Runs `program` on `stage`, in the folder `work` (emptied first).
pub fn run(program: &Path, stage: &Stage, work: &Path) -> Result<Trial, StageError> {
    let folder = |path: PathBuf| -> Result<PathBuf, StageError> {
        fs::create_dir_all(&path).map_err(|e| StageError::Folder(path.clone(), e))?;
        Ok(path)
    };
    if work.exists() {
        fs::remove_dir_all(work).map_err(|e| StageError::Folder(work.into(), e))?;
    }
    let corpus = folder(work.join("corpus"))?;
    let out = folder(work.join("out"))?;
    corpus::generate(&stage.corpus(), &corpus).map_err(|e| StageError::Corpus(e.to_string()))?;
    if stage.broken {
        let broken = corpus.join("broken.jpg");
        crate::platform::write_atomically(&broken, b"this is not a JPEG, only text")
            .map_err(|e| StageError::Folder(broken, e))?;
    }
    let store = serve(stage, &corpus)?;
    let trace_file = work.join("trace.json");
    let mut child = Command::new(program)
        .args(["--source", store.url(), "--json", "--quiet", "--trace"])
        .arg(&trace_file)
        .arg("--out")
        .arg(&out)
        .args(stage.flags)
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| StageError::Start(program.into(), e))?;
    // Read both pipes on their own threads, so a chatty program never blocks on a
    // full pipe while the checker waits for it to end.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let code = wait_at_most(&mut child, stage.time_limit);
    let stdout = stdout.join().unwrap_or_default();
    let summary = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line.trim()).ok());
    Ok(Trial {
        code,
        summary,
        stderr: stderr.join().unwrap_or_default(),
        trace: Trace::read(&trace_file).ok(),
        time_limit_s: stage.time_limit.as_secs(),
        corpus,
        out,
    })
}

/// The embedded store on the stage's corpus, with the stage's knobs.
fn serve(stage: &Stage, corpus: &Path) -> Result<RunningStore, StageError> {
    let mut config = StoreConfig::new(corpus);
    config.latency = stage.latency;
    config.bandwidth = stage.bandwidth;
    config.fail_rate = stage.fail_rate;
    config.flaky_rate = stage.flaky_rate;
    config.seed = stage.fail_seed;
    RunningStore::start(config).map_err(|e| StageError::Store(e.to_string()))
}

/// Reads a pipe to its end on a thread of its own.
fn drain(pipe: Option<impl std::io::Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}

/// The child's exit code, or `None` after killing it at `limit`.
fn wait_at_most(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status.code().unwrap_or(-1)),
            Ok(None) if started.elapsed() < limit => thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

impl Trial {
    /// Every span of the trace (none without a trace).
    pub fn spans(&self) -> Vec<Span> {
        self.trace
            .as_ref()
            .map(|t| t.spans.clone())
            .unwrap_or_default()
    }

    /// The stems of the corpus, in input (name) order.
    pub fn stems(&self) -> Vec<String> {
        let mut stems: Vec<String> = fs::read_dir(&self.corpus)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let path = entry.path();
                path.file_stem().map(|s| s.to_string_lossy().into_owned())
            })
            .collect();
        stems.sort();
        stems
    }

    /// The failed images of the summary, as (stem, error).
    pub fn failures(&self) -> Vec<(String, String)> {
        let Some(summary) = &self.summary else {
            return Vec::new();
        };
        summary
            .failed
            .iter()
            .map(|failure| {
                let name = failure.source.rsplit('/').next().unwrap_or(&failure.source);
                let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
                (stem.to_string(), failure.error.clone())
            })
            .collect()
    }

    /// The thumbnails the shared CPU step makes of every source image but `failing`
    /// (and the broken one), by name.
    pub fn expected_thumbnails(&self, failing: &[&str]) -> BTreeMap<String, Vec<u8>> {
        let sizes = Sizes::default();
        let mut expected = BTreeMap::new();
        for entry in fs::read_dir(&self.corpus).into_iter().flatten().flatten() {
            let path = entry.path();
            let stem = path
                .file_stem()
                .map_or(String::new(), |s| s.to_string_lossy().into());
            if failing.contains(&stem.as_str()) {
                continue;
            }
            let Ok(bytes) = fs::read(&path) else { continue };
            let Ok(thumbs) = kernel::thumbnails(&bytes, &sizes, DEFAULT_MAX_PIXELS) else {
                continue; // not an image: it has no thumbnails to expect
            };
            for thumb in thumbs {
                expected.insert(thumb.name(&stem), thumb.bytes);
            }
        }
        expected
    }

    /// The names of every file in the output folder, hidden ones included.
    pub fn written_files(&self) -> BTreeSet<String> {
        fs::read_dir(&self.out)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// The bytes of one output file (empty if unreadable).
    pub fn read_output(&self, name: &str) -> Vec<u8> {
        fs::read(self.out.join(name)).unwrap_or_default()
    }

    /// The program's last line on stderr that says something, to show with a wrong exit
    /// code (often a panic message).
    pub fn last_error_line(&self) -> String {
        self.stderr
            .lines()
            .rev()
            .map(str::trim)
            .find(|line| !line.is_empty() && !line.starts_with("note:"))
            .map_or_else(String::new, |line| format!(": \"{line}\""))
    }
}
