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
//! every connection, because waiting is all it does (see `build_runtime`).
//!
//! - `GET /a/b.jpg` returns the object, `HEAD` its headers, `PUT` stores it atomically.
//! - `GET /a/` lists a folder as JSON, in the shape of nginx's
//!   `autoindex_format json`, so one client reads both this store and nginx.
//! - Paths that would leave the root are refused with 403 and the reason in the body.

use std::convert::Infallible;
use std::future::Future;
use std::io::{self, Write as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, SystemTime};

use crate::io::listing::ListingEntry;
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use percent_encoding::percent_decode_str;
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The largest body a `PUT` accepts: 256 MiB, far above any image, low enough that a
/// runaway client cannot fill the disk.
const MAX_UPLOAD_BYTES: u64 = 256 * 1024 * 1024;

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

/// The runtime that runs the store: one thread, `current_thread`.
///
/// The store waits; it hardly computes. Latency and bandwidth are timers, and file
/// reads and writes go to tokio's blocking pool, so a single thread can keep
/// hundreds of connections moving, the same way one Python asyncio loop does. One
/// thread also keeps the store out of the way of what is being measured: the
/// workbench's own threads share the machine's two cores with it.
fn build_runtime() -> Result<tokio::runtime::Runtime, ServerError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| ServerError::Start {
            what: "runtime",
            source,
        })
}

/// Whether refused requests are printed: yes in the foreground, where a person is
/// watching, no on a background thread, where they would mix into a chapter's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Logging {
    Quiet,
    Refusals,
}

/// What every connection needs to answer requests: the checked configuration.
#[derive(Debug)]
struct Store {
    /// The served folder, canonical, so that a resolved path can be checked to be inside it.
    root: PathBuf,
    // The rest are `StoreConfig`'s fields, checked by `open`.
    port: u16,
    latency: Duration,
    bandwidth: Option<u64>,
    fail_rate: f64,
    seed: u64,
    max_conns: Option<usize>,
    stall: bool,
    logging: Logging,
}

/// Checks the configuration and binds the port.
///
/// Bound with std, synchronously, so that the port is ours (and a client may
/// connect) before [`RunningStore::start`] returns, even though the runtime that
/// will accept the connections is still starting on its own thread.
fn open(
    config: StoreConfig,
    logging: Logging,
) -> Result<(std::net::TcpListener, SocketAddr, Store), ServerError> {
    if !(0.0..=1.0).contains(&config.fail_rate) {
        return Err(ServerError::FailRate(config.fail_rate));
    }
    if config.bandwidth == Some(0) {
        return Err(ServerError::ZeroBandwidth);
    }
    if config.max_conns == Some(0) {
        return Err(ServerError::ZeroMaxConns);
    }
    let root = config
        .root
        .canonicalize()
        .map_err(|source| ServerError::Root {
            path: config.root.clone(),
            source,
        })?;
    if !root.is_dir() {
        return Err(ServerError::RootNotFolder(config.root));
    }

    let bind_error = |source| ServerError::Bind {
        port: config.port,
        source,
    };
    let listener =
        std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;

    let store = Store {
        root,
        port: config.port,
        latency: config.latency,
        bandwidth: config.bandwidth,
        fail_rate: config.fail_rate,
        seed: config.seed,
        max_conns: config.max_conns,
        stall: config.stall,
        logging,
    };
    Ok((listener, addr, store))
}

/// Hands a bound std listener to tokio; must run inside the runtime that will use it.
fn into_tokio(listener: std::net::TcpListener, port: u16) -> Result<TcpListener, ServerError> {
    let bind_error = |source| ServerError::Bind { port, source };
    // tokio waits for connections without blocking: the socket must not block either.
    listener.set_nonblocking(true).map_err(bind_error)?;
    TcpListener::from_std(listener).map_err(bind_error)
}

// ANCHOR: accept_loop
/// The accept loop: one task per connection, until `shutdown` completes.
async fn serve(listener: TcpListener, store: Store, shutdown: impl Future<Output = ()>) {
    // With `max_conns`, a connection is accepted only once it holds a permit, and
    // keeps it until it closes; the others wait, unaccepted, in the system's queue.
    let slots = store.max_conns.map(|n| Arc::new(Semaphore::new(n)));
    let store = Arc::new(store);
    // The set owns every connection task, so that shutting down can end them all.
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            // Collect finished connections, or the set would grow without end.
            Some(_finished) = connections.join_next() => {}
            accepted = next_connection(&listener, slots.as_ref()) => match accepted {
                Ok((stream, slot)) => {
                    connections.spawn(serve_connection(stream, Arc::clone(&store), slot));
                }
                Err(err) => {
                    // Typically "too many open files": pause rather than spin, and
                    // let closing connections free their descriptors.
                    eprintln!("store: cannot accept a connection: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    // Abort every connection task and wait until each is gone: their sockets close,
    // idle, mid-response or stalled alike.
    connections.shutdown().await;
}
// ANCHOR_END: accept_loop

/// Waits for a free slot (if connections are limited), then for a connection.
async fn next_connection(
    listener: &TcpListener,
    slots: Option<&Arc<Semaphore>>,
) -> io::Result<(TcpStream, Option<OwnedSemaphorePermit>)> {
    let slot = match slots {
        Some(slots) => Some(
            Arc::clone(slots)
                .acquire_owned()
                .await
                // Only a closed semaphore fails, and this one is never closed.
                .map_err(io::Error::other)?,
        ),
        None => None,
    };
    let (stream, _peer) = listener.accept().await?;
    Ok((stream, slot))
}

/// Serves one connection until the client closes it (hyper keeps it alive between
/// requests). `_slot` is held, unused, until this returns: that is what frees it.
async fn serve_connection(
    stream: TcpStream,
    store: Arc<Store>,
    _slot: Option<OwnedSemaphorePermit>,
) {
    if store.stall {
        // Hold the socket open, read nothing, answer nothing: only shutdown, which
        // aborts this task, closes it.
        let _held_open = stream;
        std::future::pending::<()>().await;
        return;
    }
    let logging = store.logging;
    let service = service_fn(move |request| answer(Arc::clone(&store), request));
    let connection = http1::Builder::new()
        // The timer lets hyper close a connection that sends no request for 30 s,
        // which also frees its `max_conns` slot.
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(TokioIo::new(stream), service);
    if let Err(err) = connection.await
        && logging == Logging::Refusals
    {
        eprintln!("store: connection ended: {err}");
    }
}

/// The response body: the whole object, nothing, or the object paced to a bandwidth.
type Body = UnsyncBoxBody<Bytes, Infallible>;

/// A request the store will not serve as asked: the status, and why, in words.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    reason: String,
}

impl Refusal {
    fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Refusal {
            status,
            reason: reason.into(),
        }
    }

    fn not_found(path: &str) -> Self {
        Refusal::new(StatusCode::NOT_FOUND, format!("no such object: '{path}'"))
    }

    /// An IO error while reading `path`, as a status a client can act on.
    fn from_io(path: &str, err: &io::Error) -> Self {
        match err.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => Refusal::not_found(path),
            io::ErrorKind::PermissionDenied => {
                Refusal::new(StatusCode::FORBIDDEN, format!("refused: '{path}': {err}"))
            }
            _ => Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot read '{path}': {err}"),
            ),
        }
    }

    fn into_response(self) -> Response<Body> {
        let mut response = text(self.status, format!("{}\n", self.reason));
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, PUT"));
        }
        response
    }
}

// ANCHOR: answer
/// Answers one request. Every response, refusals included, starts after `latency`.
async fn answer(
    store: Arc<Store>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    // The whole trick of the store: an asynchronous wait. Concurrent requests wait
    // side by side on one thread, so N of them take about one latency, not N.
    tokio::time::sleep(store.latency).await;

    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut response = match route(&store, request).await {
        Ok(response) => response,
        Err(refusal) => {
            if store.logging == Logging::Refusals {
                eprintln!("{method} {path} -> {}: {}", refusal.status, refusal.reason);
            }
            refusal.into_response()
        }
    };
    response
        .headers_mut()
        .insert(header::SERVER, HeaderValue::from_static("workbench-store"));
    Ok(response)
}
// ANCHOR_END: answer

/// Sends a request to the code for its method and kind of path.
async fn route(store: &Store, request: Request<Incoming>) -> Result<Response<Body>, Refusal> {
    let method = request.method().clone();
    if method != Method::GET && method != Method::HEAD && method != Method::PUT {
        return Err(Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("refused: method {method} is not supported; use GET, HEAD or PUT"),
        ));
    }
    let target = Target::parse(request.uri().path())?;
    let with_body = method != Method::HEAD;
    if method == Method::PUT {
        put_object(store, &target, request.into_body()).await
    } else if target.folder {
        list_folder(store, &target, with_body).await
    } else {
        get_object(store, &target, with_body).await
    }
}

/// A request path, decoded and checked: the names below the root, in order.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// The path's components; empty for the root.
    parts: Vec<String>,
    /// The path ends with `/`: a folder, answered with a listing.
    folder: bool,
    /// The decoded path, as the client meant it, for messages.
    shown: String,
    /// The path as sent, still percent-encoded, for a redirect.
    sent: String,
}

impl Target {
    /// Percent-decodes `raw`, splits it on `/` and refuses every component that could
    /// leave the root or mean something other than a plain name.
    ///
    /// Decoding comes first, so that `%2e%2e` and `..%2f` are seen for what they are.
    fn parse(raw: &str) -> Result<Target, Refusal> {
        let decoded = percent_decode_str(raw).decode_utf8().map_err(|_| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("refused: path '{raw}' is not UTF-8 once percent-decoded"),
            )
        })?;
        let quoted = if decoded == raw {
            format!("'{decoded}'")
        } else {
            format!("'{decoded}' (sent as '{raw}')")
        };
        let refuse = |why: &str| {
            Refusal::new(
                StatusCode::FORBIDDEN,
                format!("refused: path {quoted} {why}"),
            )
        };

        let Some(rest) = decoded.strip_prefix('/') else {
            return Err(refuse("does not start with '/'"));
        };
        if rest.is_empty() {
            return Ok(Target {
                parts: Vec::new(),
                folder: true,
                shown: decoded.into_owned(),
                sent: raw.to_owned(),
            });
        }
        let (names, folder) = match rest.strip_suffix('/') {
            Some(names) => (names, true),
            None => (rest, false),
        };
        let mut parts = Vec::new();
        for part in names.split('/') {
            let why = match part {
                "" => Some("has an empty component"),
                ".." => Some("leaves the store's root"),
                "." => Some("has a '.' component"),
                _ if part.contains('\\') => Some("contains a backslash"),
                _ if part.contains('\0') => Some("contains a NUL byte"),
                _ => None,
            };
            if let Some(why) = why {
                return Err(refuse(why));
            }
            parts.push(part.to_owned());
        }
        Ok(Target {
            parts,
            folder,
            shown: decoded.into_owned(),
            sent: raw.to_owned(),
        })
    }

    /// Names starting with '.' are the store's own (uploads in progress): never served.
    fn is_hidden(&self) -> bool {
        self.parts.iter().any(|part| part.starts_with('.'))
    }

    /// The path below the root, `a/b.jpg`: what `fail_rate` hashes.
    fn key(&self) -> String {
        self.parts.join("/")
    }

    /// Where the target would be on disk; not yet checked for symbolic links.
    fn under(&self, root: &Path) -> PathBuf {
        let mut path = root.to_path_buf();
        path.extend(&self.parts);
        path
    }
}

/// Resolves symbolic links in `path` and refuses a result outside the root: the
/// checks in [`Target::parse`] stop `..`, this stops a link that points elsewhere.
async fn inside_root(store: &Store, target: &Target, path: &Path) -> Result<PathBuf, Refusal> {
    let real = tokio::fs::canonicalize(path)
        .await
        .map_err(|err| Refusal::from_io(&target.shown, &err))?;
    if real.starts_with(&store.root) {
        Ok(real)
    } else {
        Err(Refusal::new(
            StatusCode::FORBIDDEN,
            format!(
                "refused: path '{}' leaves the store's root through a symbolic link",
                target.shown
            ),
        ))
    }
}

/// `GET` or `HEAD` of an object.
async fn get_object(
    store: &Store,
    target: &Target,
    with_body: bool,
) -> Result<Response<Body>, Refusal> {
    if target.is_hidden() {
        return Err(Refusal::not_found(&target.shown));
    }
    // Failures are decided before the disk is touched: a real store's front end
    // fails without looking for the object.
    if injected_failure(store.seed, &target.key(), store.fail_rate) {
        return Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "injected failure for '{}' (fail_rate {}, seed {})",
                target.shown, store.fail_rate, store.seed
            ),
        ));
    }
    let path = inside_root(store, target, &target.under(&store.root)).await?;
    let metadata = tokio::fs::metadata(&path)
        .await
        .map_err(|err| Refusal::from_io(&target.shown, &err))?;
    if metadata.is_dir() {
        // As nginx does: a folder named without its slash is found at the slashed path.
        let mut response = text(StatusCode::MOVED_PERMANENTLY, String::new());
        if let Ok(location) = HeaderValue::from_str(&format!("{}/", target.sent)) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        return Ok(response);
    }

    let content_type = content_type(&path);
    if !with_body {
        return Ok(head_response(content_type, metadata.len()));
    }
    // Read whole: images are small, and a replaced file (see `put_object`) is read
    // either before or after the rename, never half of each.
    let data = Bytes::from(
        tokio::fs::read(&path)
            .await
            .map_err(|err| Refusal::from_io(&target.shown, &err))?,
    );
    let length = data.len() as u64;
    let body = match store.bandwidth {
        Some(bytes_per_second) => paced(data, bytes_per_second),
        None => Full::new(data).boxed_unsync(),
    };
    Ok(with_length(Response::new(body), content_type, length))
}

/// The Content-Type for an object, from its extension.
fn content_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

// ANCHOR: paced
/// Sends `data` in slices of about 50 ms each, none before the bandwidth allows.
///
/// Each slice waits until `start + bytes sent / bandwidth`, a deadline measured from
/// the start rather than a sleep per slice, so that rounding never adds up.
fn paced(data: Bytes, bytes_per_second: u64) -> Body {
    let slice = usize::try_from(bytes_per_second / 20)
        .unwrap_or(usize::MAX)
        .clamp(1, 64 * 1024);
    let start = Instant::now();
    let frames = futures_util::stream::unfold((data, 0_u64), move |(mut rest, sent)| async move {
        if rest.is_empty() {
            return None;
        }
        let frame = rest.split_to(slice.min(rest.len()));
        let sent = sent + frame.len() as u64;
        let due = Duration::from_secs_f64(sent as f64 / bytes_per_second as f64);
        tokio::time::sleep_until(start + due).await;
        Some((Ok(Frame::data(frame)), (rest, sent)))
    });
    StreamBody::new(frames).boxed_unsync()
}
// ANCHOR_END: paced

/// `GET` or `HEAD` of a folder: its listing as JSON.
async fn list_folder(
    store: &Store,
    target: &Target,
    with_body: bool,
) -> Result<Response<Body>, Refusal> {
    if target.is_hidden() {
        return Err(Refusal::not_found(&target.shown));
    }
    let folder = inside_root(store, target, &target.under(&store.root)).await?;
    // Reading a folder is a burst of small system calls: one trip to the blocking
    // pool for all of them, rather than one per entry.
    let listing = tokio::task::spawn_blocking(move || read_listing(&folder))
        .await
        .map_err(|err| {
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot list '{}': {err}", target.shown),
            )
        })?
        .map_err(|err| Refusal::from_io(&target.shown, &err))?;
    let json = serde_json::to_vec(&listing).map_err(|err| {
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot list '{}': {err}", target.shown),
        )
    })?;
    let length = json.len() as u64;
    if !with_body {
        return Ok(head_response("application/json", length));
    }
    let body = Full::new(Bytes::from(json)).boxed_unsync();
    Ok(with_length(Response::new(body), "application/json", length))
}

/// The visible files and folders in `folder`, sorted by name.
fn read_listing(folder: &Path) -> io::Result<Vec<ListingEntry>> {
    let mut listing = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue; // not UTF-8: no URL the parser accepts could name it
        };
        if name.starts_with('.') {
            continue;
        }
        // Follows symbolic links, as a GET would; a broken link is left out.
        let Ok(metadata) = std::fs::metadata(entry.path()) else {
            continue;
        };
        let (kind, size) = if metadata.is_dir() {
            ("directory", None)
        } else if metadata.is_file() {
            ("file", Some(metadata.len()))
        } else {
            continue;
        };
        let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        listing.push(ListingEntry {
            name,
            kind: kind.to_string(),
            mtime: httpdate::fmt_http_date(modified),
            size,
        });
    }
    listing.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(listing)
}

// ANCHOR: put
/// `PUT` of an object: written to a hidden file beside it, then renamed over it.
///
/// A rename within one folder is atomic, so a reader sees the old object or the
/// new one, whole, never a half-written file; and an upload that breaks off leaves
/// nothing behind (see [`Upload`]).
async fn put_object(
    store: &Store,
    target: &Target,
    mut body: Incoming,
) -> Result<Response<Body>, Refusal> {
    let Some((name, _)) = target.parts.split_last().filter(|_| !target.folder) else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!(
                "refused: PUT needs an object name, and '{}' is a folder",
                target.shown
            ),
        ));
    };
    if target.is_hidden() {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            format!(
                "refused: path '{}': names starting with '.' are kept for uploads in progress",
                target.shown
            ),
        ));
    }
    let too_large = || {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "refused: '{}' is larger than the store's limit of {MAX_UPLOAD_BYTES} bytes",
                target.shown
            ),
        )
    };
    if hyper::body::Body::size_hint(&body).lower() > MAX_UPLOAD_BYTES {
        return Err(too_large());
    }

    let folder = make_folders(store, target).await?;
    let destination = folder.join(name);

    let write_error = |err: io::Error| {
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot store '{}': {err}", target.shown),
        )
    };
    let mut upload = Upload::begin(&folder, name).await.map_err(write_error)?;
    let mut received = 0_u64;
    while let Some(frame) = body.frame().await {
        // The client closed the connection, or sent less than it announced.
        let frame = frame.map_err(|err| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("upload of '{}' broke off: {err}", target.shown),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            received += data.len() as u64;
            if received > MAX_UPLOAD_BYTES {
                return Err(too_large());
            }
            upload.write(&data).await.map_err(write_error)?;
        }
    }
    let replaced = tokio::fs::symlink_metadata(&destination).await.is_ok();
    upload.finish(&destination).await.map_err(|err| {
        Refusal::new(
            StatusCode::CONFLICT,
            format!("refused: cannot put '{}' in place: {err}", target.shown),
        )
    })?;
    let status = if replaced {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::CREATED
    };
    let mut response = Response::new(Empty::new().boxed_unsync());
    *response.status_mut() = status;
    Ok(response)
}
// ANCHOR_END: put

/// Creates the folders above an uploaded object, one at a time from the root.
///
/// Each is checked to be inside the root before the next is made in it, so that a
/// symbolic link cannot lead an upload, or the folders it creates, outside.
async fn make_folders(store: &Store, target: &Target) -> Result<PathBuf, Refusal> {
    let conflict = |why: String| {
        Refusal::new(
            StatusCode::CONFLICT,
            format!(
                "refused: cannot make the folder for '{}': {why}",
                target.shown
            ),
        )
    };
    let mut folder = store.root.clone();
    let above = target.parts.len().saturating_sub(1);
    for part in &target.parts[..above] {
        let next = folder.join(part);
        match tokio::fs::create_dir(&next).await {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(conflict(err.to_string())),
        }
        folder = inside_root(store, target, &next).await?;
        if !tokio::fs::metadata(&folder).await.is_ok_and(|m| m.is_dir()) {
            return Err(conflict(format!("'{part}' is a file, not a folder")));
        }
    }
    Ok(folder)
}

/// Tells uploads in progress apart, together with the process id.
static UPLOAD_COUNTER: AtomicU64 = AtomicU64::new(0);

/// An upload in progress: a hidden file beside its destination.
///
/// Dropping an `Upload` that was not [`finish`](Upload::finish)ed deletes the file.
/// That covers every way an upload can end early: an error returned with `?`, and
/// the task being dropped halfway because the client hung up or the store shut down.
struct Upload {
    file: tokio::fs::File,
    /// `.NAME.PID.COUNTER.part`, in the destination's folder, so the rename stays
    /// within one file system and is atomic.
    path: PathBuf,
    finished: bool,
}

impl Upload {
    async fn begin(folder: &Path, name: &str) -> io::Result<Upload> {
        let number = UPLOAD_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = folder.join(format!(".{name}.{}.{number}.part", std::process::id()));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        Ok(Upload {
            file,
            path,
            finished: false,
        })
    }

    async fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all(data).await
    }

    async fn finish(mut self, destination: &Path) -> io::Result<()> {
        // A tokio file writes on the blocking pool, and `write_all` may return
        // before the last write is done: flush, or the rename could publish a
        // file that is still short.
        self.file.flush().await?;
        tokio::fs::rename(&self.path, destination).await?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.finished {
            // Synchronous, because `drop` cannot wait; deleting one file is quick.
            // Failing to delete it is not worth more than the attempt.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether `fail_rate` picks the object `key` to fail, for this `seed`.
///
/// The choice must be the same in every run and every build, so it uses hashes
/// written out here: std's `DefaultHasher` may change between Rust releases. FNV-1a
/// folds the key into 64 bits, SplitMix64's finaliser mixes in the seed, and the
/// top 53 bits become a fraction in [0, 1): below `fail_rate`, the object fails.
fn injected_failure(seed: u64, key: &str, fail_rate: f64) -> bool {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let mut mixed = hash ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    mixed ^= mixed >> 31;
    let fraction = (mixed >> 11) as f64 / (1_u64 << 53) as f64;
    fraction < fail_rate
}

/// A short text response: refusals and redirects.
fn text(status: StatusCode, body: String) -> Response<Body> {
    let length = body.len() as u64;
    let mut response = with_length(
        Response::new(Full::new(Bytes::from(body)).boxed_unsync()),
        "text/plain; charset=utf-8",
        length,
    );
    *response.status_mut() = status;
    response
}

/// The headers of a `GET`, without its body: what `HEAD` answers.
fn head_response(content_type: &'static str, length: u64) -> Response<Body> {
    with_length(
        Response::new(Empty::new().boxed_unsync()),
        content_type,
        length,
    )
}

/// Sets Content-Type and Content-Length. The length is set by hand because a paced
/// body does not know it, and without it hyper would fall back to chunked encoding.
fn with_length(
    mut response: Response<Body>,
    content_type: &'static str,
    length: u64,
) -> Response<Body> {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read};
    use std::net::TcpStream;
    use std::sync::Barrier;

    /// A folder under the system's temp dir, removed when the test ends.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(test: &str) -> Scratch {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir()
                .join(format!("workbench-store-{test}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).expect("create scratch folder");
            Scratch(path)
        }

        fn write(&self, relative: &str, bytes: &[u8]) {
            let path = self.0.join(relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("create folder");
            }
            std::fs::write(path, bytes).expect("write file");
        }

        /// The hidden files in `folder` (relative to the scratch root): uploads in progress.
        fn hidden_in(&self, folder: &str) -> Vec<String> {
            std::fs::read_dir(self.0.join(folder))
                .expect("read folder")
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .filter(|name| name.starts_with('.'))
                .collect()
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A store without latency, so that the tests that are not about it run fast.
    fn quick(root: &Path) -> StoreConfig {
        StoreConfig {
            latency: Duration::ZERO,
            ..StoreConfig::new(root)
        }
    }

    fn start(config: StoreConfig) -> RunningStore {
        RunningStore::start(config).expect("start the store")
    }

    /// A ureq agent that hands back 4xx and 5xx responses instead of errors.
    fn agent() -> ureq::Agent {
        ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_global(Some(Duration::from_secs(10)))
                .build(),
        )
    }

    fn get(store: &RunningStore, path: &str) -> (u16, String, Vec<u8>) {
        let mut response = agent()
            .get(format!("{}{path}", store.url()))
            .call()
            .expect("GET");
        let content_type = header_of(response.headers(), "content-type");
        let body = response.body_mut().read_to_vec().expect("read body");
        (response.status().as_u16(), content_type, body)
    }

    fn header_of(headers: &ureq::http::HeaderMap, name: &str) -> String {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// A response read off a raw socket: just enough HTTP for the tests that send
    /// what a well-behaved client would not (`..` unnormalised, short uploads).
    #[derive(Debug)]
    struct RawResponse {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl RawResponse {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.as_str())
        }
    }

    /// Reads one response; `head` says it answers a HEAD, which has no body.
    fn read_response(reader: &mut impl BufRead, head: bool) -> io::Result<RawResponse> {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| io::Error::other(format!("bad status line {line:?}")))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let Some((key, value)) = line.trim_end().split_once(':') else {
                break;
            };
            headers.push((key.to_owned(), value.trim().to_owned()));
        }
        let mut response = RawResponse {
            status,
            headers,
            body: Vec::new(),
        };
        let length: usize = response
            .header("content-length")
            .and_then(|value| value.parse().ok())
            .unwrap_or(0);
        if !head {
            response.body.resize(length, 0);
            reader.read_exact(&mut response.body)?;
        }
        Ok(response)
    }

    /// Sends `method path` on a fresh connection, with `Connection: close`.
    fn raw(store: &RunningStore, method: &str, path: &str) -> RawResponse {
        let mut stream = TcpStream::connect(store.addr()).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set timeout");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: store\r\nConnection: close\r\n\r\n"
        )
        .expect("send request");
        read_response(&mut BufReader::new(stream), method == "HEAD").expect("read response")
    }

    fn is_timeout(err: &io::Error) -> bool {
        matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        )
    }

    #[test]
    fn get_returns_the_bytes_and_the_content_type() {
        let scratch = Scratch::new("get");
        scratch.write("a.jpg", b"jpeg bytes");
        scratch.write("sub/b.PNG", b"png bytes");
        scratch.write("c.bin", b"other bytes");
        let store = start(quick(&scratch.0));

        assert_eq!(
            get(&store, "a.jpg"),
            (200, "image/jpeg".to_owned(), b"jpeg bytes".to_vec())
        );
        assert_eq!(
            get(&store, "sub/b.PNG"),
            (200, "image/png".to_owned(), b"png bytes".to_vec())
        );
        assert_eq!(
            get(&store, "c.bin"),
            (
                200,
                "application/octet-stream".to_owned(),
                b"other bytes".to_vec()
            )
        );
        assert_eq!(
            raw(&store, "GET", "/a.jpg").header("server"),
            Some("workbench-store")
        );
    }

    #[test]
    fn head_has_the_length_and_no_body_and_the_connection_stays_open() {
        let scratch = Scratch::new("head");
        scratch.write("a.jpg", &[7; 1234]);
        let store = start(quick(&scratch.0));

        // HEAD then GET on one connection: if HEAD had sent a body, the GET's
        // response would be read from the middle of it.
        let stream = TcpStream::connect(store.addr()).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set timeout");
        let mut reader = BufReader::new(stream.try_clone().expect("clone socket"));
        let mut writer = stream;
        write!(writer, "HEAD /a.jpg HTTP/1.1\r\nHost: store\r\n\r\n").expect("send HEAD");
        let head = read_response(&mut reader, true).expect("read HEAD");
        write!(writer, "HEAD /missing.jpg HTTP/1.1\r\nHost: store\r\n\r\n").expect("send HEAD");
        let missing = read_response(&mut reader, true).expect("read HEAD");
        write!(writer, "GET /a.jpg HTTP/1.1\r\nHost: store\r\n\r\n").expect("send GET");
        let get = read_response(&mut reader, false).expect("read GET");

        assert_eq!(head.status, 200);
        assert_eq!(head.header("content-length"), Some("1234"));
        assert_eq!(head.header("content-type"), Some("image/jpeg"));
        assert_eq!(missing.status, 404);
        assert_eq!(get.status, 200);
        assert_eq!(get.body, vec![7; 1234]);
    }

    #[test]
    fn missing_and_hidden_objects_are_404() {
        let scratch = Scratch::new("missing");
        scratch.write(".hidden.jpg", b"secret");
        scratch.write("a.jpg", b"jpeg");
        let store = start(quick(&scratch.0));

        assert_eq!(get(&store, "nothing.jpg").0, 404);
        assert_eq!(get(&store, "no/such/folder/").0, 404);
        assert_eq!(get(&store, "a.jpg/b.jpg").0, 404);
        assert_eq!(get(&store, ".hidden.jpg").0, 404);
    }

    #[test]
    fn a_folder_is_listed_as_nginx_json_without_hidden_files() {
        let scratch = Scratch::new("listing");
        scratch.write("b.png", b"12345");
        scratch.write("a.jpg", b"123");
        scratch.write("sub/c.jpg", b"1");
        scratch.write(".upload.part", b"half");
        let store = start(quick(&scratch.0));

        let (status, content_type, body) = get(&store, "");
        assert_eq!((status, content_type.as_str()), (200, "application/json"));
        let listing: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        let entries = listing.as_array().expect("an array");
        let summary: Vec<(&str, &str, Option<u64>)> = entries
            .iter()
            .map(|entry| {
                (
                    entry["name"].as_str().unwrap_or_default(),
                    entry["type"].as_str().unwrap_or_default(),
                    entry["size"].as_u64(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("a.jpg", "file", Some(3)),
                ("b.png", "file", Some(5)),
                ("sub", "directory", None),
            ]
        );
        for entry in entries {
            let mtime = entry["mtime"].as_str().expect("an mtime");
            assert!(httpdate::parse_http_date(mtime).is_ok(), "{mtime}");
        }

        let (status, _, body) = get(&store, "sub/");
        assert_eq!(status, 200);
        let listing: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(listing[0]["name"], "c.jpg");
        // Named without its slash, a folder redirects to the listing, as in nginx.
        let redirect = raw(&store, "GET", "/sub");
        assert_eq!(
            (redirect.status, redirect.header("location")),
            (301, Some("/sub/"))
        );
    }

    #[test]
    fn every_request_waits_the_latency_and_concurrent_requests_wait_together() {
        let scratch = Scratch::new("latency");
        scratch.write("a.jpg", b"jpeg");
        let latency = Duration::from_millis(200);
        let store = start(StoreConfig {
            latency,
            ..StoreConfig::new(&scratch.0)
        });

        let started = std::time::Instant::now();
        assert_eq!(get(&store, "a.jpg").0, 200);
        assert!(started.elapsed() >= latency);

        // Eight requests at once: each waits the latency, but they wait together.
        let barrier = Barrier::new(8);
        let started = std::time::Instant::now();
        thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    barrier.wait();
                    assert_eq!(get(&store, "a.jpg").0, 200);
                });
            }
        });
        let elapsed = started.elapsed();
        assert!(elapsed >= latency);
        // One after another they would take 8 x 200 ms; half that is a wide margin.
        assert!(
            elapsed < latency * 4,
            "8 concurrent requests took {elapsed:?}"
        );
    }

    #[test]
    fn bandwidth_paces_the_body() {
        let scratch = Scratch::new("bandwidth");
        scratch.write("a.bin", &[1; 5000]);
        let store = start(StoreConfig {
            bandwidth: Some(10_000),
            ..quick(&scratch.0)
        });
        let started = std::time::Instant::now();
        let (status, _, body) = get(&store, "a.bin");
        // 5000 bytes at 10 000 bytes per second: the last slice is due at 500 ms.
        assert!(started.elapsed() >= Duration::from_millis(450));
        assert_eq!((status, body), (200, vec![1; 5000]));
    }

    #[test]
    fn put_writes_atomically_and_creates_folders() {
        let scratch = Scratch::new("put");
        let store = start(quick(&scratch.0));
        let url = format!("{}new/deep/x.jpg", store.url());

        let response = agent().put(&url).send(&b"first"[..]).expect("PUT");
        assert_eq!(response.status(), 201);
        assert_eq!(
            std::fs::read(scratch.0.join("new/deep/x.jpg")).expect("read"),
            b"first"
        );

        let response = agent().put(&url).send(&[9_u8; 100_000][..]).expect("PUT");
        assert_eq!(response.status(), 204);
        assert_eq!(
            std::fs::read(scratch.0.join("new/deep/x.jpg")).expect("read"),
            vec![9; 100_000]
        );
        assert_eq!(scratch.hidden_in("new/deep"), Vec::<String>::new());
        assert_eq!(get(&store, "new/deep/x.jpg").2, vec![9; 100_000]);

        // Nothing can be put where a folder is, nor under a hidden name.
        assert_eq!(
            agent()
                .put(format!("{}new", store.url()))
                .send(&b"x"[..])
                .expect("PUT")
                .status(),
            409
        );
        assert_eq!(
            agent()
                .put(format!("{}.x.jpg", store.url()))
                .send(&b"x"[..])
                .expect("PUT")
                .status(),
            403
        );
    }

    /// Polls `condition` for up to 10 s; the deadline only bounds a failing test.
    fn eventually(condition: impl Fn() -> bool) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if condition() {
                return true;
            }
            thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn an_upload_in_progress_is_invisible_and_a_broken_one_leaves_nothing() {
        let scratch = Scratch::new("broken-put");
        let store = start(quick(&scratch.0));

        // Announce 1000 bytes, send 10, and wait until they are on disk.
        let mut stream = TcpStream::connect(store.addr()).expect("connect");
        write!(
            stream,
            "PUT /y.jpg HTTP/1.1\r\nHost: store\r\nContent-Length: 1000\r\n\r\n0123456789"
        )
        .expect("send");
        assert!(
            eventually(|| scratch.hidden_in("").len() == 1),
            "no temp file appeared"
        );
        assert!(
            !scratch.0.join("y.jpg").exists(),
            "a partial upload is visible"
        );

        // Hang up: the temp file goes, and the object never appears.
        drop(stream);
        assert!(
            eventually(|| scratch.hidden_in("").is_empty()),
            "the temp file stayed"
        );
        assert!(!scratch.0.join("y.jpg").exists());
    }

    #[test]
    fn paths_that_leave_the_root_are_refused_with_the_reason() {
        let scratch = Scratch::new("traversal");
        scratch.write("root/a/b.jpg", b"inside");
        scratch.write("x", b"outside the root");
        let store = start(quick(&scratch.0.join("root")));

        for path in ["/../x", "/%2e%2e/x", "/a/..%2f..%2fx", "/a/../../x"] {
            let response = raw(&store, "GET", path);
            let body = String::from_utf8_lossy(&response.body);
            assert_eq!(response.status, 403, "{path}: {body}");
            assert!(body.starts_with("refused: path '"), "{path}: {body}");
            assert!(body.contains("leaves the store's root"), "{path}: {body}");
        }
        for (path, reason) in [
            ("/a//b.jpg", "empty component"),
            ("/a/./b.jpg", "'.' component"),
            ("/a%5cb.jpg", "backslash"),
            ("/a%00.jpg", "NUL"),
        ] {
            let response = raw(&store, "GET", path);
            let body = String::from_utf8_lossy(&response.body);
            assert_eq!(response.status, 403, "{path}: {body}");
            assert!(body.contains(reason), "{path}: {body}");
        }
        assert_eq!(raw(&store, "PUT", "/../y").status, 403);
        assert!(!scratch.0.join("y").exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_out_of_the_root_is_not_followed() {
        let scratch = Scratch::new("symlink");
        scratch.write("root/a.jpg", b"inside");
        scratch.write("outside/secret.jpg", b"outside");
        std::os::unix::fs::symlink(scratch.0.join("outside"), scratch.0.join("root/link"))
            .expect("make link");
        let store = start(quick(&scratch.0.join("root")));

        let response = raw(&store, "GET", "/link/secret.jpg");
        assert_eq!(response.status, 403);
        assert!(String::from_utf8_lossy(&response.body).contains("symbolic link"));
        assert_eq!(raw(&store, "PUT", "/link/new.jpg").status, 403);
        assert!(!scratch.0.join("outside/new.jpg").exists());
    }

    #[test]
    fn other_methods_are_405() {
        let scratch = Scratch::new("method");
        let store = start(quick(&scratch.0));
        let response = raw(&store, "DELETE", "/a.jpg");
        assert_eq!(response.status, 405);
        assert_eq!(response.header("allow"), Some("GET, HEAD, PUT"));
    }

    #[test]
    fn fail_rate_fails_a_repeatable_share_of_objects() {
        let scratch = Scratch::new("fail-rate");
        let names: Vec<String> = (0..40).map(|i| format!("img{i:02}.jpg")).collect();
        for name in &names {
            scratch.write(name, b"jpeg");
        }
        let with = |fail_rate, seed| {
            start(StoreConfig {
                fail_rate,
                seed,
                ..quick(&scratch.0)
            })
        };
        let failing = |store: &RunningStore| -> Vec<&String> {
            names
                .iter()
                .filter(|name| get(store, name).0 == 503)
                .collect()
        };

        let all = with(1.0, 0);
        assert_eq!(failing(&all).len(), names.len());
        assert_eq!(raw(&all, "HEAD", "/img00.jpg").status, 503);
        assert_eq!(get(&all, "").0, 200, "listings never fail");
        assert_eq!(failing(&with(0.0, 0)).len(), 0);

        let first = failing(&with(0.5, 7));
        let again = failing(&with(0.5, 7));
        assert_eq!(first, again);
        assert!(!first.is_empty() && first.len() < names.len(), "{first:?}");
    }

    #[test]
    fn injected_failures_are_spread_evenly() {
        let failed = (0..10_000)
            .filter(|i| injected_failure(42, &format!("photos/{i}.jpg"), 0.25))
            .count();
        assert!((2_250..2_750).contains(&failed), "{failed} of 10 000");
    }

    #[test]
    fn a_stalled_store_makes_a_client_time_out() {
        let scratch = Scratch::new("stall");
        scratch.write("a.jpg", b"jpeg");
        let store = start(StoreConfig {
            stall: true,
            ..quick(&scratch.0)
        });

        let mut stream = TcpStream::connect(store.addr()).expect("connect");
        write!(stream, "GET /a.jpg HTTP/1.1\r\nHost: store\r\n\r\n").expect("send");
        stream
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("set timeout");
        let mut byte = [0; 1];
        let err = stream
            .read(&mut byte)
            .expect_err("a stalled store answers nothing");
        assert!(is_timeout(&err), "{err}");

        // Shutting down closes the held connection.
        store.shutdown();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set timeout");
        assert!(!matches!(stream.read(&mut byte), Ok(1..)));
    }

    #[test]
    fn max_conns_keeps_a_second_connection_waiting() {
        let scratch = Scratch::new("max-conns");
        scratch.write("a.jpg", b"jpeg");
        let store = start(StoreConfig {
            max_conns: Some(1),
            ..quick(&scratch.0)
        });
        let request = "GET /a.jpg HTTP/1.1\r\nHost: store\r\n\r\n";

        // The first connection is served and kept open (keep-alive).
        let first = TcpStream::connect(store.addr()).expect("connect");
        (&first).write_all(request.as_bytes()).expect("send");
        let response = read_response(&mut BufReader::new(&first), false).expect("read");
        assert_eq!(response.status, 200);

        // The second connects (the system queues it) but is not answered.
        let second = TcpStream::connect(store.addr()).expect("connect");
        (&second).write_all(request.as_bytes()).expect("send");
        second
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("set timeout");
        let mut reader = BufReader::new(&second);
        let err = read_response(&mut reader, false).expect_err("the second must wait");
        assert!(is_timeout(&err), "{err}");

        // Once the first closes, the second is accepted and answered.
        drop(first);
        second
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set timeout");
        let response = read_response(&mut reader, false).expect("read");
        assert_eq!((response.status, response.body), (200, b"jpeg".to_vec()));
    }

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
    fn start_reports_bad_settings() {
        let scratch = Scratch::new("settings");
        let missing = RunningStore::start(quick(&scratch.0.join("missing")));
        assert!(matches!(missing, Err(ServerError::Root { .. })));
        let rate = RunningStore::start(StoreConfig {
            fail_rate: 1.5,
            ..quick(&scratch.0)
        });
        assert!(matches!(rate, Err(ServerError::FailRate(_))));
        let taken = start(quick(&scratch.0));
        let again = RunningStore::start(StoreConfig {
            port: taken.addr().port(),
            ..quick(&scratch.0)
        });
        assert!(matches!(again, Err(ServerError::Bind { .. })));
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

    #[test]
    fn paths_are_decoded_then_checked() {
        let parse = |raw| Target::parse(raw).map(|target| (target.parts, target.folder));
        assert_eq!(parse("/").ok(), Some((vec![], true)));
        assert_eq!(
            parse("/a/b%20c.jpg").ok(),
            Some((vec!["a".to_owned(), "b c.jpg".to_owned()], false))
        );
        assert_eq!(parse("/a/").ok(), Some((vec!["a".to_owned()], true)));
        for refused in [
            "//",
            "/a//b",
            "/..",
            "/%2E%2E/x",
            "/a/.",
            "/a%5Cb",
            "/a%00",
            "/a/..%2f",
        ] {
            assert!(parse(refused).is_err(), "{refused}");
        }
    }
}
