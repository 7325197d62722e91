//! Poisoned locks, and why the machinery here looks past them.
//!
//! A `Mutex` is *poisoned* when a thread panicked while holding it: `lock()` then returns
//! an error, in case the panic left the data half-changed. The data behind the locks in
//! `src/patterns/` (a count, a flag, a queue, a task's state) is changed by single
//! assignments, so it is whole even after a panic, and a pool must go on serving its
//! other tasks: these locks take the data back out of the error and carry on.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, even if a thread panicked while holding it.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_still_gives_its_data() {
        let count = Mutex::new(1);
        let _ = std::thread::scope(|s| {
            s.spawn(|| {
                let mut guard = count.lock().unwrap();
                *guard = 2;
                panic!("while holding the lock");
            })
            .join()
        });
        assert!(count.is_poisoned());
        assert_eq!(*lock(&count), 2);
    }
}
