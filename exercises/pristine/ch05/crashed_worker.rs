//! # Exercise `ex05-crashed-worker` (chapter 5, guided)
//!
//! **Do.** The check runs this program with `--crash-on img-002`: the worker process
//! that gets `img-002` aborts, and so does its replacement. Write `flatten` so that
//! `img-002` is reported with the pool's account of the crash, and every other image is
//! done.
//!
//! **Concept.** A process that dies mid-task takes nothing else with it: the pool sees
//! its pipe close, starts a replacement, retries the task once, then gives up on that
//! image only.
//!
//! **Python counterpart.** `concurrent.futures.process.BrokenProcessPool`, which in
//! Python breaks the *whole* pool; here only one image fails.
//!
//! **Check it.** `cargo run -- exercises check ex05-crashed-worker`: exit code 1, the
//! summary names `img-002` only, saying its worker was killed, every other image done.

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

    /// A worker aborts when it gets the image with this stem.
    #[arg(long, value_name = "STEM")]
    crash_on: Option<String>,
}

/// A task's value: the image's own result (its worker may have reported a crash), or
/// why the pool gave none.
fn flatten(result: Result<TaskResult, TaskError>) -> TaskResult {
    let _ = (result, ImageError::Lost);
    todo!("the image's own result, or the pool's error as the image's failure")
}

/// Every image as a task of a pool of worker processes; results in input order.
fn with_processes(job: &Job, starter: Starter, flags: &Flags) -> std::io::Result<Vec<Outcome>> {
    let pool = ProcessPool::new(starter, flags.workers, job, flags.crash_on.clone())?;
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
    let (common, flags) = cli::parse::<Flags>("ex05-crashed-worker");
    let starter = match Starter::new(Start::Spawn, flags.workers) {
        Ok(starter) => starter,
        Err(error) => {
            eprintln!("ex05-crashed-worker: cannot start workers: {error}");
            return ExitCode::from(2);
        }
    };
    cli::run_with("ex05-crashed-worker", &common, |job| {
        with_processes(job, starter, &flags).unwrap_or_else(|error| {
            eprintln!("ex05-crashed-worker: cannot start the pool: {error}");
            Vec::new() // every image is then reported as lost
        })
    })
}
