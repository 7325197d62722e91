//! A counting semaphore (Python's `threading.Semaphore`), built from a `Mutex` and a
//! `Condvar`: chapter 1 bounds its downloads with it, chapter 6 shows it among the other
//! locks.

use std::sync::{Condvar, Mutex, PoisonError};

use super::poison::lock;

// ANCHOR: semaphore
/// A counting semaphore: at most `permits` holders at once; the others sleep until a
/// permit comes back.
///
/// Built from the two mid-level tools: a `Mutex` guards the count of free permits, and a
/// `Condvar` lets a waiter sleep without spinning until a holder returns one.
pub struct Semaphore {
    /// How many permits are free right now.
    free: Mutex<usize>,
    /// Signalled each time a permit is returned.
    returned: Condvar,
}

impl Semaphore {
    /// A semaphore with `permits` permits (at least 1, or every `acquire` would wait
    /// forever).
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            free: Mutex::new(permits.max(1)),
            returned: Condvar::new(),
        }
    }

    /// Waits for a free permit and takes it; dropping the [`Permit`] gives it back.
    pub fn acquire(&self) -> Permit<'_> {
        let mut free = lock(&self.free);
        // A loop, not an `if`: a condvar may wake a thread for no reason (a spurious
        // wake-up), and another waiter may have taken the permit first.
        while *free == 0 {
            free = self
                .returned
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        Permit { semaphore: self }
    }
}

/// A permit of a [`Semaphore`], returned when dropped (even by a panicking thread).
pub struct Permit<'a> {
    semaphore: &'a Semaphore,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *lock(&self.semaphore.free) += 1;
        self.semaphore.returned.notify_one();
    }
}
// ANCHOR_END: semaphore

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread;
    use std::time::Duration;

    #[test]
    fn a_semaphore_never_lets_more_than_its_permits_in() {
        let semaphore = Semaphore::new(2);
        let inside = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        thread::scope(|s| {
            for _ in 0..6 {
                s.spawn(|| {
                    for _ in 0..20 {
                        let _permit = semaphore.acquire();
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        thread::sleep(Duration::from_micros(200));
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }
}
