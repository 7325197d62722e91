//! What the integration tests share: a small corpus, a store serving it, bad-input cases,
//! and running a chapter binary.
#![allow(dead_code)] // each test file uses a different part

pub mod s3_server;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;
use workbench::chapters;
use workbench::harness::corpus::{self, CorpusSpec};
use workbench::harness::store::{RunningStore, StoreConfig};

/// The chapters that can run on this machine. A chapter needing a program that is not
/// installed (ch10 and `nats-server`) is skipped with a line naming the install command,
/// except in CI (`WORKBENCH_CI` set), where a missing program fails the test instead.
pub fn runnable_chapters() -> Vec<&'static chapters::Chapter> {
    chapters::ALL.iter().filter(|c| can_run(c.name)).collect()
}

/// Whether `chapter` can run here; see [`runnable_chapters`].
pub fn can_run(chapter: &str) -> bool {
    match chapters::missing_program(chapter) {
        None => true,
        Some(why) if std::env::var_os("WORKBENCH_CI").is_some() => {
            panic!("{chapter}: {why} (CI must install it)")
        }
        Some(why) => {
            // Written to stderr itself, not through `eprintln!`, which the test harness
            // captures and hides for a test that passes.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "skipped {chapter}: {why}");
            false
        }
    }
}

/// The test corpus: small, but wider than the largest thumbnail, with JPEGs and PNGs.
pub fn spec() -> CorpusSpec {
    CorpusSpec {
        count: 5,
        png: 2,
        seed: 11,
        width: 480,
        height: 320,
    }
}

/// A test corpus in a temporary folder.
pub struct TestCorpus {
    pub dir: TempDir,
    pub files: Vec<PathBuf>,
}

impl TestCorpus {
    pub fn new() -> TestCorpus {
        let dir = tempfile::tempdir().unwrap();
        let files = corpus::generate(&spec(), dir.path()).unwrap();
        TestCorpus { dir, files }
    }

    /// A store serving the corpus with no latency (the tests check behaviour, not speed).
    pub fn store(&self) -> RunningStore {
        serve(self.dir.path(), Duration::ZERO)
    }

    /// The bytes of the corpus's first JPEG.
    pub fn first_jpeg() -> Vec<u8> {
        corpus::image_bytes(&spec(), 0).unwrap()
    }
}

/// Serves `root` from the embedded store with `latency`.
pub fn serve(root: &Path, latency: Duration) -> RunningStore {
    let mut config = StoreConfig::new(root);
    config.latency = latency;
    RunningStore::start(config).unwrap()
}

/// One bad-input case: the good corpus plus one bad image, and what its error must say.
pub struct Case {
    pub name: String,
    pub bad_name: String,
    pub expected_error: &'static str,
    pub good_images: usize,
    pub flags: Vec<String>,
    source: String,
    _corpus: TestCorpus,
    _store: RunningStore,
}

impl Case {
    /// The bad image is a file named `bad_name` beside the good ones, all served by the
    /// store and found through its listing.
    pub fn file(bad_name: &str, bytes: Vec<u8>, expected_error: &'static str) -> Case {
        let corpus = TestCorpus::new();
        std::fs::write(corpus.dir.path().join(bad_name), bytes).unwrap();
        let store = corpus.store();
        Case {
            name: bad_name.to_string(),
            bad_name: bad_name.to_string(),
            expected_error,
            good_images: corpus.files.len(),
            flags: Vec::new(),
            source: store.url().to_string(),
            _corpus: corpus,
            _store: store,
        }
    }

    /// The bad image is a URL (made from the good store) at the end of a URL list that
    /// names every good image.
    pub fn url(
        bad_name: &str,
        bad_url: impl Fn(&RunningStore) -> String,
        expected_error: &'static str,
    ) -> Case {
        let corpus = TestCorpus::new();
        let store = corpus.store();
        let mut list: Vec<String> = corpus
            .files
            .iter()
            .map(|f| {
                format!(
                    "{}{}",
                    store.url(),
                    f.file_name().unwrap().to_str().unwrap()
                )
            })
            .collect();
        list.push(bad_url(&store));
        let list_path = corpus.dir.path().join("urls.txt");
        std::fs::write(&list_path, list.join("\n")).unwrap();
        Case {
            name: bad_name.to_string(),
            bad_name: bad_name.to_string(),
            expected_error,
            good_images: corpus.files.len(),
            flags: Vec::new(),
            source: list_path.to_str().unwrap().to_string(),
            _corpus: corpus,
            _store: store,
        }
    }

    pub fn source(&self) -> &str {
        &self.source
    }
}

/// One finished run of a chapter binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub summary: serde_json::Value,
    out: TempDir,
}

impl Run {
    /// The output folder.
    pub fn out(&self) -> &Path {
        self.out.path()
    }
}

/// Runs chapter `name` on `source` with `--json --quiet`, into a fresh temporary folder
/// unless `flags` name another `--out`.
pub fn run_chapter(name: &str, source: &str, flags: &[String]) -> Run {
    let out = tempfile::tempdir().unwrap();
    let binary = chapters::binary_path(name).unwrap();
    let mut command = Command::new(&binary);
    command
        .args(["--source", source, "--json", "--quiet"])
        .args(flags);
    if !flags.iter().any(|flag| flag == "--out") {
        command.arg("--out").arg(out.path());
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let summary = serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null);
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        summary,
        out,
    }
}

/// Runs `chapter` against a store with `latency`, traced, and returns the trace.
pub fn traced_run(chapter: &str, latency: Duration, flags: &[&str]) -> workbench::trace::Trace {
    traced_run_with_summary(chapter, latency, flags).0
}

/// [`traced_run`], also returning the chapter's `--json` summary.
pub fn traced_run_with_summary(
    chapter: &str,
    latency: Duration,
    flags: &[&str],
) -> (workbench::trace::Trace, serde_json::Value) {
    let corpus = TestCorpus::new();
    let store = serve(corpus.dir.path(), latency);
    let trace_file = corpus.dir.path().join("trace.json");
    let mut all_flags: Vec<String> = vec!["--trace".into(), trace_file.to_str().unwrap().into()];
    all_flags.extend(flags.iter().map(|f| f.to_string()));
    let run = run_chapter(chapter, store.url(), &all_flags);
    assert_eq!(run.code, 0, "{chapter}: {}", run.stderr);
    (
        workbench::trace::Trace::read(&trace_file).unwrap(),
        run.summary,
    )
}

/// Reads a request's head from `stream` byte by byte, as a hand-written test server does
/// before it answers; `None` if the client went away first.
pub fn read_request_head(stream: &mut impl std::io::Read) -> Option<Vec<u8>> {
    let mut request = Vec::new();
    let mut byte = [0; 1];
    while !request.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => request.push(byte[0]),
            _ => return None,
        }
    }
    Some(request)
}
