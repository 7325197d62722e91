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
//! - [`Future`]: a result that is not there yet, with done callbacks; [`gather`].
//! - [`Protocol`] and [`Transport`]: a TCP connection as callbacks
//!   (`connection_made`, `data_received`, `eof_received`, `connection_lost`) and the
//!   calls a protocol makes back (`write`, `close`, `abort`).
//! - [`http`]: HTTP/1.1 GET and PUT as a protocol, and the job's download and upload.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};

pub mod http;

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
        let callbacks = std::mem::take(
            &mut *self
                .inner
                .remote
                .callbacks
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        for callback in callbacks {
            let event_loop = self.clone();
            self.call_soon(move || callback(&event_loop));
        }
    }

    /// Runs the loop until `future` is done, and returns its result.
    pub fn run_until_complete<T: Clone + 'static, E: Clone + 'static>(
        &self,
        future: &Future<T, E>,
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
    ) -> Future<T, E>
    where
        T: Clone + Send + 'static,
        E: Clone + Send + 'static,
    {
        let future = Future::new(self);
        let number = self.park(Box::new(future.clone()));
        let handle = self.handle();
        pool.spawn(move || {
            let result = work();
            handle.call_soon_threadsafe(move |event_loop| {
                if let Some(future) = event_loop.unpark::<Future<T, E>>(number) {
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

    /// Opens a TCP connection to `address` driven by `protocol`: `connection_made` once
    /// connected, or `connection_lost` with the error (a refused connection, say).
    pub fn create_connection(
        &self,
        address: SocketAddr,
        protocol: impl Protocol + 'static,
    ) -> Transport {
        let protocol: Box<dyn Protocol> = Box::new(protocol);
        let (stream, error) = match TcpStream::connect(address) {
            Ok(stream) => (Some(stream), None),
            Err(error) => (None, Some(error)),
        };
        let transport = Transport {
            inner: Rc::new(TransportState {
                event_loop: self.clone(),
                stream: RefCell::new(stream),
                token: Cell::new(None),
                state: Cell::new(State::Connecting),
                outgoing: RefCell::new(Vec::new()),
                protocol: RefCell::new(Some(protocol)),
            }),
        };
        if let Some(error) = error {
            transport.close_now(Some(error));
            return transport;
        }
        let socket: Rc<dyn Ready> = Rc::new(Connection(transport.inner.clone()));
        let registered = match transport.inner.stream.borrow_mut().as_mut() {
            Some(stream) => self.register(stream, socket),
            None => Err(io::Error::other("no socket")),
        };
        match registered {
            Ok(token) => transport.inner.token.set(Some(token)),
            Err(error) => transport.close_now(Some(error)),
        }
        transport
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
        self.remote
            .callbacks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(Box::new(callback));
        // Waking can only fail if the loop is gone, and then nobody is waiting.
        let _ = self.remote.waker.wake();
    }
}

// ANCHOR: future
/// A result that is not there yet: set once, with [`set_result`](Future::set_result) or
/// [`set_exception`](Future::set_exception); the done callbacks then run on the loop.
///
/// Unlike asyncio's, a done callback receives the result itself (the future is done, so
/// there is nothing else to ask it).
pub struct Future<T, E> {
    inner: Rc<FutureState<T, E>>,
}

type DoneCallback<T, E> = Box<dyn FnOnce(Result<T, E>)>;

struct FutureState<T, E> {
    event_loop: EventLoop,
    result: RefCell<Option<Result<T, E>>>,
    callbacks: RefCell<Vec<DoneCallback<T, E>>>,
}

impl<T, E> Clone for Future<T, E> {
    fn clone(&self) -> Self {
        Future {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Clone + 'static, E: Clone + 'static> Future<T, E> {
    /// A pending future whose callbacks run on `event_loop`.
    pub fn new(event_loop: &EventLoop) -> Future<T, E> {
        Future {
            inner: Rc::new(FutureState {
                event_loop: event_loop.clone(),
                result: RefCell::new(None),
                callbacks: RefCell::new(Vec::new()),
            }),
        }
    }

    /// Whether a result or an exception is set.
    pub fn done(&self) -> bool {
        self.inner.result.borrow().is_some()
    }

    /// The result, once done.
    pub fn result(&self) -> Option<Result<T, E>> {
        self.inner.result.borrow().clone()
    }

    /// Sets the result; `false` (and nothing changes) if the future was already done.
    pub fn set_result(&self, value: T) -> bool {
        self.settle(Ok(value))
    }

    /// Sets the error; `false` (and nothing changes) if the future was already done.
    pub fn set_exception(&self, error: E) -> bool {
        self.settle(Err(error))
    }

    fn settle(&self, result: Result<T, E>) -> bool {
        if self.done() {
            return false;
        }
        *self.inner.result.borrow_mut() = Some(result.clone());
        for callback in self.inner.callbacks.take() {
            let result = result.clone();
            self.inner.event_loop.call_soon(move || callback(result));
        }
        true
    }

    /// Runs `callback` with the result once the future is done: soon, on the loop, and
    /// exactly once, even if the future is done already.
    pub fn add_done_callback(&self, callback: impl FnOnce(Result<T, E>) + 'static) {
        match self.result() {
            Some(result) => self.inner.event_loop.call_soon(move || callback(result)),
            None => self.inner.callbacks.borrow_mut().push(Box::new(callback)),
        }
    }
}
// ANCHOR_END: future

/// A future of every result of `futures`, in order; the first error if any fails.
pub fn gather<T: Clone + 'static, E: Clone + 'static>(
    event_loop: &EventLoop,
    futures: Vec<Future<T, E>>,
) -> Future<Vec<T>, E> {
    let all = Future::new(event_loop);
    if futures.is_empty() {
        all.set_result(Vec::new());
        return all;
    }
    let results: Rc<RefCell<Vec<Option<T>>>> = Rc::new(RefCell::new(vec![None; futures.len()]));
    for (index, future) in futures.into_iter().enumerate() {
        let (all, results) = (all.clone(), results.clone());
        future.add_done_callback(move |result| match result {
            Err(error) => {
                all.set_exception(error);
            }
            Ok(value) => {
                let mut results = results.borrow_mut();
                results[index] = Some(value);
                if results.iter().all(Option::is_some) {
                    all.set_result(results.drain(..).flatten().collect());
                }
            }
        });
    }
    all
}

// ANCHOR: protocol
/// What happens on a connection, as callbacks the loop calls (asyncio's `Protocol`).
pub trait Protocol {
    /// Connected: `transport` is how to write and close.
    fn connection_made(&mut self, transport: &Transport);
    /// Bytes arrived.
    fn data_received(&mut self, data: &[u8]);
    /// The other side will send nothing more. The transport closes after this.
    fn eof_received(&mut self) {}
    /// The connection is closed: `None` after a normal close, else the error (a refused
    /// connection never made, a reset, ...). Always the last call.
    fn connection_lost(&mut self, error: Option<io::Error>);
}
// ANCHOR_END: protocol

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connecting,
    Open,
    /// `close` was called: the pending bytes are sent, then the socket closes.
    Closing,
    Closed,
}

/// A non-blocking TCP connection as the protocol sees it: `write`, `close`, `abort`.
#[derive(Clone)]
pub struct Transport {
    inner: Rc<TransportState>,
}

struct TransportState {
    event_loop: EventLoop,
    stream: RefCell<Option<TcpStream>>,
    token: Cell<Option<Token>>,
    state: Cell<State>,
    /// Bytes written but not yet taken by the socket.
    outgoing: RefCell<Vec<u8>>,
    /// Taken out for the last call, `connection_lost`, which breaks the cycle
    /// transport -> protocol -> transport.
    protocol: RefCell<Option<Box<dyn Protocol>>>,
}

impl Transport {
    /// Queues `data` and sends what the socket takes now; the rest goes when it is
    /// writable again. Never blocks.
    pub fn write(&self, data: &[u8]) {
        if self.inner.state.get() == State::Open {
            self.inner.outgoing.borrow_mut().extend_from_slice(data);
            self.inner.flush();
        }
    }

    /// Closes once the queued bytes are sent; `connection_lost(None)` follows.
    pub fn close(&self) {
        if self.inner.state.get() == State::Open {
            self.inner.state.set(State::Closing);
            self.inner.flush();
        }
    }

    /// Closes now, dropping queued bytes; `connection_lost(None)` follows.
    pub fn abort(&self) {
        self.close_now(None);
    }

    fn close_now(&self, error: Option<io::Error>) {
        self.inner.close_now(error);
    }
}

impl TransportState {
    fn flush(self: &Rc<Self>) {
        loop {
            let mut outgoing = self.outgoing.borrow_mut();
            if outgoing.is_empty() {
                break;
            }
            let written = match self.stream.borrow_mut().as_mut() {
                Some(stream) => stream.write(&outgoing),
                None => return,
            };
            match written {
                Ok(n) => {
                    outgoing.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    drop(outgoing);
                    self.close_now(Some(e));
                    return;
                }
            }
        }
        if self.state.get() == State::Closing {
            self.close_now(None);
        }
    }

    /// Closes the socket and schedules the protocol's last call.
    fn close_now(self: &Rc<Self>, error: Option<io::Error>) {
        if self.state.replace(State::Closed) == State::Closed {
            return;
        }
        if let Some(mut stream) = self.stream.borrow_mut().take() {
            if let Some(token) = self.token.take() {
                self.event_loop.deregister(&mut stream, token);
            }
            let _ = stream.shutdown(Shutdown::Both);
        }
        let me = self.clone();
        self.event_loop.call_soon(move || {
            let protocol = me.protocol.borrow_mut().take();
            if let Some(mut protocol) = protocol {
                protocol.connection_lost(error);
            }
        });
    }

    fn with_protocol(&self, call: impl FnOnce(&mut dyn Protocol)) {
        if let Some(protocol) = self.protocol.borrow_mut().as_mut() {
            call(protocol.as_mut());
        }
    }

    /// Connected, or failed to connect (mio's recipe: look at the socket's error, then
    /// whether it has a peer).
    fn finish_connecting(self: &Rc<Self>) -> bool {
        let status = match self.stream.borrow().as_ref() {
            Some(stream) => match stream.take_error() {
                Ok(Some(error)) | Err(error) => Err(error),
                Ok(None) => match stream.peer_addr() {
                    Ok(_) => Ok(true),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
                    Err(error) => Err(error),
                },
            },
            None => Ok(false),
        };
        match status {
            Ok(true) => {
                self.state.set(State::Open);
                let transport = Transport {
                    inner: self.clone(),
                };
                self.with_protocol(|protocol| protocol.connection_made(&transport));
                true
            }
            Ok(false) => false,
            Err(error) => {
                self.close_now(Some(error));
                false
            }
        }
    }

    /// Reads until the socket has nothing more, handing each piece to the protocol.
    fn read_all(self: &Rc<Self>) {
        let mut buffer = [0u8; 64 * 1024];
        while matches!(self.state.get(), State::Open | State::Closing) {
            let read = match self.stream.borrow_mut().as_mut() {
                Some(stream) => stream.read(&mut buffer),
                None => return,
            };
            match read {
                Ok(0) => {
                    self.with_protocol(|protocol| protocol.eof_received());
                    self.close_now(None);
                }
                Ok(n) => self.with_protocol(|protocol| protocol.data_received(&buffer[..n])),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.close_now(Some(e)),
            }
        }
    }
}

/// What the loop holds for a connection: the way back to it when its socket is ready.
struct Connection(Rc<TransportState>);

impl Ready for Connection {
    fn ready(&self, readiness: Readiness) {
        let transport = &self.0;
        if transport.state.get() == State::Connecting && !transport.finish_connecting() {
            return;
        }
        if readiness.writable {
            transport.flush();
        }
        if readiness.readable || readiness.error {
            transport.read_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let future: Future<u32, String> = Future::new(&event_loop);
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
