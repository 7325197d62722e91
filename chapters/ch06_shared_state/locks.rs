//! Mid level: a `Mutex` around the totals and one around the outcomes; and
//! `--deadlock`, two locks taken in opposite orders, reported instead of hung.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex, PoisonError};
use std::thread;

use workbench::contract::Outcome;
use workbench::patterns::lock_board::LockBoard;

use super::{Flags, ImageReport, Shared, Totals, spawn_workers};

// ANCHOR: mutex
/// Mid level: one `Mutex` around the totals, one around the outcomes. A worker holds
/// one lock at a time, and only for the update, never while it works.
pub fn share_with_locks(shared: &Shared, flags: &Flags) -> (Vec<Outcome>, Totals) {
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
            move |report: ImageReport| {
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
    report: ImageReport,
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
