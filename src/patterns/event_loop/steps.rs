//! The job's IO steps on the loop, as futures: `download` (a GET, or a file read on a
//! thread pool) and `upload` (the output's plan for each thumbnail, carried out by PUTs
//! or atomic writes). They record the same spans as the blocking steps of [`Job`].

use bytes::Bytes;

use super::{EventLoop, LoopFuture, gather, http};
use crate::contract::{Image, ImageError, Location, Thumbnail};
use crate::io::Destination;
use crate::io::file::{read_limited, write_thumbnail};
use crate::job::Job;
use crate::trace::{Phase, Span, now_us};

// ANCHOR: download
/// Step 1 on the loop: a GET, or a file read on `pool`. A stopping run cancels the
/// image here, as [`Job::download`] does.
pub fn download(
    event_loop: &EventLoop,
    pool: &rayon::ThreadPool,
    job: &Job,
    image: &Image,
) -> LoopFuture<Bytes, ImageError> {
    if job.stop_requested() {
        return failed(event_loop, ImageError::Cancelled);
    }
    let config = job.spec().http;
    let bytes = match &image.location {
        Location::Url(url) => {
            let waited = retry_waits(job, image);
            http::request(event_loop, "GET", url, &[], None, &config, waited)
        }
        Location::File(path) => {
            let path = path.clone();
            event_loop.run_in_pool(pool, move || {
                read_limited(&path, config.max_bytes).map(Bytes::from)
            })
        }
    };
    traced(job, image, Phase::Download, bytes)
}
// ANCHOR_END: download

/// Step 3 on the loop: every thumbnail stored at once, each where the output's plan says
/// (a PUT, or an atomic write on `pool`); the names when all are stored. All or nothing:
/// the step waits for every store, failed or not, then takes back the stored ones if one
/// failed (see [`Output::all_or_nothing`](crate::io::Output::all_or_nothing)).
pub fn upload(
    event_loop: &EventLoop,
    pool: &rayon::ThreadPool,
    job: &Job,
    image: &Image,
    thumbs: Vec<Thumbnail>,
) -> LoopFuture<Vec<String>, ImageError> {
    let mut stores = Vec::with_capacity(thumbs.len());
    for thumb in thumbs {
        let name = thumb.name(&image.stem);
        let stored = match job.spec().output.destination(&name, thumb.format) {
            Ok(destination) => store(event_loop, pool, job, image, destination, thumb.bytes),
            Err(error) => failed(event_loop, error),
        };
        stores.push(named_outcome(event_loop, stored, name));
    }
    let all = gather(event_loop, stores);
    let named = LoopFuture::new(event_loop);
    let result = named.clone();
    let output = job.spec().output.clone();
    all.add_done_callback(move |done| {
        // Only after a failure does this touch the disk (a few removals of files just
        // written), short enough to stay on the loop's thread.
        let settled = done.and_then(|stored| output.all_or_nothing(stored));
        match settled {
            Ok(names) => result.set_result(names),
            Err(error) => result.set_exception(error),
        };
    });
    traced(job, image, Phase::Upload, named)
}

/// A future that never fails: the thumbnail's name once `stored` succeeds, or why it
/// failed, as its result. `gather` stops at the first failure; this lets it wait for all.
fn named_outcome(
    event_loop: &EventLoop,
    stored: LoopFuture<(), ImageError>,
    name: String,
) -> LoopFuture<Result<String, ImageError>, ImageError> {
    let outcome = LoopFuture::new(event_loop);
    let result = outcome.clone();
    stored.add_done_callback(move |done| {
        result.set_result(done.map(|()| name));
    });
    outcome
}

/// Carries out one thumbnail's [`Destination`]: a PUT on the loop, or an atomic file
/// write on `pool` (file writes block, so they stay off the loop's thread).
fn store(
    event_loop: &EventLoop,
    pool: &rayon::ThreadPool,
    job: &Job,
    image: &Image,
    destination: Destination,
    bytes: Vec<u8>,
) -> LoopFuture<(), ImageError> {
    match destination {
        Destination::Put { url, content_type } => {
            let config = job.spec().http;
            let waited = retry_waits(job, image);
            let put = http::request(
                event_loop,
                "PUT",
                &url,
                &bytes,
                Some(content_type),
                &config,
                waited,
            );
            let stored = LoopFuture::new(event_loop);
            let result = stored.clone();
            put.add_done_callback(move |answer| {
                match answer {
                    Ok(_) => result.set_result(()),
                    Err(error) => result.set_exception(error),
                };
            });
            stored
        }
        Destination::File(path) => {
            event_loop.run_in_pool(pool, move || write_thumbnail(&path, &bytes))
        }
    }
}

/// What records a request's waits before its retries: `retry_wait` spans on the image's
/// `task-{stem}` lane (the summary counts them).
fn retry_waits(job: &Job, image: &Image) -> impl Fn(u64, u64) + 'static {
    let (job, label) = (job.clone(), image.label().to_string());
    move |start_us, end_us| {
        job.tracer().push(Span {
            worker: format!("task-{label}"),
            image: label.clone(),
            phase: Phase::RetryWait,
            start_us,
            end_us,
        });
    }
}

/// A future that has already failed with `error`.
fn failed<T: Clone + 'static>(
    event_loop: &EventLoop,
    error: ImageError,
) -> LoopFuture<T, ImageError> {
    let future = LoopFuture::new(event_loop);
    future.set_exception(error);
    future
}

/// Records `future` as a span of `phase` on the image's `task-{stem}` lane, from now
/// until it is done.
pub fn traced<T: Clone + 'static>(
    job: &Job,
    image: &Image,
    phase: Phase,
    future: LoopFuture<T, ImageError>,
) -> LoopFuture<T, ImageError> {
    let start_us = now_us();
    let (tracer_job, label) = (job.clone(), image.label().to_string());
    future.add_done_callback(move |_| {
        tracer_job.tracer().push(Span {
            worker: format!("task-{label}"),
            image: label,
            phase,
            start_us,
            end_us: now_us(),
        });
    });
    future
}
