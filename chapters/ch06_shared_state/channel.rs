//! High level: every worker sends its reports on a channel; only the main thread
//! touches the totals and the outcomes.

use std::sync::mpsc;
use std::thread;

use workbench::contract::Outcome;

use super::{ImageReport, Shared, Totals, spawn_workers};

// ANCHOR: channel
/// High level: each worker owns a `Sender` and sends its reports; the main thread is the
/// only one that touches the totals and the outcomes. Nothing is shared but the channel.
pub fn share_by_channel(shared: &Shared, workers: u16) -> (Vec<Outcome>, Totals) {
    let (sender, receiver) = mpsc::channel::<ImageReport>();
    let mut totals = Totals::default();
    let mut outcomes = Vec::new();
    thread::scope(|scope| {
        spawn_workers(scope, shared, workers, |_| {
            let sender = sender.clone();
            move |report: ImageReport| {
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
