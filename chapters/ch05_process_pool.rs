//! # Chapter 5: a pool of worker processes
//!
//! **The idea.** Threads share one address space; processes do not. A pool of worker
//! *processes* gets true isolation (a worker that crashes takes nothing else down) at a
//! price: nothing is shared, so a task must cross to the worker *as data*. Here it is the
//! job (sizes, output) once, then one image reference per task, serialised with serde in
//! length-prefixed frames over a pipe; the worker downloads, resizes and stores, and sends
//! back the names, its spans and its memory. The pool (`src/process_pool.rs`) has the same
//! `submit` / `map` / futures as chapter 4's thread pool, so the two chapters diff
//! cleanly. Workers are started one of three ways: `spawn` (run this program again),
//! `fork` (copy this process, before it has threads) or `forkserver` (a small process,
//! forked early, forks workers later on request).
//!
//! **Python counterpart.** `multiprocessing.Pool` and
//! `concurrent.futures.ProcessPoolExecutor`, `multiprocessing.set_start_method("spawn" |
//! "fork" | "forkserver")`, and pickling: the reason a lambda cannot be sent to a worker.
//!
//! **Run it.**
//!
//! ```text
//! cargo run --release --bin ch05-process-pool -- --workload cpu --workers 2
//! cargo run --release --bin ch05-process-pool -- --workload cpu --start fork
//! cargo run --release --bin ch05-process-pool -- --workload cpu --start forkserver
//! cargo run --release --bin ch05-process-pool -- --workload io --trace out/ch05.json
//! cargo run --release --bin ch05-process-pool -- --workload cpu --crash-on photo-0003
//! ```
//!
//! **What to look for.** The timeline has one lane per worker *process*, `pid 12345`, on
//! the same clock as the parent's. On `cpu` two workers keep two cores busy, like the
//! thread pool, a little slower (the frames, and each worker's own start). With
//! `--crash-on NAME` the worker aborts on that image: a fresh worker (a new pid) takes
//! over, retries the image once, and that image alone is reported, not the batch.
//! `peak_rss_mb` includes the workers' memory.

use std::process::ExitCode;

use workbench::cli;
use workbench::contract::{ImageError, Outcome};
use workbench::job::Job;
use workbench::patterns::process_pool::{ProcessPool, Start, Starter, run_as_worker_if_asked};

/// The chapter's own flags.
#[derive(Debug, clap::Args)]
struct PoolFlags {
    /// Worker processes (default: the cores).
    #[arg(long)]
    workers: Option<usize>,

    /// How workers start: run this program again, fork it, or ask a fork server.
    #[arg(long, value_enum, default_value = "spawn")]
    start: Start,

    /// A worker aborts when it gets the image with this stem (the lesson's crash).
    #[arg(long, value_name = "STEM")]
    crash_on: Option<String>,
}

// ANCHOR: main
fn main() -> ExitCode {
    // A spawned worker is this same program, started with a hidden flag.
    if let Some(code) = run_as_worker_if_asked() {
        return code;
    }
    let (common, flags) = cli::parse::<PoolFlags>("ch05-process-pool");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = flags.workers.unwrap_or(cores);

    // `fork` and `forkserver` fork *now*, while this process has one thread: the run
    // below starts threads (the embedded store, the pool's feeders).
    let starter = match Starter::new(flags.start, workers) {
        Ok(starter) => starter,
        Err(error) => {
            eprintln!("ch05-process-pool: cannot start workers: {error}");
            return ExitCode::from(2);
        }
    };
    cli::run_with("ch05-process-pool", &common, |job| {
        with_processes(job, starter, workers, flags.crash_on.clone())
    })
}
// ANCHOR_END: main

// ANCHOR: pool
/// Every image becomes a task *as data* (an `Image`: where it is, its stem), sent to the
/// next free worker process; the futures come back in input order.
fn with_processes(
    job: &Job,
    starter: Starter,
    workers: usize,
    crash_on: Option<String>,
) -> Vec<Outcome> {
    let pool = match ProcessPool::new(starter, workers, job, crash_on) {
        Ok(pool) => pool,
        Err(error) => {
            eprintln!("ch05-process-pool: cannot start the pool: {error}");
            return Vec::new(); // every image is then reported as lost
        }
    };
    let results = pool.map(job.images().iter().cloned());
    job.images()
        .iter()
        .zip(results)
        .map(|(image, result)| {
            let result =
                result.unwrap_or_else(|error| Err(ImageError::Panicked(error.to_string())));
            job.finish(image, result)
        })
        .collect()
}
// ANCHOR_END: pool
