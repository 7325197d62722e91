//! The embedded object store: a small HTTP/1.1 server, on loopback, that behaves like S3.
//!
//! Chapters that download their images need a server to download from, and the
//! lessons need that server to behave like a real object store: every request pays a
//! round trip (`latency`, 50 ms by default), bodies arrive at a finite speed
//! (`bandwidth`), some objects fail for good (`fail_rate`), some requests fail in
//! passing (`flaky_rate`: a 503, or a connection closed unanswered, that a retry gets
//! through), and the store accepts only so many connections at once (`max_conns`). On one machine, over 127.0.0.1, the numbers are
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
//! This file holds what a caller sees: [`RunningStore`] and [`serve_until_ctrl_c`]
//! to start and stop the store, and [`StoreConfig`] and [`ServerError`] from
//! `config`. The rest is a stack: each file uses only the files listed after it,
//! so that each can be read, and changed, without the ones above it.
//!
//! - `accept`: the port bound, the runtime, the accept loop, the connection cap
//!   and the stall.
//! - `answer`: the latency, then a request routed by method and path.
//! - `download`: `GET` and `HEAD` of an object.
//! - `listing`: `GET` and `HEAD` of a folder, as JSON.
//! - `upload`: `PUT`.
//! - `pacing`: bodies streamed from a file, paced to a bandwidth or not, the seeded
//!   choice of failures, and the passing failures of `flaky_rate`.
//! - `target`: the request path, decoded and checked to stay inside the root.
//! - `response`: what every handler answers with: bodies, refusals, headers.
//! - `state`: the settings checked, as every connection shares them.
//! - `tls`: HTTPS, the certificate and key loaded once; a self-signed pair.
//! - `config`: [`StoreConfig`] and [`ServerError`].

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

use tokio::sync::oneshot;

use accept::{build_runtime, into_tokio, open, serve};
use state::{Logging, Store};

pub use config::{ServerError, StoreConfig, TlsFiles};
pub use tls::write_self_signed;

mod accept;
mod answer;
mod config;
mod download;
mod listing;
mod pacing;
mod response;
mod state;
mod target;
mod tls;
mod upload;

#[cfg(test)]
mod test_support;

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
        let url = format!("{}://{addr}/", store.scheme());
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
            url,
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

    /// The store's base URL, `http://127.0.0.1:PORT/` (`https://` with TLS); an object's
    /// URL is this plus its path.
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
        let scheme = store.scheme();
        writeln!(stdout, "serving {shown_root} at {scheme}://{addr}/")
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
