//! # Exercise `ex04-as-completed` (chapter 4, guided)
//!
//! **Do.** The downloads run on one pool, the resizes and uploads on another. `img-000`
//! is slow to arrive (it waits 500 ms before its download). Hand each download to the
//! resize pool as soon as it is done, not in input order.
//!
//! **Concept.** Futures in completion order: `as_completed` yields each future when it
//! finishes, so fast work never waits behind slow work.
//!
//! **Python counterpart.** `concurrent.futures.as_completed(futures)` instead of a loop
//! over the futures in the order they were submitted.
//!
//! **Check it.** `cargo run -- exercises check ex04-as-completed`: every image done, and
//! the trace shows a resize that started while img-000's download was still in flight.

use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use workbench::cli::{self, NoFlags};
use workbench::contract::{Image, ImageError, Outcome};
use workbench::job::Job;
use workbench::patterns::task_future::TaskFuture;
use workbench::patterns::thread_pool::ThreadPool;

/// How long `img-000` waits before its download starts.
const SLOW_START: Duration = Duration::from_millis(500);

/// The download task of one image; the first one is slow to start.
fn download(job: &Job, image: &Image, number: usize) -> Result<Vec<u8>, ImageError> {
    if number == 0 {
        thread::sleep(SLOW_START);
    }
    job.download(image)
}

/// A future's value, or its panic as the image's error.
fn flatten<T>(future: TaskFuture<Result<T, ImageError>>) -> Result<T, ImageError> {
    future
        .result()
        .unwrap_or_else(|error| Err(ImageError::Panicked(error.to_string())))
}

/// Downloads on the `io` pool; each finished one is resized and stored on the `cpu` pool.
fn with_pools(job: &Job) -> std::io::Result<Vec<Outcome>> {
    let io = ThreadPool::new("io", 6)?;
    let cpu = ThreadPool::new("cpu", 2)?;
    let downloads: Vec<_> = job
        .images()
        .iter()
        .enumerate()
        .map(|(number, image)| {
            let (job, task_image) = (job.clone(), image.clone());
            (
                image.clone(),
                io.submit(move || download(&job, &task_image, number)),
            )
        })
        .collect();
    // Each download is waited for here, before its resize is handed to the CPU pool.
    let mut outcomes = Vec::new();
    let mut finishing = Vec::new();
    for (image, future) in downloads {
        match flatten(future) {
            Ok(bytes) => {
                let (job, task_image) = (job.clone(), image.clone());
                finishing.push((
                    image,
                    cpu.submit(move || {
                        let thumbs = job.thumbnail(&task_image, &bytes)?;
                        job.upload(&task_image, &thumbs)
                    }),
                ));
            }
            Err(error) => outcomes.push(job.finish(&image, Err(error))),
        }
    }
    for (image, future) in finishing {
        outcomes.push(job.finish(&image, flatten(future)));
    }
    Ok(outcomes)
}

fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    with_pools(job).unwrap_or_else(|error| {
        eprintln!("ex04-as-completed: cannot start the pools: {error}");
        Vec::new() // every image is then reported as lost
    })
}

fn main() -> ExitCode {
    cli::run("ex04-as-completed", thumbnail_all)
}
