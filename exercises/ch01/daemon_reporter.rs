//! # Exercise `ex01-daemon-reporter` (chapter 1, a bug to fix)
//!
//! **Do.** A reporter thread prints `progress: N/M` every 20 ms, forever. The images are
//! all done, yet the program never ends. Make it end, and keep the reporter.
//!
//! **Concept.** A daemon thread: one the program does not wait for. When `main` returns,
//! the process ends and takes every thread still running with it.
//!
//! **Python counterpart.** `Thread(target=report, daemon=True)`: the interpreter exits
//! without waiting for it.
//!
//! **Check it.** `cargo run -- exercises check ex01-daemon-reporter`: the program ends
//! by itself within 15 s, every image is done, and the reporter printed its lines.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use workbench::cli::{self, NoFlags};
use workbench::contract::Outcome;
use workbench::job::Job;

/// Starts the reporter: it never returns, it prints the count of images done.
fn start_reporter(total: usize, done: Arc<AtomicUsize>) -> std::io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("reporter".into())
        .spawn(move || {
            loop {
                eprintln!("progress: {}/{total}", done.load(Ordering::Relaxed));
                thread::sleep(Duration::from_millis(20));
            }
        })
}

/// The images one after the other, while the reporter reports.
fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    let done = Arc::new(AtomicUsize::new(0));
    let reporter = start_reporter(job.images().len(), Arc::clone(&done));
    let mut outcomes = Vec::new();
    for image in job.images() {
        outcomes.push(job.process(image));
        done.fetch_add(1, Ordering::Relaxed);
    }
    // Every thread this function started is waited for before it returns.
    if let Ok(reporter) = reporter {
        let _panicked = reporter.join();
    }
    outcomes
}

fn main() -> ExitCode {
    cli::run("ex01-daemon-reporter", thumbnail_all)
}
