//! # Exercise `ex01-limit-downloads` (chapter 1, guided)
//!
//! **Do.** Keep one thread per image, but let at most two of them download at once. The
//! resizes and uploads stay free.
//!
//! **Concept.** A counting semaphore: a number of permits, `acquire` waits for one, and
//! dropping it gives it back. It bounds what a thread-per-image design does not.
//!
//! **Python counterpart.** `threading.Semaphore(2)` and `with semaphore:` around
//! `download_image`.
//!
//! **Check it.** `cargo run -- exercises check ex01-limit-downloads`: every image done,
//! and the trace shows two downloads in flight together, never three.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;

use workbench::cli::{self, NoFlags};
use workbench::contract::{Image, Outcome};
use workbench::job::Job;
use workbench::patterns::poison::lock;
use workbench::patterns::semaphore::Semaphore;

/// Downloads in flight at most.
const DOWNLOADS: usize = 2;

/// One image; the download holds a permit of `downloads`.
fn thumbnail_one(job: &Job, image: &Image, downloads: &Semaphore) -> Outcome {
    let bytes = {
        let _permit = downloads.acquire();
        job.download(image)
    }; // The permit is dropped here: another download may start.
    let result = bytes
        .and_then(|bytes| job.thumbnail(image, &bytes))
        .and_then(|thumbs| job.upload(image, &thumbs));
    job.finish(image, result)
}

/// A named thread per image, all started, then all joined.
fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let downloads = Arc::new(Semaphore::new(DOWNLOADS));
    let mut threads = Vec::new();
    for (number, image) in job.images().iter().enumerate() {
        let (job, image) = (job.clone(), image.clone());
        let (shared, downloads) = (Arc::clone(&outcomes), Arc::clone(&downloads));
        let started = thread::Builder::new()
            .name(format!("image-{number:02}"))
            .spawn(move || {
                let outcome = thumbnail_one(&job, &image, &downloads);
                lock(&shared).push(outcome);
            });
        if let Ok(thread) = started {
            threads.push(thread);
        }
    }
    for thread in threads {
        let _panicked = thread.join();
    }
    lock(&outcomes).clone()
}

fn main() -> ExitCode {
    cli::run("ex01-limit-downloads", thumbnail_all)
}
