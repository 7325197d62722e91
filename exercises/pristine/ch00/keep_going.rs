//! # Exercise `ex00-keep-going` (chapter 0, guided)
//!
//! **Do.** The corpus of this check holds `broken.jpg`, a file that is not an image. Make
//! the loop report it with its cause and still make the thumbnails of every other image.
//!
//! **Concept.** One bad image never stops the batch: a failure is an outcome like any
//! other, and the summary names it.
//!
//! **Python counterpart.** A `try`/`except` around one image's work inside the loop,
//! instead of around the whole loop.
//!
//! **Check it.** `cargo run -- exercises check ex00-keep-going`: exit code 1, the summary
//! names `broken.jpg` as "not an image" and nothing else, every other image has its
//! thumbnails, and nothing half-written is left in the output.

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
        let outcome = thumbnail_one(job, image);
        let failed = outcome.result.is_err();
        outcomes.push(outcome);
        if failed {
            break; // Something is wrong with the batch: stop here.
        }
    }
    outcomes
}

fn main() -> ExitCode {
    cli::run("ex00-keep-going", thumbnail_all)
}
