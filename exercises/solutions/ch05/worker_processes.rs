//! # Exercise `ex05-worker-processes` (chapter 5, guided)
//!
//! **Do.** Write `with_processes`: start a pool of `--workers` worker processes, send
//! every image to it as data, and turn each result into the image's outcome.
//!
//! **Concept.** A process pool: each worker is a process of its own (its own memory, its
//! own pid), started here by running this same program again ("spawn"), and fed tasks
//! as plain data through a pipe.
//!
//! **Python counterpart.** `multiprocessing.Pool(2).map(...)`, or
//! `ProcessPoolExecutor(max_workers=2)`.
//!
//! **Check it.** `cargo run -- exercises check ex05-worker-processes`: run with
//! `--workers 2`, every image done, the resizes in two processes (`pid N` lanes), two
//! downloads at a time.

use std::process::ExitCode;

use clap::Args;
use workbench::cli;
use workbench::contract::{ImageError, Outcome};
use workbench::job::Job;
use workbench::patterns::process_pool::{
    ProcessPool, Start, Starter, TaskResult, run_as_worker_if_asked,
};
use workbench::patterns::task_future::TaskError;

/// This exercise's flags.
#[derive(Debug, Args)]
struct Flags {
    /// Worker processes.
    #[arg(long, default_value_t = 2)]
    workers: usize,
}

/// A task's value: the image's own result, or why the pool gave none.
fn flatten(result: Result<TaskResult, TaskError>) -> TaskResult {
    result.unwrap_or_else(|error| Err(ImageError::Panicked(error.to_string())))
}

/// Every image as a task of a pool of worker processes; results in input order.
fn with_processes(job: &Job, starter: Starter, workers: usize) -> std::io::Result<Vec<Outcome>> {
    let pool = ProcessPool::new(starter, workers, job, None)?;
    let results = pool.map(job.images().iter().cloned());
    Ok(job
        .images()
        .iter()
        .zip(results)
        .map(|(image, result)| job.finish(image, flatten(result)))
        .collect())
}

fn main() -> ExitCode {
    // A spawned worker is this same program, started with a hidden flag.
    if let Some(code) = run_as_worker_if_asked() {
        return code;
    }
    let (common, flags) = cli::parse::<Flags>("ex05-worker-processes");
    let starter = match Starter::new(Start::Spawn, flags.workers) {
        Ok(starter) => starter,
        Err(error) => {
            eprintln!("ex05-worker-processes: cannot start workers: {error}");
            return ExitCode::from(2);
        }
    };
    cli::run_with("ex05-worker-processes", &common, |job| {
        with_processes(job, starter, flags.workers).unwrap_or_else(|error| {
            eprintln!("ex05-worker-processes: cannot start the pool: {error}");
            Vec::new() // every image is then reported as lost
        })
    })
}
