//! The machinery the chapters teach, built by hand to be read. One idea per file:
//!
//! - [`semaphore`]: at most N holders at once (chapters 1 and 6).
//! - [`gil`]: a simulated global interpreter lock, and the CPU step run under it (6).
//! - [`lock_board`]: lock attempts that give up and report a deadlock (6).
//! - [`panic_message`]: what a caught panic said (chapters 2 and 4).
//! - [`poison`]: locks that carry on after a panic elsewhere.
//! - [`task_future`]: a future a worker thread fills in, and `as_completed` (4, 5).
//! - [`thread_life`]: a thread's five states, measured (1).
//! - [`thread_pool`]: a pool of worker threads fed through a channel (4).
//! - [`process_pool`]: a pool of worker processes fed tasks as data (5).
//! - [`event_loop`]: an event loop on mio, with callbacks, timers, futures and
//!   protocols (8).

pub mod event_loop;
pub mod gil;
pub mod lock_board;
pub mod panic_message;
pub mod poison;
pub mod process_pool;
pub mod semaphore;
pub mod task_future;
pub mod thread_life;
pub mod thread_pool;
