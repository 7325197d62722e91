//! Retries with backoff and the transfer's deadline, in every chapter's client: a store
//! that fails in passing is got through; a store that fails for good still fails the
//! same images, after their last try; a server that drips its answer is cut off at the
//! deadline, with an error that says so.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::thread;
use std::time::Duration;

use common::{TestCorpus, run_chapter, runnable_chapters};
use workbench::harness::store::{RunningStore, StoreConfig};

/// A store serving `root` with no latency and `configure`'s knobs.
fn store(root: &Path, configure: impl FnOnce(&mut StoreConfig)) -> RunningStore {
    let mut config = StoreConfig::new(root);
    config.latency = Duration::ZERO;
    configure(&mut config);
    RunningStore::start(config).unwrap()
}

/// A seed with which a quarter of the requests fail in passing, the first (the listing)
/// is answered, and one of the next five (the images' first GETs) fails: so every
/// run must retry at least one image, whatever the order the chapter asks in.
fn flaky(config: &mut StoreConfig) {
    config.flaky_rate = 0.25;
    config.seed = (0..)
        .find(|&seed| {
            let trial = StoreConfig {
                seed,
                ..config.clone()
            };
            let failing = trial.flaky_requests(6);
            failing.first().is_some_and(|&first| first >= 1)
        })
        .unwrap();
}

fn failed_sources(summary: &serde_json::Value) -> BTreeSet<String> {
    summary["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["source"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_chapter_gets_through_a_store_failing_a_quarter_of_requests() {
    let corpus = TestCorpus::new();
    let source = store(corpus.dir.path(), flaky);
    let out_dir = tempfile::tempdir().unwrap();
    // Uploads fail in passing too: a PUT of a thumbnail may be repeated.
    let out = store(out_dir.path(), |config| config.flaky_rate = 0.25);
    for chapter in runnable_chapters() {
        let flags = ["--retries", "8", "--out", out.url()].map(String::from);
        let run = run_chapter(chapter.name, source.url(), &flags);
        let summary = &run.summary;
        assert_eq!(
            run.code, 0,
            "{}: {}\n{}",
            chapter.name, run.stdout, run.stderr
        );
        assert_eq!(failed_sources(summary), BTreeSet::new(), "{}", chapter.name);
        assert_eq!(summary["thumbnails"], 15, "{}", chapter.name);
        let retries = summary["retries"].as_u64().unwrap();
        assert!(retries >= 1, "{}: no retry counted", chapter.name);
    }
}

#[test]
fn a_fixed_failing_subset_fails_after_its_last_try_and_only_it() {
    let corpus = TestCorpus::new();
    let names: Vec<String> = corpus
        .files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    // A seed that fails some images but not all, so both halves are checked.
    let mut config = StoreConfig::new(corpus.dir.path());
    config.fail_rate = 0.4;
    config.seed = (0..)
        .find(|&seed| {
            let trial = StoreConfig {
                seed,
                ..config.clone()
            };
            let failing = names.iter().filter(|n| trial.always_fails(n)).count();
            (1..names.len()).contains(&failing)
        })
        .unwrap();
    let failing: Vec<&String> = names.iter().filter(|n| config.always_fails(n)).collect();
    let (fail_rate, seed) = (config.fail_rate, config.seed);
    let source = store(corpus.dir.path(), |c| {
        (c.fail_rate, c.seed) = (fail_rate, seed)
    });
    let expected: BTreeSet<String> = failing
        .iter()
        .map(|name| format!("{}{name}", source.url()))
        .collect();

    for chapter in runnable_chapters() {
        let run = run_chapter(
            chapter.name,
            source.url(),
            &["--retries".into(), "2".into()],
        );
        let summary = &run.summary;
        assert_eq!(run.code, 1, "{}: {}", chapter.name, run.stderr);
        assert_eq!(failed_sources(summary), expected, "{}", chapter.name);
        for failure in summary["failed"].as_array().unwrap() {
            let error = failure["error"].as_str().unwrap();
            assert!(error.starts_with("HTTP 503"), "{}: {error}", chapter.name);
        }
        // Two retries for each failing image, none for the others.
        let retries = summary["retries"].as_u64().unwrap();
        assert_eq!(retries, 2 * failing.len() as u64, "{}", chapter.name);
    }
}

/// A server on loopback that sends every answer one byte per `pause`: the head too
/// when `drip_head`, else the head at once and then the body. It answers until the
/// test ends.
fn dripping_server(drip_head: bool, pause: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || drip(stream, drip_head, pause));
        }
    });
    format!("http://{address}/slow.jpg")
}

fn drip(mut stream: TcpStream, drip_head: bool, pause: Duration) {
    // Read the request's head: the client is only listened to once it has asked.
    if common::read_request_head(&mut stream).is_none() {
        return;
    }
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 40\r\n\r\n";
    let body = [0xAB_u8; 40];
    let (at_once, dripped) = if drip_head {
        (Vec::new(), [&head[..], &body].concat())
    } else {
        (head.to_vec(), body.to_vec())
    };
    if stream.write_all(&at_once).is_err() {
        return;
    }
    for byte in dripped {
        thread::sleep(pause);
        if stream.write_all(&[byte]).is_err() {
            return; // The client gave up: that is what the test wants.
        }
    }
}

#[test]
fn a_server_dripping_bytes_is_cut_off_at_the_deadline_in_all_three_clients() {
    // 40 bytes or more at one per 100 ms: 4 s or more, with never a silence long enough
    // for the idle timeout (2 s). Only the deadline (1 s) stops it.
    let list = tempfile::tempdir().unwrap();
    for drip_head in [false, true] {
        let url = dripping_server(drip_head, Duration::from_millis(100));
        let urls = list.path().join("urls.txt");
        std::fs::write(&urls, format!("{url}\n")).unwrap();
        // One chapter per client: blocking threads, tokio, the hand-built loop.
        for chapter in ["ch00-sequential", "ch07-async", "ch08-event-loop"] {
            let flags = ["--deadline", "1s", "--timeout", "2s"].map(String::from);
            let run = run_chapter(chapter, urls.to_str().unwrap(), &flags);
            assert_eq!(run.code, 1, "{chapter}: {}", run.stderr);
            let error = run.summary["failed"][0]["error"].as_str().unwrap();
            assert!(
                error.contains("past its deadline"),
                "{chapter} (head dripped: {drip_head}): {error}"
            );
            // The deadline is not a passing failure: the image is not tried again.
            assert_eq!(run.summary["retries"], 0, "{chapter}");
        }
    }
}
