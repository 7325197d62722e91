//! A process pool built by hand, the way `multiprocessing` and `ProcessPoolExecutor`
//! work inside: worker *processes*, each fed by a thread of the parent that sends it one
//! task at a time and reads back the result.
//!
//! **Tasks are data.** A closure cannot cross a process boundary (its code pointer and
//! the references it captures mean nothing in another address space), so what crosses is
//! the job as data: once per worker a [`Request::Hello`] with the [`JobSpec`] (sizes,
//! output, HTTP settings), then one [`Request::Task`] per image (where its bytes are, its
//! stem). The worker sends back a [`Reply`]: the thumbnails' names or the error, the spans
//! it recorded (so they land on the parent's timeline, labelled `pid N`) and its peak
//! memory. This is what Python does with pickle; here serde does it, visibly.
//!
//! **Frames.** A pipe is a stream of bytes with no message boundaries, so each message
//! is a *frame*: its length as 4 bytes (little-endian), then that many bytes of JSON. The
//! reader reads the length, then exactly that much: never half a message, never two.
//!
//! **Three ways to start a worker** ([`Start`]):
//! - `spawn`: run this same program again with a hidden flag ([`WORKER_FLAG`]), talking
//!   over its stdin and stdout. A fresh process: nothing inherited but the program.
//! - `fork`: copy this process with `fork()` before it has started any thread. Cheap (the
//!   memory is shared copy-on-write), but only safe while the process has one thread.
//! - `forkserver`: fork one small server first, while the program is single-threaded; it
//!   forks workers on request later, when the parent has threads and may not fork itself.
//!
//! **Workers die with the parent.** Each worker asks the kernel to kill it when its parent
//! dies (`PR_SET_PDEATHSIG`), and also exits when its input reaches end-of-file (which is
//! what the parent's death, or a normal shutdown, looks like from the other end of the
//! pipe). No orphans, even when the parent is killed with SIGKILL.
//!
//! **A worker that dies mid-task** (killed, or aborted) does not break the pool: its task
//! is retried once on a fresh worker, and reported as failed if that one dies too. The
//! rest of the batch completes. (Python's `ProcessPoolExecutor` marks the whole pool as
//! broken here.)

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::job::Image;
use crate::job::{ImageError, Job, JobSpec};
use crate::thread_pool::{Future, Promise, TaskError, promise};
use crate::trace::{self, Span};

/// The hidden first argument that makes a chapter binary a worker process.
pub const WORKER_FLAG: &str = "--process-pool-worker";

/// How worker processes are started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Start {
    /// Re-execute this program as a worker (Python's default on macOS and Windows).
    #[default]
    Spawn,
    /// Fork this process before it starts any thread (Python's old default on Linux).
    Fork,
    /// Fork a server early; it forks the workers on request (Python's default on Linux
    /// since 3.14).
    Forkserver,
}

// ANCHOR: messages
/// What the parent sends to a worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// The first message: the job as data.
    Hello {
        /// Sizes, output, HTTP settings: everything needed to process an image.
        spec: JobSpec,
        /// Abort (as if the worker crashed) on the image with this stem: for lessons.
        crash_on: Option<String>,
    },
    /// Process one image: download, thumbnail, store.
    Task(Image),
}

/// What a worker sends back for one task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reply {
    /// The thumbnails' names, or why there are none.
    pub result: Result<Vec<String>, ImageError>,
    /// The spans the worker recorded for this task, labelled `pid N`.
    pub spans: Vec<Span>,
    /// The worker's peak resident memory so far, in MiB.
    pub peak_rss_mb: f64,
}
// ANCHOR_END: messages

/// Frames larger than this are refused (a garbled length must not allocate gigabytes).
const MAX_FRAME: usize = 256 << 20;

// ANCHOR: frames
/// Writes `message` as one frame: 4 bytes of length, then the JSON.
pub fn write_frame(output: &mut impl Write, message: &impl Serialize) -> io::Result<()> {
    let body = serde_json::to_vec(message).map_err(io::Error::other)?;
    let length = u32::try_from(body.len()).map_err(io::Error::other)?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&length.to_le_bytes());
    frame.extend_from_slice(&body);
    output.write_all(&frame)?;
    output.flush()
}

/// Reads one frame; `None` when the other side closed the stream between frames.
pub fn read_frame<T: DeserializeOwned>(input: &mut impl Read) -> io::Result<Option<T>> {
    let mut length = [0u8; 4];
    match input.read_exact(&mut length) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let length = u32::from_le_bytes(length) as usize;
    if length > MAX_FRAME {
        return Err(io::Error::other(format!("a frame of {length} bytes")));
    }
    let mut body = vec![0u8; length];
    input.read_exact(&mut body)?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(io::Error::other)
}
// ANCHOR_END: frames

// ---------------------------------------------------------------------------------------
// The worker's side.

/// If this process was started as a worker (`spawn`), serves tasks on stdin/stdout and
/// returns its exit code; otherwise `None`. Call it first thing in `main`.
pub fn run_as_worker_if_asked() -> Option<ExitCode> {
    if std::env::args().nth(1).as_deref() != Some(WORKER_FLAG) {
        return None;
    }
    Some(match serve(io::stdin().lock(), io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("worker process {}: {error}", std::process::id());
            ExitCode::FAILURE
        }
    })
}

// ANCHOR: serve
/// A worker's whole life: read the job, then one task after another until the input
/// ends, answering each with its result, spans and memory.
pub fn serve(mut input: impl Read, mut output: impl Write) -> io::Result<()> {
    die_with_parent();
    trace::set_worker_label(format!("pid {}", std::process::id()));
    let Some(Request::Hello { spec, crash_on }) = read_frame(&mut input)? else {
        return Err(io::Error::other("the first message must be Hello"));
    };
    let job = Job::new(spec, Vec::new(), indicatif::ProgressBar::hidden());
    let mut spans_sent = 0;
    while let Some(request) = read_frame::<Request>(&mut input)? {
        let Request::Task(image) = request else {
            return Err(io::Error::other("a second Hello"));
        };
        if crash_on.as_deref() == Some(image.stem.as_str()) {
            std::process::abort(); // the lesson's crash: no reply, no clean-up
        }
        let outcome = job.process(&image);
        let spans = job.tracer().spans();
        let reply = Reply {
            result: outcome.result,
            spans: spans[spans_sent..].to_vec(),
            peak_rss_mb: crate::cli::peak_rss_mb(),
        };
        spans_sent = spans.len();
        write_frame(&mut output, &reply)?;
    }
    Ok(()) // end of input: the parent is done with us (or gone)
}
// ANCHOR_END: serve

/// Asks the kernel to kill this process when its parent dies, so that a killed parent
/// leaves no worker behind. (A worker also exits when its input ends; this covers a
/// worker busy with a long task at that moment.)
fn die_with_parent() {
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
}

// ---------------------------------------------------------------------------------------
// The parent's side: one worker process and how it was started.

/// A worker process, seen from the parent.
struct Worker {
    /// Its process id, for labels and messages.
    pid: u32,
    /// Requests go here (its stdin, or our end of a socket).
    to_worker: Box<dyn Write + Send>,
    /// Replies come from here (its stdout, or our end of the socket).
    from_worker: Box<dyn Read + Send>,
    /// How to wait for it once it exits.
    reap: Reap,
}

/// Who waits for a worker's exit (a process that exits stays a zombie until its
/// parent waits for it).
enum Reap {
    /// We spawned it: `Child::wait`.
    Spawned(Child),
    /// We forked it: `waitpid`.
    Forked(nix::unistd::Pid),
    /// The fork server is its parent and waits for it.
    ByForkserver,
}

impl Worker {
    /// Sends one task and waits for its reply. An error means the worker is gone (or
    /// garbled): the caller discards it.
    fn run(&mut self, request: &Request) -> io::Result<Reply> {
        write_frame(&mut self.to_worker, request)?;
        read_frame(&mut self.from_worker)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "no reply"))
    }

    /// Normal end: closing its input tells it to exit; then wait for it.
    fn stop(self) {
        let Worker {
            to_worker,
            from_worker,
            reap,
            ..
        } = self;
        // Both halves: with a socket, the worker sees end-of-file only once every handle
        // on our end is closed.
        drop((to_worker, from_worker));
        let _ = wait(reap);
    }

    /// Abnormal end: make sure it is dead, wait for it, and say how it ended.
    fn discard(self) -> String {
        let Worker { pid, reap, .. } = self;
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        format!("worker process {pid} {}", wait(reap))
    }
}

/// Waits for a worker's exit; how it ended, in words.
fn wait(reap: Reap) -> String {
    use nix::sys::wait::{WaitStatus, waitpid};
    use std::os::unix::process::ExitStatusExt;
    match reap {
        Reap::Spawned(mut child) => match child.wait() {
            Ok(status) => match status.signal() {
                Some(signal) => died_of(signal),
                None => format!("exited with {status}"),
            },
            Err(error) => format!("cannot be waited for: {error}"),
        },
        Reap::Forked(pid) => match waitpid(pid, None) {
            Ok(WaitStatus::Signaled(_, signal, _)) => died_of(signal as i32),
            Ok(WaitStatus::Exited(_, code)) => format!("exited with code {code}"),
            Ok(other) => format!("ended: {other:?}"),
            Err(error) => format!("cannot be waited for: {error}"),
        },
        Reap::ByForkserver => "ended (its parent, the fork server, saw how)".to_string(),
    }
}

/// "was killed by SIGKILL".
fn died_of(signal: i32) -> String {
    match nix::sys::signal::Signal::try_from(signal) {
        Ok(signal) => format!("was killed by {signal}"),
        Err(_) => format!("was killed by signal {signal}"),
    }
}

/// Makes worker processes, the way the run asked for.
pub struct Starter {
    /// How new workers are made.
    method: Start,
    /// The program re-executed by `spawn` (and to replace a crashed worker under `fork`).
    program: PathBuf,
    /// `fork`: workers forked at start-up, waiting for a pool to take them.
    forked: Vec<Worker>,
    /// `forkserver`: the server that forks workers for us.
    forkserver: Option<forking::Forkserver>,
}

impl Starter {
    /// Prepares to start workers with `method`. Under `fork` it forks `workers` workers
    /// now, and under `forkserver` it forks the server now: call it before the program
    /// starts any thread (it refuses otherwise).
    pub fn new(method: Start, workers: usize) -> io::Result<Starter> {
        let mut starter = Starter::spawning(std::env::current_exe()?);
        starter.method = method;
        match method {
            Start::Spawn => {}
            Start::Fork => {
                for _ in 0..workers.max(1) {
                    let worker = forking::fork_worker(&mut starter.forked)?;
                    starter.forked.push(worker);
                }
            }
            Start::Forkserver => starter.forkserver = Some(forking::Forkserver::start()?),
        }
        Ok(starter)
    }

    /// Starts workers by running `program` with [`WORKER_FLAG`] (benches and tests name
    /// a chapter binary here, since they are not one).
    pub fn spawning(program: PathBuf) -> Starter {
        Starter {
            method: Start::Spawn,
            program,
            forked: Vec::new(),
            forkserver: None,
        }
    }

    /// How this starter makes workers.
    pub fn method(&self) -> Start {
        self.method
    }

    /// A new worker, not yet greeted. Under `fork`, a pre-forked one while they last;
    /// after that (a crashed worker's replacement, when the parent has threads and must
    /// not fork) a spawned one.
    fn start(&mut self) -> io::Result<Worker> {
        if let Some(worker) = self.forked.pop() {
            return Ok(worker);
        }
        match &mut self.forkserver {
            Some(server) => server.fork_worker(),
            None => self.spawn(),
        }
    }

    /// `spawn`: this program again, as a worker, with pipes for stdin and stdout.
    fn spawn(&self) -> io::Result<Worker> {
        let mut child = Command::new(&self.program)
            .arg(WORKER_FLAG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(io::Error::other("the worker has no pipes"));
        };
        Ok(Worker {
            pid: child.id(),
            to_worker: Box::new(stdin),
            from_worker: Box::new(stdout),
            reap: Reap::Spawned(child),
        })
    }
}

impl Drop for Starter {
    fn drop(&mut self) {
        for worker in self.forked.drain(..) {
            worker.stop();
        }
    }
}

/// A worker connected over a Unix socket (forked, or made by the fork server).
fn socket_worker(pid: u32, stream: UnixStream, reap: Reap) -> io::Result<Worker> {
    Ok(Worker {
        pid,
        to_worker: Box::new(stream.try_clone()?),
        from_worker: Box::new(stream),
        reap,
    })
}

/// What the worker's side of a socket serves (the worker half of `fork`/`forkserver`).
fn serve_socket(stream: UnixStream) -> i32 {
    let result = stream.try_clone().and_then(|input| serve(input, stream));
    match result {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

// ---------------------------------------------------------------------------------------
// The pool.

/// The result of one image's task: its thumbnails' names or its error.
pub type TaskResult = Result<Vec<String>, ImageError>;

/// One queued task: the image, and the promise to fill in with its result.
type Queued = (Image, Promise<TaskResult>);

/// A pool of worker processes (Python's `ProcessPoolExecutor`), with the same
/// `submit` / `map` / future interface as the thread pool.
pub struct ProcessPool {
    /// Where `submit` queues tasks; `None` after shutdown.
    tasks: Option<Sender<Queued>>,
    /// One thread per worker process, feeding it and reading its replies.
    feeders: Vec<JoinHandle<()>>,
}

/// What every feeder thread shares.
struct Shared {
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
        let shared = Arc::new(Shared {
            job: job.clone(),
            hello: Request::Hello {
                spec: job.spec().clone(),
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
    pub fn submit(&self, image: Image) -> Future<TaskResult> {
        let (promise, future) = promise();
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

impl Shared {
    /// A new worker that has been sent the job.
    fn start_worker(&self) -> io::Result<Worker> {
        let mut worker = self
            .starter
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .start()?;
        write_frame(&mut worker.to_worker, &self.hello)?;
        Ok(worker)
    }
}

// ANCHOR: feed
/// A feeder thread: hands its worker process one task at a time, and replaces the worker
/// if it dies. A task whose worker died is retried once on the replacement.
fn feed(worker: Worker, tasks: &Receiver<Queued>, shared: &Shared) {
    let mut worker = Some(worker);
    for (image, promise) in tasks {
        if !promise.start() {
            continue; // cancelled while queued
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

// ---------------------------------------------------------------------------------------
// Forking: the only place in the workbench with `unsafe` code.

#[allow(unsafe_code)]
mod forking {
    use std::io::{self, Read, Write};
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
    use std::time::{Duration, Instant};

    use nix::sys::wait::{WaitPidFlag, waitpid};
    use nix::unistd::{ForkResult, Pid, fork};

    use super::{Reap, Worker, serve_socket, socket_worker};

    /// Ends a forked child at once with `code`. `_exit`, not `exit`: the child must not run
    /// the parent's exit handlers, nor flush copies of the parent's output buffers a
    /// second time.
    fn exit_child(code: i32) -> ! {
        // SAFETY: `_exit` takes no pointers and cannot fail; it ends the process on the
        // spot, which is exactly what we want (nothing of the child is left to clean up).
        unsafe { libc::_exit(code) }
    }

    /// `fork()` copies only the thread that calls it. If another thread held a lock at that
    /// moment (the allocator's, stdout's, a channel's), the child's copy of that lock stays
    /// locked forever, and the child deadlocks the first time it allocates or prints. So
    /// we fork only while this process has exactly one thread, and check it.
    fn ensure_single_threaded() -> io::Result<()> {
        let status = std::fs::read_to_string("/proc/self/status")?;
        let threads = status
            .lines()
            .find_map(|line| line.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if threads == 1 {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "refusing to fork: this process has {threads} threads, and a forked child \
                 of a multithreaded process may deadlock (use --start spawn or forkserver)"
            )))
        }
    }

    // ANCHOR: fork
    /// Forks one worker that serves over a socket. `earlier` are the workers forked
    /// before it: the child closes its copies of their sockets, so that each worker
    /// sees end-of-file as soon as the parent closes (or loses) its end.
    pub(super) fn fork_worker(earlier: &mut Vec<Worker>) -> io::Result<Worker> {
        ensure_single_threaded()?;
        let (parent_end, child_end) = UnixStream::pair()?;
        // SAFETY: fork() is unsafe because the child gets a copy of the whole memory but
        // only of the calling thread. We just checked that this process has a single
        // thread, so no lock can be held by a thread that does not exist in the child:
        // the child may allocate, print and run any Rust code, like a normal program.
        match unsafe { fork() }.map_err(io::Error::from)? {
            ForkResult::Child => {
                drop(parent_end);
                earlier.clear(); // closes our copies of the other workers' sockets
                exit_child(serve_socket(child_end))
            }
            ForkResult::Parent { child } => {
                drop(child_end);
                socket_worker(child.as_raw() as u32, parent_end, Reap::Forked(child))
            }
        }
    }
    // ANCHOR_END: fork

    /// A fork server: a small process forked while the program was single-threaded. It
    /// stays single-threaded, so it may fork at any time, even once the parent has many
    /// threads and must not fork itself.
    pub(super) struct Forkserver {
        /// Requests go here (one byte: "fork a worker"); the worker's pid comes back.
        control: UnixStream,
        /// New workers connect here (an abstract Unix socket: a name, no file).
        listener: UnixListener,
        /// The server's pid, to wait for it.
        pid: Pid,
    }

    impl Forkserver {
        // ANCHOR: forkserver
        /// Forks the server. Call it before the program starts any thread.
        pub(super) fn start() -> io::Result<Forkserver> {
            ensure_single_threaded()?;
            let address = SocketAddr::from_abstract_name(format!(
                "thumbnail-workbench-forkserver-{}-{}",
                std::process::id(),
                crate::trace::now_us()
            ))?;
            let (parent_end, server_end) = UnixStream::pair()?;
            // SAFETY: as in `fork_worker`, this process has a single thread (checked just
            // above), so the child is a complete copy and may run any code.
            match unsafe { fork() }.map_err(io::Error::from)? {
                ForkResult::Child => {
                    drop(parent_end);
                    exit_child(serve_forks(server_end, &address))
                }
                ForkResult::Parent { child } => {
                    drop(server_end);
                    let listener = UnixListener::bind_addr(&address)?;
                    listener.set_nonblocking(true)?;
                    Ok(Forkserver {
                        control: parent_end,
                        listener,
                        pid: child,
                    })
                }
            }
        }

        /// Asks the server for a worker, then takes the worker's connection.
        pub(super) fn fork_worker(&mut self) -> io::Result<Worker> {
            self.control.write_all(&[1])?;
            let mut pid = [0u8; 4];
            self.control.read_exact(&mut pid)?;
            let pid = u32::from_le_bytes(pid);
            if pid == 0 {
                return Err(io::Error::other("the fork server could not fork"));
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match self.listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false)?;
                        return socket_worker(pid, stream, Reap::ByForkserver);
                    }
                    Err(e)
                        if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline =>
                    {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        // ANCHOR_END: forkserver
    }

    impl Drop for Forkserver {
        fn drop(&mut self) {
            // Closing the control socket ends the server's loop; then wait for it.
            let _ = self.control.shutdown(std::net::Shutdown::Both);
            let _ = waitpid(self.pid, None);
        }
    }

    /// The fork server's loop, in its own single-threaded process: one byte in, one
    /// worker forked, its pid out; until the parent closes the socket (or dies).
    fn serve_forks(mut control: UnixStream, address: &SocketAddr) -> i32 {
        super::die_with_parent();
        let mut request = [0u8; 1];
        while control.read_exact(&mut request).is_ok() {
            // Wait for workers that have exited, so they do not linger as zombies.
            while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                if status.pid().is_none() {
                    break;
                }
            }
            // SAFETY: the server never starts a thread, so it is still single-threaded
            // and its child may run any code.
            let pid = match unsafe { fork() } {
                Ok(ForkResult::Child) => {
                    drop(control);
                    let code = match UnixStream::connect_addr(address) {
                        Ok(stream) => serve_socket(stream),
                        Err(_) => 1,
                    };
                    exit_child(code)
                }
                Ok(ForkResult::Parent { child }) => child.as_raw() as u32,
                Err(_) => 0,
            };
            if control.write_all(&pid.to_le_bytes()).is_err() {
                break;
            }
        }
        0
    }
}
