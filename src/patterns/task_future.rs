//! A future that a worker thread fills in (Python's `concurrent.futures.Future`), the
//! promise that fills it, and [`as_completed`]. The thread pool of chapter 4 and the
//! process pool of chapter 5 both hand them out.
//!
//! - [`TaskFuture`]: `done`, `result`, `result_timeout`, `cancel` (only before the task
//!   starts).
//! - [`TaskPromise`]: the writing end; a promise dropped without a result leaves
//!   [`TaskError::Abandoned`] in its future.
//! - [`as_completed`]: futures in the order they finish.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::poison::lock;

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

/// Where a task is: the state machine behind a [`TaskFuture`].
enum TaskState<T> {
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
struct TaskSlot<T> {
    state: Mutex<(TaskState<T>, Vec<TaskDoneCallback>)>,
    changed: Condvar,
}

type TaskDoneCallback = Box<dyn FnOnce() + Send>;

impl<T> TaskSlot<T> {
    /// The lock, even if a thread panicked while holding it (the state stays coherent:
    /// every change is a single assignment).
    fn lock(&self) -> MutexGuard<'_, (TaskState<T>, Vec<TaskDoneCallback>)> {
        lock(&self.state)
    }

    /// Moves to `Done` (unless already done) and runs the done callbacks, outside the lock.
    fn finish(&self, result: Result<T, TaskError>) {
        let callbacks = {
            let mut guard = self.lock();
            if matches!(guard.0, TaskState::Done(_) | TaskState::Taken) {
                return;
            }
            guard.0 = TaskState::Done(result);
            std::mem::take(&mut guard.1)
        };
        self.changed.notify_all();
        for callback in callbacks {
            callback();
        }
    }
}

/// The result of a task that may not have finished yet (Python's `TaskFuture`).
pub struct TaskFuture<T> {
    shared: Arc<TaskSlot<T>>,
}

/// The writing end of a [`TaskFuture`]: whoever runs the task (a worker thread, or a thread
/// talking to a worker process) starts and completes it. A promise dropped before it is
/// completed completes its future with [`TaskError::Abandoned`], so no one waits forever.
pub struct TaskPromise<T> {
    shared: Arc<TaskSlot<T>>,
}

/// A new pending future and the promise that completes it.
pub fn task_promise<T>() -> (TaskPromise<T>, TaskFuture<T>) {
    let shared = Arc::new(TaskSlot {
        state: Mutex::new((TaskState::Pending, Vec::new())),
        changed: Condvar::new(),
    });
    (
        TaskPromise {
            shared: Arc::clone(&shared),
        },
        TaskFuture { shared },
    )
}

impl<T> TaskPromise<T> {
    /// Marks the task as running; false if it was cancelled first (then skip it).
    pub fn start(&self) -> bool {
        let mut guard = self.shared.lock();
        match guard.0 {
            TaskState::Pending => {
                guard.0 = TaskState::Running;
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

impl<T> Drop for TaskPromise<T> {
    fn drop(&mut self) {
        self.shared.finish(Err(TaskError::Abandoned));
    }
}

impl<T> TaskFuture<T> {
    /// True once the task has finished, failed or been cancelled.
    pub fn done(&self) -> bool {
        matches!(self.shared.lock().0, TaskState::Done(_) | TaskState::Taken)
    }

    /// Cancels the task if no worker has started it yet. True if it is now cancelled.
    pub fn cancel(&self) -> bool {
        let callbacks = {
            let mut guard = self.shared.lock();
            if !matches!(guard.0, TaskState::Pending) {
                return false;
            }
            // Decided under the lock: a worker's `start` now finds the task done.
            guard.0 = TaskState::Done(Err(TaskError::Cancelled));
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
        while matches!(guard.0, TaskState::Pending | TaskState::Running) {
            guard = self
                .shared
                .changed
                .wait(guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        take(&mut guard.0)
    }

    /// Like [`TaskFuture::result`], but gives up after `limit` with [`TaskError::Timeout`]
    /// (the task goes on; ask again later).
    pub fn result_timeout(&self, limit: Duration) -> Result<T, TaskError> {
        let guard = self.shared.lock();
        let (mut guard, _) = self
            .shared
            .changed
            .wait_timeout_while(guard, limit, |(state, _)| {
                matches!(state, TaskState::Pending | TaskState::Running)
            })
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match guard.0 {
            TaskState::Pending | TaskState::Running => Err(TaskError::Timeout(limit)),
            _ => take(&mut guard.0),
        }
    }

    /// Runs `callback` once the task is done: now if it already is.
    fn on_done(&self, callback: TaskDoneCallback) {
        let mut guard = self.shared.lock();
        if matches!(guard.0, TaskState::Done(_) | TaskState::Taken) {
            drop(guard);
            callback();
        } else {
            guard.1.push(callback);
        }
    }
}

/// Takes the value out of a finished state, leaving `Taken`.
fn take<T>(state: &mut TaskState<T>) -> Result<T, TaskError> {
    match std::mem::replace(state, TaskState::Taken) {
        TaskState::Done(result) => result,
        _ => Err(TaskError::Taken),
    }
}

/// The futures in the order they finish, each with the key it was given (Python keeps a
/// dict from future to URL for this; here the key travels with the future).
pub fn as_completed<K, T>(
    futures: impl IntoIterator<Item = (K, TaskFuture<T>)>,
) -> impl Iterator<Item = (K, TaskFuture<T>)> {
    let (finished, finish_order) = crossbeam_channel::unbounded();
    let mut waiting: Vec<Option<(K, TaskFuture<T>)>> = Vec::new();
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
