//! # Exercise `ex06-channel` (chapter 6, guided)
//!
//! **Do.** Three workers take images from a queue and send each outcome back through a
//! channel. Write the part of `main` that receives every outcome and returns them.
//!
//! **Concept.** Sharing by sending: no list behind a lock, but a channel that moves each
//! outcome from the thread that made it to the one that needs it. A receiver's loop ends
//! when every sender is gone.
//!
//! **Python counterpart.** `queue.Queue()`: workers `put`, the main thread `get`s.
//!
//! **Check it.** `cargo run -- exercises check ex06-channel`: every image done, the
//! downloads on three `worker-N` lanes, two or three at a time.

use std::process::ExitCode;
use std::thread;

use crossbeam_channel::{Receiver, Sender};
use workbench::cli::{self, NoFlags};
use workbench::contract::{Image, Outcome};
use workbench::job::Job;

/// Worker threads.
const WORKERS: usize = 3;

/// A worker: images in from `queue`, outcomes out to `results`, until the queue is empty.
fn work(job: &Job, queue: &Receiver<Image>, results: &Sender<Outcome>) {
    for image in queue {
        let _gone = results.send(job.process(&image));
    }
}

fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    let (to_do, queue) = crossbeam_channel::unbounded();
    for image in job.images() {
        let _closed = to_do.send(image.clone());
    }
    drop(to_do); // the queue is complete: workers stop when it is empty
    let (results, received) = crossbeam_channel::unbounded();
    for number in 1..=WORKERS {
        let (job, queue, results) = (job.clone(), queue.clone(), results.clone());
        let _detached = thread::Builder::new()
            .name(format!("worker-{number}"))
            .spawn(move || work(&job, &queue, &results));
    }
    let _ = (results, received);
    todo!("receive every outcome the workers send, and return them")
}

fn main() -> ExitCode {
    cli::run("ex06-channel", thumbnail_all)
}
