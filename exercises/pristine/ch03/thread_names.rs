//! # Exercise `ex03-thread-names` (chapter 3, guided)
//!
//! **Do.** `start` makes a thread from a target and its keyword arguments, like Python's
//! `Thread(target=..., kwargs=...)`. Give a thread started without a name Python's
//! default name: `Thread-1`, `Thread-2`, ... in the order they are made.
//!
//! **Concept.** What a thread is: its own stack and registers, a program counter in its
//! target, an id the system gives it, and a name for people (which the timeline shows).
//!
//! **Python counterpart.** `Thread(target=thumbnail_one, kwargs={"image": image})`, whose
//! `name` defaults to `Thread-N`.
//!
//! **Check it.** `cargo run -- exercises check ex03-thread-names`: every image done, and
//! the trace's lanes are exactly `Thread-1` to `Thread-6`.

use std::io;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use workbench::cli::{self, NoFlags};
use workbench::contract::{Image, Outcome};
use workbench::job::Job;
use workbench::patterns::poison::lock;

/// The keyword arguments of the target, as named fields.
struct Kwargs {
    job: Job,
    image: Image,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
}

/// The target: one image, its outcome added to the shared list.
fn thumbnail_one(kwargs: Kwargs) {
    let outcome = kwargs.job.process(&kwargs.image);
    lock(&kwargs.outcomes).push(outcome);
}

/// Python's default thread name: `Thread-N`, N counting from 1 in this process.
fn default_name() -> String {
    todo!("Thread-1 for the first thread made without a name, Thread-2 for the next")
}

/// `Thread(target=target, kwargs=kwargs, name=name).start()`.
fn start(target: fn(Kwargs), kwargs: Kwargs, name: Option<String>) -> io::Result<JoinHandle<()>> {
    let name = name.unwrap_or_else(default_name);
    thread::Builder::new()
        .name(name)
        .spawn(move || target(kwargs))
}

/// A thread per image, each left to its default name.
fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let mut threads = Vec::new();
    for image in job.images() {
        let kwargs = Kwargs {
            job: job.clone(),
            image: image.clone(),
            outcomes: Arc::clone(&outcomes),
        };
        if let Ok(thread) = start(thumbnail_one, kwargs, None) {
            threads.push(thread);
        }
    }
    for thread in threads {
        let _panicked = thread.join();
    }
    lock(&outcomes).clone()
}

fn main() -> ExitCode {
    cli::run("ex03-thread-names", thumbnail_all)
}
