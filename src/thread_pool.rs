//! A thread pool built by hand, the way `concurrent.futures.ThreadPoolExecutor` works
//! inside: a fixed set of named worker threads takes tasks from one channel, and every
//! [`ThreadPool::submit`] returns a [`Future`] that the worker fills in.
//!
//! - [`Future`]: `done`, `result`, `result_timeout`, `cancel` (only before the task starts).
//! - [`ThreadPool::map`]: results in input order; [`as_completed`]: in completion order.
//! - [`ThreadPool::shutdown`]: no more tasks; with `wait`, join the workers. Dropping the
//!   pool shuts it down and joins.
//! - A task that panics makes only its own future an error ([`TaskError::Panicked`]); the
//!   worker catches the panic and goes on with the next task.
//!
//! [`Feed::HoldLock`] switches the workers to the classic bug of a worker loop that keeps
//! the lock on the shared receiver while it runs the task: the pool still works, but one
//! task at a time.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

/// Why a future has no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    /// The task panicked; the message is the panic's.
    #[error("the task panicked: {0}")]
    Panicked(String),
    /// The task was cancelled before it started.
    #[error("the task was cancelled")]
    Cancelled,
    /// `result_timeout` gave up waiting; the task may still finish later.
    #[error("no result yet after {0:?}")]
    Timeout(Duration),
    /// The value was already taken by an earlier `result`.
    #[error("the result was already taken")]
    Taken,
    /// The pool was shut down (or its worker died) before the task could finish.
    #[error("the pool dropped the task before it finished")]
    Abandoned,
}

/// Where a task is: the state machine behind a [`Future`].
enum State<T> {
    /// In the queue.
    Pending,
    /// A worker has started it: it can no longer be cancelled.
    Running,
    /// Finished (or failed, or cancelled): the value waits to be taken.
    Done(Result<T, TaskError>),
    /// `result` took the value.
    Taken,
}

/// What a future and its promise share: the state, a condition variable to wait on it,
/// and the callbacks to run once it is done (how [`as_completed`] learns of each one).
struct Shared<T> {
    state: Mutex<(State<T>, Vec<DoneCallback>)>,
    changed: Condvar,
}

type DoneCallback = Box<dyn FnOnce() + Send>;

impl<T> Shared<T> {
    /// The lock, even if a thread panicked while holding it (the state stays coherent:
    /// every change is a single assignment).
    fn lock(&self) -> MutexGuard<'_, (State<T>, Vec<DoneCallback>)> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Moves to `Done` (unless already done) and runs the done callbacks, outside the lock.
    fn finish(&self, result: Result<T, TaskError>) {
        let callbacks = {
            let mut guard = self.lock();
            if matches!(guard.0, State::Done(_) | State::Taken) {
                return;
            }
            guard.0 = State::Done(result);
            std::mem::take(&mut guard.1)
        };
        self.changed.notify_all();
        for callback in callbacks {
            callback();
        }
    }
}

/// The result of a task that may not have finished yet (Python's `Future`).
pub struct Future<T> {
    shared: Arc<Shared<T>>,
}

/// The writing end of a [`Future`]: whoever runs the task (a worker thread, or a thread
/// talking to a worker process) starts and completes it. A promise dropped before it is
/// completed completes its future with [`TaskError::Abandoned`], so no one waits forever.
pub struct Promise<T> {
    shared: Arc<Shared<T>>,
}

/// A new pending future and the promise that completes it.
pub fn promise<T>() -> (Promise<T>, Future<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new((State::Pending, Vec::new())),
        changed: Condvar::new(),
    });
    (
        Promise {
            shared: Arc::clone(&shared),
        },
        Future { shared },
    )
}

impl<T> Promise<T> {
    /// Marks the task as running; false if it was cancelled first (then skip it).
    pub fn start(&self) -> bool {
        let mut guard = self.shared.lock();
        match guard.0 {
            State::Pending => {
                guard.0 = State::Running;
                true
            }
            _ => false,
        }
    }

    /// Stores the task's result and wakes everyone waiting on the future.
    pub fn complete(self, result: Result<T, TaskError>) {
        self.shared.finish(result);
    }
}

impl<T> Drop for Promise<T> {
    fn drop(&mut self) {
        self.shared.finish(Err(TaskError::Abandoned));
    }
}

impl<T> Future<T> {
    /// True once the task has finished, failed or been cancelled.
    pub fn done(&self) -> bool {
        matches!(self.shared.lock().0, State::Done(_) | State::Taken)
    }

    /// Cancels the task if no worker has started it yet. True if it is now cancelled.
    pub fn cancel(&self) -> bool {
        let callbacks = {
            let mut guard = self.shared.lock();
            if !matches!(guard.0, State::Pending) {
                return false;
            }
            // Decided under the lock: a worker's `start` now finds the task done.
            guard.0 = State::Done(Err(TaskError::Cancelled));
            std::mem::take(&mut guard.1)
        };
        self.shared.changed.notify_all();
        for callback in callbacks {
            callback();
        }
        true
    }

    /// Waits for the task and takes its value (or its error).
    pub fn result(&self) -> Result<T, TaskError> {
        let mut guard = self.shared.lock();
        while matches!(guard.0, State::Pending | State::Running) {
            guard = self
                .shared
                .changed
                .wait(guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        take(&mut guard.0)
    }

    /// Like [`Future::result`], but gives up after `limit` with [`TaskError::Timeout`]
    /// (the task goes on; ask again later).
    pub fn result_timeout(&self, limit: Duration) -> Result<T, TaskError> {
        let guard = self.shared.lock();
        let (mut guard, _) = self
            .shared
            .changed
            .wait_timeout_while(guard, limit, |(state, _)| {
                matches!(state, State::Pending | State::Running)
            })
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match guard.0 {
            State::Pending | State::Running => Err(TaskError::Timeout(limit)),
            _ => take(&mut guard.0),
        }
    }

    /// Runs `callback` once the task is done: now if it already is.
    fn on_done(&self, callback: DoneCallback) {
        let mut guard = self.shared.lock();
        if matches!(guard.0, State::Done(_) | State::Taken) {
            drop(guard);
            callback();
        } else {
            guard.1.push(callback);
        }
    }
}

/// Takes the value out of a finished state, leaving `Taken`.
fn take<T>(state: &mut State<T>) -> Result<T, TaskError> {
    match std::mem::replace(state, State::Taken) {
        State::Done(result) => result,
        _ => Err(TaskError::Taken),
    }
}

/// The futures in the order they finish, each with the key it was given (Python keeps a
/// dict from future to URL for this; here the key travels with the future).
pub fn as_completed<K, T>(
    futures: impl IntoIterator<Item = (K, Future<T>)>,
) -> impl Iterator<Item = (K, Future<T>)> {
    let (finished, finish_order) = crossbeam_channel::unbounded();
    let mut waiting: Vec<Option<(K, Future<T>)>> = Vec::new();
    for (index, (key, future)) in futures.into_iter().enumerate() {
        let finished = finished.clone();
        future.on_done(Box::new(move || {
            let _ = finished.send(index);
        }));
        waiting.push(Some((key, future)));
    }
    drop(finished);
    finish_order
        .into_iter()
        .filter_map(move |index| waiting.get_mut(index).and_then(Option::take))
}

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
    pub fn submit<T, F>(&self, task: F) -> Future<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (promise, future) = promise();
        let run: Task = Box::new(move || {
            if promise.start() {
                let result = panic::catch_unwind(AssertUnwindSafe(task));
                promise.complete(result.map_err(|panic| TaskError::Panicked(message(&*panic))));
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
        let futures: Vec<Future<T>> = items
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

/// The message of a caught panic.
fn message(panic: &(dyn Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}
