//! # Chapter 6: workers sharing state
//!
//! **The idea.** Eight worker threads share one batch. What they share, and how, is the
//! whole lesson, at three levels:
//!
//! - *low*: atomics. The index of the next image to take and the running totals are
//!   `AtomicUsize`s, updated with one indivisible `fetch_add`;
//! - *mid*: locks. A `Mutex` around the totals and the outcomes, a `RwLock` around a
//!   read-mostly setting (the GIL's switch interval), a `Condvar` inside a semaphore that
//!   bounds concurrent downloads, a `Barrier` so that all workers start together;
//! - *high*: channels. Workers send their results to one collector; no lock in sight.
//!
//! `--share atomic|mutex|channel` picks how results and totals are shared: all three give
//! the same thumbnails and the same totals. Then the classic bugs: `--race` counts with a
//! separate load and store and loses updates; `--deadlock` takes two locks in opposite
//! orders in two workers, and is reported instead of hanging. And `--gil` makes the
//! threads take turns on one global lock for their CPU work, as CPython's threads do.
//!
//! **Python counterpart.** `threading.Lock`, `RLock`, `Semaphore`, `Condition`,
//! `Barrier`, `multiprocessing.Value` (a shared counter with its own lock), `queue.Queue`,
//! and the GIL itself, with `sys.setswitchinterval`.
//!
//! **In `src/`.** The semaphore, the simulated GIL and the lock board are built by hand
//! in `src/patterns/` (`semaphore.rs`, `gil.rs`, `lock_board.rs`). Beside this file, one
//! file per way of sharing: `atomic.rs` (with the `--race` bug), `locks.rs` (with the
//! `--deadlock` bug) and `channel.rs`.
//!
//! **Run it.**
//!
//! ```text
//! cargo run --release --bin ch06-shared-state -- --workload io --share channel
//! cargo run --release --bin ch06-shared-state -- --workload cpu --gil
//! cargo run --release --bin ch06-shared-state -- --workload io --race
//! cargo run --release --bin ch06-shared-state -- --workload io --deadlock
//! ```
//!
//! **What to look for.** The `totals:` line is the same for every `--share`. With
//! `--race` it counts fewer images than were done. With `--deadlock` the program stops
//! after `--patience`, prints which worker holds which lock and waits for which, and exits
//! with code 3. On the `cpu` workload, `--gil` takes about as long as ch00, and without
//! it the threads use every core; in the timeline under `--gil`, no two `resize` spans
//! ever overlap.

mod atomic;
mod channel;
mod locks;

use std::process::ExitCode;
use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use clap::{Args, ValueEnum};
use workbench::cli::{self, parse_duration};
use workbench::contract::{Image, ImageError, Outcome};
use workbench::job::Job;
use workbench::patterns::gil::{self, Gil, GilHolder};
use workbench::patterns::semaphore::Semaphore;
use workbench::trace::Phase;

/// How the workers share their results and totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Share {
    /// Atomic counters, and one write-once slot per image.
    Atomic,
    /// A `Mutex` around the totals and one around the outcomes.
    Mutex,
    /// Every worker sends its results to the main thread on a channel.
    Channel,
}

/// This chapter's flags.
#[derive(Debug, Clone, Args)]
struct Flags {
    /// Worker threads.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    workers: u16,

    /// How workers share results and totals.
    #[arg(long, value_enum, default_value_t = Share::Atomic)]
    share: Share,

    /// At most this many downloads at once (a semaphore).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    downloads: u16,

    /// Simulate CPython's GIL: CPU work holds one global lock.
    #[arg(long)]
    gil: bool,

    /// With --gil: how long a waiting thread waits before asking the holder to let go.
    #[arg(long, default_value = "5ms", value_parser = parse_duration)]
    switch_interval: Duration,

    /// Bug: count finished images with a separate load and store (implies --share atomic).
    #[arg(long)]
    race: bool,

    /// Bug: two workers take two locks in opposite orders (implies --share mutex).
    #[arg(long, conflicts_with_all = ["gil", "race"])]
    deadlock: bool,

    /// With --deadlock: how long a lock attempt waits before reporting a deadlock.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    patience: Duration,
}

/// What one image left behind: its outcome and what it adds to the totals.
struct ImageReport {
    /// The image's position in `job.images()`.
    index: usize,
    outcome: Outcome,
    added: Totals,
}

/// The totals every `--share` mode must agree on.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Totals {
    images: usize,
    bytes_in: usize,
    bytes_out: usize,
    thumbnails: usize,
}

impl Totals {
    fn add(&mut self, report: &ImageReport) {
        self.images += report.added.images;
        self.bytes_in += report.added.bytes_in;
        self.bytes_out += report.added.bytes_out;
        self.thumbnails += report.added.thumbnails;
    }
}

// ANCHOR: shared
/// What every worker shares. The threads are scoped, so they borrow it: no `Arc`.
struct Shared<'a> {
    job: &'a Job,
    /// Low level: the index of the next image nobody has taken yet.
    next_image: AtomicUsize,
    /// Mid level: no worker takes an image before every worker is ready.
    start_line: Barrier,
    /// Mid level: at most `--downloads` downloads at once.
    downloads: Semaphore,
    /// `--gil`: the simulated global interpreter lock (or none at all).
    gil: Gil,
}
// ANCHOR_END: shared

// ANCHOR: worker
/// One worker: wait at the start line, then take images until none is left, and hand
/// each result to `report` (which is where the three `--share` modes differ).
fn worker(shared: &Shared, mut report: impl FnMut(ImageReport)) {
    shared.start_line.wait();
    let mut gil = shared.gil.acquire(); // a no-op without --gil
    loop {
        // Relaxed is enough: the counter only has to hand out each index once, and
        // fetch_add is indivisible whatever the ordering. It publishes no other data.
        let index = shared.next_image.fetch_add(1, Ordering::Relaxed);
        let Some(image) = shared.job.images().get(index) else {
            break;
        };
        report(thumbnail_one(shared, index, image, &mut gil));
    }
}

/// Download, thumbnail, upload one image. The GIL (if any) is let go while waiting on
/// the network, as CPython does, and held for the CPU step.
fn thumbnail_one(shared: &Shared, index: usize, image: &Image, gil: &mut GilHolder) -> ImageReport {
    let mut added = Totals {
        images: 1,
        ..Totals::default()
    };
    let result = steps(shared, image, gil, &mut added);
    ImageReport {
        index,
        outcome: shared.job.finish(image, result),
        added,
    }
}

fn steps(
    shared: &Shared,
    image: &Image,
    gil: &mut GilHolder,
    added: &mut Totals,
) -> Result<Vec<String>, ImageError> {
    let job = shared.job;
    let bytes = gil.allow_threads(|| {
        let _permit = job.tracer().record(image.label(), Phase::QueueWait, || {
            shared.downloads.acquire()
        });
        job.download(image)
    })?;
    added.bytes_in = bytes.len();
    let thumbs = gil::thumbnail_holding(job, image, &bytes, gil)?;
    added.bytes_out = thumbs.iter().map(|t| t.bytes.len()).sum();
    let names = gil.allow_threads(|| job.upload(image, &thumbs))?;
    added.thumbnails = names.len();
    Ok(names)
}
// ANCHOR_END: worker

/// Spawns `--workers` named scoped threads running `worker`, each with its own `report`.
fn spawn_workers<'s, 'env, R>(
    scope: &'s thread::Scope<'s, 'env>,
    shared: &'env Shared<'env>,
    workers: u16,
    mut report_for: impl FnMut(usize) -> R,
) where
    R: FnMut(ImageReport) + Send + 's,
{
    for n in 0..usize::from(workers) {
        let report = report_for(n);
        let spawned = thread::Builder::new()
            .name(format!("worker-{n:02}"))
            .spawn_scoped(scope, move || worker(shared, report));
        if let Err(error) = spawned {
            // The others would wait at the start line for ever: stop here instead.
            eprintln!("cannot start worker {n}: {error}");
            std::process::exit(2);
        }
    }
}

// ANCHOR: main
fn thumbnail_all(job: &Job, flags: &Flags) -> Vec<Outcome> {
    let workers = flags.workers;
    let shared = Shared {
        job,
        next_image: AtomicUsize::new(0),
        start_line: Barrier::new(usize::from(workers)),
        downloads: Semaphore::new(usize::from(flags.downloads)),
        gil: if flags.gil {
            Gil::on(flags.switch_interval)
        } else {
            Gil::off()
        },
    };
    let share = match (flags.race, flags.deadlock) {
        (true, _) => Share::Atomic,
        (_, true) => Share::Mutex,
        _ => flags.share,
    };
    let (outcomes, totals) = match share {
        Share::Atomic => atomic::share_atomically(&shared, workers, flags.race),
        Share::Mutex => locks::share_with_locks(&shared, flags),
        Share::Channel => channel::share_by_channel(&shared, workers),
    };
    eprintln!(
        "totals: {} images counted, {} bytes downloaded, {} bytes of thumbnails, {} thumbnails",
        totals.images, totals.bytes_in, totals.bytes_out, totals.thumbnails
    );
    if totals.images != outcomes.len() {
        eprintln!(
            "lost updates: {} images done, {} counted",
            outcomes.len(),
            totals.images
        );
    }
    if shared.gil.is_on() {
        eprintln!(
            "gil: {} forced switches (switch interval {:?})",
            shared.gil.forced_switches(),
            shared.gil.switch_interval()
        );
    }
    outcomes
}
// ANCHOR_END: main

fn main() -> ExitCode {
    cli::run("ch06-shared-state", thumbnail_all)
}
