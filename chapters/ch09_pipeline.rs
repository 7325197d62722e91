//! # Chapter 9: the pipeline
//!
//! **The idea.** Give each kind of work the workers it needs and connect them with
//! channels: a pool of download threads (IO: many, they mostly wait), a bounded channel,
//! one resize thread per core (CPU: more would only take turns), and a pool of upload
//! threads (IO again, one thumbnail per upload so that an image's three wait together).
//! Every stage starts on its first input, so downloads, resizes and uploads all happen
//! at once. The bounded channel is the **backpressure**: when the resizers fall behind,
//! downloaders wait instead of piling images up in memory. The end of the input flows
//! through the stages by itself: when the last sender of a channel is dropped, its
//! receivers' loops end, and so on down the line.
//!
//! **Python counterpart.** `queue.Queue(maxsize=N)` between a `ThreadPoolExecutor` of
//! downloads and a `ProcessPoolExecutor` of resizes (the processes are needed there because
//! of the GIL); the end of input is a sentinel (a "poison pill") per worker. Here a closed
//! channel says the same thing without counting workers.
//!
//! **In `src/`.** Nothing of its own: crossbeam's channels and the standard library's
//! scoped threads are the whole machinery. Ctrl-C is the job's stop flag, which the
//! downloaders check before each image (`src/cli/shutdown.rs` raises it).
//!
//! **Run it.**
//!
//! ```text
//! cargo run --release --bin ch09-pipeline
//! cargo run --release --bin ch09-pipeline -- --workload cpu
//! cargo run --release --bin ch09-pipeline -- --trace out/ch09.json
//! cargo run --release --bin ch09-pipeline -- --unbounded --resize-workers 1
//! ```
//!
//! **What to look for.** Three kinds of lanes in the timeline: `download-NN` lanes start
//! at once, `resize-N` lanes (one per core) are busy from the first download to the last,
//! and `upload-NN` lanes start as soon as the first thumbnails exist. On `mixed` the wall
//! time is close to the resize time alone: the waiting is hidden behind the CPU work.
//! Grey `queue_wait` spans on download lanes are the backpressure: a downloader holding an
//! image, waiting for room in the channel. With `--unbounded` they vanish, and the peak
//! memory in the summary grows with the batch instead of with the channel.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use workbench::cli;
use workbench::cli::shutdown;
use workbench::contract::Thumbnail;
use workbench::contract::{Image, ImageError, Location, Outcome};
use workbench::io::Output;
use workbench::job::Job;
use workbench::trace::Phase;

/// The pipeline's knobs: workers per stage and the size of the channel between
/// downloads and resizes.
#[derive(Debug, Clone, clap::Args)]
struct Flags {
    /// Threads downloading at once [default: 12 per resize worker from a server, 2 from a
    /// folder].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=512))]
    download_workers: Option<u16>,
    /// Threads resizing at once [default: one per core].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=512))]
    resize_workers: Option<u16>,
    /// Threads uploading at once [default: 32 per resize worker to a server, 2 to a
    /// folder].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=512))]
    upload_workers: Option<u16>,
    /// Downloaded images that may wait for a resizer: the bounded channel's capacity.
    #[arg(long, default_value_t = 4)]
    queue: usize,
    /// The bug switch: no bound, so downloads race ahead of the resizers and every
    /// downloaded image waits in memory.
    #[arg(long)]
    unbounded: bool,
}

/// An image and its downloaded bytes, between the download and resize stages.
type Downloaded<'a> = (&'a Image, Vec<u8>);
// ANCHOR: uploads
/// One thumbnail to upload, between the resize and upload stages: which one of its
/// image's (an index into [`Uploads::thumbs`]).
type Resized<'a> = (Arc<Uploads<'a>>, usize);

/// An image's thumbnails on their way to the store. Each is uploaded on its own, so that
/// the three of an image wait for the network at the same time, not one after the other
/// (with 50 ms per request that is the difference between 50 and 150 ms after the last
/// resize). Whichever upload finishes last reports the image.
struct Uploads<'a> {
    image: &'a Image,
    thumbs: Vec<Thumbnail>,
    /// One slot per thumbnail: its name once stored, or why it was not.
    results: Mutex<Vec<Option<Result<String, ImageError>>>>,
}
// ANCHOR_END: uploads

// ANCHOR: pipeline
/// Builds the stages, connects them, and collects one outcome per image.
fn thumbnail_all(job: &Job, flags: &Flags) -> Vec<Outcome> {
    let stop = job.stop_flag();
    let cores = thread::available_parallelism().map_or(1, usize::from);
    let resize_workers = flags.resize_workers.map_or(cores, usize::from);
    // A stage needs as many workers as it has items in hand at once: the rate it must
    // keep up times the time each item takes (Little's law). A resizer makes a photo's
    // thumbnails in about 4.5 ms, 220 photos a second; fetched from a store 50 ms away,
    // that is 11 downloads under way for each resizer, and three times as many uploads
    // (three thumbnails a photo): 12 and 32 per resizer leave a little room. A folder
    // answers in a fraction of a millisecond, so two keep the resizers fed, and more
    // would only take turns on the cores with them.
    let in_folder = |image: &Image| matches!(image.location, Location::File(_));
    let from_folder = job.images().iter().all(in_folder);
    let to_folder = matches!(job.spec().output, Output::Folder(_));
    let download_workers = flags.download_workers.map_or(
        if from_folder { 2 } else { 12 * resize_workers },
        usize::from,
    );
    let upload_workers = flags
        .upload_workers
        .map_or(if to_folder { 2 } else { 32 * resize_workers }, usize::from);

    // The work list: every image, queued up front, the biggest first (a big image that
    // started last would keep one core busy while the others have nothing left); the
    // channel closes when it is empty.
    let (todo, todo_rx) = unbounded();
    for image in job.images_largest_first() {
        let _ = todo.send(image); // cannot fail: `todo_rx` is alive
    }
    drop(todo);

    // The bounded channel is the backpressure; `--unbounded` removes it.
    let (downloaded, downloaded_rx) = if flags.unbounded {
        unbounded::<Downloaded>()
    } else {
        bounded::<Downloaded>(flags.queue)
    };
    // Thumbnails are small, and uploads keep up: no bound is needed after the resize.
    // Each thumbnail travels on its own, so an image's uploads run side by side.
    let (resized, resized_rx) = unbounded::<Resized>();
    // Every stage reports finished (or failed) images here.
    let (done, done_rx) = unbounded::<Outcome>();

    thread::scope(|s| {
        for n in 0..download_workers {
            let (todo, downloaded, done) = (todo_rx.clone(), downloaded.clone(), done.clone());
            spawn(s, format!("download-{n:02}"), move || {
                download_stage(job, todo, downloaded, done, stop)
            });
        }
        for n in 0..resize_workers {
            let (downloaded, resized, done) =
                (downloaded_rx.clone(), resized.clone(), done.clone());
            spawn(s, format!("resize-{n}"), move || {
                resize_stage(job, downloaded, resized, done)
            });
        }
        for n in 0..upload_workers {
            let (resized, done) = (resized_rx.clone(), done.clone());
            spawn(s, format!("upload-{n:02}"), move || {
                upload_stage(job, resized, done)
            });
        }
        // The stages now hold every sender. Dropping ours means that when the last
        // downloader ends, the resizers' loop ends, then the uploaders', then this one.
        drop((downloaded, resized, done));
        // Only the stages receive, too (a stage with no thread left must not block the
        // one before it forever).
        drop((todo_rx, downloaded_rx, resized_rx));
        done_rx.iter().collect()
    })
}
// ANCHOR_END: pipeline

// ANCHOR: stages
/// Stage 1: take images from the work list until it is empty, download each one and
/// pass it on. A full channel makes `send` wait: that wait is the backpressure, and it is
/// recorded as `queue_wait` so the timeline shows it.
fn download_stage<'a>(
    job: &Job,
    todo: Receiver<&'a Image>,
    downloaded: Sender<Downloaded<'a>>,
    done: Sender<Outcome>,
    stop: &AtomicBool,
) {
    for image in todo {
        if shutdown::requested(stop) {
            let _ = done.send(job.finish(image, Err(ImageError::Cancelled)));
            continue;
        }
        match job.download(image) {
            Ok(bytes) => {
                let tracer = job.tracer();
                let _ = tracer.record(image.label(), Phase::QueueWait, || {
                    downloaded.send((image, bytes))
                });
            }
            Err(error) => {
                let _ = done.send(job.finish(image, Err(error)));
            }
        }
    }
}

/// Stage 2, one thread per core: make the thumbnails of each downloaded image. The
/// image's bytes are freed here, as soon as its thumbnails exist.
fn resize_stage<'a>(
    job: &Job,
    downloaded: Receiver<Downloaded<'a>>,
    resized: Sender<Resized<'a>>,
    done: Sender<Outcome>,
) {
    for (image, bytes) in downloaded {
        match job.thumbnail(image, &bytes) {
            Ok(thumbs) => {
                let count = thumbs.len();
                let uploads = Arc::new(Uploads {
                    image,
                    thumbs,
                    results: Mutex::new((0..count).map(|_| None).collect()),
                });
                for index in 0..count {
                    let _ = resized.send((Arc::clone(&uploads), index));
                }
            }
            Err(error) => {
                let _ = done.send(job.finish(image, Err(error)));
            }
        }
    }
}

/// Stage 3: store thumbnails; the worker that stores the last one of an image reports
/// the image done (all or nothing: if one upload failed, the others are taken back).
fn upload_stage(job: &Job, resized: Receiver<Resized<'_>>, done: Sender<Outcome>) {
    for (uploads, index) in resized {
        let result = job.upload_one(uploads.image, &uploads.thumbs[index]);
        let finished = {
            let mut results = uploads
                .results
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            results[index] = Some(result);
            let all_done = results.iter().all(Option::is_some);
            all_done.then(|| results.drain(..).flatten().collect())
        };
        let finished = finished.map(|stored| job.spec().output.all_or_nothing(stored));
        if let Some(result) = finished {
            let _ = done.send(job.finish(uploads.image, result));
        }
    }
}
// ANCHOR_END: stages

// A `send` above fails only when every receiver is gone, which happens only if a later
// stage's threads have all panicked; the images concerned are then reported as lost.

/// Starts a named stage thread in the scope `s`. If the system refuses a thread, the
/// stage runs with the threads it has (the others of its kind pick up the work), and
/// says so.
fn spawn<'scope>(
    s: &'scope thread::Scope<'scope, '_>,
    name: String,
    stage: impl FnOnce() + Send + 'scope,
) {
    if let Err(error) = thread::Builder::new()
        .name(name.clone())
        .spawn_scoped(s, stage)
    {
        eprintln!("ch09-pipeline: cannot start {name}: {error}");
    }
}

fn main() -> std::process::ExitCode {
    cli::run("ch09-pipeline", thumbnail_all)
}
