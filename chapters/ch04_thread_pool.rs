//! # Chapter 4: a thread pool with futures
//!
//! **The idea.** Starting a thread per image (chapter 1) does not bound anything: 10,000
//! images would be 10,000 threads. A *pool* starts a fixed number of workers once and
//! feeds them tasks through a channel. Each `submit` returns a *future*: a box the worker
//! fills in later, that you can ask `done()`, wait on with `result()`, or `cancel()`
//! while the task is still queued. The right size depends on the work: downloads and
//! uploads spend their time waiting, so one pool has many threads; resizing keeps a core
//! busy, so another pool has one thread per core.
//!
//! **Python counterpart.** `concurrent.futures.ThreadPoolExecutor`: `submit` returning a
//! `Future`, `as_completed`, `executor.map`, `shutdown(wait=True)`, and the `with` block
//! that shuts the pool down (here: dropping the pool).
//!
//! **In `src/`.** The pool is built by hand to be read: `src/patterns/thread_pool.rs`
//! (the workers and their queue) and `src/patterns/task_future.rs` (the futures and
//! `as_completed`, which the process pool of chapter 5 hands out too).
//!
//! **Run it.**
//!
//! ```text
//! cargo run --release --bin ch04-thread-pool -- --workload io --trace out/ch04.json
//! cargo run --release --bin ch04-thread-pool -- --workload cpu --resize-workers 2
//! cargo run --release --bin ch04-thread-pool -- --workload io --hold-lock
//! cargo run --release --bin ch04-thread-pool -- --workload cpu --engine rayon
//! ```
//!
//! **What to look for.** On `io` the timeline has `io-01` to `io-16` downloading at the
//! same time and `cpu-01`, `cpu-02` resizing what has arrived: overlap well above 1.
//! With `--hold-lock` the thumbnails are the same, but each pool runs one task at a
//! time: no two downloads overlap, and the run is as slow as chapter 0. With
//! `--engine rayon` the same job runs on rayon's work-stealing pool.

use std::process::ExitCode;

use clap::Args;
use workbench::cli;
use workbench::contract::{Image, ImageError, Outcome, Thumbnail};
use workbench::job::Job;
use workbench::patterns::task_future::{TaskFuture, as_completed};
use workbench::patterns::thread_pool::{Feed, ThreadPool};

/// This chapter's flags.
#[derive(Debug, Args)]
struct Flags {
    /// Threads in the pool that downloads and uploads (IO: many threads are cheap).
    #[arg(long, default_value_t = 16)]
    download_workers: usize,

    /// Threads in the pool that resizes (CPU: one per core; default: the cores).
    #[arg(long)]
    resize_workers: Option<usize>,

    /// The hand-built pool, or the same job on rayon.
    #[arg(long, value_enum, default_value = "pool")]
    engine: Engine,

    /// The bug: workers keep the queue's lock while they run a task.
    #[arg(long)]
    hold_lock: bool,
}

/// Which pool runs the job.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Engine {
    /// The hand-built pools of `src/patterns/thread_pool.rs`.
    Pool,
    /// rayon's pool and `par_iter`.
    Rayon,
}

/// The pattern: the job on pools of threads, the hand-built ones or rayon's.
fn thumbnail_all(job: &Job, flags: &Flags) -> Vec<Outcome> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let resize_workers = flags.resize_workers.unwrap_or(cores);
    let feed = if flags.hold_lock {
        Feed::HoldLock
    } else {
        Feed::Channel
    };
    let outcomes = match flags.engine {
        Engine::Pool => with_pools(job, flags.download_workers, resize_workers, feed),
        Engine::Rayon => with_rayon(job, resize_workers),
    };
    outcomes.unwrap_or_else(|error| {
        eprintln!("ch04-thread-pool: cannot start the pool: {error}");
        Vec::new() // every image is then reported as lost
    })
}

// ANCHOR: pools
/// Two pools, each sized for its kind of work, and the futures that connect them.
fn with_pools(
    job: &Job,
    download_workers: usize,
    resize_workers: usize,
    feed: Feed,
) -> std::io::Result<Vec<Outcome>> {
    let io = ThreadPool::with_feed("io", download_workers, feed)?;
    let cpu = ThreadPool::with_feed("cpu", resize_workers, feed)?;

    // Submit every download at once: each call returns a future immediately.
    let downloads: Vec<_> = job
        .images()
        .iter()
        .map(|image| {
            let (job, image) = (job.clone(), image.clone());
            (image.clone(), io.submit(move || job.download(&image)))
        })
        .collect();

    // As each download completes (in whatever order), hand its bytes to the CPU pool.
    let mut outcomes = Vec::new();
    let mut resizes = Vec::new();
    for (image, download) in as_completed(downloads) {
        match flatten(download) {
            Ok(bytes) => {
                let (job, task_image) = (job.clone(), image.clone());
                resizes.push((
                    image,
                    cpu.submit(move || job.thumbnail(&task_image, &bytes)),
                ));
            }
            Err(error) => outcomes.push(job.finish(&image, Err(error))),
        }
    }

    // As each resize completes, upload its thumbnails on the IO pool.
    let mut uploads = Vec::new();
    for (image, resize) in as_completed(resizes) {
        match flatten::<Vec<Thumbnail>>(resize) {
            Ok(thumbs) => {
                let (job, task_image) = (job.clone(), image.clone());
                uploads.push((image, io.submit(move || job.upload(&task_image, &thumbs))));
            }
            Err(error) => outcomes.push(job.finish(&image, Err(error))),
        }
    }
    for (image, upload) in uploads {
        outcomes.push(job.finish(&image, flatten(upload)));
    }
    Ok(outcomes) // the pools are dropped here: their workers finish and are joined
}

/// A future's value: the step's own result, or why the task gave none (a panic).
fn flatten<T>(future: TaskFuture<Result<T, ImageError>>) -> Result<T, ImageError> {
    future
        .result()
        .unwrap_or_else(|error| Err(ImageError::Panicked(error.to_string())))
}
// ANCHOR_END: pools

// ANCHOR: rayon
/// The same job on rayon: a pool of `threads` and a parallel iterator. Short, but every
/// thread of that pool blocks in `download` for the whole network wait: rayon's threads
/// are meant to compute, and a few hundred milliseconds of waiting on each keeps them
/// (and any other rayon work in the program) from doing so. Fine on `cpu`, poor on `io`.
fn with_rayon(job: &Job, threads: usize) -> std::io::Result<Vec<Outcome>> {
    use rayon::prelude::*;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("rayon-{:02}", i + 1))
        .build()
        .map_err(std::io::Error::other)?;
    Ok(pool.install(|| {
        job.images()
            .par_iter()
            .map(|image: &Image| job.process(image))
            .collect()
    }))
}
// ANCHOR_END: rayon

fn main() -> ExitCode {
    cli::run("ch04-thread-pool", thumbnail_all)
}
