//! From settings to connections: the port bound once the settings are checked, the
//! one-thread runtime, and the accept loop with its connection cap and stall mode.

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::answer::answer;
use super::config::{ServerError, StoreConfig};
use super::state::{Logging, Store};

/// How long a connection may take to send a request's headers, counted from when the
/// store waits for them (a kept-alive connection waits too). A few hundred bytes take a
/// real client a millisecond, so this is short: with `--max-conns`, a client that sends
/// its headers slowly, or not at all, holds a slot that others queue for. Bodies are
/// given longer (see `upload::BODY_READ_TIMEOUT`): a large upload may pause legitimately.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The runtime that runs the store: one thread, `current_thread`.
///
/// The store waits; it hardly computes. Latency and bandwidth are timers, and file
/// reads and writes go to tokio's blocking pool, so a single thread can keep
/// hundreds of connections moving, the same way one Python asyncio loop does. One
/// thread also keeps the store out of the way of what is being measured: the
/// workbench's own threads share the machine's two cores with it.
pub(super) fn build_runtime() -> Result<tokio::runtime::Runtime, ServerError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| ServerError::Start {
            what: "runtime",
            source,
        })
}

/// Checks the configuration (see [`Store::check`]) and binds the port.
///
/// Bound with std, synchronously, so that the port is ours (and a client may
/// connect) before [`RunningStore::start`](super::RunningStore::start) returns,
/// even though the runtime that will accept the connections is still starting on
/// its own thread.
pub(super) fn open(
    config: StoreConfig,
    logging: Logging,
) -> Result<(std::net::TcpListener, SocketAddr, Store), ServerError> {
    let port = config.port;
    let store = Store::check(config, logging)?;

    let bind_error = |source| ServerError::Bind { port, source };
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    Ok((listener, addr, store))
}

/// Hands a bound std listener to tokio; must run inside the runtime that will use it.
pub(super) fn into_tokio(
    listener: std::net::TcpListener,
    port: u16,
) -> Result<TcpListener, ServerError> {
    let bind_error = |source| ServerError::Bind { port, source };
    // tokio waits for connections without blocking: the socket must not block either.
    listener.set_nonblocking(true).map_err(bind_error)?;
    TcpListener::from_std(listener).map_err(bind_error)
}

// ANCHOR: accept_loop
/// The accept loop: one task per connection, until `shutdown` completes.
pub(super) async fn serve(listener: TcpListener, store: Store, shutdown: impl Future<Output = ()>) {
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
    match store.tls.clone() {
        None => serve_http(TokioIo::new(stream), store).await,
        // The handshake first; a client that fails it (one that does not trust the
        // certificate, say) costs only its own connection.
        Some(tls) => match tls.0.accept(stream).await {
            Ok(encrypted) => serve_http(TokioIo::new(encrypted), store).await,
            Err(err) if store.logging == Logging::Refusals => {
                eprintln!("store: TLS handshake failed: {err}");
            }
            Err(_) => {}
        },
    }
}

/// Serves HTTP/1.1 on `io`, plain or encrypted alike.
async fn serve_http<IO>(io: IO, store: Arc<Store>)
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let logging = store.logging;
    let service = service_fn(move |request| answer(Arc::clone(&store), request));
    let connection = http1::Builder::new()
        // The timer lets hyper close a connection whose next request's headers have
        // not all arrived within the timeout, idle or trickling, which also frees its
        // `max_conns` slot for the next client in the queue.
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(io, service);
    if let Err(err) = connection.await
        && logging == Logging::Refusals
    {
        eprintln!("store: connection ended: {err}");
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Read as _, Write as _};
    use std::net::TcpStream;
    use std::time::Duration;

    use super::super::config::{ServerError, StoreConfig};
    use super::super::test_support::{
        RunningStore, Scratch, is_timeout, quick, read_response, start,
    };

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
}
