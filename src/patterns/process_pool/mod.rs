//! A process pool built by hand, the way `multiprocessing` and `ProcessPoolExecutor`
//! work inside: worker *processes*, each fed by a thread of the parent that sends it one
//! task at a time and reads back the result.
//!
//! **Tasks are data.** A closure cannot cross a process boundary (its code pointer and
//! the references it captures mean nothing in another address space), so what crosses is
//! the job as data: once per worker a [`Request::Hello`] with the [`JobSpec`](crate::job::JobSpec) (sizes,
//! output, HTTP settings), then one [`Request::Task`] per image (where its bytes are, its
//! stem). The worker sends back a [`Reply`]: the thumbnails' names or the error, the spans
//! it recorded (so they land on the parent's timeline, labelled `pid N`) and its peak
//! memory. This is what Python does with pickle; here serde does it, visibly.
//!
//! **Frames.** A pipe is a stream of bytes with no message boundaries, so each message
//! is a *frame*: its length as 4 bytes (little-endian), then that many bytes of JSON. The
//! reader reads the length, then exactly that much: never half a message, never two.
//!
//! **Three ways to start a worker** ([`Start`]), in `start.rs` and `forking.rs`:
//! - `spawn`: run this same program again with a hidden flag ([`WORKER_FLAG`]), talking
//!   over its stdin and stdout. A fresh process: nothing inherited but the program.
//! - `fork`: copy this process with `fork()` before it has started any thread. Cheap (the
//!   memory is shared copy-on-write), but only safe while the process has one thread.
//! - `forkserver`: fork one small server first, while the program is single-threaded; it
//!   forks workers on request later, when the parent has threads and may not fork itself.
//!
//! **Workers die with the parent.** Each worker asks the kernel to kill it when its parent
//! dies (`PR_SET_PDEATHSIG`, on Linux), and also exits when its input reaches end-of-file (which is
//! what the parent's death, or a normal shutdown, looks like from the other end of the
//! pipe). No orphans, even when the parent is killed with SIGKILL.
//!
//! **A worker that dies mid-task** (killed, or aborted) does not break the pool: its task
//! is retried once on a fresh worker, and reported as failed if that one dies too. The
//! rest of the batch completes. (Python's `ProcessPoolExecutor` marks the whole pool as
//! broken here.)
//!
//! **The fork server's death** (killed, or out of memory) takes its workers with it, and
//! no new one can be forked: this process has threads by then. The starter then spawns
//! every later worker instead, and says so once, on stderr and in the summary's notes,
//! so the batch completes rather than failing image after image with a broken pipe.
//!
//! **Ctrl-C** reaches every process of the terminal's group, workers included. Workers
//! (and the fork server) block SIGINT and SIGTERM, so they finish their task quietly; the
//! parent decides: its feeders start no new task once the run's stop flag is raised.

mod forking;
mod frames;
mod start;
mod worker;
mod worker_process;

pub use frames::{Reply, Request, read_frame, write_frame};
pub use start::{Start, Starter};
pub use worker::{WORKER_FLAG, run_as_worker_if_asked, serve};

use std::io;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender};

use super::poison::lock;
use super::task_future::{TaskError, TaskFuture, TaskPromise, task_promise};
use crate::contract::{Image, ImageError};
use crate::job::Job;
use worker_process::WorkerProcess;

/// The result of one image's task: its thumbnails' names or its error.
pub type TaskResult = Result<Vec<String>, ImageError>;

/// One queued task: the image, and the promise to fill in with its result.
type Queued = (Image, TaskPromise<TaskResult>);

/// A pool of worker processes (Python's `ProcessPoolExecutor`), with the same
/// `submit` / `map` / future interface as the thread pool.
pub struct ProcessPool {
    /// Where `submit` queues tasks; `None` after shutdown.
    tasks: Option<Sender<Queued>>,
    /// One thread per worker process, feeding it and reading its replies.
    feeders: Vec<JoinHandle<()>>,
}

/// What every feeder thread shares.
struct PoolState {
    /// The job: its tracer receives the workers' spans, and it keeps their memory.
    job: Job,
    /// The first message every new worker gets.
    hello: Request,
    /// Makes replacement workers.
    starter: Mutex<Starter>,
}

impl ProcessPool {
    /// Starts `size` workers with `starter` and sends each the job. `crash_on` makes a
    /// worker abort on the image with that stem (a lesson in crashes).
    pub fn new(
        starter: Starter,
        size: usize,
        job: &Job,
        crash_on: Option<String>,
    ) -> io::Result<ProcessPool> {
        let shared = Arc::new(PoolState {
            job: job.clone(),
            hello: Request::Hello {
                spec: Box::new(job.spec().clone()),
                crash_on,
            },
            starter: Mutex::new(starter),
        });
        let (sender, receiver) = crossbeam_channel::unbounded::<Queued>();
        let mut feeders = Vec::new();
        for number in 1..=size.max(1) {
            let worker = shared.start_worker()?;
            let (shared, receiver) = (Arc::clone(&shared), receiver.clone());
            let feeder = thread::Builder::new()
                .name(format!("feeder-{number:02}"))
                .spawn(move || feed(worker, &receiver, &shared))?;
            feeders.push(feeder);
        }
        Ok(ProcessPool {
            tasks: Some(sender),
            feeders,
        })
    }

    /// Queues `image` for the next free worker and returns the future of its result.
    pub fn submit(&self, image: Image) -> TaskFuture<TaskResult> {
        let (promise, future) = task_promise();
        if let Some(tasks) = &self.tasks {
            // On failure the promise is dropped with the message: the future is Abandoned.
            let _ = tasks.send((image, promise));
        }
        future
    }

    /// Every image's result, in input order.
    pub fn map(
        &self,
        images: impl IntoIterator<Item = Image>,
    ) -> impl Iterator<Item = Result<TaskResult, TaskError>> {
        let futures: Vec<_> = images.into_iter().map(|image| self.submit(image)).collect();
        futures.into_iter().map(|future| future.result())
    }

    /// Takes no more tasks; with `wait`, returns once the queued ones are done and every
    /// worker has exited.
    pub fn shutdown(&mut self, wait: bool) {
        self.tasks = None;
        if wait {
            for feeder in self.feeders.drain(..) {
                let _ = feeder.join();
            }
        }
    }
}

impl Drop for ProcessPool {
    fn drop(&mut self) {
        self.shutdown(true);
    }
}

impl PoolState {
    /// A new worker that has been sent the job. If the starter had to change how it
    /// makes workers (the fork server died), the run is told, once.
    fn start_worker(&self) -> io::Result<WorkerProcess> {
        let mut starter = lock(&self.starter);
        let started = starter.start();
        if let Some(change) = starter.take_change() {
            self.job.note(change);
        }
        drop(starter); // other feeders may start their workers meanwhile
        let mut worker = started?;
        write_frame(&mut worker.to_worker, &self.hello)?;
        Ok(worker)
    }
}

// ANCHOR: feed
/// A feeder thread: hands its worker process one task at a time, and replaces the worker
/// if it dies. A task whose worker died is retried once on the replacement.
fn feed(worker: WorkerProcess, tasks: &Receiver<Queued>, shared: &PoolState) {
    let mut worker = Some(worker);
    for (image, promise) in tasks {
        if !promise.start() {
            continue; // cancelled while queued
        }
        if shared.job.stop_requested() {
            // The run is stopping (Ctrl-C): this image is not started.
            promise.complete(Ok(Err(ImageError::Cancelled)));
            continue;
        }
        let request = Request::Task(image);
        let mut deaths = Vec::new();
        let result = loop {
            let mut current = match worker.take() {
                Some(current) => current,
                None => match shared.start_worker() {
                    Ok(fresh) => fresh,
                    Err(error) => break Err(ImageError::Io(format!("no worker: {error}"))),
                },
            };
            match current.run(&request) {
                Ok(reply) => {
                    shared
                        .job
                        .note_worker_memory(current.pid, reply.peak_rss_mb);
                    reply
                        .spans
                        .into_iter()
                        .for_each(|s| shared.job.tracer().push(s));
                    worker = Some(current);
                    break reply.result;
                }
                Err(_) => deaths.push(current.discard()),
            }
            if deaths.len() == 2 {
                break Err(ImageError::Panicked(deaths.join("; retried, and ")));
            }
        };
        promise.complete(Ok(result));
    }
    if let Some(worker) = worker {
        worker.stop();
    }
}
// ANCHOR_END: feed
