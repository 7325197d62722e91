//! A simulated global interpreter lock, modelled on CPython's, so that Rust threads can
//! be made to behave like Python's (chapter 6, `--gil`); and the CPU step run "as Python
//! code", holding it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError, RwLock};
use std::time::Duration;

use super::poison::lock;
use crate::contract::{Image, ImageError, Thumbnail};
use crate::job::Job;
use crate::kernel;
use crate::trace::{self, Phase, Span};

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
/// kernel's pieces (the decode, each resize, each encode) whenever a waiting thread asks.
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
    let result = kernel::thumbnails_in_steps(
        bytes,
        &spec.sizes,
        spec.decode_limits(),
        spec.format,
        |_piece| {
            if gil.switch_requested() {
                let waiting_since = trace::now_us();
                push_span(job, image, Phase::Resize, piece_start, waiting_since);
                gil.switch();
                piece_start = trace::now_us();
                push_span(job, image, Phase::QueueWait, waiting_since, piece_start);
            }
        },
    );
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;
    use std::time::Instant;

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
}
