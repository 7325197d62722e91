//! # Chapter 3: worker structs, the subclass style
//!
//! **The idea.** Instead of handing a thread a closure, describe the worker as a struct:
//! its fields are its state (its share of the images, its own counters), and a method
//! `run(&mut self)` is what the thread does. A small `Thread<W>` wrapper starts a worker
//! on a thread of its own and, on `join`, hands the whole worker back, counters and
//! results included. A few workers (`--workers 4`) share the batch between them, each
//! going through its share one image at a time.
//!
//! The work itself is a [`ThumbnailTask`]: plain data in (the images), plain data out (a
//! [`TaskReport`]: outcomes and counts), with no trace of threads in it. That is the
//! point the Python course makes with its `run` methods: a task written without a
//! dependency on threads can run anywhere. Here it runs in a thread; the process-pool
//! chapter sends the same kind of plain data (the job's spec once, then one image per
//! task), serialised, to a worker process.
//!
//! **Python counterpart.** `class ThumbnailWorker(Thread)` with an `__init__` that stores
//! its share and a `run` that processes it; `start()`, `join()`, `is_alive()`, `name`;
//! the results read from the worker's attributes after `join()`.
//!
//! **In `src/`.** The task, plain data in and out, is `src/job/task.rs`; the process
//! pool of chapter 5 runs the same kind of work in worker processes.
//!
//! **Run it.**
//!
//! ```text
//! cargo run --release --bin ch03-worker-structs -- --workload io
//! cargo run --release --bin ch03-worker-structs -- --workload io --workers 8 --trace out/ch03.json
//! ```
//!
//! **What to look for.** Each worker prints its own counts when joined, and they add up
//! to the summary's. The timeline has one lane per worker (`worker-0` ...), each lane a
//! run of download, resize, upload bars with no gaps: four images in flight at a time,
//! so on `io` the wall time is about a quarter of ch00's, and longer than ch01's (which had
//! every image in flight at once).
//!
//! **When this style is worse than a closure.** Everything a worker needs must be a
//! field, declared, filled in and moved in by hand, where a closure simply captures what
//! it uses. Results come back only as fields of the worker, read after `join`. A trait
//! and a wrapper are three times the code of `thread::spawn(move || ...)`. And a worker
//! moved into a thread must own its data (`'static`), so it cannot borrow the way a
//! scoped closure does (chapter 2). The style pays off when a worker has real state and
//! behaviour worth naming, several kinds of workers are started the same way, or, as
//! here, the task must also run somewhere a closure cannot go: another process.

use std::process::ExitCode;
use std::thread::{self, JoinHandle};

use clap::Args;
use workbench::cli;
use workbench::contract::Outcome;
use workbench::job::Job;
use workbench::job::{TaskReport, ThumbnailTask};

/// This chapter's flags.
#[derive(Debug, Args)]
struct Flags {
    /// How many workers share the batch.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    workers: u16,
}

// ANCHOR: thread
/// What a thread can run: Python's `Thread` subclass, with its `run` method.
trait Worker: Send + 'static {
    /// The thread's work. It may change the worker's fields: they are its results.
    fn run(&mut self);
}

/// A worker on a thread of its own: a small `threading.Thread`.
struct Thread<W: Worker> {
    name: String,
    handle: JoinHandle<W>,
}

impl<W: Worker> Thread<W> {
    /// Starts `worker` on a new thread called `name`. (A Rust thread starts the moment it
    /// is created: there is no separate `start`.)
    fn start(name: String, mut worker: W) -> std::io::Result<Thread<W>> {
        let handle = thread::Builder::new().name(name.clone()).spawn(move || {
            worker.run();
            worker // Handed back to whoever joins.
        })?;
        Ok(Thread { name, handle })
    }

    /// Waits for the thread to end and returns its worker, or the panic that ended it.
    fn join(self) -> thread::Result<W> {
        self.handle.join()
    }

    /// Whether the thread is still running.
    fn is_alive(&self) -> bool {
        !self.handle.is_finished()
    }

    /// The thread's name.
    fn name(&self) -> &str {
        &self.name
    }
}
// ANCHOR_END: thread

// ANCHOR: worker
/// A worker: a job to run on, its task (plain data in) and its report (plain data out,
/// filled in by `run`).
struct ThumbnailWorker {
    job: Job,
    task: ThumbnailTask,
    report: TaskReport,
}

impl Worker for ThumbnailWorker {
    fn run(&mut self) {
        self.report = self.task.run(&self.job);
    }
}
// ANCHOR_END: worker

// ANCHOR: main
/// The pattern: deal the images to a few workers, start each on a thread, join them and
/// read what each one did.
fn thumbnail_all(job: &Job, flags: &Flags) -> Vec<Outcome> {
    let mut threads = Vec::new();
    let tasks = ThumbnailTask::deal(job.images(), usize::from(flags.workers));
    for (number, task) in tasks.into_iter().enumerate() {
        let worker = ThumbnailWorker {
            job: job.clone(),
            task,
            report: TaskReport::default(),
        };
        match Thread::start(format!("worker-{number}"), worker) {
            Ok(thread) => threads.push(thread),
            // Its images get no outcome, so the run reports them as lost.
            Err(error) => job.say(format!("worker-{number}: cannot start: {error}")),
        }
    }
    let alive = threads.iter().filter(|thread| thread.is_alive()).count();
    job.say(format!("{alive} of {} workers alive", threads.len()));

    let mut outcomes = Vec::new();
    for thread in threads {
        let name = thread.name().to_string();
        match thread.join() {
            Ok(worker) => {
                let report = worker.report;
                job.say(format!(
                    "{name}: {} images ({} ok, {} failed), {} thumbnails, {} bytes downloaded",
                    report.outcomes.len(),
                    report.succeeded,
                    report.failed,
                    report.thumbnails,
                    report.bytes_downloaded
                ));
                outcomes.extend(report.outcomes);
            }
            // The worker, and the outcomes it held, went down with its thread.
            Err(_) => job.say(format!("{name} panicked: its images are lost")),
        }
    }
    outcomes
}
// ANCHOR_END: main

fn main() -> ExitCode {
    cli::run("ch03-worker-structs", thumbnail_all)
}
