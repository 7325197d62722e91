//! Synchronisation built by hand, for the shared-state chapter (ch06), from the
//! standard library's `Mutex`, `Condvar`, `RwLock` and atomics:
//!
//! - [`Semaphore`]: at most N holders at once (bounded concurrent downloads).
//! - [`Gil`]: a simulated global interpreter lock with a switch interval, so that Rust
//!   threads can be made to behave like CPython's.
//! - [`LockBoard`]: lock attempts that give up after a while and say who waits for
//!   what, so that a deadlock is reported instead of hanging the program.
//!
//! Each is small on purpose: the chapter exists to show how they work.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError, RwLock, TryLockError};
use std::thread;
use std::time::{Duration, Instant};

use crate::job::{Image, ImageError, Job};
use crate::kernel::{self, Thumbnail};
use crate::trace::{self, Phase, Span};

/// Locks `mutex`, ignoring poisoning: the data behind these locks (counts, a flag) stays
/// consistent even if a thread panicked while holding it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

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

// ANCHOR: gil
/// A simulated global interpreter lock, modelled on CPython's.
///
/// A thread runs "Python code" (here: the CPU step) only while it holds the GIL. It lets
/// go in two cases, as CPython does:
///
/// - around blocking IO ([`GilHolder::allow_threads`]): a download or an upload waits
///   without the GIL, so another thread can run meanwhile;
/// - when asked to ([`GilHolder::switch`]): a thread that has waited a whole *switch
///   interval* (5 ms by default, as in CPython) sets a drop request, and the holder
///   honours it at its next check point, hands the GIL over and queues up again.
///
/// The holder can only be interrupted *between* pieces of work, as CPython can only
/// switch threads between bytecode instructions. `Gil::off()` is a GIL that does
/// nothing: threads run truly in parallel (free-threaded Python, or plain Rust).
pub struct Gil {
    /// False for [`Gil::off`]: every operation is then a no-op.
    on: bool,
    /// Whether someone holds the GIL, and how many times it has been taken.
    state: Mutex<GilState>,
    /// Signalled when the holder lets go.
    dropped: Condvar,
    /// Signalled when a thread takes the GIL (a forced switch waits for it).
    taken: Condvar,
    /// Set by a thread that waited a whole switch interval: "please let go". A hint
    /// read often by the holder, so an atomic; the hand-over itself goes through `state`.
    drop_request: AtomicBool,
    /// Read at every wait, changed rarely (like `sys.setswitchinterval`): a `RwLock`
    /// lets all readers in at once.
    switch_interval: RwLock<Duration>,
    /// How many times the holder was asked to let go and did.
    forced_switches: AtomicUsize,
}

#[derive(Default)]
struct GilState {
    held: bool,
    takes: u64,
}

impl Gil {
    /// A GIL that threads must take to run CPU work, with the given switch interval.
    pub fn on(switch_interval: Duration) -> Gil {
        Gil {
            on: true,
            state: Mutex::new(GilState::default()),
            dropped: Condvar::new(),
            taken: Condvar::new(),
            drop_request: AtomicBool::new(false),
            switch_interval: RwLock::new(switch_interval.max(Duration::from_micros(100))),
            forced_switches: AtomicUsize::new(0),
        }
    }

    /// No GIL: taking it, releasing it and switching cost nothing and block nobody.
    pub fn off() -> Gil {
        Gil {
            on: false,
            ..Gil::on(Duration::from_millis(5))
        }
    }

    /// Whether this GIL is enforced.
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// The switch interval (`sys.getswitchinterval()`).
    pub fn switch_interval(&self) -> Duration {
        *self
            .switch_interval
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the switch interval (`sys.setswitchinterval()`); a rare write.
    pub fn set_switch_interval(&self, interval: Duration) {
        *self
            .switch_interval
            .write()
            .unwrap_or_else(PoisonError::into_inner) = interval.max(Duration::from_micros(100));
    }

    /// How many times a holder was asked to let go, and did.
    pub fn forced_switches(&self) -> usize {
        self.forced_switches.load(Ordering::Relaxed)
    }

    /// Waits for the GIL and takes it; it is released when the holder is dropped.
    pub fn acquire(&self) -> GilHolder<'_> {
        self.take();
        GilHolder { gil: self }
    }

    fn take(&self) {
        if !self.on {
            return;
        }
        let mut state = lock(&self.state);
        while state.held {
            let takes_before = state.takes;
            let (next, wait) = self
                .dropped
                .wait_timeout(state, self.switch_interval())
                .unwrap_or_else(PoisonError::into_inner);
            state = next;
            if wait.timed_out() && state.held && state.takes == takes_before {
                // A whole interval, and the same holder still has it: ask it to let go.
                self.drop_request.store(true, Ordering::Relaxed);
            }
        }
        state.held = true;
        state.takes += 1;
        self.drop_request.store(false, Ordering::Relaxed);
        self.taken.notify_all();
    }

    fn release(&self) {
        if !self.on {
            return;
        }
        lock(&self.state).held = false;
        self.dropped.notify_one();
    }
}

/// Proof that the current thread holds the [`Gil`]; dropping it lets go.
pub struct GilHolder<'a> {
    gil: &'a Gil,
}

impl GilHolder<'_> {
    /// Runs `blocking` (a download, an upload) without the GIL, then takes it back: what
    /// CPython does around every blocking call (`Py_BEGIN_ALLOW_THREADS`).
    pub fn allow_threads<T>(&mut self, blocking: impl FnOnce() -> T) -> T {
        self.gil.release();
        let result = blocking();
        self.gil.take();
        result
    }

    /// Whether a waiting thread has asked the holder to let go.
    pub fn switch_requested(&self) -> bool {
        self.gil.on && self.gil.drop_request.load(Ordering::Relaxed)
    }

    /// A forced switch: let go, wait until another thread has taken the GIL (or one more
    /// interval has passed), then queue up to take it back.
    pub fn switch(&mut self) {
        let gil = self.gil;
        if !gil.on {
            return;
        }
        let mut state = lock(&gil.state);
        state.held = false;
        let takes = state.takes;
        gil.dropped.notify_one();
        gil.forced_switches.fetch_add(1, Ordering::Relaxed);
        let (state, _) = gil
            .taken
            .wait_timeout_while(state, gil.switch_interval(), |s| s.takes == takes)
            .unwrap_or_else(PoisonError::into_inner);
        drop(state);
        gil.take();
    }
}

impl Drop for GilHolder<'_> {
    fn drop(&mut self) {
        self.gil.release();
    }
}
// ANCHOR_END: gil

// ANCHOR: cpu_under_gil
/// The CPU step run as "Python code": holding the GIL, and handing it over between the
/// kernel's pieces (after the decode, after each width) whenever a waiting thread asks.
///
/// The trace shows what really happened: a `resize` span for each stretch the thread
/// held the GIL, and a `queue_wait` span while it waited to get it back. Without a GIL,
/// no switch is ever requested and this is one `resize` span, like [`Job::thumbnail`].
pub fn thumbnail_holding(
    job: &Job,
    image: &Image,
    bytes: &[u8],
    gil: &mut GilHolder<'_>,
) -> Result<Vec<Thumbnail>, ImageError> {
    let spec = job.spec();
    let mut piece_start = trace::now_us();
    let result = kernel::thumbnails_in_steps(bytes, &spec.sizes, spec.max_pixels, || {
        if gil.switch_requested() {
            let waiting_since = trace::now_us();
            push_span(job, image, Phase::Resize, piece_start, waiting_since);
            gil.switch();
            piece_start = trace::now_us();
            push_span(job, image, Phase::QueueWait, waiting_since, piece_start);
        }
    });
    push_span(job, image, Phase::Resize, piece_start, trace::now_us());
    Ok(result?)
}
// ANCHOR_END: cpu_under_gil

fn push_span(job: &Job, image: &Image, phase: Phase, start_us: u64, end_us: u64) {
    job.tracer().push(Span {
        worker: trace::worker_label(),
        image: image.label().to_string(),
        phase,
        start_us,
        end_us,
    });
}

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
    use std::sync::atomic::AtomicUsize;

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

    #[test]
    fn only_one_thread_holds_the_gil_and_waiters_force_a_switch() {
        let gil = Gil::on(Duration::from_millis(1));
        let inside = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    let mut held = gil.acquire();
                    let until = Instant::now() + Duration::from_millis(30);
                    while Instant::now() < until {
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::hint::spin_loop();
                        inside.fetch_sub(1, Ordering::SeqCst);
                        if held.switch_requested() {
                            held.switch();
                        }
                    }
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 1);
        assert!(gil.forced_switches() > 0);
    }

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
