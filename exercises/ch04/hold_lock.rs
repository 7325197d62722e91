//! # Exercise `ex04-hold-lock` (chapter 4, a bug to fix)
//!
//! **Do.** This small pool has three workers, yet the trace shows one download at a
//! time. Find the lock that is held too long, and fix the worker loop.
//!
//! **Concept.** A lock guards the queue, not the work: hold it to take a task, never
//! while running one (chapter 4's `--hold-lock`).
//!
//! **Python counterpart.** A worker that does `with lock: task = queue.get(); task()`
//! instead of taking the task inside the `with` and running it after.
//!
//! **Check it.** `cargo run -- exercises check ex04-hold-lock`: every image done, and the
//! trace shows two or three downloads in flight together (never more: three workers).

use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use workbench::cli::{self, NoFlags};
use workbench::contract::Outcome;
use workbench::job::Job;
use workbench::patterns::poison::lock;

/// Workers in the pool.
const WORKERS: usize = 3;

/// A task: a closure a worker runs once.
type Task = Box<dyn FnOnce() + Send>;

/// A pool whose workers share one receiver behind a lock.
struct Pool {
    /// Where tasks go in; dropping it tells the workers to finish.
    tasks: Option<Sender<Task>>,
    /// The workers, joined when the pool is dropped.
    workers: Vec<JoinHandle<()>>,
}

/// What each worker runs: take a task, run it, again, until the queue is closed.
fn worker_loop(queue: &Mutex<Receiver<Task>>) {
    let queue = lock(queue);
    while let Ok(task) = queue.recv() {
        task();
    }
}

impl Pool {
    fn new(size: usize) -> Pool {
        let (tasks, queue) = mpsc::channel::<Task>();
        let queue = Arc::new(Mutex::new(queue));
        let workers = (1..=size)
            .filter_map(|number| {
                let queue = Arc::clone(&queue);
                thread::Builder::new()
                    .name(format!("worker-{number}"))
                    .spawn(move || worker_loop(&queue))
                    .ok()
            })
            .collect();
        Pool {
            tasks: Some(tasks),
            workers,
        }
    }

    fn submit(&self, task: impl FnOnce() + Send + 'static) {
        if let Some(tasks) = &self.tasks {
            let _closed = tasks.send(Box::new(task));
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        drop(self.tasks.take());
        for worker in self.workers.drain(..) {
            let _panicked = worker.join();
        }
    }
}

/// Every image as one task of the pool.
fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    {
        let pool = Pool::new(WORKERS);
        for image in job.images() {
            let (job, image) = (job.clone(), image.clone());
            let shared = Arc::clone(&outcomes);
            pool.submit(move || {
                let outcome = job.process(&image);
                lock(&shared).push(outcome);
            });
        }
    } // The pool is dropped here: its workers finish the queue and are joined.
    lock(&outcomes).clone()
}

fn main() -> ExitCode {
    cli::run("ex04-hold-lock", thumbnail_all)
}
