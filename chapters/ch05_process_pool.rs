//! # Chapter 5: a pool of worker processes
//!
//! **The idea.** Threads share one address space; processes do not. A pool of worker
//! *processes* gets true isolation (a worker that crashes takes nothing else down) at a
//! price: nothing is shared, so a task must cross to the worker *as data*. Here it is the
//! job (sizes, output) once, then one image reference per task, serialised with serde in
//! length-prefixed frames over a pipe; the worker downloads, resizes and stores, and sends
//! back the names, its spans and its memory. The pool has the same `submit`, `map` and
//! futures as chapter 4's thread pool, and this file has chapter 4's shape (flags, the
//! per-image result, `thumbnail_all`, `main`). Workers are started one of three ways: `spawn` (run this program again),
//! `fork` (copy this process, before it has threads) or `forkserver` (a small process,
//! forked early, forks workers later on request).
//!
//! **Python counterpart.** `multiprocessing.Pool` and
//! `concurrent.futures.ProcessPoolExecutor`, `multiprocessing.set_start_method("spawn" |
//! "fork" | "forkserver")`, and pickling: the reason a lambda cannot be sent to a worker.
//!
//! **In `src/`.** `src/patterns/process_pool/`: the pool and its feeder threads
//! (`mod.rs`), the messages and frames (`frames.rs`), the worker's loop (`worker.rs`),
//! spawn (`start.rs`), fork and the fork server (`forking.rs`, the workbench's only
//! `unsafe` code). The futures are chapter 4's, `src/patterns/task_future.rs`.
//!
//! **Run it.**
//!
//! ```text
//! cargo run --release --bin ch05-process-pool -- --workload cpu --workers 2
//! cargo run --release --bin ch05-process-pool -- --workload cpu --start fork
//! cargo run --release --bin ch05-process-pool -- --workload cpu --start forkserver
//! cargo run --release --bin ch05-process-pool -- --workload io --trace out/ch05.json
//! cargo run --release --bin ch05-process-pool -- --workload cpu --crash-on img-003
//! ```
//!
//! **What to look for.** The timeline has one lane per worker *process*, `pid 12345`, on
//! the same clock as the parent's. On `cpu` two workers keep two cores busy, like the
//! thread pool, a little slower (the frames, and each worker's own start). With
//! `--crash-on NAME` the worker aborts on that image: a fresh worker (a new pid) takes
//! over, retries the image once, and that image alone is reported, not the batch.
//! `peak_rss_mb` includes the workers' memory.

use std::process::ExitCode;

use clap::Args;
use workbench::cli;
use workbench::contract::{ImageError, Outcome};
use workbench::job::Job;
use workbench::patterns::process_pool::{
    ProcessPool, Start, Starter, TaskResult, run_as_worker_if_asked,
};
use workbench::patterns::task_future::TaskError;

/// This chapter's flags.
#[derive(Debug, Args)]
struct Flags {
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

/// The pattern: the job on a pool of worker processes. Each worker runs the per-image
/// steps (`Job::process`, in `src/patterns/process_pool/worker.rs`) in its own process.
fn thumbnail_all(job: &Job, flags: &Flags, starter: Starter) -> Vec<Outcome> {
    if let Some(stem) = &flags.crash_on {
        refuse_a_crash_on_no_image(job, stem);
    }
    let workers = workers(flags);
    let outcomes = with_processes(job, starter, workers, flags.crash_on.clone());
    outcomes.unwrap_or_else(|error| {
        eprintln!("ch05-process-pool: cannot start the pool: {error}");
        Vec::new() // every image is then reported as lost
    })
}

// ANCHOR: pool
/// Every image becomes a task *as data* (an `Image`: where it is, its stem), sent to the
/// next free worker process; `map` gives the results in input order.
fn with_processes(
    job: &Job,
    starter: Starter,
    workers: usize,
    crash_on: Option<String>,
) -> std::io::Result<Vec<Outcome>> {
    let pool = ProcessPool::new(starter, workers, job, crash_on)?;
    let results = pool.map(job.images().iter().cloned());
    let outcomes = job.images().iter().zip(results);
    Ok(outcomes
        .map(|(image, result)| job.finish(image, flatten(result)))
        .collect()) // the pool is dropped here: its workers exit and are waited for
}

/// A task's value: the image's own result, or why the pool gave none (say, its worker died
/// twice).
fn flatten(result: Result<TaskResult, TaskError>) -> TaskResult {
    result.unwrap_or_else(|error| Err(ImageError::Panicked(error.to_string())))
}
// ANCHOR_END: pool

/// `--crash-on` names an image by its stem; a name that matches none would crash
/// nothing, silently. So the run stops before it starts, as for any bad flag (exit 2),
/// and says which names there are.
fn refuse_a_crash_on_no_image(job: &Job, stem: &str) {
    if job.images().iter().any(|image| image.stem == stem) {
        return;
    }
    let names: Vec<&str> = job
        .images()
        .iter()
        .take(3)
        .map(|i| i.stem.as_str())
        .collect();
    eprintln!(
        "ch05-process-pool: --crash-on {stem} matches no image (the images are {}, ...)",
        names.join(", ")
    );
    // Nothing has started yet: no worker, no thumbnail written.
    std::process::exit(2);
}

/// Worker processes: as many as asked, or one per core.
fn workers(flags: &Flags) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    flags.workers.unwrap_or(cores)
}

// ANCHOR: main
fn main() -> ExitCode {
    // A spawned worker is this same program, started with a hidden flag.
    if let Some(code) = run_as_worker_if_asked() {
        return code;
    }
    let (common, flags) = cli::parse::<Flags>("ch05-process-pool");
    // `fork` and `forkserver` fork *now*, while this process has one thread: the run
    // below starts threads (the embedded store, the pool's feeders).
    let starter = match Starter::new(flags.start, workers(&flags)) {
        Ok(starter) => starter,
        Err(error) => {
            eprintln!("ch05-process-pool: cannot start workers: {error}");
            return ExitCode::from(2);
        }
    };
    cli::run_with("ch05-process-pool", &common, |job| {
        thumbnail_all(job, &flags, starter)
    })
}
// ANCHOR_END: main
