//! Lesson tests of chapters 7 and 8: what async tasks and a hand-built event loop do,
//! proved from traces on a store with latency. They never assert a speed.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{TestCorpus, serve, traced_run};
use workbench::chapters;
use workbench::trace::{Phase, Span, Trace};

fn spans_of(trace: &Trace, phase: Phase) -> Vec<Span> {
    trace
        .spans
        .iter()
        .filter(|s| s.phase == phase)
        .cloned()
        .collect()
}

/// The most spans running at one moment.
fn most_at_once(spans: &[(u64, u64)]) -> usize {
    let mut edges: Vec<(u64, i32)> = Vec::new();
    for &(start, end) in spans {
        edges.push((start, 1));
        edges.push((end, -1));
    }
    edges.sort(); // At one instant, an end (-1) sorts before a start (+1).
    let (mut now, mut most) = (0i32, 0i32);
    for (_, step) in edges {
        now += step;
        most = most.max(now);
    }
    most as usize
}

fn intervals(spans: &[Span]) -> Vec<(u64, u64)> {
    spans.iter().map(|s| (s.start_us, s.end_us)).collect()
}

/// Each image's first start and last end.
fn per_image(trace: &Trace) -> Vec<(u64, u64)> {
    let mut images: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for span in &trace.spans {
        let entry = images
            .entry(&span.image)
            .or_insert((span.start_us, span.end_us));
        entry.0 = entry.0.min(span.start_us);
        entry.1 = entry.1.max(span.end_us);
    }
    images.into_values().collect()
}

#[test]
fn ch07_tasks_wait_for_their_downloads_together() {
    let trace = traced_run("ch07-async", Duration::from_millis(200), &[]);
    let downloads = spans_of(&trace, Phase::Download);
    assert_eq!(downloads.len(), 5);
    assert!(
        most_at_once(&intervals(&downloads)) >= 2,
        "downloads never overlapped: {downloads:?}"
    );
    assert!(trace.figures().overlap > 1.0);
}

#[test]
fn ch07_the_semaphore_bounds_the_images_in_flight() {
    let trace = traced_run(
        "ch07-async",
        Duration::from_millis(100),
        &["--concurrency", "2"],
    );
    let images = per_image(&trace);
    assert_eq!(images.len(), 5);
    assert_eq!(most_at_once(&images), 2, "{images:?}");
}

#[test]
fn ch07_await_in_loop_downloads_one_at_a_time() {
    let trace = traced_run(
        "ch07-async",
        Duration::from_millis(100),
        &["--await-in-loop"],
    );
    let mut spans = trace.spans.clone();
    spans.sort_by_key(|s| s.start_us);
    for pair in spans.windows(2) {
        assert!(pair[0].end_us <= pair[1].start_us, "overlap: {pair:?}");
    }
    assert!(trace.figures().overlap <= 1.0);
}

#[test]
fn ch07_resizes_never_run_on_the_runtimes_threads() {
    let trace = traced_run("ch07-async", Duration::from_millis(20), &[]);
    let resizes = spans_of(&trace, Phase::Resize);
    assert_eq!(resizes.len(), 5);
    for resize in &resizes {
        assert!(
            resize.worker.starts_with("blocking-"),
            "{} was resized on {}",
            resize.image,
            resize.worker
        );
    }
}

#[test]
fn ch07_blocking_in_async_stalls_every_other_task() {
    // One runtime thread, and the resize on it: while it resizes, no other task runs,
    // so no other image's download can even finish.
    let trace = traced_run(
        "ch07-async",
        Duration::from_millis(100),
        &["--block-in-async", "--workers", "1"],
    );
    let resizes = spans_of(&trace, Phase::Resize);
    assert_eq!(resizes.len(), 5);
    assert!(resizes.iter().all(|s| s.worker.starts_with("async-worker")));
    assert_eq!(most_at_once(&intervals(&resizes)), 1);
    for resize in &resizes {
        for download in spans_of(&trace, Phase::Download) {
            assert!(
                !(resize.start_us < download.end_us && download.end_us < resize.end_us),
                "{} finished downloading during {}'s resize",
                download.image,
                resize.image
            );
        }
    }
}

#[test]
fn ch07_ctrl_c_stops_cleanly_and_still_reports() {
    let corpus = TestCorpus::new();
    let store = serve(corpus.dir.path(), Duration::from_millis(300));
    let out = tempfile::tempdir().unwrap();
    let binary = chapters::binary_path("ch07-async").unwrap();
    let child = Command::new(&binary)
        .args([
            "--source",
            store.url(),
            "--json",
            "--quiet",
            "--concurrency",
            "1",
        ])
        .arg("--out")
        .arg(out.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // One image at a time takes 4 round trips of 300 ms each: interrupt mid-batch.
    std::thread::sleep(Duration::from_millis(1500));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(130), "{stdout}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["images"], 5);
    assert_eq!(summary["stopped_by"], "SIGINT");
    let failed = summary["failed"].as_array().unwrap();
    assert!(!failed.is_empty(), "nothing was cancelled: {summary}");
    for failure in failed {
        assert!(
            failure["error"].as_str().unwrap().contains("cancelled"),
            "{failure}"
        );
    }
    for entry in std::fs::read_dir(out.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "temporary file {name} left behind");
        image::open(&path).unwrap_or_else(|e| panic!("{name} is not a whole image: {e}"));
    }
}

#[test]
fn ch08_one_thread_keeps_every_download_in_flight() {
    let trace = traced_run("ch08-event-loop", Duration::from_millis(200), &[]);
    let downloads = spans_of(&trace, Phase::Download);
    assert_eq!(downloads.len(), 5);
    assert!(
        most_at_once(&intervals(&downloads)) >= 2,
        "downloads never overlapped: {downloads:?}"
    );
    let resizes = spans_of(&trace, Phase::Resize);
    assert!(resizes.iter().all(|s| s.worker.starts_with("resize-")));
}

#[test]
fn ch08_callbacks_alone_are_not_concurrency() {
    let trace = traced_run(
        "ch08-event-loop",
        Duration::from_millis(100),
        &["--concurrency", "1"],
    );
    assert_eq!(most_at_once(&per_image(&trace)), 1);
}

#[test]
fn bodies_over_the_limit_are_refused() {
    let corpus = TestCorpus::new();
    let store = serve(corpus.dir.path(), Duration::ZERO);
    for chapter in ["ch07-async", "ch08-event-loop"] {
        let run = common::run_chapter(chapter, store.url(), &["--max-bytes".into(), "1000".into()]);
        assert_eq!(run.code, 1, "{chapter}: {}", run.stderr);
        let failed = run.summary["failed"].as_array().unwrap();
        assert_eq!(failed.len(), 5, "{chapter}: {failed:?}");
        for failure in failed {
            assert!(
                failure["error"].as_str().unwrap().contains("too large"),
                "{chapter}: {failure}"
            );
        }
    }
}
