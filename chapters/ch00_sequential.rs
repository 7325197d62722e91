//! # Chapter 0: one image at a time
//!
//! **The idea.** The baseline every other chapter is measured against: a plain loop that
//! downloads an image, makes its thumbnails, stores them, and only then moves on to the
//! next image. Nothing overlaps, so the wall time is the sum of every step of every image.
//!
//! **Python counterpart.** The course's first version: a `for` loop over the URLs calling
//! `download_image`, then `perform_resizing`, then saving.
//!
//! **In `src/`.** Nothing of its own: the three steps are the job's
//! (`src/job/mod.rs`), the CPU step is `src/kernel/mod.rs`, and the driver that calls
//! `thumbnail_all` is `src/cli/mod.rs`.
//!
//! **Run it.**
//!
//! ```text
//! cargo run --release --bin ch00-sequential
//! cargo run --release --bin ch00-sequential -- --workload io --trace out/ch00.json
//! ```
//!
//! **What to look for.** In the summary, `overlap` is at most 1: one thing at a time. On
//! the `io` workload almost all of the wall time is spent waiting: 48 downloads with 50 ms
//! of latency each take at least 48 x 50 ms = 2.4 s. On `mixed`, where the three
//! thumbnails are PUT back too, it is at least 48 x 4 x 50 ms, about 10 s, while the CPU
//! sits idle. The timeline has one lane, `main`, with download, resize and upload one
//! after another. Every later chapter makes that lane into many.

use std::process::ExitCode;

use workbench::cli::{self, NoFlags};
use workbench::contract::{Image, Outcome};
use workbench::job::Job;

/// This chapter has no flags of its own.
type Flags = NoFlags;

// ANCHOR: one
/// One image, from download to upload.
fn thumbnail_one(job: &Job, image: &Image) -> Outcome {
    let bytes = job.download(image);
    let result = bytes
        .and_then(|bytes| job.thumbnail(image, &bytes))
        .and_then(|thumbs| job.upload(image, &thumbs));
    job.finish(image, result)
}
// ANCHOR_END: one

// ANCHOR: sequential
/// The whole pattern: one loop, each image finished before the next one starts.
fn thumbnail_all(job: &Job, _flags: &Flags) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for image in job.images() {
        outcomes.push(thumbnail_one(job, image));
    }
    outcomes
}
// ANCHOR_END: sequential

// ANCHOR: main
fn main() -> ExitCode {
    cli::run("ch00-sequential", thumbnail_all)
}
// ANCHOR_END: main
