//! # Exercise `ex07-retry` (chapter 7, open)
//!
//! **Do.** The store is busy: it fails some requests in passing (a 503, or a connection
//! closed before the answer), and the library's own retries are turned off
//! (`--retries 0`). Write `download_with_retries`: when a download fails in a way that
//! may pass (`may_pass`), wait, then try again, at most `RETRIES` times. Wait with
//! exponential backoff and full jitter: before retry n (from 0), a random time between
//! zero and `FIRST_WAIT` x 2^n, through `job.retry_wait`, so the wait shows in the trace.
//!
//! **Concept.** Retries with backoff: a failure that may pass is worth another try, but
//! not at once and not forever. Doubling the wait gives a busy server room; the random
//! part spreads out clients that failed together, so they do not all come back at the
//! same instant. Only requests that are safe to repeat are retried (a GET is).
//!
//! **Python counterpart.** A loop around the request with `await asyncio.sleep(
//! random.uniform(0, first_wait * 2 ** n))` between tries (or the `tenacity` and
//! `backoff` packages, which write that loop for you).
//!
//! **Check it.** `cargo run -- exercises check ex07-retry`: every image done despite the
//! busy store, some image tried more than once, a `retry_wait` span between every two
//! tries of an image, and no image tried more than `RETRIES` + 1 times.

use std::process::ExitCode;
use std::time::Duration;

use tokio::task::JoinSet;
use workbench::cli::{self, NoFlags};
use workbench::contract::{Image, ImageError, Outcome, Thumbnail};
use workbench::job::{AsyncJob, Job};

/// At most this many retries of one download.
const RETRIES: u32 = 6;

/// The longest wait before the first retry; before each later one, twice the last.
const FIRST_WAIT: Duration = Duration::from_millis(50);

/// Whether trying again may help: the store said "not now" (429, or a 5xx that a busy
/// server gives), or the connection failed (refused, cut, silent). A 404 or a corrupt
/// image will be the same next time.
fn may_pass(error: &ImageError) -> bool {
    match error {
        ImageError::Status { status, .. } => matches!(status, 429 | 500 | 502 | 503 | 504),
        ImageError::Connect(_) | ImageError::Timeout { .. } | ImageError::Io(_) => true,
        _ => false,
    }
}

/// The download, tried again after each failure that may pass, with a growing random
/// wait in between, until it works, fails for good, or runs out of retries.
async fn download_with_retries(job: &AsyncJob, image: &Image) -> Result<Vec<u8>, ImageError> {
    let _ = (job, image, may_pass, RETRIES, FIRST_WAIT);
    todo!("try; after a failure that may pass, job.retry_wait(image, pause), then try again")
}

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

/// One image as a task.
async fn thumbnail_one(job: AsyncJob, image: Image) -> Outcome {
    let result = match download_with_retries(&job, &image).await {
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

fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(thumbnail_every(job)),
        Err(error) => {
            eprintln!("ex07-retry: cannot start the runtime: {error}");
            Vec::new() // every image is then reported as lost
        }
    }
}

fn main() -> ExitCode {
    cli::run("ex07-retry", thumbnail_all)
}
