//! Lock attempts that give up after a while and say who waits for what, so that a
//! deadlock is reported instead of hanging the program (chapter 6, `--deadlock`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::thread;
use std::time::{Duration, Instant};

use super::poison::lock;
use crate::trace;

// ANCHOR: lock_board
/// Lock attempts that give up. A worker that cannot get a lock writes on the board which
/// lock it holds and which it wants, and waits at most `patience`. When the patience
/// runs out the board is the report: in a deadlock it shows the cycle (A holds X and
/// wants Y, B holds Y and wants X).
///
/// The standard `Mutex` cannot wait with a time limit, so this polls `try_lock` every
/// millisecond; `parking_lot::Mutex::try_lock_for` waits properly, and parking_lot's
/// optional deadlock detector finds cycles in its own locks.
pub struct LockBoard {
    patience: Duration,
    /// Worker name -> (the lock it holds, the lock it wants).
    waiting: Mutex<BTreeMap<String, (String, String)>>,
}

impl LockBoard {
    /// A board whose lock attempts give up after `patience`.
    pub fn new(patience: Duration) -> LockBoard {
        LockBoard {
            patience,
            waiting: Mutex::new(BTreeMap::new()),
        }
    }

    /// Locks `mutex` (named `wants`) while holding the lock named `holds`, or gives up
    /// after the board's patience with a report of every worker still waiting.
    pub fn lock<'a, T>(
        &self,
        mutex: &'a Mutex<T>,
        wants: &str,
        holds: &str,
    ) -> Result<MutexGuard<'a, T>, Deadlock> {
        let me = trace::worker_label();
        let deadline = Instant::now() + self.patience;
        let mut posted = false;
        loop {
            let guard = match mutex.try_lock() {
                Ok(guard) => Some(guard),
                Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            };
            if let Some(guard) = guard {
                if posted {
                    lock(&self.waiting).remove(&me);
                }
                return Ok(guard);
            }
            if !posted {
                lock(&self.waiting).insert(me.clone(), (holds.to_string(), wants.to_string()));
                posted = true;
            }
            if Instant::now() >= deadline {
                let waits = lock(&self.waiting)
                    .iter()
                    .map(|(worker, (holds, wants))| Wait {
                        worker: worker.clone(),
                        holds: holds.clone(),
                        wants: wants.clone(),
                    })
                    .collect();
                return Err(Deadlock {
                    patience: self.patience,
                    waits,
                });
            }
            thread::sleep(Duration::from_millis(1));
        }
    }
}
// ANCHOR_END: lock_board

/// One line of a [`Deadlock`] report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    /// The waiting worker.
    pub worker: String,
    /// The lock it holds.
    pub holds: String,
    /// The lock it waits for.
    pub wants: String,
}

/// Workers that waited longer than the board's patience, and for what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadlock {
    /// How long the reporting worker waited.
    pub patience: Duration,
    /// Every worker waiting at that moment.
    pub waits: Vec<Wait>,
}

impl fmt::Display for Deadlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "deadlock: a lock attempt waited {:.1} s; workers waiting:",
            self.patience.as_secs_f64()
        )?;
        for wait in &self.waits {
            write!(
                f,
                "\n  {} holds `{}` and waits for `{}`",
                wait.worker, wait.holds, wait.wants
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for Deadlock {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opposite_lock_orders_are_reported_not_hung() {
        let board = LockBoard::new(Duration::from_millis(200));
        let (x, y) = (Mutex::new(()), Mutex::new(()));
        let meet = std::sync::Barrier::new(2);
        let results: Vec<Result<(), Deadlock>> = thread::scope(|s| {
            let a = s.spawn(|| {
                let _x = lock(&x);
                meet.wait();
                board.lock(&y, "y", "x").map(drop)
            });
            let b = s.spawn(|| {
                let _y = lock(&y);
                meet.wait();
                board.lock(&x, "x", "y").map(drop)
            });
            vec![a.join().unwrap(), b.join().unwrap()]
        });
        assert!(results.iter().any(Result::is_err));
    }
}
