//! # Exercise `ex07-block-in-async` (chapter 7, a bug to fix)
//!
//! **Do.** This runtime has one thread, `main`, and every image is a task on it. The
//! resize runs right inside the task. Move it off the runtime's thread.
//!
//! **Concept.** Blocking in async code: a task gives its thread back only at an
//! `.await`. A resize is CPU work with no `.await` in it, so while it runs no other task
//! moves, not even a download that is only waiting (chapter 7's `--block-in-async`).
//!
//! **Python counterpart.** Calling `resize(image)` inside a coroutine, instead of
//! `await loop.run_in_executor(pool, resize, image)` (or `asyncio.to_thread`).
//!
//! **Check it.** `cargo run -- exercises check ex07-block-in-async`: every image done, no
//! resize span on the lane `main`, and downloads in flight together.

use std::process::ExitCode;

use tokio::task::JoinSet;
use workbench::cli::{self, NoFlags};
use workbench::contract::{Image, ImageError, Outcome, Thumbnail};
use workbench::job::{AsyncJob, Job};

/// The CPU step of one image, off the runtime's thread.
async fn resize(
    job: &AsyncJob,
    image: &Image,
    bytes: Vec<u8>,
) -> Result<Vec<Thumbnail>, ImageError> {
    let (job, image) = (job.job().clone(), image.clone());
    tokio::task::spawn_blocking(move || job.thumbnail(&image, &bytes))
        .await
        .unwrap_or_else(|error| Err(ImageError::Panicked(error.to_string())))
}

/// One image as a task: download, resize, upload.
async fn thumbnail_one(job: AsyncJob, image: Image) -> Outcome {
    let result = match job.download(&image).await {
        Ok(bytes) => resize(&job, &image, bytes).await,
        Err(error) => Err(error),
    };
    let result = match result {
        Ok(thumbs) => job.upload(&image, thumbs).await,
        Err(error) => Err(error),
    };
    job.finish(&image, result)
}

/// Every image as a task, all started before any is awaited.
async fn thumbnail_every(job: &Job) -> Vec<Outcome> {
    let job = AsyncJob::new(job);
    let mut tasks = JoinSet::new();
    for image in job.job().images() {
        tasks.spawn(thumbnail_one(job.clone(), image.clone()));
    }
    let mut outcomes = Vec::new();
    while let Some(finished) = tasks.join_next().await {
        if let Ok(outcome) = finished {
            outcomes.push(outcome);
        }
    }
    outcomes
}

/// A runtime with a single thread: the one that calls `block_on`, `main`.
fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(thumbnail_every(job)),
        Err(error) => {
            eprintln!("ex07-block-in-async: cannot start the runtime: {error}");
            Vec::new() // every image is then reported as lost
        }
    }
}

fn main() -> ExitCode {
    cli::run("ex07-block-in-async", thumbnail_all)
}
