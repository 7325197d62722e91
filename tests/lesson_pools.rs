//! Lesson tests of chapters 4 and 5: the thread pool's futures behave like Python's, a
//! pool overlaps work and `--hold-lock` does not, worker processes put their spans on the
//! parent's timeline, a crashed worker costs one retry and not the batch, nor does the
//! fork server's death, and no worker process outlives its parent. Structural facts
//! only: no assertion on speed.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{TestCorpus, run_chapter, serve, traced_run_with_summary};
use workbench::chapters;
use workbench::patterns::task_future::{TaskError, as_completed};
use workbench::patterns::thread_pool::ThreadPool;
use workbench::trace::{Phase, Span, Trace};

// ---------------------------------------------------------------------------------------
// The thread pool's futures.

#[test]
fn a_panicking_task_fails_alone_and_the_worker_keeps_working() {
    let pool = ThreadPool::new("test", 1).unwrap();
    let before = pool.submit(|| 1);
    let boom = pool.submit(|| -> i32 { panic!("boom") });
    let after = pool.submit(|| 3);
    assert_eq!(before.result(), Ok(1));
    assert_eq!(boom.result(), Err(TaskError::Panicked("boom".into())));
    // The single worker survived its task's panic and ran the next one.
    assert_eq!(after.result(), Ok(3));
    assert_eq!(after.result(), Err(TaskError::Taken));
}

#[test]
fn cancel_succeeds_only_before_the_task_starts() {
    let pool = ThreadPool::new("test", 1).unwrap();
    let (release, gate) = crossbeam_channel::bounded::<()>(0);
    let (started_tx, started) = crossbeam_channel::bounded::<()>(1);
    let running = pool.submit(move || {
        started_tx.send(()).unwrap();
        gate.recv().unwrap();
        "ran"
    });
    let queued = pool.submit(|| "should not run");
    started.recv().unwrap(); // the first task holds the only worker
    assert!(!running.done());
    assert!(!running.cancel(), "a running task cannot be cancelled");
    assert!(queued.cancel(), "a queued task can");
    assert!(queued.done());
    assert_eq!(queued.result(), Err(TaskError::Cancelled));
    assert_eq!(
        running.result_timeout(Duration::from_millis(10)),
        Err(TaskError::Timeout(Duration::from_millis(10)))
    );
    release.send(()).unwrap();
    assert_eq!(running.result(), Ok("ran"));
}

#[test]
fn map_keeps_input_order_and_as_completed_gives_completion_order() {
    let pool = ThreadPool::new("test", 4).unwrap();
    // The first item sleeps longest: it finishes last, yet map returns it first.
    let results: Vec<u64> = pool
        .map(
            |ms: u64| {
                thread::sleep(Duration::from_millis(ms));
                ms
            },
            [120, 60, 0],
        )
        .map(Result::unwrap)
        .collect();
    assert_eq!(results, [120, 60, 0]);

    let (release, gate) = crossbeam_channel::unbounded::<()>();
    let futures: Vec<_> = ["slow", "fast"]
        .into_iter()
        .map(|key| {
            let gate = gate.clone();
            (key, pool.submit(move || gate.recv().map(|_| key)))
        })
        .collect();
    let mut order = as_completed(futures);
    // Let exactly one task finish: whichever worker got the gate first.
    release.send(()).unwrap();
    let (first_key, first) = order.next().unwrap();
    assert_eq!(first.result().unwrap(), Ok(first_key));
    release.send(()).unwrap();
    let (second_key, _) = order.next().unwrap();
    assert_ne!(first_key, second_key);
    assert!(order.next().is_none());
}

#[test]
fn shutdown_runs_the_queued_tasks_and_dropping_joins_the_workers() {
    let ran = Arc::new(AtomicUsize::new(0));
    let mut pool = ThreadPool::new("test", 2).unwrap();
    let futures: Vec<_> = (0..10)
        .map(|_| {
            let ran = Arc::clone(&ran);
            pool.submit(move || {
                thread::sleep(Duration::from_millis(5));
                ran.fetch_add(1, Ordering::SeqCst)
            })
        })
        .collect();
    pool.shutdown(true);
    assert_eq!(ran.load(Ordering::SeqCst), 10);
    assert!(futures.iter().all(|f| f.done()));
    // After shutdown, a submitted task is abandoned, never left waiting.
    assert_eq!(pool.submit(|| 1).result(), Err(TaskError::Abandoned));

    let ran = Arc::new(AtomicUsize::new(0));
    {
        let pool = ThreadPool::new("test", 2).unwrap();
        for _ in 0..4 {
            let ran = Arc::clone(&ran);
            drop(pool.submit(move || ran.fetch_add(1, Ordering::SeqCst)));
        }
    } // dropped: every queued task ran and the workers were joined
    assert_eq!(ran.load(Ordering::SeqCst), 4);
}

// ---------------------------------------------------------------------------------------
// Chapter 4 on the `io` workload.

/// The largest number of spans of `phase` in progress at one moment.
fn most_at_once(spans: &[Span], phase: Phase) -> usize {
    let spans: Vec<&Span> = spans.iter().filter(|s| s.phase == phase).collect();
    spans
        .iter()
        .map(|a| {
            spans
                .iter()
                .filter(|b| b.start_us <= a.start_us && a.start_us < b.end_us)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn ch04_downloads_overlap_and_hold_lock_runs_one_task_at_a_time() {
    let latency = Duration::from_millis(150);
    let (pooled, _) = traced_run_with_summary("ch04-thread-pool", latency, &[]);
    assert!(
        most_at_once(&pooled.spans, Phase::Download) >= 4,
        "5 downloads on 16 threads should wait together: {:?}",
        pooled.spans
    );
    let workers: BTreeSet<&str> = pooled.spans.iter().map(|s| s.worker.as_str()).collect();
    assert!(workers.iter().any(|w| w.starts_with("io-")), "{workers:?}");
    assert!(workers.iter().any(|w| w.starts_with("cpu-")), "{workers:?}");

    let (held, _) = traced_run_with_summary("ch04-thread-pool", latency, &["--hold-lock"]);
    let io_spans: Vec<Span> = held
        .spans
        .iter()
        .filter(|s| s.worker.starts_with("io-"))
        .cloned()
        .collect();
    assert_eq!(io_spans.len(), 5 * 2, "a download and an upload per image");
    let mut sorted = io_spans.clone();
    sorted.sort_by_key(|s| s.start_us);
    for pair in sorted.windows(2) {
        assert!(
            pair[0].end_us <= pair[1].start_us,
            "--hold-lock: two IO tasks overlap: {pair:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Chapter 5: worker processes.

#[test]
fn ch05_worker_spans_land_on_the_parents_timeline_labelled_by_pid() {
    for start in ["spawn", "fork", "forkserver"] {
        let (trace, summary) = traced_run_with_summary(
            "ch05-process-pool",
            Duration::from_millis(30),
            &["--workers", "2", "--start", start],
        );
        assert_eq!(trace.spans.len(), 5 * 3, "{start}: {:?}", trace.spans);
        let lanes: BTreeSet<&str> = trace.spans.iter().map(|s| s.worker.as_str()).collect();
        assert!(
            lanes.iter().all(|lane| lane.starts_with("pid ")),
            "{start}: {lanes:?}"
        );
        assert!(lanes.len() <= 2, "{start}: two workers, {lanes:?}");
        for span in &trace.spans {
            assert!(
                trace.start_us <= span.start_us && span.end_us <= trace.end_us,
                "{start}: a worker's span is outside the parent's run: {span:?}"
            );
        }
        let parent_pid_lane = format!("pid {}", std::process::id());
        assert!(!lanes.contains(parent_pid_lane.as_str()));
        assert!(summary["peak_rss_mb"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn ch05_every_start_method_writes_the_same_thumbnails_as_ch00() {
    let corpus = TestCorpus::new();
    let source = corpus.dir.path().to_str().unwrap();
    let reference = run_chapter("ch00-sequential", source, &[]);
    let expected = read_all(reference.out());
    for start in ["fork", "forkserver"] {
        let run = run_chapter(
            "ch05-process-pool",
            source,
            &["--start".into(), start.into()],
        );
        assert_eq!(run.code, 0, "{start}: {}", run.stderr);
        assert!(
            read_all(run.out()) == expected,
            "{start}: thumbnails differ"
        );
    }
}

fn read_all(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn ch05_a_worker_that_aborts_fails_its_image_alone() {
    let corpus = TestCorpus::new();
    let victim = corpus.files[1].file_stem().unwrap().to_str().unwrap();
    for start in ["spawn", "fork", "forkserver"] {
        let run = run_chapter(
            "ch05-process-pool",
            corpus.dir.path().to_str().unwrap(),
            &[
                "--workers".into(),
                "2".into(),
                "--start".into(),
                start.into(),
                "--crash-on".into(),
                victim.into(),
            ],
        );
        assert_eq!(run.code, 1, "{start}: {}{}", run.stdout, run.stderr);
        let failed = run.summary["failed"].as_array().unwrap();
        assert_eq!(failed.len(), 1, "{start}: {failed:?}");
        assert!(failed[0]["source"].as_str().unwrap().contains(victim));
        let error = failed[0]["error"].as_str().unwrap();
        assert!(error.contains("worker process"), "{start}: {error}");
        if start != "forkserver" {
            // The parent waits for the workers it started, and so learns how they died.
            assert!(error.contains("SIGABRT"), "{start}: {error}");
        }
        assert_eq!(run.summary["thumbnails"], (corpus.files.len() - 1) * 3);
    }
}

#[test]
fn ch05_refuses_a_crash_on_that_names_no_image() {
    let corpus = TestCorpus::new();
    let run = run_chapter(
        "ch05-process-pool",
        corpus.dir.path().to_str().unwrap(),
        &["--crash-on".into(), "photo-0003".into()],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("--crash-on photo-0003 matches no image"),
        "{}",
        run.stderr
    );
    assert!(std::fs::read_dir(run.out()).unwrap().next().is_none());
}

// ---------------------------------------------------------------------------------------
// Processes, seen from /proc.

/// The parent pid and state letter of `pid`, or `None` once it is gone.
fn stat(pid: u32) -> Option<(u32, char)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (name) S ppid ...": the name may hold spaces, so read after its last ')'.
    let mut fields = text.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((ppid, state))
}

/// Whether `pid` is still running (a zombie has ended; it only waits to be reaped).
fn alive(pid: u32) -> bool {
    matches!(stat(pid), Some((_, state)) if state != 'Z')
}

/// Every living descendant of `root`.
fn descendants(root: u32) -> BTreeSet<u32> {
    let processes: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            stat(pid)
                .filter(|(_, s)| *s != 'Z')
                .map(|(ppid, _)| (pid, ppid))
        })
        .collect();
    let mut found = BTreeSet::from([root]);
    loop {
        let before = found.len();
        for (pid, ppid) in &processes {
            if found.contains(ppid) {
                found.insert(*pid);
            }
        }
        if found.len() == before {
            break;
        }
    }
    found.remove(&root);
    found
}

/// Starts ch05 in the background on a slow store (every download waits `latency`).
fn start_ch05(source: &str, out: &Path, trace: &Path, flags: &[&str]) -> Child {
    Command::new(chapters::binary_path("ch05-process-pool").unwrap())
        .args(["--source", source, "--json", "--quiet", "--out"])
        .arg(out)
        .arg("--trace")
        .arg(trace)
        .args(flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `parent` has `count` living descendants; returns them.
fn wait_for_workers(parent: u32, count: usize) -> BTreeSet<u32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = descendants(parent);
        if found.len() >= count {
            return found;
        }
        assert!(Instant::now() < deadline, "only {found:?} started");
        thread::sleep(Duration::from_millis(10));
    }
}

/// Waits (up to 10 s) for every one of `pids` to end; the ones still running.
fn survivors(pids: &BTreeSet<u32>) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ch05_a_worker_killed_mid_task_is_replaced_and_its_task_retried() {
    let corpus = TestCorpus::new();
    let store = serve(corpus.dir.path(), Duration::from_millis(400));
    let out = tempfile::tempdir().unwrap();
    let trace = corpus.dir.path().join("trace.json");
    let child = start_ch05(store.url(), out.path(), &trace, &["--workers", "2"]);
    let workers = wait_for_workers(child.id(), 2);
    // Each worker is now waiting on its first download (400 ms): kill one mid-task.
    thread::sleep(Duration::from_millis(150));
    let victim = *workers.iter().next().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(victim as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{summary} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(summary["thumbnails"], 5 * 3, "{summary}");
    let lanes: BTreeSet<String> = Trace::read(&trace)
        .unwrap()
        .spans
        .into_iter()
        .map(|s| s.worker)
        .collect();
    assert!(
        lanes.len() >= 2 && !lanes.contains(&format!("pid {victim}")),
        "the killed worker sent nothing back; its replacement did: {lanes:?}"
    );
}

/// The processes two workers make: the workers, and the fork server if there is one.
fn processes(start: &str) -> usize {
    if start == "forkserver" { 3 } else { 2 }
}

#[test]
fn ch05_leaves_no_worker_behind_even_when_killed() {
    let corpus = TestCorpus::new();
    let store = serve(corpus.dir.path(), Duration::from_millis(300));
    for start in ["spawn", "fork", "forkserver"] {
        // A normal run: every worker has ended when the chapter exits.
        let out = tempfile::tempdir().unwrap();
        let trace = out.path().join("trace.json");
        let mut child = start_ch05(
            store.url(),
            out.path(),
            &trace,
            &["--workers", "2", "--start", start],
        );
        let workers = wait_for_workers(child.id(), processes(start));
        assert!(child.wait().unwrap().success(), "{start}");
        assert_eq!(survivors(&workers), Vec::<u32>::new(), "{start}: orphans");

        // The parent killed with SIGKILL mid-batch: no chance to clean up, yet no orphan.
        let out = tempfile::tempdir().unwrap();
        let trace = out.path().join("trace.json");
        let mut child = start_ch05(
            store.url(),
            out.path(),
            &trace,
            &["--workers", "2", "--start", start],
        );
        let workers = wait_for_workers(child.id(), processes(start));
        thread::sleep(Duration::from_millis(100));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(
            survivors(&workers),
            Vec::<u32>::new(),
            "{start}: workers outlived their killed parent"
        );
    }
}

#[test]
fn ch05_the_fork_servers_death_is_survived_by_spawning_and_said() {
    let corpus = TestCorpus::new();
    let store = serve(corpus.dir.path(), Duration::from_millis(400));
    let out = tempfile::tempdir().unwrap();
    let trace = out.path().join("trace.json");
    let flags = ["--workers", "2", "--start", "forkserver"];
    let child = start_ch05(store.url(), out.path(), &trace, &flags);
    wait_for_workers(child.id(), processes("forkserver"));
    // The fork server is the chapter's only child (the workers are the server's).
    let server = descendants(child.id())
        .into_iter()
        .find(|pid| stat(*pid).is_some_and(|(ppid, _)| ppid == child.id()))
        .unwrap();
    thread::sleep(Duration::from_millis(150)); // the workers are on their first download
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{summary} {stderr}");
    assert_eq!(summary["thumbnails"], 5 * 3, "{summary}");
    assert!(stderr.contains("the fork server is gone"), "{stderr}");
    let notes = summary["notes"].to_string();
    assert!(notes.contains("starting workers with spawn"), "{notes}");
}
