//! Chapter 10's lessons, on a real broker (`nats-server`, started by the tests on
//! loopback, or by the chapter itself): a worker killed with SIGKILL mid-batch loses no
//! image (the broker hands its job to another worker, on delivery 2) and none is counted
//! twice; workers started by hand as separate processes, sharing nothing but the
//! broker's URL and the store's, finish a batch; a second enqueue of the same batch is
//! harmless; the default run leaves no process and no broker state behind; with no
//! broker the chapter says how to install one.
//!
//! Without `nats-server` these tests say so and pass, except in CI (`WORKBENCH_CI` set),
//! where they fail.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{TestCorpus, can_run, run_chapter, serve};
use workbench::chapters;
use workbench::trace::Trace;

const CH10: &str = "ch10-distributed";

/// Every file of a folder, by name.
fn read_all(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            (name, fs::read(entry.path()).unwrap())
        })
        .collect()
}

/// Chapter 0's thumbnails of `source`: what every run here must reproduce, byte for byte.
fn ch00_thumbnails(source: &str) -> BTreeMap<String, Vec<u8>> {
    let run = run_chapter("ch00-sequential", source, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    read_all(run.out())
}

/// A `nats-server` on a free loopback port, with its state in a temporary folder; killed
/// when dropped.
struct Broker {
    process: Child,
    url: String,
    _state: tempfile::TempDir,
}

impl Broker {
    fn start() -> Broker {
        let state = tempfile::tempdir().unwrap();
        let process = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", "-1", "-sd"])
            .arg(state.path().join("js"))
            .arg("--ports_file_dir")
            .arg(state.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let ports = state
            .path()
            .join(format!("nats-server_{}.ports", process.id()));
        let deadline = Instant::now() + Duration::from_secs(10);
        let url = loop {
            let text = fs::read_to_string(&ports).unwrap_or_default();
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(&text)
                && let Some(url) = json["nats"][0].as_str()
            {
                break url.to_string();
            }
            assert!(Instant::now() < deadline, "nats-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        };
        Broker {
            process,
            url,
            _state: state,
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A worker started by hand, as on another machine: its own process, the broker's URL.
struct HandWorker(Child);

impl HandWorker {
    fn start(broker: &Broker, name: &str) -> HandWorker {
        let child = Command::new(chapters::binary_path(CH10).unwrap())
            .args([
                "worker",
                "--nats",
                &broker.url,
                "--name",
                name,
                "--slots",
                "1",
            ])
            .args(["--quiet"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        HandWorker(child)
    }
}

impl Drop for HandWorker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `ch10-distributed enqueue` on `source`, into `out`, traced.
fn enqueue(broker: &Broker, source: &str, out: &Path, trace: &Path) -> Output {
    Command::new(chapters::binary_path(CH10).unwrap())
        .args(["enqueue", "--nats", &broker.url, "--source", source])
        .arg("--out")
        .arg(out)
        .arg("--trace")
        .arg(trace)
        .args(["--json", "--quiet"])
        .output()
        .unwrap()
}

fn summary(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null)
}

#[test]
fn a_worker_killed_mid_batch_loses_no_image_and_its_job_is_redelivered() {
    if !can_run(CH10) {
        return;
    }
    let corpus = TestCorpus::new();
    // Every request waits 150 ms, so each job (one GET, three PUTs) takes over half a
    // second: a worker killed as it takes a job surely holds it when it dies.
    let store = serve(corpus.dir.path(), Duration::from_millis(150));
    let expected = ch00_thumbnails(store.url());
    let scratch = tempfile::tempdir().unwrap();
    let trace_file = scratch.path().join("trace.json");
    // Two workers of one slot each: after the first result, a job starts at least once
    // more, and the worker taking it is killed.
    let flags: Vec<String> = [
        "--workers",
        "2",
        "--slots",
        "1",
        "--kill-one-worker-after",
        "1",
        "--ack-wait",
        "1s",
        "--trace",
        trace_file.to_str().unwrap(),
    ]
    .map(String::from)
    .into();
    let run = run_chapter(CH10, store.url(), &flags);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);

    // Every image done, once: the summary counts each image once, and the folder has
    // exactly ch00's thumbnails.
    assert_eq!(run.summary["images"], corpus.files.len(), "{}", run.stdout);
    assert_eq!(run.summary["thumbnails"], corpus.files.len() * 3);
    assert_eq!(
        read_all(run.out()),
        expected,
        "thumbnails differ from ch00's"
    );

    // One worker was killed, and a job it held was done on delivery 2 by another.
    let killed = run
        .stderr
        .lines()
        .find_map(|line| line.split("killed ").nth(1)?.split(' ').next())
        .unwrap_or_else(|| panic!("no worker was killed: {}", run.stderr));
    let redone: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.contains("was done on delivery 2, by "))
        .collect();
    assert!(!redone.is_empty(), "no second delivery: {}", run.stderr);
    for line in &redone {
        assert!(
            !line.ends_with(&format!("by {killed}")) && !line.contains(&format!("by {killed} ")),
            "the killed worker cannot finish a job: {line}"
        );
    }

    // The timeline shows it: spans of `... (delivery 2)` on a surviving worker's lane.
    let trace = Trace::read(&trace_file).unwrap();
    let second: Vec<_> = trace
        .spans
        .iter()
        .filter(|span| span.image.ends_with("(delivery 2)"))
        .collect();
    assert!(!second.is_empty(), "no delivery 2 in the trace");
    for span in second {
        assert!(
            !span.worker.starts_with(&format!("{killed} ")),
            "{span:?} is on the killed worker's lane"
        );
    }
}

#[test]
fn workers_started_by_hand_finish_a_batch_and_a_second_enqueue_is_harmless() {
    if !can_run(CH10) {
        return;
    }
    let corpus = TestCorpus::new();
    let store = corpus.store();
    let expected = ch00_thumbnails(store.url());
    let broker = Broker::start();
    let _workers = [
        HandWorker::start(&broker, "hand-1"),
        HandWorker::start(&broker, "hand-2"),
    ];
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("thumbs");
    let trace_file = scratch.path().join("trace.json");

    let first = enqueue(&broker, store.url(), &out, &trace_file);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(0), "{stderr}");
    assert_eq!(summary(&first)["thumbnails"], corpus.files.len() * 3);
    assert_eq!(read_all(&out), expected, "thumbnails differ from ch00's");
    let trace = Trace::read(&trace_file).unwrap();
    assert!(!trace.spans.is_empty());
    for span in &trace.spans {
        assert!(span.worker.starts_with("hand-"), "{span:?}");
    }

    // The same batch again: the broker drops the jobs it has seen (same message ids),
    // and the results already stored answer the second enqueue.
    let again = enqueue(&broker, store.url(), &out, &trace_file);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert_eq!(summary(&again)["images"], corpus.files.len());
    assert_eq!(summary(&again)["thumbnails"], corpus.files.len() * 3);
    assert_eq!(read_all(&out), expected);
}

/// Takes every job the broker hands out and never answers, as a worker that dies on
/// each one would, until `stop` is set. Returns how many deliveries it took.
fn swallow_every_job(url: &str, stop: &AtomicBool) -> usize {
    use futures_util::StreamExt;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        let jetstream = async_nats::jetstream::new(client);
        let mut taken = 0;
        while !stop.load(Ordering::Relaxed) {
            let consumer = match jetstream.get_stream("THUMBNAIL_JOBS").await {
                Ok(stream) => stream.get_consumer("thumbnail-workers").await.ok(),
                Err(_) => None,
            };
            // The enqueuer makes the stream, then its consumer: either may not be there yet.
            let Some(consumer): Option<async_nats::jetstream::consumer::PullConsumer> = consumer
            else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let mut batch = consumer
                .batch()
                .max_messages(100)
                .expires(Duration::from_millis(300))
                .messages()
                .await
                .unwrap();
            while let Some(Ok(_unanswered)) = batch.next().await {
                taken += 1;
            }
        }
        taken
    })
}

#[test]
fn a_job_no_worker_answers_is_given_up_after_the_delivery_limit() {
    if !can_run(CH10) {
        return;
    }
    let corpus = TestCorpus::new();
    let store = corpus.store();
    let broker = Broker::start();
    let scratch = tempfile::tempdir().unwrap();
    let mut enqueuer = Command::new(chapters::binary_path(CH10).unwrap())
        .args(["enqueue", "--nats", &broker.url, "--source", store.url()])
        .arg("--out")
        .arg(scratch.path())
        .args([
            "--ack-wait",
            "1s",
            "--max-deliveries",
            "2",
            "--json",
            "--quiet",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stop = AtomicBool::new(false);
    let (taken, output) = std::thread::scope(|s| {
        let swallower = s.spawn(|| swallow_every_job(&broker.url, &stop));
        // The enqueuer ends once the broker has given up on every job; a run that has
        // not ended after 60 s is a failure, not a hang.
        let deadline = Instant::now() + Duration::from_secs(60);
        while enqueuer.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = enqueuer.kill();
        stop.store(true, Ordering::Relaxed);
        (
            swallower.join().unwrap(),
            enqueuer.wait_with_output().unwrap(),
        )
    });
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Each job was handed out exactly twice (the limit), then reported, not lost.
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(taken, corpus.files.len() * 2, "{stderr}");
    let failed = summary(&output)["failed"].as_array().unwrap().clone();
    assert_eq!(failed.len(), corpus.files.len(), "{failed:?}");
    for failure in failed {
        let error = failure["error"].as_str().unwrap();
        assert!(error.contains("given up after 2 deliveries"), "{error}");
    }
}

#[test]
fn thumbnails_put_to_an_http_store_are_byte_identical_to_ch00s() {
    if !can_run(CH10) {
        return;
    }
    let corpus = TestCorpus::new();
    let store = corpus.store();
    let thumbs = tempfile::tempdir().unwrap();
    let thumbs_store = serve(thumbs.path(), Duration::ZERO);
    for chapter in ["ch00-sequential", CH10] {
        let out = vec![
            "--out".to_string(),
            format!("{}{chapter}/", thumbs_store.url()),
        ];
        let run = run_chapter(chapter, store.url(), &out);
        assert_eq!(run.code, 0, "{chapter}: {}", run.stderr);
    }
    let thumbs = thumbs.path();
    let ch00 = read_all(&thumbs.join("ch00-sequential"));
    assert_eq!(ch00.len(), corpus.files.len() * 3);
    assert_eq!(read_all(&thumbs.join(CH10)), ch00, "PUT thumbnails differ");
}

#[test]
fn the_default_run_leaves_no_process_and_no_broker_state() {
    if !can_run(CH10) {
        return;
    }
    let corpus = TestCorpus::new();
    let own_tmp = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(chapters::binary_path(CH10).unwrap())
        .args(["--source", corpus.dir.path().to_str().unwrap()])
        .arg("--out")
        .arg(out.path())
        .args(["--json", "--quiet"])
        .env("TMPDIR", own_tmp.path())
        .env_remove("NATS_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(read_all(out.path()).len(), corpus.files.len() * 3);
    let left: Vec<PathBuf> = fs::read_dir(own_tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "broker state left behind: {left:?}");
    // The broker and the workers all had the run's TMPDIR in their environment (the
    // broker also in its command line): none of them may still be running.
    let marker = own_tmp.path().to_str().unwrap().as_bytes().to_vec();
    let survivors: Vec<String> = fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| {
            let dir = entry.ok()?.path();
            let environ = fs::read(dir.join("environ")).ok()?;
            let found = environ
                .windows(marker.len())
                .any(|w| w == marker.as_slice());
            found.then(|| dir.display().to_string())
        })
        .collect();
    assert!(survivors.is_empty(), "still running: {survivors:?}");
}

#[test]
fn without_a_broker_the_chapter_names_the_install_command() {
    let corpus = TestCorpus::new();
    let empty_path = tempfile::tempdir().unwrap();
    let output = Command::new(chapters::binary_path(CH10).unwrap())
        .args(["--source", corpus.dir.path().to_str().unwrap(), "--quiet"])
        .env("PATH", empty_path.path())
        .env_remove("NATS_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("apt-get install nats-server"), "{stderr}");
}
