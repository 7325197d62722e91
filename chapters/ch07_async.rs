//! # Chapter 7: many images on few threads, with tokio
//!
//! **The idea.** A download spends almost all its time waiting for the server. A thread
//! that waits still costs a thread (a stack, a kernel object, a context switch), so
//! chapter 1 pays one per image. An async *task* that waits costs a small struct: when it
//! reaches `.await` on something not ready, it hands its thread back to the runtime,
//! which runs another task. Here every image is a task on a `JoinSet`; a `Semaphore`
//! bounds how many run at once (`--concurrency`); results are taken as they complete.
//! The resize is CPU work, so it goes *off* the runtime's threads: to tokio's blocking
//! pool (`--cpu blocking`) or to rayon's pool with a oneshot channel back (`--cpu rayon`).
//! Ctrl-C starts no new image; those not started are reported as cancelled.
//!
//! **Python counterpart.** `asyncio` with `aiohttp`: `async def`, `await`,
//! `asyncio.create_task` (here `JoinSet::spawn`), `asyncio.Semaphore`,
//! `asyncio.as_completed` (here `join_next`), and `loop.run_in_executor` for the resize.
//!
//! **In `src/`.** The async steps are `src/job/async_job.rs`, over the async HTTP client
//! of `src/io/async_client.rs`; tokio itself is the runtime, the `JoinSet` and the
//! semaphore.
//!
//! **Run it.**
//!
//! ```text
//! cargo run --release --bin ch07-async -- --workload io --trace out/ch07.json
//! cargo run --release --bin ch07-async -- --workload mixed --cpu rayon
//! cargo run --release --bin ch07-async -- --workload io --await-in-loop
//! cargo run --release --bin ch07-async -- --workload mixed --block-in-async --workers 1
//! ```
//!
//! **What to look for.** On `io` every download starts at once and ends about one latency
//! later: the wall time is a few round trips, not 48 x 4 of them, and `overlap` is
//! large, on two threads. `--await-in-loop` turns the timeline back into ch00's
//! staircase. `--block-in-async` runs the resize on the runtime's threads: while one
//! image resizes, the downloads that are already answered cannot even be read, and their
//! spans stretch.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::{Args, ValueEnum};
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinSet;
use workbench::cli;
use workbench::contract::Thumbnail;
use workbench::contract::{Image, ImageError, Outcome};
use workbench::job::AsyncJob;
use workbench::job::Job;

/// Where the CPU step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Cpu {
    /// tokio's blocking pool (`spawn_blocking`): threads made for work that blocks.
    Blocking,
    /// rayon's pool, the result sent back on a oneshot channel.
    Rayon,
}

/// This chapter's flags.
#[derive(Debug, Clone, Args)]
struct Flags {
    /// At most this many images in progress at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Threads of the async runtime [default: one per core].
    #[arg(long)]
    workers: Option<usize>,
    /// Where the resize runs.
    #[arg(long, value_enum, default_value = "blocking")]
    cpu: Cpu,
    /// The bug: await each image before starting the next (no faster than ch00).
    #[arg(long)]
    await_in_loop: bool,
    /// The bug: resize on the runtime's own threads, stalling every other task.
    #[arg(long)]
    block_in_async: bool,
}

// ANCHOR: one_image
/// One image, as one task: download, resize off the runtime, upload.
async fn thumbnail_one(job: &AsyncJob, image: &Image, flags: &Flags) -> Outcome {
    let result = async {
        let bytes = job.download(image).await?;
        let thumbs = if flags.block_in_async {
            job.job().thumbnail(image, &bytes)? // The bug: CPU work on a runtime thread.
        } else {
            resize_off_runtime(job.job(), image, bytes, flags.cpu).await?
        };
        job.upload(image, thumbs).await
    }
    .await;
    job.finish(image, result)
}
// ANCHOR_END: one_image

// ANCHOR: cpu
/// Runs the resize where it does not hold up the runtime, and awaits its result.
async fn resize_off_runtime(
    job: &Job,
    image: &Image,
    bytes: Vec<u8>,
    cpu: Cpu,
) -> Result<Vec<Thumbnail>, ImageError> {
    let (job, image) = (job.clone(), image.clone());
    let resize = move || job.thumbnail(&image, &bytes);
    match cpu {
        Cpu::Blocking => tokio::task::spawn_blocking(resize)
            .await
            .map_err(|e| ImageError::Panicked(e.to_string()))?,
        Cpu::Rayon => {
            let (send, receive) = oneshot::channel();
            rayon::spawn(move || {
                let _ = send.send(resize()); // The task may be gone (a panic): fine.
            });
            receive
                .await
                .map_err(|_| ImageError::Panicked("the resize was dropped".into()))?
        }
    }
}
// ANCHOR_END: cpu

// ANCHOR: all
/// Every image as a task, at most `--concurrency` at once, results as they complete.
async fn thumbnail_all(job: AsyncJob, flags: Flags) -> Vec<Outcome> {
    let flags = Arc::new(flags);
    let mut outcomes = Vec::new();
    if flags.await_in_loop {
        // The bug: each image is awaited before the next one starts.
        for image in job.job().images() {
            outcomes.push(thumbnail_one(&job, image, &flags).await);
        }
        return outcomes;
    }
    let permits = Arc::new(Semaphore::new(flags.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for image in job.job().images() {
        let (job, flags, permits) = (job.clone(), flags.clone(), permits.clone());
        let image = image.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await; // Waits while the pool is full.
            thumbnail_one(&job, &image, &flags).await
        });
    }
    // Ctrl-C needs nothing here: once the run is stopping, a task that gets its permit
    // finds its image cancelled at `download`, and the tasks in flight finish.
    while let Some(finished) = tasks.join_next().await {
        match finished {
            Ok(outcome) => outcomes.push(outcome),
            Err(panic) => eprintln!("a task panicked: {panic}"), // reported as lost
        }
    }
    outcomes
}
// ANCHOR_END: all

// ANCHOR: main
fn main() -> ExitCode {
    cli::run("ch07-async", |job: &Job, flags: &Flags| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = flags.workers.unwrap_or(cores).max(1);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name_fn(thread_names(workers))
            .enable_all()
            .build();
        let runtime = match runtime {
            Ok(runtime) => runtime,
            Err(error) => {
                let why = ImageError::Io(format!("cannot start the async runtime: {error}"));
                let fail = |image| job.finish(image, Err(why.clone()));
                return job.images().iter().map(fail).collect();
            }
        };
        runtime.block_on(thumbnail_all(AsyncJob::new(job), flags.clone()))
    })
}
// ANCHOR_END: main

/// Names the runtime's threads so that the timeline tells them apart. tokio starts its
/// `workers` worker threads when the runtime is built, before anything else, so the
/// first `workers` names go to them (`async-worker-N`); every thread it starts later is
/// a blocking thread, for `spawn_blocking` (`blocking-N`). Without this, tokio gives
/// both kinds one name, and a resize on a blocking thread would look like one on the
/// runtime's.
fn thread_names(workers: usize) -> impl Fn() -> String + Send + Sync + 'static {
    let started = AtomicUsize::new(0);
    move || {
        let number = started.fetch_add(1, Ordering::Relaxed) + 1;
        if number <= workers {
            format!("async-worker-{number}")
        } else {
            format!("blocking-{}", number - workers)
        }
    }
}
