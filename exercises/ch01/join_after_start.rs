//! # Exercise `ex01-join-after-start` (chapter 1, a bug to fix)
//!
//! **Do.** Every image gets a thread, yet the run is as slow as chapter 0. Find why and
//! fix it, keeping one thread per image.
//!
//! **Concept.** A thread runs *while* the code that started it goes on; `join` waits for
//! it. Joining right after starting makes threads one at a time again (chapter 1's
//! `--join-in-loop`).
//!
//! **Python counterpart.** `t.start(); t.join()` inside the loop, instead of one loop of
//! `start` and a second loop of `join`.
//!
//! **Check it.** `cargo run -- exercises check ex01-join-after-start`: every image done,
//! and the trace shows at least two downloads in flight at the same moment.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;

use workbench::cli::{self, NoFlags};
use workbench::contract::Outcome;
use workbench::job::Job;
use workbench::patterns::poison::lock;

/// A named thread per image; the outcomes are collected in a shared list.
fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    for (number, image) in job.images().iter().enumerate() {
        let (job, image) = (job.clone(), image.clone());
        let shared = Arc::clone(&outcomes);
        let started = thread::Builder::new()
            .name(format!("image-{number:02}"))
            .spawn(move || {
                let outcome = job.process(&image);
                lock(&shared).push(outcome);
            });
        // A thread that could not start leaves its image unreported: the driver then
        // reports that image as lost, with the reason.
        if let Ok(thread) = started {
            let _panicked = thread.join();
        }
    }
    lock(&outcomes).clone()
}

fn main() -> ExitCode {
    cli::run("ex01-join-after-start", thumbnail_all)
}
