//! An event loop built by hand on `mio`: the machine that asyncio gives Python, and that
//! tokio hides under `.await`.
//!
//! One thread runs [`EventLoop::run_forever`]. Each turn it asks the operating system
//! (epoll, through `mio`) which sockets are ready, waiting at most until the next timer
//! is due; then it runs the callbacks that became ready, one at a time, in order. A
//! callback never blocks: it starts something (a write, a timer, a job on a thread
//! pool) and registers what should happen when that finishes. Everything here is
//! single-threaded (`Rc`, `RefCell`), as a loop's state is; the one door in from other
//! threads is [`LoopHandle::call_soon_threadsafe`], which wakes the loop with a
//! `mio::Waker`.
//!
//! - [`EventLoop`]: `call_soon`, `call_later`, `call_at`, `time`, `run_forever`,
//!   `run_until_complete`, `stop`, `call_soon_threadsafe`, `run_in_pool`.
//! - [`LoopFuture`]: a result that is not there yet, with done callbacks; [`gather`].
//! - [`Protocol`] and [`Transport`]: a TCP connection as callbacks
//!   (`connection_made`, `data_received`, `eof_received`, `connection_lost`) and the
//!   calls a protocol makes back (`write`, `close`, `abort`).
//! - [`http`]: HTTP/1.1 GET and PUT as a protocol, and the job's download and upload.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};

use super::poison::lock;

mod loop_future;
mod tls;
mod transport;

pub mod http;
pub mod steps;

pub use loop_future::{LoopFuture, gather};
pub use transport::{Protocol, Transport};

/// The token of the waker: other threads use it to interrupt `poll`.
const WAKER: Token = Token(0);

/// A callback run on the loop's thread.
type Callback = Box<dyn FnOnce()>;

/// A callback sent from another thread: it must be `Send`, so it cannot hold the loop's
/// `Rc`s; it receives the loop when it runs instead.
type RemoteCallback = Box<dyn FnOnce(&EventLoop) + Send>;

/// The event loop. Cloning it is cheap (an `Rc`): callbacks keep a clone to schedule more.
#[derive(Clone)]
pub struct EventLoop {
    inner: Rc<LoopState>,
}

struct LoopState {
    /// Asks the operating system which sockets are ready.
    poll: RefCell<Poll>,
    /// Callbacks to run on the next turn, in the order they were scheduled.
    ready: RefCell<VecDeque<Callback>>,
    /// Timers, soonest first (a min-heap through `Reverse`).
    timers: RefCell<BinaryHeap<Reverse<Timer>>>,
    /// Breaks ties between timers due at the same instant: first scheduled, first run.
    timer_count: Cell<u64>,
    /// Set by `stop`: `run_forever` returns after the current turn.
    stopping: Cell<bool>,
    /// Callbacks sent by other threads, and the waker that tells the loop about them.
    remote: Arc<Remote>,
    /// What to call when a registered socket is ready.
    sockets: RefCell<HashMap<Token, Rc<dyn Ready>>>,
    /// The next free socket token (0 is the waker's).
    next_token: Cell<usize>,
    /// Futures waiting for work on other threads, by number (see `run_in_pool`).
    parked: RefCell<HashMap<u64, Box<dyn Any>>>,
    next_parked: Cell<u64>,
}

struct Remote {
    callbacks: Mutex<Vec<RemoteCallback>>,
    waker: Waker,
}

/// A callback due at `when`.
struct Timer {
    when: Instant,
    order: u64,
    callback: Callback,
    cancelled: Rc<Cell<bool>>,
}

impl Timer {
    fn key(&self) -> (Instant, u64) {
        (self.when, self.order)
    }
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// A scheduled timer; [`TimerHandle::cancel`] stops it from running.
#[derive(Clone)]
pub struct TimerHandle {
    cancelled: Rc<Cell<bool>>,
}

impl TimerHandle {
    /// The callback will not run (if it has not yet).
    pub fn cancel(&self) {
        self.cancelled.set(true);
    }
}

/// What a socket reported in one turn.
#[derive(Debug, Clone, Copy)]
struct Readiness {
    readable: bool,
    writable: bool,
    error: bool,
}

/// Something registered with the loop that wants to hear when its socket is ready.
trait Ready {
    fn ready(&self, readiness: Readiness);
}

impl EventLoop {
    /// A new loop, with nothing scheduled.
    pub fn new() -> io::Result<EventLoop> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        Ok(EventLoop {
            inner: Rc::new(LoopState {
                poll: RefCell::new(poll),
                ready: RefCell::new(VecDeque::new()),
                timers: RefCell::new(BinaryHeap::new()),
                timer_count: Cell::new(0),
                stopping: Cell::new(false),
                remote: Arc::new(Remote {
                    callbacks: Mutex::new(Vec::new()),
                    waker,
                }),
                sockets: RefCell::new(HashMap::new()),
                next_token: Cell::new(1),
                parked: RefCell::new(HashMap::new()),
                next_parked: Cell::new(0),
            }),
        })
    }

    /// The loop's clock (monotonic): timers are set against it.
    pub fn time(&self) -> Instant {
        Instant::now()
    }

    // ANCHOR: schedule
    /// Runs `callback` on the next turn of the loop, after those scheduled before it.
    pub fn call_soon(&self, callback: impl FnOnce() + 'static) {
        self.inner.ready.borrow_mut().push_back(Box::new(callback));
    }

    /// Runs `callback` once `delay` has passed (never before).
    pub fn call_later(&self, delay: Duration, callback: impl FnOnce() + 'static) -> TimerHandle {
        self.call_at(self.time() + delay, callback)
    }

    /// Runs `callback` at `when` on the loop's clock (never before).
    pub fn call_at(&self, when: Instant, callback: impl FnOnce() + 'static) -> TimerHandle {
        let cancelled = Rc::new(Cell::new(false));
        let order = self.inner.timer_count.get();
        self.inner.timer_count.set(order + 1);
        self.inner.timers.borrow_mut().push(Reverse(Timer {
            when,
            order,
            callback: Box::new(callback),
            cancelled: cancelled.clone(),
        }));
        TimerHandle { cancelled }
    }
    // ANCHOR_END: schedule

    /// A handle other threads can use to schedule callbacks on this loop.
    pub fn handle(&self) -> LoopHandle {
        LoopHandle {
            remote: self.inner.remote.clone(),
        }
    }

    /// Schedules `callback` from any thread (see [`LoopHandle::call_soon_threadsafe`]).
    pub fn call_soon_threadsafe(&self, callback: impl FnOnce(&EventLoop) + Send + 'static) {
        self.handle().call_soon_threadsafe(callback);
    }

    /// `run_forever` returns at the end of the current turn.
    pub fn stop(&self) {
        self.inner.stopping.set(true);
    }

    // ANCHOR: run
    /// Turns the loop until [`stop`](EventLoop::stop) is called.
    pub fn run_forever(&self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            self.run_once(&mut events)?;
            if self.inner.stopping.replace(false) {
                return Ok(());
            }
        }
    }

    /// One turn: wait for sockets (no longer than until the next timer), collect what
    /// is ready, then run the callbacks that were ready when the turn began.
    fn run_once(&self, events: &mut Events) -> io::Result<()> {
        let timeout = if !self.inner.ready.borrow().is_empty() || self.inner.stopping.get() {
            Some(Duration::ZERO)
        } else {
            self.next_timer()
                .map(|when| when.saturating_duration_since(self.time()))
        };
        match self.inner.poll.borrow_mut().poll(events, timeout) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {} // A signal: turn again.
            result => result?,
        }
        for event in events.iter() {
            if event.token() == WAKER {
                self.take_remote_callbacks();
            } else if let Some(socket) = self.inner.sockets.borrow().get(&event.token()).cloned() {
                let readiness = Readiness {
                    readable: event.is_readable() || event.is_read_closed(),
                    writable: event.is_writable() || event.is_write_closed(),
                    error: event.is_error(),
                };
                self.call_soon(move || socket.ready(readiness));
            }
        }
        self.take_due_timers();
        // Only the callbacks ready now: those they schedule wait for the next turn, so
        // a callback that reschedules itself cannot starve the sockets.
        let count = self.inner.ready.borrow().len();
        for _ in 0..count {
            let callback = self.inner.ready.borrow_mut().pop_front();
            if let Some(callback) = callback {
                callback();
            }
        }
        Ok(())
    }
    // ANCHOR_END: run

    /// When the next live timer is due.
    fn next_timer(&self) -> Option<Instant> {
        let mut timers = self.inner.timers.borrow_mut();
        while let Some(Reverse(timer)) = timers.peek() {
            if !timer.cancelled.get() {
                return Some(timer.when);
            }
            timers.pop();
        }
        None
    }

    fn take_due_timers(&self) {
        let now = self.time();
        loop {
            let mut timers = self.inner.timers.borrow_mut();
            match timers.peek() {
                Some(Reverse(timer)) if timer.when <= now => {}
                _ => return,
            }
            if let Some(Reverse(timer)) = timers.pop()
                && !timer.cancelled.get()
            {
                self.inner.ready.borrow_mut().push_back(timer.callback);
            }
        }
    }

    fn take_remote_callbacks(&self) {
        let callbacks = std::mem::take(&mut *lock(&self.inner.remote.callbacks));
        for callback in callbacks {
            let event_loop = self.clone();
            self.call_soon(move || callback(&event_loop));
        }
    }

    /// Runs the loop until `future` is done, and returns its result.
    pub fn run_until_complete<T: Clone + 'static, E: Clone + 'static>(
        &self,
        future: &LoopFuture<T, E>,
    ) -> io::Result<Result<T, E>> {
        let event_loop = self.clone();
        future.add_done_callback(move |_| event_loop.stop());
        self.run_forever()?;
        future
            .result()
            .ok_or_else(|| io::Error::other("the loop stopped before the future was done"))
    }

    // ANCHOR: pool
    /// Runs `work` on `pool` (another thread) and returns a future of its result. The
    /// worker posts the result back with `call_soon_threadsafe`; the future itself stays
    /// on the loop's thread, parked under a number the worker carries.
    pub fn run_in_pool<T, E>(
        &self,
        pool: &rayon::ThreadPool,
        work: impl FnOnce() -> Result<T, E> + Send + 'static,
    ) -> LoopFuture<T, E>
    where
        T: Clone + Send + 'static,
        E: Clone + Send + 'static,
    {
        let future = LoopFuture::new(self);
        let number = self.park(Box::new(future.clone()));
        let handle = self.handle();
        pool.spawn(move || {
            let result = work();
            handle.call_soon_threadsafe(move |event_loop| {
                if let Some(future) = event_loop.unpark::<LoopFuture<T, E>>(number) {
                    future.settle(result);
                }
            });
        });
        future
    }
    // ANCHOR_END: pool

    fn park(&self, value: Box<dyn Any>) -> u64 {
        let number = self.inner.next_parked.get();
        self.inner.next_parked.set(number + 1);
        self.inner.parked.borrow_mut().insert(number, value);
        number
    }

    fn unpark<V: 'static>(&self, number: u64) -> Option<V> {
        let value = self.inner.parked.borrow_mut().remove(&number)?;
        value.downcast::<V>().ok().map(|boxed| *boxed)
    }

    fn register(&self, stream: &mut TcpStream, socket: Rc<dyn Ready>) -> io::Result<Token> {
        let token = Token(self.inner.next_token.get());
        self.inner.next_token.set(token.0 + 1);
        self.inner.poll.borrow().registry().register(
            stream,
            token,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        self.inner.sockets.borrow_mut().insert(token, socket);
        Ok(token)
    }

    fn deregister(&self, stream: &mut TcpStream, token: Token) {
        let _ = self.inner.poll.borrow().registry().deregister(stream);
        self.inner.sockets.borrow_mut().remove(&token);
    }
}

/// A `Send` handle to a loop, for other threads.
#[derive(Clone)]
pub struct LoopHandle {
    remote: Arc<Remote>,
}

impl LoopHandle {
    /// Schedules `callback` on the loop from any thread, and wakes the loop if it is
    /// waiting in `poll`. The callback gets the loop when it runs.
    pub fn call_soon_threadsafe(&self, callback: impl FnOnce(&EventLoop) + Send + 'static) {
        lock(&self.remote.callbacks).push(Box::new(callback));
        // Waking can only fail if the loop is gone, and then nobody is waiting.
        let _ = self.remote.waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn recorder() -> Rc<RefCell<Vec<String>>> {
        Rc::new(RefCell::new(Vec::new()))
    }

    #[test]
    fn callbacks_run_in_the_order_they_were_scheduled() {
        let event_loop = EventLoop::new().unwrap();
        let seen = recorder();
        for name in ["first", "second", "third"] {
            let seen = seen.clone();
            event_loop.call_soon(move || seen.borrow_mut().push(name.into()));
        }
        let stopper = event_loop.clone();
        event_loop.call_soon(move || stopper.stop());
        event_loop.run_forever().unwrap();
        assert_eq!(*seen.borrow(), ["first", "second", "third"]);
    }

    #[test]
    fn timers_fire_in_time_order_and_never_early() {
        let event_loop = EventLoop::new().unwrap();
        let start = event_loop.time();
        let fired = Rc::new(RefCell::new(Vec::new()));
        for millis in [30u64, 10, 20] {
            let fired = fired.clone();
            let clock = event_loop.clone();
            event_loop.call_later(Duration::from_millis(millis), move || {
                fired.borrow_mut().push((millis, clock.time() - start));
            });
        }
        let cancelled = event_loop.call_later(Duration::from_millis(5), || panic!("cancelled"));
        cancelled.cancel();
        let stopper = event_loop.clone();
        event_loop.call_later(Duration::from_millis(40), move || stopper.stop());
        event_loop.run_forever().unwrap();
        let fired = fired.borrow();
        let order: Vec<u64> = fired.iter().map(|(millis, _)| *millis).collect();
        assert_eq!(order, [10, 20, 30]);
        for (millis, after) in fired.iter() {
            assert!(
                *after >= Duration::from_millis(*millis),
                "{millis} ms fired after {after:?}"
            );
        }
    }

    #[test]
    fn stop_inside_a_callback_ends_run_forever() {
        let event_loop = EventLoop::new().unwrap();
        let late = Rc::new(Cell::new(false));
        let stopper = event_loop.clone();
        event_loop.call_soon(move || stopper.stop());
        let flag = late.clone();
        event_loop.call_later(Duration::from_secs(30), move || flag.set(true));
        event_loop.run_forever().unwrap();
        assert!(!late.get(), "the loop ran past stop");
    }

    #[test]
    fn a_futures_callbacks_run_once_even_when_added_after_it_is_done() {
        let event_loop = EventLoop::new().unwrap();
        let future: LoopFuture<u32, String> = LoopFuture::new(&event_loop);
        let calls = Rc::new(Cell::new(0));
        let before = calls.clone();
        future.add_done_callback(move |result| {
            assert_eq!(result, Ok(7));
            before.set(before.get() + 1);
        });
        assert!(!future.done());
        assert!(future.set_result(7));
        assert!(!future.set_result(8), "a future is set once");
        assert!(!future.set_exception("late".into()));
        let after = calls.clone();
        future.add_done_callback(move |result| {
            assert_eq!(result, Ok(7));
            after.set(after.get() + 10);
        });
        assert_eq!(
            calls.get(),
            0,
            "callbacks run on the loop, not inside set_result"
        );
        assert_eq!(event_loop.run_until_complete(&future).unwrap(), Ok(7));
        let stopper = event_loop.clone();
        event_loop.call_soon(move || stopper.stop());
        event_loop.run_forever().unwrap();
        assert_eq!(calls.get(), 11);
    }

    #[test]
    fn work_on_another_thread_comes_back_through_call_soon_threadsafe() {
        let event_loop = EventLoop::new().unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let answer = event_loop.run_in_pool(&pool, || Ok::<_, String>(6 * 7));
        assert_eq!(event_loop.run_until_complete(&answer).unwrap(), Ok(42));
        let handle = event_loop.handle();
        std::thread::spawn(move || handle.call_soon_threadsafe(|event_loop| event_loop.stop()));
        event_loop.run_forever().unwrap();
    }

    /// Records what the loop tells it, and stops the loop when the connection is lost.
    struct Witness {
        event_loop: EventLoop,
        made: Rc<Cell<bool>>,
        lost: Rc<RefCell<Option<Option<io::ErrorKind>>>>,
    }

    impl Protocol for Witness {
        fn connection_made(&mut self, _: &Transport) {
            self.made.set(true);
        }
        fn data_received(&mut self, _: &[u8]) {}
        fn connection_lost(&mut self, error: Option<io::Error>) {
            *self.lost.borrow_mut() = Some(error.map(|e| e.kind()));
            self.event_loop.stop();
        }
    }

    #[test]
    fn a_refused_connection_reaches_connection_lost_with_the_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let event_loop = EventLoop::new().unwrap();
        let (made, lost) = (Rc::new(Cell::new(false)), Rc::new(RefCell::new(None)));
        let witness = Witness {
            event_loop: event_loop.clone(),
            made: made.clone(),
            lost: lost.clone(),
        };
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let _transport = event_loop.create_connection(address, witness);
        event_loop.run_forever().unwrap();
        assert!(!made.get(), "connection_made on a refused connection");
        assert_eq!(*lost.borrow(), Some(Some(io::ErrorKind::ConnectionRefused)));
    }
}
