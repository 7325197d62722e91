//! # Exercise `ex07-await-in-loop` (chapter 7, a bug to fix)
//!
//! **Do.** Each image is an async task, yet the trace shows one download at a time. Make
//! the downloads overlap, keeping the resize off the runtime's threads.
//!
//! **Concept.** `.await` means "wait here": awaiting each image inside the loop starts
//! the next one only when the previous one is done. Start them all, then await them
//! (chapter 7's `--await-in-loop`).
//!
//! **Python counterpart.** `for url in urls: await fetch(url)` instead of
//! `await asyncio.gather(*(fetch(url) for url in urls))`, or `create_task` for each.
//!
//! **Check it.** `cargo run -- exercises check ex07-await-in-loop`: every image done, and
//! at least two downloads in flight at the same moment.

use std::process::ExitCode;

use workbench::cli::{self, NoFlags};
use workbench::contract::{Image, ImageError, Outcome, Thumbnail};
use workbench::job::{AsyncJob, Job};

/// The CPU step on tokio's blocking threads, so the runtime's threads stay free.
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

/// Every image as a task.
async fn thumbnail_every(job: &Job) -> Vec<Outcome> {
    let job = AsyncJob::new(job);
    let mut outcomes = Vec::new();
    for image in job.job().images() {
        outcomes.push(thumbnail_one(job.clone(), image.clone()).await);
    }
    outcomes
}

fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(thumbnail_every(job)),
        Err(error) => {
            eprintln!("ex07-await-in-loop: cannot start the runtime: {error}");
            Vec::new() // every image is then reported as lost
        }
    }
}

fn main() -> ExitCode {
    cli::run("ex07-await-in-loop", thumbnail_all)
}
