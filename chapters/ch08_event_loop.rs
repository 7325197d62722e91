//! # Chapter 8: what an event loop is
//!
//! **The idea.** Chapter 7 wrote `.await` and let tokio do the rest. Here is the rest,
//! built by hand on `mio` (the crate under tokio) with no async runtime: one thread
//! turns a loop that asks the operating system which sockets are ready, runs the
//! callbacks that are due, and goes back to waiting. Each image is a chain of callbacks:
//! its download is a `Future` whose done callback starts the resize on a small thread
//! pool, whose result comes back to the loop with `call_soon_threadsafe`, whose done
//! callback starts the upload, whose done callback records the outcome and starts the
//! next image. HTTP is a `Protocol` (callbacks on a connection) over a `Transport`;
//! timeouts are `call_later` timers. Nothing waits on the loop's thread, so one thread
//! keeps every download in flight at once.
//!
//! **Python counterpart.** asyncio's event loop used directly: `loop.call_soon`,
//! `loop.call_later`, `loop.run_until_complete`, `asyncio.Future` with
//! `add_done_callback`, `loop.create_connection` with an `asyncio.Protocol`, and
//! `loop.run_in_executor` for the resize. Coroutines and `await` are sugar over exactly
//! these callbacks.
//!
//! **In `src/`.** The loop is `src/patterns/event_loop/`: the loop itself (`mod.rs`),
//! its futures (`loop_future.rs`), connections as protocols and transports
//! (`transport.rs`), HTTP as a protocol (`http.rs`) and the job's steps as futures
//! (`steps.rs`).
//!
//! **Run it.**
//!
//! ```text
//! cargo run --release --bin ch08-event-loop -- --workload io --trace out/ch08.json
//! cargo run --release --bin ch08-event-loop -- --workload mixed --resize-threads 2
//! cargo run --release --bin ch08-event-loop -- --workload io --concurrency 1
//! ```
//!
//! **What to look for.** The same timeline as chapter 7's: on `io` every download is in
//! flight at once, all started by one thread, and the wall time is a few round trips.
//! The resize spans sit on the `resize-N` lanes of the pool. `--concurrency 1` chains one
//! image after another: callbacks alone do not make anything concurrent, starting many
//! things before waiting for any does.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::process::ExitCode;
use std::rc::Rc;

use bytes::Bytes;
use clap::Args;
use workbench::cli;
use workbench::contract::Thumbnail;
use workbench::contract::{Image, ImageError, Outcome};
use workbench::job::Job;
use workbench::patterns::event_loop::{EventLoop, LoopFuture, steps};

/// This chapter's flags.
#[derive(Debug, Clone, Args)]
struct Flags {
    /// At most this many images in progress at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Threads of the resize pool [default: one per core].
    #[arg(long)]
    resize_threads: Option<usize>,
}

/// What every callback of the batch shares. The loop is single-threaded, so plain
/// `Rc` and `RefCell` are enough: no callback ever runs at the same time as another.
struct Batch {
    event_loop: EventLoop,
    resize_pool: rayon::ThreadPool,
    job: Job,
    /// Images not started yet.
    waiting: RefCell<VecDeque<Image>>,
    outcomes: RefCell<Vec<Outcome>>,
    /// Done when every image has its outcome: `run_until_complete` waits for it.
    all_done: LoopFuture<(), ImageError>,
}

// ANCHOR: chain
/// Starts the next waiting image: its download, with what to do when it is done.
fn start_next(batch: &Rc<Batch>) {
    let Some(image) = batch.waiting.borrow_mut().pop_front() else {
        return;
    };
    let download = steps::download(&batch.event_loop, &batch.resize_pool, &batch.job, &image);
    let batch = batch.clone();
    download.add_done_callback(move |bytes| match bytes {
        Ok(bytes) => resize(&batch, image, bytes),
        Err(error) => finish(&batch, image, Err(error)),
    });
}

/// The download is in: resize on the pool, and come back to the loop when done.
fn resize(batch: &Rc<Batch>, image: Image, bytes: Bytes) {
    let (job, on_pool) = (batch.job.clone(), image.clone());
    let thumbs = batch
        .event_loop
        .run_in_pool(&batch.resize_pool, move || job.thumbnail(&on_pool, &bytes));
    let batch = batch.clone();
    thumbs.add_done_callback(move |thumbs| match thumbs {
        Ok(thumbs) => upload(&batch, image, thumbs),
        Err(error) => finish(&batch, image, Err(error)),
    });
}

/// The thumbnails are made: store them all at once.
fn upload(batch: &Rc<Batch>, image: Image, thumbs: Vec<Thumbnail>) {
    let stored = steps::upload(
        &batch.event_loop,
        &batch.resize_pool,
        &batch.job,
        &image,
        thumbs,
    );
    let batch = batch.clone();
    stored.add_done_callback(move |names| finish(&batch, image, names));
}

/// One image is done: keep its outcome, then start the next one (or end the batch).
fn finish(batch: &Rc<Batch>, image: Image, result: Result<Vec<String>, ImageError>) {
    let mut outcomes = batch.outcomes.borrow_mut();
    outcomes.push(batch.job.finish(&image, result));
    if outcomes.len() == batch.job.images().len() {
        batch.all_done.set_result(());
    } else {
        drop(outcomes);
        start_next(batch);
    }
}
// ANCHOR_END: chain

// ANCHOR: all
/// Starts `--concurrency` images, then turns the loop until the last one is done.
fn with_event_loop(job: &Job, flags: &Flags) -> std::io::Result<Vec<Outcome>> {
    if job.images().is_empty() {
        return Ok(Vec::new());
    }
    let event_loop = EventLoop::new()?;
    let resize_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(flags.resize_threads.unwrap_or(0))
        .thread_name(|i| format!("resize-{}", i + 1))
        .build()
        .map_err(std::io::Error::other)?;
    let batch = Rc::new(Batch {
        all_done: LoopFuture::new(&event_loop),
        event_loop: event_loop.clone(),
        resize_pool,
        job: job.clone(),
        waiting: RefCell::new(job.images().iter().cloned().collect()),
        outcomes: RefCell::new(Vec::new()),
    });
    for _ in 0..flags.concurrency.max(1) {
        start_next(&batch);
    }
    let _every_image_done = event_loop.run_until_complete(&batch.all_done)?;
    Ok(batch.outcomes.take())
}
// ANCHOR_END: all

/// The pattern on one thread: the loop, or, if it cannot start, every image failed
/// with the reason.
fn thumbnail_all(job: &Job, flags: &Flags) -> Vec<Outcome> {
    with_event_loop(job, flags).unwrap_or_else(|error| {
        let why = ImageError::Io(format!("the event loop failed: {error}"));
        let fail = |image| job.finish(image, Err(why.clone()));
        job.images().iter().map(fail).collect()
    })
}

fn main() -> ExitCode {
    cli::run("ch08-event-loop", thumbnail_all)
}
