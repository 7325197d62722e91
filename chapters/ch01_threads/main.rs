//! # Chapter 1: raw threads, one per image
//!
//! **The idea.** Most of an image's time is spent waiting for the store to answer. So give
//! every image a thread of its own: while one thread waits for its download, the others
//! wait for theirs at the same moment, and the waits overlap instead of adding up. Each
//! thread is made with `thread::Builder` (so it has a name, `image-07`, that shows up in
//! the timeline), is handed a function and its arguments, and is started. Only when every
//! thread has started does `main` join them, one after the other (apart from a sweep of
//! the threads already ended, below).
//!
//! **Python counterpart.** `Thread(target=thumbnail_one, args=(image,))`, `.start()`, then
//! a second loop calling `.join()`; a `daemon=True` thread for the background reporter;
//! `threading.Semaphore(4)` around the download.
//!
//! **In `src/`.** The semaphore of `--limit` is `src/patterns/semaphore.rs`; the
//! detached reporter of `--detach` is beside this file, in `detach.rs`.
//!
//! **Run it.**
//!
//! ```text
//! cargo run --release --bin ch01-threads -- --workload io --trace out/ch01.json
//! cargo run --release --bin ch01-threads -- --workload io --join-in-loop   # the bug
//! cargo run --release --bin ch01-threads -- --workload io --limit 4        # a semaphore
//! cargo run --release --bin ch01-threads -- --workload io --detach         # a daemon
//! cargo run --release --bin ch01-threads -- --workload cpu --thread-states  # the five states
//! ```
//!
//! **What to look for.** The timeline has one lane per thread, and the download bars of
//! every lane start together: `overlap` in the summary is far above 1 on the `io`
//! workload. With `--join-in-loop` the lanes are still there, but they form a staircase:
//! each thread starts only after the previous one ended, `overlap` is back to about 1,
//! and the wall time is ch00's. With `--limit 4` at most four download bars are ever
//! drawn at once, and the other lanes show a `queue_wait` bar: waiting for a permit.
//!
//! **Why unbounded threads are a problem.** One thread per image is fine for 48 images.
//! For 1,000 it means 1,000 connections opened to the store at the same moment (a real
//! one starts refusing them), 1,000 images in memory at once, and 1,000 stacks. A counting
//! semaphore (`--limit N`) caps the downloads in flight; the next chapters cap the
//! threads themselves with a pool. At tens of thousands of images even threads that
//! have ended cost: each keeps its stack until it is joined, so the loop joins the
//! ended ones every 64 starts (`join_finished`), and an image the system gives no
//! thread fails alone, with the cause, and the summary says so.

mod detach;

use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;

use clap::Args;
use workbench::cli;
use workbench::contract::{Image, ImageError, Outcome};
use workbench::job::Job;
use workbench::patterns::poison::lock;
use workbench::patterns::semaphore::Semaphore;
use workbench::patterns::thread_life::{ThreadLives, tell_threads_refused};
use workbench::trace::Phase;

/// This chapter's flags.
#[derive(Debug, Args)]
struct Flags {
    /// The classic bug: join each thread right after starting it, so nothing overlaps.
    #[arg(long)]
    join_in_loop: bool,

    /// Start a progress reporter thread that is never joined (Python's daemon thread).
    #[arg(long)]
    detach: bool,

    /// At most N downloads at a time, through a counting semaphore.
    #[arg(long, value_name = "N")]
    limit: Option<NonZeroUsize>,

    /// Measure each thread's time in its five states (new, running, runnable, waiting,
    /// dead), print them, and draw new and dead in the trace.
    #[arg(long)]
    thread_states: bool,
}

// ANCHOR: target
/// The function every thread runs: one image, from download to upload. With a
/// semaphore, the download waits for a permit first (a `queue_wait` span in the trace).
fn thumbnail_one(job: &Job, image: &Image, downloads: Option<&Semaphore>) -> Outcome {
    let bytes = {
        let _permit = downloads.map(|semaphore| {
            job.tracer()
                .record(image.label(), Phase::QueueWait, || semaphore.acquire())
        });
        job.download(image)
    }; // The permit is dropped here: the next download may start.
    let result = bytes
        .and_then(|bytes| job.thumbnail(image, &bytes))
        .and_then(|thumbs| job.upload(image, &thumbs));
    job.finish(image, result)
}
// ANCHOR_END: target

// ANCHOR: spawn
/// The pattern: start a named thread per image, then join them all.
fn thumbnail_all(job: &Job, flags: &Flags) -> Vec<Outcome> {
    // The threads put their outcomes here, as the Python version appends to a list.
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let downloads = flags.limit.map(|n| Arc::new(Semaphore::new(n.get())));
    if flags.detach {
        detach::start_reporter(job.clone(), Arc::clone(&outcomes));
    }

    let lives = ThreadLives::new(flags.thread_states);
    let mut threads = Vec::new();
    let mut refused = Vec::new(); // why the system gave no thread, per image
    for (number, image) in job.images().iter().enumerate() {
        let name = format!("image-{number:02}");
        // `move` hands the thread its own copies: a thread may outlive this loop, so it
        // cannot borrow anything from it (`Job` and `Arc` are cheap to clone).
        let target = {
            let (job, image) = (job.clone(), image.clone());
            let (outcomes, downloads) = (Arc::clone(&outcomes), downloads.clone());
            move || {
                let outcome = thumbnail_one(&job, &image, downloads.as_deref());
                lock(&outcomes).push(outcome);
            }
        };
        let target = lives.watch(&name, image.label(), target);
        let started = thread::Builder::new().name(name).spawn(target);
        match started {
            // ANCHOR: bug
            Ok(thread) if flags.join_in_loop => join(thread, &lives), // Waits right here: the bug.
            // ANCHOR_END: bug
            Ok(thread) => threads.push(thread),
            Err(error) => {
                let cause = ImageError::Io(format!("cannot start a thread: {error}"));
                lock(&outcomes).push(job.finish(image, Err(cause)));
                refused.push(error);
            }
        }
        if (number + 1) % JOIN_EVERY == 0 {
            join_finished(&mut threads, &lives);
        }
    }
    // Every thread is running now; wait for each one to end.
    for thread in threads {
        join(thread, &lives);
    }
    lives.finish(job);
    tell_threads_refused(job, &refused);
    // A copy: the detached reporter may still hold the list.
    lock(&outcomes).clone()
}
// ANCHOR_END: spawn

// ANCHOR: join_finished
/// How many threads are started between two sweeps of [`join_finished`].
const JOIN_EVERY: usize = 64;

/// Joins the threads that have already ended, and keeps the others. A thread that has
/// ended still holds its stack until it is joined: with tens of thousands of images,
/// threads kept unjoined until all are started exhaust the process's memory mappings
/// (about 32,000 threads on Linux), and the program aborts with no summary.
fn join_finished(threads: &mut Vec<thread::JoinHandle<()>>, lives: &ThreadLives) {
    let (ended, running): (Vec<_>, Vec<_>) = std::mem::take(threads)
        .into_iter()
        .partition(|thread| thread.is_finished());
    *threads = running;
    for thread in ended {
        join(thread, lives);
    }
}
// ANCHOR_END: join_finished

/// Waits for a thread to end. A thread that panicked has already printed why, and its
/// image never reached the list, so the run reports it as lost (chapter 2 catches it).
fn join(thread: thread::JoinHandle<()>, lives: &ThreadLives) {
    let name = thread.thread().name().unwrap_or_default().to_string();
    let _panicked = thread.join();
    lives.joined(&name);
}

fn main() -> ExitCode {
    cli::run("ch01-threads", thumbnail_all)
}
