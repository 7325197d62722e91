//! # Exercise `ex03-worker-run` (chapter 3, guided)
//!
//! **Do.** Write `Worker::run`: process every image of the worker's share, keeping each
//! outcome in `self.outcomes`.
//!
//! **Concept.** A worker as a struct with a `run(&mut self)` method: the state a thread
//! needs travels with it into the thread, and comes back when it is joined.
//!
//! **Python counterpart.** A subclass of `threading.Thread` that overrides `run` and keeps
//! its results in `self`.
//!
//! **Check it.** `cargo run -- exercises check ex03-worker-run`: run with `--workers 2`,
//! every image done, the downloads on the lanes `worker-1` and `worker-2` only, two at
//! a time.

use std::process::ExitCode;
use std::thread;

use clap::Args;
use workbench::cli;
use workbench::contract::{Image, Outcome};
use workbench::job::Job;

/// This exercise's flags.
#[derive(Debug, Args)]
struct Flags {
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
}

/// A worker: its share of the images, and what became of them.
struct Worker {
    /// The job (cheap to clone: every worker has one).
    job: Job,
    /// The images this worker processes, in order.
    images: Vec<Image>,
    /// One outcome per image done.
    outcomes: Vec<Outcome>,
}

impl Worker {
    /// What the thread runs: every image of the share, one after the other.
    fn run(&mut self) {
        for image in &self.images {
            self.outcomes.push(self.job.process(image));
        }
    }
}

/// Deals the images out to `--workers` workers, runs each in a named thread, and
/// gathers their outcomes.
fn thumbnail_all(job: &Job, flags: &Flags) -> Vec<Outcome> {
    let count = flags.workers.max(1);
    let mut workers: Vec<Worker> = (0..count)
        .map(|_| Worker {
            job: job.clone(),
            images: Vec::new(),
            outcomes: Vec::new(),
        })
        .collect();
    for (number, image) in job.images().iter().enumerate() {
        workers[number % count].images.push(image.clone());
    }
    let mut threads = Vec::new();
    for (number, mut worker) in workers.into_iter().enumerate() {
        let started = thread::Builder::new()
            .name(format!("worker-{}", number + 1))
            .spawn(move || {
                worker.run();
                worker
            });
        if let Ok(thread) = started {
            threads.push(thread);
        }
    }
    threads
        .into_iter()
        .filter_map(|thread| thread.join().ok())
        .flat_map(|worker| worker.outcomes)
        .collect()
}

fn main() -> ExitCode {
    cli::run("ex03-worker-run", thumbnail_all)
}
