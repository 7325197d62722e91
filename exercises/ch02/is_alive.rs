//! # Exercise `ex02-is-alive` (chapter 2, open)
//!
//! **Do.** Print `finished img-NNN` on stderr as each image's thread ends, in the order
//! they end. `img-000` is a large image (its thread takes a second longer): the others
//! must not wait for it to be reported.
//!
//! **Concept.** Polling a thread's state: `JoinHandle::is_finished` asks without waiting,
//! where `join` waits. A thread is new, runnable, running, waiting or dead; polling sees
//! the last of these.
//!
//! **Python counterpart.** `thread.is_alive()` in a loop, instead of `join()` in order.
//!
//! **Check it.** `cargo run -- exercises check ex02-is-alive`: every image done, each
//! reported once, and `img-000` reported last.

use std::process::ExitCode;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use workbench::cli::{self, NoFlags};
use workbench::contract::{Image, ImageError, Outcome};
use workbench::job::Job;
use workbench::patterns::panic_message::panic_message;

/// How much longer the large image, `img-000`, takes.
const LARGE_IMAGE_EXTRA: Duration = Duration::from_millis(1000);

/// One image; the first one is large and takes longer.
fn thumbnail_one(job: &Job, image: &Image, number: usize) -> Outcome {
    if number == 0 {
        thread::sleep(LARGE_IMAGE_EXTRA);
    }
    job.process(image)
}

/// The outcome a finished thread gave, or its panic as the image's failure.
fn collect(job: &Job, image: &Image, handle: JoinHandle<Outcome>) -> Outcome {
    eprintln!("finished {}", image.stem);
    handle.join().unwrap_or_else(|payload| {
        job.finish(image, Err(ImageError::Panicked(panic_message(&*payload))))
    })
}

/// A thread per image; each is reported as soon as it is seen to be finished.
fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    let mut running = Vec::new(); // (image, its thread), in input order
    for (number, image) in job.images().iter().enumerate() {
        let (worker_job, worker_image) = (job.clone(), image.clone());
        let started = thread::Builder::new()
            .name(format!("image-{number:02}"))
            .spawn(move || thumbnail_one(&worker_job, &worker_image, number));
        if let Ok(handle) = started {
            running.push((image.clone(), handle));
        }
    }
    let mut outcomes = Vec::new();
    for (image, handle) in running {
        outcomes.push(collect(job, &image, handle));
    }
    outcomes
}

fn main() -> ExitCode {
    cli::run("ex02-is-alive", thumbnail_all)
}
