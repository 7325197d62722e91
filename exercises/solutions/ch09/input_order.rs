//! # Exercise `ex09-input-order` (chapter 9, open)
//!
//! **Do.** Two workers make the thumbnails and send each result back, tagged with its
//! index. `main` prints `stored img-NNN` for each. `img-000` is large and comes back
//! last. Print the lines in input order, each as soon as it can be, without waiting for
//! the whole batch.
//!
//! **Concept.** Order from disorder: stages that run at once finish out of order; a
//! small reorder buffer puts results back in input order as they arrive.
//!
//! **Python counterpart.** `executor.map` (results in input order) against
//! `as_completed` (results as they finish).
//!
//! **Check it.** `cargo run -- exercises check ex09-input-order`: every image done, and
//! the `stored` lines in input order.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use workbench::cli::{self, NoFlags};
use workbench::contract::{Image, Outcome};
use workbench::job::Job;

/// Worker threads.
const WORKERS: usize = 2;

/// How much longer the large image, `img-000`, takes.
const LARGE_IMAGE_EXTRA: Duration = Duration::from_millis(1000);

/// A worker: numbered images in, numbered outcomes out.
fn work(job: &Job, queue: &Receiver<(usize, Image)>, results: &Sender<(usize, Outcome)>) {
    for (index, image) in queue {
        if index == 0 {
            thread::sleep(LARGE_IMAGE_EXTRA);
        }
        let _gone = results.send((index, job.process(&image)));
    }
}

/// Prints each result in input order: early arrivals wait in `early` for their turn.
fn print_in_order(results: Receiver<(usize, Outcome)>) -> Vec<Outcome> {
    let mut early = BTreeMap::new();
    let mut in_order = Vec::new();
    for (index, outcome) in results {
        early.insert(index, outcome);
        while let Some(outcome) = early.remove(&in_order.len()) {
            eprintln!("stored {}", outcome.image.stem);
            in_order.push(outcome);
        }
    }
    in_order
}

fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    let (to_do, queue) = crossbeam_channel::unbounded();
    for (index, image) in job.images().iter().enumerate() {
        let _closed = to_do.send((index, image.clone()));
    }
    drop(to_do);
    let (results, received) = crossbeam_channel::unbounded();
    for number in 1..=WORKERS {
        let (job, queue, results) = (job.clone(), queue.clone(), results.clone());
        let _detached = thread::Builder::new()
            .name(format!("worker-{number}"))
            .spawn(move || work(&job, &queue, &results));
    }
    drop(results);
    print_in_order(received)
}

fn main() -> ExitCode {
    cli::run("ex09-input-order", thumbnail_all)
}
