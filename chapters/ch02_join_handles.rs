//! # Chapter 2: results, status and panics through join handles
//!
//! **The idea.** In chapter 1 the threads put their outcomes into a shared list. Here
//! there is no list: a thread's function *returns* its result,
//! `Result<Thumbnails, ImageError>`, and `join` hands it to whoever joins. The handle is
//! also how `main` learns the rest: `is_finished()` says whether the thread is done
//! (without waiting), and a thread that panicked comes back from `join` as an `Err`
//! carrying the panic's message, so one broken worker fails one image, not the batch.
//!
//! The results are gathered in one of two orders. **As they finish** (the default):
//! `main` polls `is_finished()` on every handle, joins the finished ones and prints a
//! status line meanwhile. **In input order** (`--in-order`): `main` joins the first
//! thread, then the second, ...; a slow first image holds up the gathering of all others
//! (not their work: they run on regardless).
//!
//! The threads are *scoped* (`thread::scope`): they borrow the job, its list of images
//! and its output store straight from `main`, with no `Arc` and no clone. Plain
//! `thread::spawn` cannot: its thread may still be running after the function that
//! started it has returned, so the compiler requires everything it uses to be owned
//! (`'static`). A scope promises that every thread started in it is joined before the
//! scope ends, so borrowing from outside the scope is safe, and the compiler knows it.
//! A `ScopedJoinHandle` has the same `join` and `is_finished` as a `JoinHandle`.
//!
//! **Python counterpart.** `thread.join()` and `thread.is_alive()`. A Python thread has
//! no return value (the course stores results on the side) and its exception is printed
//! and lost; here both travel back through `join`.
//!
//! **In `src/`.** The message of a caught panic is read by
//! `src/patterns/panic_message.rs`, which the thread pool of chapter 4 uses too.
//!
//! **Run it.**
//!
//! ```text
//! cargo run --release --bin ch02-join-handles -- --workload io
//! cargo run --release --bin ch02-join-handles -- --workload io --in-order
//! cargo run --release --bin ch02-join-handles -- --workload io --panic-on img-003
//! ```
//!
//! **What to look for.** The status lines (`12 alive, 36 joined`) count down while the
//! threads run. The last line before the summary lists the images in the order their
//! results were gathered: shuffled by default, the input order with `--in-order`. With
//! `--panic-on NAME` the thread's panic message is printed where it happens, the summary
//! lists exactly that image as failed with `worker panicked: ...`, every other image has
//! its thumbnails, and the exit code is 1.

use std::process::ExitCode;
use std::thread::{self, ScopedJoinHandle};
use std::time::{Duration, Instant};

use clap::Args;
use workbench::cli;
use workbench::contract::{Image, ImageError, Outcome};
use workbench::job::Job;
use workbench::patterns::panic_message::panic_message;
use workbench::patterns::thread_life::tell_threads_refused;

/// This chapter's flags.
#[derive(Debug, Args)]
struct Flags {
    /// Gather the results in input order (join each thread in turn), not as they finish.
    #[arg(long)]
    in_order: bool,

    /// Make the worker of this image (its file name or stem) panic: a bug on purpose.
    #[arg(long, value_name = "NAME")]
    panic_on: Option<String>,
}

/// The names of an image's thumbnails: what a worker returns through `join` when all
/// goes well (its return type is `Result<Thumbnails, ImageError>`).
type Thumbnails = Vec<String>;

/// A started worker: its image and the handle that will give its result.
type Running<'scope, 'job> = (
    &'job Image,
    ScopedJoinHandle<'scope, Result<Thumbnails, ImageError>>,
);

// ANCHOR: worker
/// What each thread runs. It returns its result instead of storing it somewhere.
fn thumbnail_one(
    job: &Job,
    image: &Image,
    panic_on: Option<&str>,
) -> Result<Thumbnails, ImageError> {
    let bytes = job.download(image)?;
    if panic_on.is_some_and(|name| name == image.stem || image.source.ends_with(name)) {
        panic!("a bug on purpose in the worker of {}", image.stem);
    }
    let thumbs = job.thumbnail(image, &bytes)?;
    job.upload(image, &thumbs)
}
// ANCHOR_END: worker

// ANCHOR: scope
/// The pattern: a scoped thread per image, borrowing the job; results through `join`.
fn thumbnail_all(job: &Job, flags: &Flags) -> Vec<Outcome> {
    let panic_on = flags.panic_on.as_deref();
    thread::scope(|scope| {
        let mut outcomes = Vec::new();
        let mut running = Vec::new();
        let mut refused = Vec::new(); // why the system gave no thread, per image
        for (number, image) in job.images().iter().enumerate() {
            // No `move`, no clone: the closure borrows `job` and `image` from `main`.
            let started = thread::Builder::new()
                .name(format!("image-{number:02}"))
                .spawn_scoped(scope, || thumbnail_one(job, image, panic_on));
            match started {
                Ok(handle) => running.push((image, handle)),
                Err(error) => {
                    let cause = ImageError::Io(format!("cannot start a thread: {error}"));
                    outcomes.push(job.finish(image, Err(cause)));
                    refused.push(error);
                }
            }
            if (number + 1) % JOIN_EVERY == 0 {
                outcomes.extend(gather_ended(job, &mut running, flags.in_order));
            }
        }
        tell_threads_refused(job, &refused);
        if flags.in_order {
            outcomes.extend(gather_in_input_order(job, running));
        } else {
            outcomes.extend(gather_as_they_finish(job, running));
        }
        let order: Vec<&str> = outcomes.iter().map(|o| o.image.label()).collect();
        job.say(format!("gathered in this order: {}", order.join(", ")));
        outcomes
    }) // Here the scope joins any thread still running (none: all were joined).
}
// ANCHOR_END: scope

// ANCHOR: ended
/// How many threads are started between two sweeps of [`gather_ended`].
const JOIN_EVERY: usize = 64;

/// While threads are still being started, joins those that have ended (in input
/// order: only the first ones, up to the first still running). A thread that has ended
/// still holds its stack until it is joined: with tens of thousands of images, threads
/// kept unjoined until all are started exhaust the process's memory mappings (about
/// 32,000 threads on Linux), and the program aborts with no summary.
fn gather_ended(job: &Job, running: &mut Vec<Running>, in_order: bool) -> Vec<Outcome> {
    let ended: Vec<Running> = if in_order {
        let first_running = running
            .iter()
            .position(|(_, handle)| !handle.is_finished())
            .unwrap_or(running.len());
        running.drain(..first_running).collect()
    } else {
        let (ended, still_running) = std::mem::take(running)
            .into_iter()
            .partition(|(_, handle)| handle.is_finished());
        *running = still_running;
        ended
    };
    ended
        .into_iter()
        .map(|(image, handle)| outcome(job, image, handle.join()))
        .collect()
}
// ANCHOR_END: ended

// ANCHOR: input_order
/// Joins the threads in the order they were started: `join` waits for that one thread.
fn gather_in_input_order(job: &Job, running: Vec<Running>) -> Vec<Outcome> {
    running
        .into_iter()
        .map(|(image, handle)| outcome(job, image, handle.join()))
        .collect()
}
// ANCHOR_END: input_order

// ANCHOR: completion_order
/// Joins each thread as soon as it has finished, checking with `is_finished()` (which
/// never waits) every 10 ms, and prints a status line now and then.
fn gather_as_they_finish(job: &Job, mut running: Vec<Running>) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    let mut last_status = Instant::now();
    while !running.is_empty() {
        let (finished, still_running): (Vec<_>, Vec<_>) = running
            .into_iter()
            .partition(|(_, handle)| handle.is_finished());
        running = still_running;
        for (image, handle) in finished {
            // Finished already: this `join` returns at once.
            outcomes.push(outcome(job, image, handle.join()));
        }
        if last_status.elapsed() >= Duration::from_millis(250) {
            let (alive, joined) = (running.len(), outcomes.len());
            job.say(format!("status: {alive} alive, {joined} joined"));
            last_status = Instant::now();
        }
        if !running.is_empty() {
            thread::sleep(Duration::from_millis(10));
        }
    }
    outcomes
}
// ANCHOR_END: completion_order

// ANCHOR: panic
/// One image's outcome from what `join` gave: the thread's own result, or, when the
/// thread panicked, the panic's message as the image's error.
fn outcome(
    job: &Job,
    image: &Image,
    joined: thread::Result<Result<Thumbnails, ImageError>>,
) -> Outcome {
    let result = match joined {
        Ok(result) => result,
        Err(panic) => Err(ImageError::Panicked(panic_message(panic.as_ref()))),
    };
    job.finish(image, result)
}

// ANCHOR_END: panic

fn main() -> ExitCode {
    cli::run("ch02-join-handles", thumbnail_all)
}
