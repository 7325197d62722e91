//! Lesson test of stopping a run: Ctrl-C (SIGINT) and SIGTERM, sent to every chapter in
//! the middle of a batch. By behaviour only: the summary is still printed, it names the
//! signal and counts the cancelled images, the exit code is 128 + the signal's number,
//! and the output folder holds complete sets of thumbnails and nothing else. A second
//! Ctrl-C ends the run at once, with no summary.
//!
//! The store answers every request after a long latency, so a batch lasts seconds; each
//! chapter's concurrency is turned down to one image at a time where it has a flag for
//! it, so that images are still waiting when the signal comes.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{TestCorpus, serve};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use workbench::chapters;

/// The store's wait before every answer: long enough that no batch ends before the
/// signal, even on a busy machine.
const LATENCY: Duration = Duration::from_millis(1000);

/// Each chapter's flags for one image at a time (none for ch02: every image has its
/// thread from the start, so there it only shows the images in flight finishing).
fn one_at_a_time(chapter: &str) -> &'static [&'static str] {
    match chapter {
        "ch01-threads" => &["--limit", "1"],
        "ch03-worker-structs" | "ch05-process-pool" | "ch06-shared-state" => &["--workers", "1"],
        "ch04-thread-pool" | "ch09-pipeline" => &["--download-workers", "1"],
        "ch07-async" | "ch08-event-loop" => &["--concurrency", "1"],
        "ch10-distributed" => &["--workers", "1", "--slots", "1"],
        _ => &[],
    }
}

/// A chapter running on a slow store, into its own output folder.
struct Running {
    chapter: &'static str,
    child: Child,
    out: tempfile::TempDir,
}

/// Starts `chapter` on `source` with `--json --quiet` and its one-at-a-time flags.
fn start(chapter: &'static str, source: &str) -> Running {
    let out = tempfile::tempdir().unwrap();
    let child = Command::new(chapters::binary_path(chapter).unwrap())
        .args(["--source", source, "--json", "--quiet"])
        .args(one_at_a_time(chapter))
        .arg("--out")
        .arg(out.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Running {
        chapter,
        child,
        out,
    }
}

impl Running {
    /// Waits until the run listens for signals: the driver starts a thread named
    /// `signals` once its handlers are in place, just before the chapter gets the job.
    /// Then a little more, so that the first images are in flight.
    fn wait_until_batch_started(&self) {
        let tasks = format!("/proc/{}/task", self.child.id());
        let deadline = Instant::now() + Duration::from_secs(120);
        while !has_thread_named(Path::new(&tasks), "signals") {
            assert!(
                Instant::now() < deadline,
                "{}: never started its batch",
                self.chapter
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(300));
    }

    /// Sends `signal` to the chapter's process (not to its workers: as `kill` does).
    fn send(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    /// Waits for the end of the run.
    fn finish(self) -> (Output, tempfile::TempDir) {
        (self.child.wait_with_output().unwrap(), self.out)
    }
}

/// Whether a thread of the process whose `/proc/PID/task` is `tasks` is named `name`.
fn has_thread_named(tasks: &Path, name: &str) -> bool {
    let Ok(threads) = std::fs::read_dir(tasks) else {
        return false;
    };
    threads.flatten().any(|thread| {
        std::fs::read_to_string(thread.path().join("comm")).is_ok_and(|comm| comm.trim() == name)
    })
}

/// The summary a stopped run printed, after checking its exit code and signal.
fn stopped_summary(chapter: &str, output: &Output, signal: &str, code: i32) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(code),
        "{chapter}: {stdout}\n{stderr}"
    );
    let summary: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{chapter}: no summary ({e}): {stdout}\n{stderr}"));
    assert_eq!(summary["stopped_by"], signal, "{chapter}: {summary}");
    assert_eq!(summary["images"], 5, "{chapter}: {summary}");
    for failure in summary["failed"].as_array().unwrap() {
        let error = failure["error"].as_str().unwrap();
        assert!(error.starts_with("cancelled"), "{chapter}: {failure}");
    }
    summary
}

/// The output folder's thumbnails by image stem, after checking that every file is a
/// whole thumbnail of a complete set (one per width) and that no temporary file is left.
fn complete_sets(chapter: &str, out: &Path) -> BTreeMap<String, Vec<String>> {
    let mut sets: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(out).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "{chapter}: {name} left behind");
        let (stem, width) = name.rsplit_once('_').unwrap();
        sets.entry(stem.to_string())
            .or_default()
            .push(width.to_string());
    }
    for (stem, widths) in &mut sets {
        widths.sort();
        let numbers: Vec<&str> = widths
            .iter()
            .map(|w| w.split('.').next().unwrap())
            .collect();
        assert_eq!(
            numbers,
            ["200", "32", "64"],
            "{chapter}: {stem} has a partial set"
        );
    }
    sets
}

/// Stops `chapter` mid-batch with `signal` and checks everything a stopped run promises.
fn stop_mid_batch(chapter: &'static str, source: &str, signal: Signal, code: i32) {
    let running = start(chapter, source);
    running.wait_until_batch_started();
    running.send(signal);
    let (output, out) = running.finish();
    let summary = stopped_summary(chapter, &output, signal.as_str(), code);
    let sets = complete_sets(chapter, out.path());
    let cancelled = summary["cancelled"].as_u64().unwrap_or(0); // left out when 0
    if !one_at_a_time(chapter).is_empty() {
        assert!(
            cancelled >= 1,
            "{chapter}: nothing was cancelled: {summary}"
        );
    }
    // ch10's workers may finish an image after the run has given up waiting for it;
    // everywhere else the folder holds exactly the images the summary calls done.
    if chapter != "ch10-distributed" {
        assert_eq!(
            sets.len() * 3,
            summary["thumbnails"],
            "{chapter}: {summary}"
        );
    }
}

#[test]
fn ctrl_c_stops_every_chapter_with_a_summary_and_complete_sets() {
    let corpus = TestCorpus::new();
    let store = serve(corpus.dir.path(), LATENCY);
    for chapter in common::runnable_chapters() {
        stop_mid_batch(chapter.name, store.url(), Signal::SIGINT, 130);
    }
}

#[test]
fn sigterm_stops_a_run_as_ctrl_c_does() {
    let corpus = TestCorpus::new();
    let store = serve(corpus.dir.path(), LATENCY);
    for chapter in ["ch04-thread-pool", "ch08-event-loop"] {
        stop_mid_batch(chapter, store.url(), Signal::SIGTERM, 143);
    }
}

#[test]
fn a_second_ctrl_c_quits_at_once_with_no_summary() {
    let corpus = TestCorpus::new();
    let store = serve(corpus.dir.path(), LATENCY);
    let running = start("ch00-sequential", store.url());
    running.wait_until_batch_started();
    running.send(Signal::SIGINT);
    std::thread::sleep(Duration::from_millis(100));
    running.send(Signal::SIGINT);
    let (output, out) = running.finish();
    assert_eq!(output.status.code(), Some(130));
    // Had it waited for the image in flight, the summary would be on stdout.
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    complete_sets("ch00-sequential", out.path());
}
