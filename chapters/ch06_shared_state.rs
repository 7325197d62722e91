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
//! after `--patience` and prints which worker holds which lock and waits for which. On
//! the `cpu` workload, `--gil` takes about as long as ch00, and without it the threads use
//! every core; in the timeline under `--gil`, no two `resize` spans ever overlap.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Barrier, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::Duration;

use clap::{Args, ValueEnum};
use workbench::cli::{self, parse_duration};
use workbench::contract::{Image, ImageError, Outcome};
use workbench::job::Job;
use workbench::patterns::gil::{self, Gil, GilHolder};
use workbench::patterns::lock_board::LockBoard;
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

/// The chapter's own flags.
#[derive(Debug, Clone, Args)]
struct SharedFlags {
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
struct Report {
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
    fn add(&mut self, report: &Report) {
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
fn worker(shared: &Shared, mut report: impl FnMut(Report)) {
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
fn thumbnail_one(shared: &Shared, index: usize, image: &Image, gil: &mut GilHolder) -> Report {
    let mut added = Totals {
        images: 1,
        ..Totals::default()
    };
    let result = steps(shared, image, gil, &mut added);
    Report {
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
    R: FnMut(Report) + Send + 's,
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

// ANCHOR: atomic
/// Low level: every total is an atomic counter, and each outcome goes to its own slot,
/// written once (`OnceLock`). No lock anywhere; each update is one indivisible step.
fn share_atomically(shared: &Shared, workers: u16, race: bool) -> (Vec<Outcome>, Totals) {
    let images = AtomicUsize::new(0);
    let bytes_in = AtomicUsize::new(0);
    let bytes_out = AtomicUsize::new(0);
    let thumbnails = AtomicUsize::new(0);
    let slots: Vec<OnceLock<Outcome>> = shared
        .job
        .images()
        .iter()
        .map(|_| OnceLock::new())
        .collect();
    thread::scope(|scope| {
        spawn_workers(scope, shared, workers, |_| {
            |report: Report| {
                if race {
                    count_with_a_race(&images);
                } else {
                    images.fetch_add(1, Ordering::Relaxed);
                }
                bytes_in.fetch_add(report.added.bytes_in, Ordering::Relaxed);
                bytes_out.fetch_add(report.added.bytes_out, Ordering::Relaxed);
                thumbnails.fetch_add(report.added.thumbnails, Ordering::Relaxed);
                let _ = slots[report.index].set(report.outcome);
            }
        });
    });
    // The scope joined every worker: joining orders all their writes before these reads.
    let totals = Totals {
        images: images.into_inner(),
        bytes_in: bytes_in.into_inner(),
        bytes_out: bytes_out.into_inner(),
        thumbnails: thumbnails.into_inner(),
    };
    (
        slots.into_iter().filter_map(OnceLock::into_inner).collect(),
        totals,
    )
}
// ANCHOR_END: atomic

// ANCHOR: race
/// `--race`: the lost update. Read, add one, write back: three steps. Two workers that
/// both read 7 both write 8, and one image is never counted. `fetch_add` is the fix: the
/// processor does the three steps as one.
fn count_with_a_race(counter: &AtomicUsize) {
    let seen = counter.load(Ordering::Relaxed);
    // The operating system may pause a thread here, between any two instructions, and
    // let the others run. We pause it on purpose, for a millisecond, so that a window
    // that is nanoseconds wide in real code is hit in every run instead of once a week.
    thread::sleep(Duration::from_millis(1));
    counter.store(seen + 1, Ordering::Relaxed);
}
// ANCHOR_END: race

// ANCHOR: mutex
/// Mid level: one `Mutex` around the totals, one around the outcomes. A worker holds
/// one lock at a time, and only for the update, never while it works.
fn share_with_locks(shared: &Shared, flags: &SharedFlags) -> (Vec<Outcome>, Totals) {
    let totals = Mutex::new(Totals::default());
    let outcomes = Mutex::new(Vec::new());
    let board = LockBoard::new(flags.patience);
    let meet = Barrier::new(2);
    let reported = AtomicUsize::new(0);
    // The bug needs two reports to meet: with one image it cannot happen.
    let deadlock_armed = flags.deadlock && shared.job.images().len() >= 2;
    thread::scope(|scope| {
        spawn_workers(scope, shared, flags.workers, |_| {
            let (totals, outcomes, board, meet) = (&totals, &outcomes, &board, &meet);
            let reported = &reported;
            move |report: Report| {
                if deadlock_armed {
                    let turn = reported.fetch_add(1, Ordering::Relaxed);
                    if turn < 2 {
                        return deadlock(turn, report, totals, outcomes, board, meet);
                    }
                }
                totals
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .add(&report);
                outcomes
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(report.outcome);
            }
        });
    });
    let totals = totals.into_inner().unwrap_or_else(PoisonError::into_inner);
    let outcomes = outcomes
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    (outcomes, totals)
}
// ANCHOR_END: mutex

// ANCHOR: deadlock
/// `--deadlock`: the first worker to report takes `totals` then `outcomes`, the second
/// takes `outcomes` then `totals`. Each holds its first lock and waits for the other's. They meet at a barrier
/// between their two locks, so the unlucky timing that in real code comes once in a
/// million runs comes every time. The second lock is taken through the board, which
/// gives up after `--patience` and says who waits for what; the program then stops.
fn deadlock(
    turn: usize,
    report: Report,
    totals: &Mutex<Totals>,
    outcomes: &Mutex<Vec<Outcome>>,
    board: &LockBoard,
    meet: &Barrier,
) {
    let stuck = if turn == 0 {
        let mut totals = totals.lock().unwrap_or_else(PoisonError::into_inner);
        meet.wait();
        board
            .lock(outcomes, "outcomes", "totals")
            .map(|mut outcomes| {
                totals.add(&report);
                outcomes.push(report.outcome);
            })
    } else {
        let mut outcomes = outcomes.lock().unwrap_or_else(PoisonError::into_inner);
        meet.wait();
        board.lock(totals, "totals", "outcomes").map(|mut totals| {
            totals.add(&report);
            outcomes.push(report.outcome);
        })
    };
    if let Err(deadlock) = stuck {
        eprintln!("ch06-shared-state: {deadlock}");
        std::process::exit(3);
    }
}
// ANCHOR_END: deadlock

// ANCHOR: channel
/// High level: each worker owns a `Sender` and sends its reports; the main thread is the
/// only one that touches the totals and the outcomes. Nothing is shared but the channel.
fn share_by_channel(shared: &Shared, workers: u16) -> (Vec<Outcome>, Totals) {
    let (sender, receiver) = mpsc::channel::<Report>();
    let mut totals = Totals::default();
    let mut outcomes = Vec::new();
    thread::scope(|scope| {
        spawn_workers(scope, shared, workers, |_| {
            let sender = sender.clone();
            move |report: Report| {
                // The receiver lives until every worker is done, so a send cannot fail.
                let _ = sender.send(report);
            }
        });
        // Ours is dropped, so the loop ends when the last worker drops its sender.
        drop(sender);
        for report in receiver {
            totals.add(&report);
            outcomes.push(report.outcome);
        }
    });
    (outcomes, totals)
}
// ANCHOR_END: channel

// ANCHOR: main
fn thumbnail_all(job: &Job, flags: &SharedFlags) -> Vec<Outcome> {
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
        Share::Atomic => share_atomically(&shared, workers, flags.race),
        Share::Mutex => share_with_locks(&shared, flags),
        Share::Channel => share_by_channel(&shared, workers),
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
