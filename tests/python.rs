//! `workbench python stage`, what every Python program stands on when it is given a
//! `--workload`: it prints where the workload is, serves it, and stops when its standard
//! input closes (the program that started it is gone).

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts a stage with `workload`; its first line, parsed, and the running process.
fn stage(workload: &str, cache: &std::path::Path) -> (serde_json::Value, std::process::Child) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_workbench"))
        .args(["python", "stage", "--chapter", "py-ch00-sequential"])
        .args(["--workload", workload, "--count", "3", "--latency", "0ms"])
        .env("WORKBENCH_CACHE", cache)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (serde_json::from_str(&line).unwrap(), child)
}

/// Closes the stage's input and waits (at most 10 s) for it to end; its exit code.
fn close(mut child: std::process::Child) -> Option<i32> {
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    panic!("the stage did not stop when its input closed");
}

#[test]
fn cpu_is_a_folder_of_the_corpus_and_the_program_picks_its_output() {
    let cache = tempfile::tempdir().unwrap();
    let (staged, child) = stage("cpu", cache.path());
    let folder = std::path::PathBuf::from(staged["source"].as_str().unwrap());
    assert!(folder.starts_with(cache.path()), "{staged}");
    assert_eq!(
        std::fs::read_dir(&folder).unwrap().count() - 1,
        3,
        "3 images and a marker"
    );
    assert!(staged["out"].is_null());
    assert_eq!(close(child), Some(0));
}

#[test]
fn mixed_is_served_and_puts_back_until_the_input_closes() {
    let cache = tempfile::tempdir().unwrap();
    let (staged, child) = stage("mixed", cache.path());
    let source = staged["source"].as_str().unwrap().to_string();
    let out = staged["out"].as_str().unwrap();
    assert_eq!(out, format!("{source}thumbs/py-ch00-sequential/"));
    let listing = ureq::get(&source)
        .call()
        .unwrap()
        .into_body()
        .read_to_string();
    assert_eq!(listing.unwrap().matches("\"file\"").count(), 3);
    assert_eq!(close(child), Some(0));
    let refused = ureq::get(&source).call();
    assert!(
        refused.is_err(),
        "the store still answers after the stage ended"
    );
}
