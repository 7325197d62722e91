//! # Exercise `ex06-deadlock` (chapter 6, a bug to fix)
//!
//! **Do.** Two workers each process half of the images, then record their outcomes in
//! two shared places: the `ledger` and the `log`. The program never ends. Find the
//! cycle and break it, keeping both locks.
//!
//! **Concept.** A deadlock: each worker holds one lock and waits for the other's. It
//! needs a cycle; taking locks in one agreed order everywhere leaves none. (Correctness
//! is getting the right answer; liveness is getting one at all.)
//!
//! **Python counterpart.** Two `threading.Lock`s taken as `with a: with b:` in one thread
//! and `with b: with a:` in another.
//!
//! **Check it.** `cargo run -- exercises check ex06-deadlock`: the program ends by itself
//! within 15 s, with every image done.

use std::process::ExitCode;
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::Duration;

use workbench::cli::{self, NoFlags};
use workbench::contract::Outcome;
use workbench::job::Job;
use workbench::patterns::poison::lock;

/// What the two workers share.
struct Records {
    /// Every outcome, for the summary.
    ledger: Mutex<Vec<Outcome>>,
    /// A line per image, for people.
    log: Mutex<Vec<String>>,
    /// Both workers record at the same moment, as a batch's end often makes them.
    together: Barrier,
}

/// The time it takes to write a log line, while a lock is held.
const WRITING: Duration = Duration::from_millis(200);

/// Worker 1 records: ledger first, then log.
fn record_by_image(records: &Records, outcomes: Vec<Outcome>) {
    records.together.wait();
    let mut ledger = lock(&records.ledger);
    thread::sleep(WRITING);
    let mut log = lock(&records.log);
    for outcome in outcomes {
        log.push(format!("{}: done", outcome.image.stem));
        ledger.push(outcome);
    }
}

/// Worker 2 records: ledger first, then log (one order for every worker).
fn record_by_line(records: &Records, outcomes: Vec<Outcome>) {
    records.together.wait();
    let mut ledger = lock(&records.ledger);
    thread::sleep(WRITING);
    let mut log = lock(&records.log);
    for outcome in outcomes {
        log.push(format!("{}: done", outcome.image.stem));
        ledger.push(outcome);
    }
}

/// Two workers, each with half of the images.
fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    let records = Records {
        ledger: Mutex::new(Vec::new()),
        log: Mutex::new(Vec::new()),
        together: Barrier::new(2),
    };
    let half = job.images().len().div_ceil(2);
    let (first, second) = job.images().split_at(half);
    thread::scope(|scope| {
        let records = &records;
        let process = |images: &[workbench::contract::Image]| -> Vec<Outcome> {
            images.iter().map(|image| job.process(image)).collect()
        };
        scope.spawn(move || record_by_image(records, process(first)));
        scope.spawn(move || record_by_line(records, process(second)));
    });
    eprintln!("{} log lines", lock(&records.log).len());
    records
        .ledger
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn main() -> ExitCode {
    cli::run("ex06-deadlock", thumbnail_all)
}
