//! A thread pool built by hand, the way `concurrent.futures.ThreadPoolExecutor` works
//! inside: a fixed set of named worker threads takes tasks from one channel, and every
//! [`ThreadPool::submit`] returns a [`TaskFuture`] that the worker fills in.
//!
//! - [`TaskFuture`] (in [`task_future`](super::task_future)): `done`, `result`,
//!   `result_timeout`, `cancel` (only before the task starts).
//! - [`ThreadPool::map`]: results in input order; [`as_completed`](super::task_future::as_completed):
//!   in completion order.
//! - [`ThreadPool::shutdown`]: no more tasks; with `wait`, join the workers. Dropping the
//!   pool shuts it down and joins.
//! - A task that panics makes only its own future an error ([`TaskError::Panicked`]); the
//!   worker catches the panic and goes on with the next task.
//!
//! [`Feed::HoldLock`] switches the workers to the classic bug of a worker loop that keeps
//! the lock on the shared receiver while it runs the task: the pool still works, but one
//! task at a time.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender};

use super::panic_message::panic_message;
use super::task_future::{TaskError, TaskFuture, task_promise};

/// A task as the workers see it: a closure that completes its own promise.
type Task = Box<dyn FnOnce() + Send>;

/// How the workers take tasks from the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Feed {
    /// Each worker owns a handle on the channel and waits on it; the right way.
    #[default]
    Channel,
    /// The bug: the workers share the receiver behind a mutex, and the worker loop keeps
    /// the mutex locked while it runs the task. Only one task runs at a time.
    HoldLock,
}

/// A fixed set of worker threads fed by one channel (Python's `ThreadPoolExecutor`).
pub struct ThreadPool {
    /// Where `submit` puts tasks; `None` once the pool is shut down (dropping the sender
    /// is what tells the workers to finish the queue and exit).
    tasks: Option<Sender<Task>>,
    /// The workers, joined on shutdown.
    workers: Vec<JoinHandle<()>>,
}

impl ThreadPool {
    /// A pool of `size` workers named `{name}-01`, `{name}-02`, ... (at least one).
    pub fn new(name: &str, size: usize) -> std::io::Result<ThreadPool> {
        ThreadPool::with_feed(name, size, Feed::Channel)
    }

    /// A pool whose workers take tasks the way `feed` says.
    pub fn with_feed(name: &str, size: usize, feed: Feed) -> std::io::Result<ThreadPool> {
        let (sender, receiver) = crossbeam_channel::unbounded::<Task>();
        let shared_receiver = Arc::new(Mutex::new(receiver.clone()));
        let mut workers = Vec::new();
        for number in 1..=size.max(1) {
            let receiver = receiver.clone();
            let shared_receiver = Arc::clone(&shared_receiver);
            let worker = thread::Builder::new()
                .name(format!("{name}-{number:02}"))
                .spawn(move || match feed {
                    Feed::Channel => run_tasks(receiver),
                    Feed::HoldLock => run_tasks_holding_the_lock(&shared_receiver),
                })?;
            workers.push(worker);
        }
        Ok(ThreadPool {
            tasks: Some(sender),
            workers,
        })
    }

    /// Queues `task` and returns the future of its result.
    pub fn submit<T, F>(&self, task: F) -> TaskFuture<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (promise, future) = task_promise();
        let run: Task = Box::new(move || {
            if promise.start() {
                let result = panic::catch_unwind(AssertUnwindSafe(task));
                promise
                    .complete(result.map_err(|panic| TaskError::Panicked(panic_message(&*panic))));
            }
        });
        match &self.tasks {
            // If the send fails, `run` comes back inside the error and is dropped with
            // its promise: the future ends as `Abandoned`.
            Some(tasks) => drop(tasks.send(run)),
            None => drop(run),
        }
        future
    }

    /// Runs `f` on every item and yields the results in the items' order (Python's
    /// `executor.map`). Every task is queued before the first result is awaited.
    pub fn map<I, T, F>(
        &self,
        f: F,
        items: impl IntoIterator<Item = I>,
    ) -> impl Iterator<Item = Result<T, TaskError>>
    where
        F: Fn(I) -> T + Send + Sync + 'static,
        I: Send + 'static,
        T: Send + 'static,
    {
        let f = Arc::new(f);
        let futures: Vec<TaskFuture<T>> = items
            .into_iter()
            .map(|item| {
                let f = Arc::clone(&f);
                self.submit(move || f(item))
            })
            .collect();
        futures.into_iter().map(|future| future.result())
    }

    /// Takes no more tasks. The queued ones still run. With `wait`, returns once every
    /// worker has finished them and exited.
    pub fn shutdown(&mut self, wait: bool) {
        self.tasks = None;
        if wait {
            for worker in self.workers.drain(..) {
                let _ = worker.join();
            }
        }
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.shutdown(true);
    }
}

// ANCHOR: worker_loop
/// A worker: take a task, run it, repeat, until the channel is closed and empty.
/// Each worker owns a clone of the receiver, so no lock is needed to wait for a task.
fn run_tasks(tasks: Receiver<Task>) {
    for task in tasks {
        task();
    }
}

/// The bug behind `--hold-lock`. The mutex guard made in the `while let` line lives
/// until the end of the loop body, so this worker keeps the lock while `task()` runs,
/// and every other worker waits for it: one task at a time, whatever the pool's size.
/// The fix is one line: `let next = tasks.lock().recv();` ends the borrow (and drops
/// the guard) at the semicolon, before the task runs.
fn run_tasks_holding_the_lock(tasks: &Mutex<Receiver<Task>>) {
    while let Ok(task) = tasks
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .recv()
    {
        task();
    }
}
// ANCHOR_END: worker_loop
