//! `--detach`: a thread that is never joined, Python's daemon thread.
//!
//! Python waits, when the main thread ends, for every thread that is not a daemon;
//! daemon threads are abandoned. Rust never waits: when `main` returns, the process
//! exits, and every other thread stops wherever it is, without running its destructors.
//! So every Rust thread is a daemon, and what a non-daemon thread gives you in Python
//! (the program does not end before it) is written out by hand: `join` it. Dropping a
//! `JoinHandle` without joining is how a thread is detached. The reporter below is never
//! joined; its line "reporter: stopped" is never printed, because its loop never ends
//! and its destructor never runs: the process simply goes away under it.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use workbench::contract::Outcome;
use workbench::job::Job;
use workbench::patterns::poison::lock;

// ANCHOR: detach
/// Starts a thread that prints the progress every 100 ms, forever, and is never joined:
/// dropping its `JoinHandle` detaches it. It stops only because the process exits.
pub fn start_reporter(job: Job, outcomes: Arc<Mutex<Vec<Outcome>>>) {
    let reporter = move || {
        let _goodbye = Goodbye(job.clone());
        loop {
            let done = lock(&outcomes).len();
            job.say(format!(
                "reporter: {done}/{} images done",
                job.images().len()
            ));
            thread::sleep(Duration::from_millis(100));
        }
    };
    let started = thread::Builder::new()
        .name("reporter".into())
        .spawn(reporter);
    if let Err(error) = started {
        eprintln!("reporter: cannot start: {error}");
    }
}

/// Says goodbye when dropped, which a detached thread's locals never are: the process
/// ends without unwinding it.
struct Goodbye(Job);

impl Drop for Goodbye {
    fn drop(&mut self) {
        self.0.say("reporter: stopped");
    }
}
// ANCHOR_END: detach
