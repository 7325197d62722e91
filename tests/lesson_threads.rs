//! Lesson tests of the thread chapters (ch01 to ch03): each chapter's claim, proved from
//! its trace or its counts against a store with latency, where waiting dominates and the
//! margins are wide. They never assert a speed.

mod common;

use std::fs;
use std::process::Command;
use std::time::Duration;

use common::{TestCorpus, serve};
use workbench::chapters;
use workbench::harness::samples;
use workbench::trace::{Phase, Span, Trace};

/// The store's latency: every download lasts at least this long.
const LATENCY: Duration = Duration::from_millis(100);

/// A run of a chapter against the test corpus served with [`LATENCY`], traced.
struct TracedRun {
    code: i32,
    summary: serde_json::Value,
    stderr: String,
    trace: Trace,
}

/// Runs `chapter` with `flags` on `corpus`, traced. Without `--quiet`, so that the
/// chapter's narration (its lines on stderr) can be checked.
fn traced_run(chapter: &str, corpus: &TestCorpus, flags: &[&str]) -> TracedRun {
    let store = serve(corpus.dir.path(), LATENCY);
    let out = tempfile::tempdir().unwrap();
    let trace_file = out.path().join("trace.json");
    let output = Command::new(chapters::binary_path(chapter).unwrap())
        .args(["--source", store.url(), "--json", "--out"])
        .arg(out.path().join("thumbs"))
        .arg("--trace")
        .arg(&trace_file)
        .args(flags)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    TracedRun {
        code: output.status.code().unwrap_or(-1),
        summary: serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        trace: Trace::read(&trace_file).unwrap(),
    }
}

/// The largest number of `phase` spans in progress at the same moment.
fn most_at_once(spans: &[Span], phase: Phase) -> usize {
    // +1 at each start, -1 at each end; at the same instant an end counts first, so
    // that two spans that merely touch are not counted as overlapping.
    let mut events: Vec<(u64, i32)> = spans
        .iter()
        .filter(|s| s.phase == phase)
        .flat_map(|s| [(s.start_us, 1), (s.end_us, -1)])
        .collect();
    events.sort();
    let (mut now, mut most) = (0, 0);
    for (_, change) in events {
        now += change;
        most = most.max(now);
    }
    most as usize
}

fn count(spans: &[Span], phase: Phase) -> usize {
    spans.iter().filter(|s| s.phase == phase).count()
}

#[test]
fn ch01_threads_download_at_the_same_time() {
    let corpus = TestCorpus::new();
    let run = traced_run("ch01-threads", &corpus, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let spans = &run.trace.spans;
    assert_eq!(count(spans, Phase::Download), corpus.files.len());
    // Every thread is started before any 100 ms download can end: they all wait together.
    let downloads_at_once = most_at_once(spans, Phase::Download);
    assert!(
        downloads_at_once >= 3,
        "{downloads_at_once} downloads at once"
    );
    assert!(
        run.trace.figures().overlap > 1.5,
        "{:?}",
        run.trace.figures()
    );
    // One lane per image, named by the chapter.
    let mut workers: Vec<&str> = spans.iter().map(|s| s.worker.as_str()).collect();
    workers.sort();
    workers.dedup();
    assert_eq!(
        workers,
        ["image-00", "image-01", "image-02", "image-03", "image-04"]
    );
}

#[test]
fn ch01_joining_in_the_loop_runs_one_thread_at_a_time() {
    let corpus = TestCorpus::new();
    let run = traced_run("ch01-threads", &corpus, &["--join-in-loop"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.summary["thumbnails"], corpus.files.len() * 3);
    let mut spans = run.trace.spans.clone();
    assert_eq!(most_at_once(&spans, Phase::Download), 1);
    // Not only the downloads: no two spans of any kind overlap. A staircase.
    spans.sort_by_key(|s| s.start_us);
    for pair in spans.windows(2) {
        assert!(pair[0].end_us <= pair[1].start_us, "overlap: {pair:?}");
    }
    assert!(run.trace.figures().overlap <= 1.0);
}

#[test]
fn ch01_limit_caps_the_downloads_in_flight() {
    let corpus = TestCorpus::new();
    let run = traced_run("ch01-threads", &corpus, &["--limit", "2"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.summary["thumbnails"], corpus.files.len() * 3);
    let spans = &run.trace.spans;
    assert_eq!(most_at_once(spans, Phase::Download), 2);
    // Every thread asked for a permit; with five threads and two permits, some waited
    // at least one download's latency for theirs.
    assert_eq!(count(spans, Phase::QueueWait), corpus.files.len());
    let waited = spans
        .iter()
        .filter(|s| s.phase == Phase::QueueWait && s.seconds() >= 0.9 * LATENCY.as_secs_f64())
        .count();
    assert!(waited >= 2, "{waited} threads waited for a permit");
    // A limit of zero permits could never start: it is refused as a bad flag.
    let refused = common::run_chapter("ch01-threads", "/nowhere", &["--limit".into(), "0".into()]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
}

#[test]
fn ch01_thread_states_put_new_first_and_dead_last_on_every_lane() {
    let corpus = TestCorpus::new();
    let run = traced_run("ch01-threads", &corpus, &["--thread-states"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The table: a header, then one row per thread, each with five figures.
    let rows: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("image-"))
        .collect();
    assert_eq!(rows.len(), corpus.files.len(), "{}", run.stderr);
    assert!(rows.iter().all(|r| r.split_whitespace().count() == 6));
    let lanes: std::collections::BTreeSet<&str> =
        run.trace.spans.iter().map(|s| s.worker.as_str()).collect();
    for lane in lanes {
        let spans: Vec<&Span> = run
            .trace
            .spans
            .iter()
            .filter(|s| s.worker == lane)
            .collect();
        let of = |phase| {
            spans
                .iter()
                .filter(|s| s.phase == phase)
                .collect::<Vec<_>>()
        };
        let (new, dead) = (of(Phase::Starting), of(Phase::Unjoined));
        assert_eq!((new.len(), dead.len()), (1, 1), "{lane}: {spans:?}");
        let work = spans.iter().filter(|s| s.phase.is_work());
        let first = work.clone().map(|s| s.start_us).min().unwrap();
        let last = work.map(|s| s.end_us).max().unwrap();
        // New before any work, dead after all of it, and each on its own image.
        assert!(new[0].end_us <= first && last <= dead[0].start_us, "{lane}");
        assert!(spans.iter().all(|s| s.image == spans[0].image), "{lane}");
    }
    // A thread's birth and death are not work: the summary's figures are unchanged.
    assert_eq!(run.summary["thumbnails"], corpus.files.len() * 3);
}

#[test]
fn ch01_a_detached_thread_is_never_joined_nor_cleaned_up() {
    let corpus = TestCorpus::new();
    let run = traced_run("ch01-threads", &corpus, &["--detach"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.summary["thumbnails"], corpus.files.len() * 3);
    // The reporter ran while the work did...
    assert!(
        run.stderr.contains("reporter: ") && run.stderr.contains("images done"),
        "{}",
        run.stderr
    );
    // ...and the process ended under it: its destructor never ran.
    assert!(!run.stderr.contains("reporter: stopped"), "{}", run.stderr);
    // It does no traced work: the lanes are the image threads only.
    assert!(
        run.trace
            .spans
            .iter()
            .all(|s| s.worker.starts_with("image-"))
    );
}

#[test]
fn ch02_a_panicking_worker_fails_only_its_image() {
    let corpus = TestCorpus::new();
    let victim = corpus.files[1].file_stem().unwrap().to_str().unwrap();
    let run = traced_run("ch02-join-handles", &corpus, &["--panic-on", victim]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let failed = run.summary["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0]["source"].as_str().unwrap().contains(victim));
    assert_eq!(
        failed[0]["error"].as_str().unwrap(),
        format!("worker panicked: a bug on purpose in the worker of {victim}")
    );
    assert_eq!(run.summary["thumbnails"], (corpus.files.len() - 1) * 3);
    // The panic happened on the victim's thread, after its download.
    assert!(run.stderr.contains("panicked"), "{}", run.stderr);
    let victims_spans: Vec<Phase> = run
        .trace
        .spans
        .iter()
        .filter(|s| s.image == victim)
        .map(|s| s.phase)
        .collect();
    assert_eq!(victims_spans, [Phase::Download]);
}

/// The stems in the chapter's "gathered in this order" line.
fn gathered_order(stderr: &str) -> Vec<String> {
    let line = stderr
        .lines()
        .find_map(|line| line.strip_prefix("gathered in this order: "))
        .unwrap_or_else(|| panic!("no gathered line in {stderr}"));
    line.split(", ").map(String::from).collect()
}

#[test]
fn ch02_gathers_in_input_order_or_as_threads_finish() {
    let corpus = TestCorpus::new();
    let mut input: Vec<String> = corpus
        .files
        .iter()
        .map(|f| f.file_stem().unwrap().to_str().unwrap().to_string())
        .collect();
    input.sort(); // The store lists its objects by name.

    let in_order = traced_run("ch02-join-handles", &corpus, &["--in-order"]);
    assert_eq!(in_order.code, 0, "{}", in_order.stderr);
    assert_eq!(gathered_order(&in_order.stderr), input);

    let as_finished = traced_run("ch02-join-handles", &corpus, &[]);
    assert_eq!(as_finished.code, 0, "{}", as_finished.stderr);
    assert_eq!(as_finished.summary["thumbnails"], corpus.files.len() * 3);
    // Every image once, in whatever order the threads finished.
    let mut gathered = gathered_order(&as_finished.stderr);
    gathered.sort();
    assert_eq!(gathered, input);
}

/// One worker's line: `worker-N: I images (O ok, F failed), T thumbnails, B bytes ...`.
#[derive(Debug)]
struct WorkerCounts {
    name: String,
    images: usize,
    ok: usize,
    failed: usize,
    thumbnails: usize,
}

fn worker_counts(stderr: &str) -> Vec<WorkerCounts> {
    stderr
        .lines()
        .filter(|line| line.starts_with("worker-") && line.contains(" images ("))
        .map(|line| {
            let (name, rest) = line.split_once(": ").unwrap();
            let numbers: Vec<usize> = rest
                .split(|c: char| !c.is_ascii_digit())
                .filter(|part| !part.is_empty())
                .map(|part| part.parse().unwrap())
                .collect();
            WorkerCounts {
                name: name.to_string(),
                images: numbers[0],
                ok: numbers[1],
                failed: numbers[2],
                thumbnails: numbers[3],
            }
        })
        .collect()
}

#[test]
fn ch03_workers_own_counts_add_up() {
    let corpus = TestCorpus::new();
    fs::write(corpus.dir.path().join("bad-text.jpg"), samples::text()).unwrap();
    let images = corpus.files.len() + 1;
    let run = traced_run("ch03-worker-structs", &corpus, &["--workers", "3"]);
    assert_eq!(run.code, 1, "{}", run.stderr);

    let workers = worker_counts(&run.stderr);
    let names: Vec<&str> = workers.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(
        names,
        ["worker-0", "worker-1", "worker-2"],
        "{}",
        run.stderr
    );
    for worker in &workers {
        assert_eq!(worker.ok + worker.failed, worker.images, "{worker:?}");
        assert_eq!(worker.thumbnails, worker.ok * 3, "{worker:?}");
        // Each worker's own count agrees with the trace: one download per image, on
        // its own lane.
        let downloads = run
            .trace
            .spans
            .iter()
            .filter(|s| s.worker == worker.name && s.phase == Phase::Download)
            .count();
        assert_eq!(downloads, worker.images, "{worker:?}");
    }
    // The images were dealt fairly: 2, 2 and 2.
    assert!(workers.iter().all(|w| w.images == images / 3));
    let total = |count: fn(&WorkerCounts) -> usize| workers.iter().map(count).sum::<usize>();
    assert_eq!(total(|w| w.images), images);
    assert_eq!(total(|w| w.failed), 1);
    assert_eq!(run.summary["failed"].as_array().unwrap().len(), 1);
    assert_eq!(run.summary["thumbnails"], total(|w| w.thumbnails));
    // Three lanes in the timeline, no more.
    let mut lanes: Vec<&str> = run.trace.spans.iter().map(|s| s.worker.as_str()).collect();
    lanes.sort();
    lanes.dedup();
    assert_eq!(lanes, names);
}
