//! The embedded object store: a small HTTP/1.1 server, on loopback, that behaves like S3.
//!
//! Chapters that download their images need a server to download from, and the
//! lessons need that server to behave like a real object store: every request pays a
//! round trip (`latency`, 50 ms by default), bodies arrive at a finite speed
//! (`bandwidth`), some objects fail (`fail_rate`), and the store accepts only so many
//! connections at once (`max_conns`). On one machine, over 127.0.0.1, the numbers are
//! repeatable.
//!
//! Latency is the point. A download spends almost all of its time *waiting*, not
//! computing: 100 images fetched one after another take 100 × 50 ms = 5 s, whatever
//! the CPU; fetched 100 at a time they take about 50 ms. That gap is what threads,
//! async tasks and processes are for, and each chapter's timeline shows how much of
//! it that chapter's pattern closes.
//!
//! The store itself is a lesson too: one thread runs a tokio event loop that serves
//! every connection, because waiting is all it does (see `accept::build_runtime`).
//!
//! - `GET /a/b.jpg` returns the object, `HEAD` its headers, `PUT` stores it atomically.
//! - `GET /a/` lists a folder as JSON, in the shape of nginx's
//!   `autoindex_format json`, so one client reads both this store and nginx.
//! - Paths that would leave the root are refused with 403 and the reason in the body.
//!
//! This file holds what a caller sees: [`StoreConfig`], [`ServerError`], and
//! [`RunningStore`] and [`serve_until_ctrl_c`] to start and stop the store. The rest,
//! in the order a request meets it:
//!
//! - `accept`: the settings checked, the port bound, the runtime, the accept loop,
//!   the connection cap and the stall.
//! - `answer`: the latency, then a request routed by method and path; refusals.
//! - `target`: the request path, decoded and checked to stay inside the root.
//! - `download`: `GET` and `HEAD` of an object.
//! - `listing`: `GET` and `HEAD` of a folder, as JSON.
//! - `upload`: `PUT`.
//! - `pacing`: bodies paced to a bandwidth, and the seeded choice of failures.

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use tokio::sync::oneshot;

use accept::{Logging, Store, build_runtime, into_tokio, open, serve};

mod accept;
mod answer;
mod download;
mod listing;
mod pacing;
mod target;
mod upload;

#[cfg(test)]
mod test_support;

/// What the store serves and how it behaves.
///
/// Every knob models one property of a remote object store, so that a lesson can
/// turn it up and watch what its concurrency pattern does about it.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The folder served; `PUT` writes here.
    pub root: PathBuf,
    /// The port on 127.0.0.1; 0 lets the system pick a free one (see [`RunningStore::url`]).
    pub port: u16,
    /// The wait before the first byte of every response: the round trip to a remote
    /// store. Concurrent requests wait at the same time; sequential ones add up.
    pub latency: Duration,
    /// Bytes per second for each response body; `None` is as fast as loopback goes.
    pub bandwidth: Option<u64>,
    /// The share of object paths (0.0 to 1.0) that answer 503 Service Unavailable.
    /// Which paths fail depends only on `seed` and the path, so a run can be repeated.
    pub fail_rate: f64,
    /// Chooses which paths fail; see `fail_rate`.
    pub seed: u64,
    /// At most this many connections served at once; further ones wait in the
    /// system's queue of connections not yet accepted, as with a busy server.
    pub max_conns: Option<usize>,
    /// Accept connections and never answer: a server that hangs, to show that a
    /// client without a timeout hangs with it.
    pub stall: bool,
}

impl StoreConfig {
    /// A store serving `root` on a free port, with 50 ms latency and nothing else in the way.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        StoreConfig {
            root: root.into(),
            port: 0,
            latency: Duration::from_millis(50),
            bandwidth: None,
            fail_rate: 0.0,
            seed: 0,
            max_conns: None,
            stall: false,
        }
    }
}

/// Why the store could not start or keep running.
///
/// Problems with single requests are not errors of the store: they are answered
/// with a status code and a reason, and the store goes on.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The folder to serve cannot be opened.
    #[error("cannot serve {path}")]
    Root {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The folder to serve is a file.
    #[error("cannot serve {0}: it is not a folder")]
    RootNotFolder(PathBuf),
    /// `fail_rate` is not a share.
    #[error("fail_rate must be between 0.0 and 1.0, got {0}")]
    FailRate(f64),
    /// `bandwidth` is zero, which would never send a byte.
    #[error("bandwidth must be at least 1 byte per second")]
    ZeroBandwidth,
    /// `max_conns` is zero, which would never accept a connection.
    #[error("max_conns must be at least 1")]
    ZeroMaxConns,
    /// The port is taken, or not ours to take.
    #[error("cannot listen on 127.0.0.1:{port}")]
    Bind {
        port: u16,
        #[source]
        source: io::Error,
    },
    /// The tokio runtime or the store's thread could not be created.
    #[error("cannot start the store's {what}")]
    Start {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    /// Ctrl-C cannot be listened for, so `serve_until_ctrl_c` could never return.
    #[error("cannot listen for Ctrl-C")]
    Signal(#[source] io::Error),
    /// The `serving ...` line could not be written.
    #[error("cannot write to stdout")]
    Stdout(#[source] io::Error),
}

/// A store running on a background thread; dropping it shuts it down.
///
/// The thread owns a tokio runtime; the handle owns the sending half of a oneshot
/// channel. Sending on it (or dropping it) tells the accept loop to stop, the
/// same signal whether the store is shut down on purpose or dropped by a test
/// that failed halfway.
#[derive(Debug)]
pub struct RunningStore {
    /// Where the store listens, with the port the system picked.
    addr: SocketAddr,
    /// `addr` as a base URL, built once so that `url()` can lend it.
    url: String,
    /// Tells the accept loop to stop; `None` once sent.
    stop: Option<oneshot::Sender<()>>,
    /// The thread running the store; `None` once joined.
    thread: Option<thread::JoinHandle<()>>,
}

impl RunningStore {
    /// Starts a store on a background thread.
    ///
    /// The port is bound before this returns, so a client may connect at once; the
    /// errors a caller can act on (a missing root, a taken port, a bad setting) are
    /// reported here rather than lost on the background thread.
    pub fn start(config: StoreConfig) -> Result<RunningStore, ServerError> {
        let (listener, addr, store) = open(config, Logging::Quiet)?;
        let (stop, stopped) = oneshot::channel::<()>();
        // The thread says whether its runtime started, so that this error, too, is
        // the caller's to handle rather than lost on another thread.
        let (started, has_started) = std::sync::mpsc::channel();
        let thread = thread::Builder::new()
            .name("workbench-store".to_owned())
            .spawn(move || run_in_background(listener, store, stopped, started))
            .map_err(|source| ServerError::Start {
                what: "thread",
                source,
            })?;
        let running = RunningStore {
            addr,
            url: format!("http://{addr}/"),
            stop: Some(stop),
            thread: Some(thread),
        };
        // On an error, `running` is dropped, which joins the thread that has ended.
        match has_started.recv() {
            Ok(Ok(())) => Ok(running),
            Ok(Err(err)) => Err(err),
            Err(_disconnected) => Err(ServerError::Start {
                what: "thread",
                source: io::Error::other("it ended before it was ready"),
            }),
        }
    }

    /// The store's base URL, `http://127.0.0.1:PORT/`; an object's URL is this plus its path.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the store listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, ends every open connection (mid-response or idle) and waits
    /// for the store's thread to finish. When this returns, the port is closed.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    /// The work of [`shutdown`](Self::shutdown), shared with `Drop`.
    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            // An error means the thread has already ended; there is nothing to stop.
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // An error means the thread panicked; the panic is already on stderr,
            // and a shutdown (often inside `drop`) has no one to hand it to.
            let _ = thread.join();
        }
    }
}

impl Drop for RunningStore {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// The body of the store's thread: builds the runtime the thread owns and serves
/// until `stopped` resolves.
fn run_in_background(
    listener: std::net::TcpListener,
    store: Store,
    stopped: oneshot::Receiver<()>,
    started: std::sync::mpsc::Sender<Result<(), ServerError>>,
) {
    // A send fails only if `start` stopped waiting, and then no one is left to tell.
    let runtime = match build_runtime() {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = started.send(Err(err));
            return;
        }
    };
    runtime.block_on(async {
        let listener = match into_tokio(listener, store.port) {
            Ok(listener) => listener,
            Err(err) => {
                let _ = started.send(Err(err));
                return;
            }
        };
        let _ = started.send(Ok(()));
        // `stopped` resolves when the handle sends, or when it is dropped: either
        // way, it is time to stop.
        serve(listener, store, async {
            let _ = stopped.await;
        })
        .await;
    });
    // Reads and writes of files run on tokio's blocking pool, where they cannot be
    // cancelled; give any that are under way a moment to end.
    runtime.shutdown_timeout(Duration::from_secs(1));
}

/// For `workbench serve`: runs in the foreground, prints `serving DIR at URL` to
/// stdout (flushed, so a script reading the pipe sees it at once) and every refused
/// request with its reason to stderr, and returns on Ctrl-C.
///
/// It runs its own runtime on the calling thread, so call it from synchronous code
/// such as `main`, not from inside an async runtime.
pub fn serve_until_ctrl_c(config: StoreConfig) -> Result<(), ServerError> {
    let shown_root = config.root.display().to_string();
    let (listener, addr, store) = open(config, Logging::Refusals)?;
    let runtime = build_runtime()?;
    let served = runtime.block_on(async {
        let listener = into_tokio(listener, store.port)?;
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "serving {shown_root} at http://{addr}/")
            .and_then(|()| stdout.flush())
            .map_err(ServerError::Stdout)?;
        drop(stdout);

        let mut signal_error = None;
        serve(listener, store, async {
            if let Err(err) = tokio::signal::ctrl_c().await {
                signal_error = Some(err);
            }
        })
        .await;
        match signal_error {
            Some(err) => Err(ServerError::Signal(err)),
            None => Ok(()),
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    served
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::net::TcpStream;

    use super::test_support::{Scratch, get, quick, start};
    use super::*;

    #[test]
    fn shutdown_ends_open_connections_and_closes_the_port() {
        let scratch = Scratch::new("shutdown");
        scratch.write("a.jpg", &[0; 100_000]);
        let store = start(StoreConfig {
            bandwidth: Some(1_000),
            ..quick(&scratch.0)
        });
        let addr = store.addr();

        // A download that would take 100 s is under way when the store shuts down.
        let mut downloading = TcpStream::connect(addr).expect("connect");
        write!(downloading, "GET /a.jpg HTTP/1.1\r\nHost: store\r\n\r\n").expect("send");
        let mut reader = BufReader::new(&downloading);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).expect("read status");
        assert!(status_line.starts_with("HTTP/1.1 200"));

        let started = std::time::Instant::now();
        store.shutdown();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(TcpStream::connect(addr).is_err(), "the port still accepts");
        downloading
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set timeout");
        let mut rest = Vec::new();
        let _ = reader.read_to_end(&mut rest);
        assert!(rest.len() < 100_000, "the download was not cut off");
    }

    #[test]
    fn dropping_the_store_shuts_it_down() {
        let scratch = Scratch::new("drop");
        let addr = start(quick(&scratch.0)).addr();
        assert!(TcpStream::connect(addr).is_err());
    }

    #[test]
    fn a_store_can_be_started_and_dropped_inside_async_code() {
        // An async chapter starts its store from inside its own runtime: the store's
        // runtime lives on the store's thread, so the two never nest.
        let scratch = Scratch::new("async");
        scratch.write("a.jpg", b"jpeg");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let store = start(quick(&scratch.0));
            assert_eq!(get(&store, "a.jpg").0, 200);
            assert!(RunningStore::start(quick(&scratch.0.join("missing"))).is_err());
            drop(store);
        });
    }
}
