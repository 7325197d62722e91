//! # Exercise `ex06-race` (chapter 6, a bug to fix)
//!
//! **Do.** Every thread adds its image's thumbnails to a shared counter, and `main`
//! prints the total. It prints far fewer than were made. Fix the counting.
//!
//! **Concept.** A race: "read, compute, write back" is three steps, and two threads that
//! read the same value both write back their own sum: one update is lost. An atomic
//! read-modify-write is one step nobody can cut in two.
//!
//! **Python counterpart.** `counter.value += n` on a `multiprocessing.Value` without
//! `with counter.get_lock():` (or `total += n` across threads, between bytecodes).
//!
//! **Check it.** `cargo run -- exercises check ex06-race`: every image done, and the line
//! `thumbnails counted: N` says as many thumbnails as the summary.

use std::process::ExitCode;
use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use workbench::cli::{self, NoFlags};
use workbench::contract::Outcome;
use workbench::job::Job;

/// How long working out the new total takes.
const ADDING: Duration = Duration::from_millis(50);

/// Adds `made` to the shared count of thumbnails.
fn add(counted: &AtomicUsize, made: usize) {
    let seen = counted.load(Ordering::SeqCst);
    thread::sleep(ADDING); // the new total takes a moment to work out
    counted.store(seen + made, Ordering::SeqCst);
}

/// A thread per image; each adds its thumbnails to the count when all are done.
fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    let counted = AtomicUsize::new(0);
    // Every thread counts at the same moment, so a race shows every time, not by luck.
    let all_done = Barrier::new(job.images().len());
    let outcomes = thread::scope(|scope| {
        let threads: Vec<_> = job
            .images()
            .iter()
            .map(|image| {
                let (counted, all_done) = (&counted, &all_done);
                scope.spawn(move || {
                    let outcome = job.process(image);
                    all_done.wait();
                    add(counted, outcome.result.as_ref().map_or(0, Vec::len));
                    outcome
                })
            })
            .collect();
        threads
            .into_iter()
            .filter_map(|thread| thread.join().ok())
            .collect()
    });
    eprintln!("thumbnails counted: {}", counted.load(Ordering::SeqCst));
    outcomes
}

fn main() -> ExitCode {
    cli::run("ex06-race", thumbnail_all)
}
