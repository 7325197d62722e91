//! # Exercise `ex02-panic-is-a-failure` (chapter 2, guided)
//!
//! **Do.** The worker has a planted bug: it panics on `img-002`. Today that image comes
//! out as "no outcome" (lost). Report it as a failure of that image, saying it panicked,
//! and keep every other image.
//!
//! **Concept.** A thread's result comes back through its `JoinHandle`, and so does its
//! panic: `join` gives `Err(payload)` instead of the value.
//!
//! **Python counterpart.** A `Thread` swallows the exception (it only prints it); a
//! `concurrent.futures.Future` keeps it and raises it again from `result()`.
//!
//! **Check it.** `cargo run -- exercises check ex02-panic-is-a-failure`: exit code 1, the
//! summary names `img-002` only, with "panicked" in its error, every other image done.

use std::process::ExitCode;
use std::thread;

use workbench::cli::{self, NoFlags};
use workbench::contract::{Image, Outcome};
use workbench::job::Job;

/// One image, with a bug planted for the lesson: it panics on `img-002`.
fn thumbnail_one(job: &Job, image: &Image) -> Outcome {
    assert!(
        image.stem != "img-002",
        "a planted bug: {} has a header this code cannot read",
        image.stem
    );
    job.process(image)
}

/// A thread per image, each returning its outcome through its handle.
fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    let mut handles = Vec::new();
    for (number, image) in job.images().iter().enumerate() {
        let (worker_job, worker_image) = (job.clone(), image.clone());
        let started = thread::Builder::new()
            .name(format!("image-{number:02}"))
            .spawn(move || thumbnail_one(&worker_job, &worker_image));
        if let Ok(handle) = started {
            handles.push((image.clone(), handle));
        }
    }
    let mut outcomes = Vec::new();
    for (image, handle) in handles {
        let _ = &image;
        if let Ok(outcome) = handle.join() {
            outcomes.push(outcome);
        }
    }
    outcomes
}

fn main() -> ExitCode {
    cli::run("ex02-panic-is-a-failure", thumbnail_all)
}
