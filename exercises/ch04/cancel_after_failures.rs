//! # Exercise `ex04-cancel-after-failures` (chapter 4, open)
//!
//! **Do.** The store of this check fails some images (HTTP 503). After the second failed
//! image, give up on the rest: cancel every future still queued, and report those images
//! as cancelled.
//!
//! **Concept.** Cancelling futures: a future can be cancelled while its task waits in
//! the queue, not once a worker runs it.
//!
//! **Python counterpart.** `future.cancel()` on the futures of a `ThreadPoolExecutor`
//! (or `executor.shutdown(cancel_futures=True)`).
//!
//! **Check it.** `cargo run -- exercises check ex04-cancel-after-failures`: exit code 1,
//! no download started after the second failure (but the one the worker had already
//! taken), and the images never downloaded are reported as cancelled.

use std::process::ExitCode;

use workbench::cli::{self, NoFlags};
use workbench::contract::{Image, ImageError, Outcome};
use workbench::job::Job;
use workbench::patterns::task_future::{TaskError, TaskFuture};
use workbench::patterns::thread_pool::ThreadPool;

/// A task's outcome, or why it has none (cancelled, or a panic).
fn outcome_of(job: &Job, image: &Image, future: &TaskFuture<Outcome>) -> Outcome {
    match future.result() {
        Ok(outcome) => outcome,
        Err(TaskError::Cancelled) => job.finish(image, Err(ImageError::Cancelled)),
        Err(other) => job.finish(image, Err(ImageError::Panicked(other.to_string()))),
    }
}

/// One worker, one task per image; the futures are looked at in input order.
fn with_pool(job: &Job) -> std::io::Result<Vec<Outcome>> {
    let pool = ThreadPool::new("io", 1)?;
    let futures: Vec<(Image, TaskFuture<Outcome>)> = job
        .images()
        .iter()
        .map(|image| {
            let (job, task_image) = (job.clone(), image.clone());
            (image.clone(), pool.submit(move || job.process(&task_image)))
        })
        .collect();
    let mut outcomes = Vec::new();
    for (image, future) in &futures {
        outcomes.push(outcome_of(job, image, future));
    }
    Ok(outcomes)
}

fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    with_pool(job).unwrap_or_else(|error| {
        eprintln!("ex04-cancel-after-failures: cannot start the pool: {error}");
        Vec::new() // every image is then reported as lost
    })
}

fn main() -> ExitCode {
    cli::run("ex04-cancel-after-failures", thumbnail_all)
}
