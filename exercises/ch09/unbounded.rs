//! # Exercise `ex09-unbounded` (chapter 9, a bug to fix)
//!
//! **Do.** A download stage feeds a resize stage through a channel. Downloads are fast
//! here (no latency), resizing is slower, and the downloaded images pile up in between,
//! each one held in memory. Make the download stage wait when the resizer is behind.
//!
//! **Concept.** Backpressure: a bounded channel's `send` waits while the channel is
//! full, so a fast stage can only be as far ahead as the channel is long
//! (chapter 9's `--unbounded`).
//!
//! **Python counterpart.** `queue.Queue(maxsize=1)` between the stages, instead of
//! `queue.Queue()`.
//!
//! **Check it.** `cargo run -- exercises check ex09-unbounded`: every image done, and the
//! trace never shows more than 3 downloaded images waiting for the resizer at once.

use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use workbench::cli::{self, NoFlags};
use workbench::contract::{Image, ImageError, Outcome};
use workbench::job::Job;

/// What makes the resize stage the slow one here (on a real job: large images, a slow
/// disk), so that downloads outpace it on any machine.
const SLOW_STAGE: Duration = Duration::from_millis(100);

/// What travels between the stages: an image and its bytes (or why there are none).
type Downloaded = (Image, Result<Vec<u8>, ImageError>);

/// Stage 1: download every image, in order, and pass it on.
fn download_stage(job: &Job, downloaded: &Sender<Downloaded>) {
    for image in job.images() {
        let bytes = job.download(image);
        if downloaded.send((image.clone(), bytes)).is_err() {
            return; // the resize stage is gone
        }
    }
}

/// Stage 2: resize and store each image as it arrives.
fn resize_stage(job: &Job, downloaded: &Receiver<Downloaded>) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for (image, bytes) in downloaded {
        let result = bytes
            .and_then(|bytes| job.thumbnail(&image, &bytes))
            .and_then(|thumbs| job.upload(&image, &thumbs));
        outcomes.push(job.finish(&image, result));
        thread::sleep(SLOW_STAGE); // the stage is slower than the downloads, every time
    }
    outcomes
}

/// Two stages, each on a thread of its own, joined by a channel.
fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    let (to_resize, downloaded) = crossbeam_channel::unbounded();
    thread::scope(|scope| {
        let downloader = thread::Builder::new()
            .name("download".into())
            .spawn_scoped(scope, move || download_stage(job, &to_resize));
        let resizer = thread::Builder::new()
            .name("resize".into())
            .spawn_scoped(scope, move || resize_stage(job, &downloaded));
        let _ = downloader.map(|thread| thread.join());
        resizer
            .ok()
            .and_then(|thread| thread.join().ok())
            .unwrap_or_default()
    })
}

fn main() -> ExitCode {
    cli::run("ex09-unbounded", thumbnail_all)
}
