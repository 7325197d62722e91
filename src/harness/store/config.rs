//! What a caller hands the store and what it may get back: [`StoreConfig`], the
//! settings, and [`ServerError`], why the store could not start or keep running.
//! `mod.rs` re-exports both; they sit at the bottom so that every other file can
//! use them.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// What the store serves and how it behaves.
///
/// Every knob models one property of a remote object store, so that a lesson can
/// turn it up and watch what its concurrency pattern does about it.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The folder served; `PUT` writes here.
    pub root: PathBuf,
    /// The port on 127.0.0.1; 0 lets the system pick a free one (see
    /// [`RunningStore::url`](super::RunningStore::url)).
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
    /// The share of requests (0.0 to 1.0), drawn afresh for every request, that fail
    /// in a way that passes: half of them answer 503, half close the connection before
    /// answering. Where `fail_rate` is a broken object, this is a busy server: a client
    /// that tries again gets through.
    pub flaky_rate: f64,
    /// At most this many connections served at once; further ones wait in the
    /// system's queue of connections not yet accepted, as with a busy server.
    pub max_conns: Option<usize>,
    /// Accept connections and never answer: a server that hangs, to show that a
    /// client without a timeout hangs with it.
    pub stall: bool,
    /// Speak HTTPS with this certificate and key; `None` is plain HTTP.
    pub tls: Option<TlsFiles>,
}

/// A PEM certificate (chain) and its private key, for a store that speaks HTTPS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain, the server's own first.
    pub cert: PathBuf,
    /// The private key of the first certificate.
    pub key: PathBuf,
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
            flaky_rate: 0.0,
            max_conns: None,
            stall: false,
            tls: None,
        }
    }
}

impl StoreConfig {
    /// Whether `fail_rate` fails the object at `path` (`a/b.jpg`) at every request: a
    /// test or a lesson can say in advance which images must fail.
    pub fn always_fails(&self, path: &str) -> bool {
        super::pacing::injected_failure(self.seed, path, self.fail_rate)
    }

    /// Which of the first `count` requests (numbered from 0 in the order they arrive)
    /// `flaky_rate` fails in passing.
    pub fn flaky_requests(&self, count: u64) -> Vec<u64> {
        (0..count)
            .filter(|&n| super::pacing::flake(self.seed, n, self.flaky_rate).is_some())
            .collect()
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
    /// `flaky_rate` is not a share.
    #[error("flaky_rate must be between 0.0 and 1.0, got {0}")]
    FlakyRate(f64),
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
    /// The TLS certificate or key cannot be read or used.
    #[error("TLS: {path}: {cause}")]
    Tls { path: PathBuf, cause: String },
    /// The `serving ...` line could not be written.
    #[error("cannot write to stdout")]
    Stdout(#[source] io::Error),
}
