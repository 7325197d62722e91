//! Futures on the loop: a result that is not there yet, with done callbacks.

use std::cell::RefCell;
use std::rc::Rc;

use super::EventLoop;

// ANCHOR: future
/// A result that is not there yet: set once, with [`set_result`](LoopFuture::set_result) or
/// [`set_exception`](LoopFuture::set_exception); the done callbacks then run on the loop.
///
/// Unlike asyncio's, a done callback receives the result itself (the future is done, so
/// there is nothing else to ask it).
pub struct LoopFuture<T, E> {
    inner: Rc<LoopFutureState<T, E>>,
}

type LoopDoneCallback<T, E> = Box<dyn FnOnce(Result<T, E>)>;

struct LoopFutureState<T, E> {
    event_loop: EventLoop,
    result: RefCell<Option<Result<T, E>>>,
    callbacks: RefCell<Vec<LoopDoneCallback<T, E>>>,
}

impl<T, E> Clone for LoopFuture<T, E> {
    fn clone(&self) -> Self {
        LoopFuture {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Clone + 'static, E: Clone + 'static> LoopFuture<T, E> {
    /// A pending future whose callbacks run on `event_loop`.
    pub fn new(event_loop: &EventLoop) -> LoopFuture<T, E> {
        LoopFuture {
            inner: Rc::new(LoopFutureState {
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

    pub(super) fn settle(&self, result: Result<T, E>) -> bool {
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
    futures: Vec<LoopFuture<T, E>>,
) -> LoopFuture<Vec<T>, E> {
    let all = LoopFuture::new(event_loop);
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
