//! # Exercise `ex00-loop` (chapter 0, guided)
//!
//! **Do.** Write `thumbnail_all`: one loop over the images, each finished (downloaded,
//! thumbnailed, stored) before the next one starts. Return one outcome per image.
//!
//! **Concept.** The sequential baseline every later chapter is measured against.
//!
//! **Python counterpart.** `for url in urls: perform_resizing(download_image(url))`.
//!
//! **Check it.** `cargo run -- exercises check ex00-loop`: every image has its
//! thumbnails, byte-identical to the shared CPU step's, and the trace never shows two
//! downloads (or two resizes) at the same moment.

use std::process::ExitCode;

use workbench::cli::{self, NoFlags};
use workbench::contract::{Image, Outcome};
use workbench::job::Job;

/// One image, from download to upload.
fn thumbnail_one(job: &Job, image: &Image) -> Outcome {
    let result = job
        .download(image)
        .and_then(|bytes| job.thumbnail(image, &bytes))
        .and_then(|thumbs| job.upload(image, &thumbs));
    job.finish(image, result)
}

/// Every image, one after the other.
fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for image in job.images() {
        outcomes.push(thumbnail_one(job, image));
    }
    outcomes
}

fn main() -> ExitCode {
    cli::run("ex00-loop", thumbnail_all)
}
