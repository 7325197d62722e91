//! # Exercise `ex07-bounded` (chapter 7, open)
//!
//! **Do.** Every image is a task and all start at once. Let at most two of them download
//! at the same moment; the rest of each task stays free.
//!
//! **Concept.** Bounded concurrency: a thousand tasks cost little, but a thousand
//! connections to one store do. An async semaphore's `acquire().await` waits without
//! holding a thread.
//!
//! **Python counterpart.** `asyncio.Semaphore(2)` and `async with semaphore:` around the
//! download.
//!
//! **Check it.** `cargo run -- exercises check ex07-bounded`: every image done, two
//! downloads in flight together, never three.

use std::process::ExitCode;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use workbench::cli::{self, NoFlags};
use workbench::contract::{Image, ImageError, Outcome, Thumbnail};
use workbench::job::{AsyncJob, Job};

/// Downloads in flight at most.
const DOWNLOADS: usize = 2;

/// The CPU step on tokio's blocking threads.
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

/// One image as a task; its download holds a permit of `downloads`.
async fn thumbnail_one(job: AsyncJob, image: Image, downloads: Arc<Semaphore>) -> Outcome {
    let bytes = {
        // `acquire` fails only on a closed semaphore, and this one is never closed.
        let _permit = downloads.acquire().await.ok();
        job.download(&image).await
    }; // The permit is dropped here.
    let result = match bytes {
        Ok(bytes) => resize(&job, &image, bytes).await,
        Err(error) => Err(error),
    };
    let result = match result {
        Ok(thumbs) => job.upload(&image, thumbs).await,
        Err(error) => Err(error),
    };
    job.finish(&image, result)
}

/// Every image as a task, all started at once.
async fn thumbnail_every(job: &Job) -> Vec<Outcome> {
    let job = AsyncJob::new(job);
    let downloads = Arc::new(Semaphore::new(DOWNLOADS));
    let mut tasks = JoinSet::new();
    for image in job.job().images() {
        tasks.spawn(thumbnail_one(
            job.clone(),
            image.clone(),
            Arc::clone(&downloads),
        ));
    }
    let mut outcomes = Vec::new();
    while let Some(finished) = tasks.join_next().await {
        if let Ok(outcome) = finished {
            outcomes.push(outcome);
        }
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
            eprintln!("ex07-bounded: cannot start the runtime: {error}");
            Vec::new() // every image is then reported as lost
        }
    }
}

fn main() -> ExitCode {
    cli::run("ex07-bounded", thumbnail_all)
}
