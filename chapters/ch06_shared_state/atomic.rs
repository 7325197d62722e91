//! Low level: atomic counters, and one write-once slot per image; and `--race`, the
//! lost update that `fetch_add` prevents.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use workbench::contract::Outcome;

use super::{ImageReport, Shared, Totals, spawn_workers};

// ANCHOR: atomic
/// Low level: every total is an atomic counter, and each outcome goes to its own slot,
/// written once (`OnceLock`). No lock anywhere; each update is one indivisible step.
pub fn share_atomically(shared: &Shared, workers: u16, race: bool) -> (Vec<Outcome>, Totals) {
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
            |report: ImageReport| {
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
