//! # Exercise `ex08-call-later` (chapter 8, open)
//!
//! **Do.** Today every image starts at once. Start image i's download i x 50 ms after
//! the first one instead (a gentle start for a store that dislikes bursts), using the
//! loop's timers: no thread sleeps, and the loop stays free for the images started.
//!
//! **Concept.** Timers on an event loop: `call_later` keeps the callback and the time it
//! is due; the loop runs it then, between other callbacks. A timer never fires early.
//!
//! **Python counterpart.** `loop.call_later(delay, callback)` (and `loop.time()`).
//!
//! **Check it.** `cargo run -- exercises check ex08-call-later`: every image done, image
//! i's download started no sooner than i x 50 ms after img-000's, and downloads still
//! overlap.

use std::cell::RefCell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use workbench::cli::{self, NoFlags};
use workbench::contract::{Image, ImageError, Outcome, Thumbnail};
use workbench::job::Job;
use workbench::patterns::event_loop::{EventLoop, LoopFuture, steps};

/// The time between two images' starts.
const STAGGER: Duration = Duration::from_millis(50);

/// What every callback shares (one thread: `Rc` and `RefCell` are enough).
struct Batch {
    event_loop: EventLoop,
    resize_pool: rayon::ThreadPool,
    job: Job,
    outcomes: RefCell<Vec<Outcome>>,
    /// Done when every image has its outcome.
    all_done: LoopFuture<(), ImageError>,
}

/// Starts one image: its download, and what to do when it is done.
fn start(batch: &Rc<Batch>, image: Image) {
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

/// The thumbnails are made: store them.
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

/// One image is done; the last one ends the batch.
fn finish(batch: &Rc<Batch>, image: Image, result: Result<Vec<String>, ImageError>) {
    let mut outcomes = batch.outcomes.borrow_mut();
    outcomes.push(batch.job.finish(&image, result));
    if outcomes.len() == batch.job.images().len() {
        batch.all_done.set_result(());
    }
}

/// Schedules every image's start, then turns the loop until the last one is done.
fn with_event_loop(job: &Job) -> std::io::Result<Vec<Outcome>> {
    if job.images().is_empty() {
        return Ok(Vec::new());
    }
    let event_loop = EventLoop::new()?;
    let resize_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .thread_name(|i| format!("resize-{}", i + 1))
        .build()
        .map_err(std::io::Error::other)?;
    let batch = Rc::new(Batch {
        all_done: LoopFuture::new(&event_loop),
        event_loop: event_loop.clone(),
        resize_pool,
        job: job.clone(),
        outcomes: RefCell::new(Vec::new()),
    });
    for (number, image) in job.images().iter().enumerate() {
        let (batch, image) = (batch.clone(), image.clone());
        let delay = STAGGER * number as u32;
        let _timer = event_loop.call_later(delay, move || start(&batch, image));
    }
    let _every_image_done = event_loop.run_until_complete(&batch.all_done)?;
    Ok(batch.outcomes.take())
}

fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    with_event_loop(job).unwrap_or_else(|error| {
        let why = ImageError::Io(format!("the event loop failed: {error}"));
        let fail = |image| job.finish(image, Err(why.clone()));
        job.images().iter().map(fail).collect()
    })
}

fn main() -> ExitCode {
    cli::run("ex08-call-later", thumbnail_all)
}
