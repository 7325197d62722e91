//! The store's settings once checked: [`Store`], which every connection shares,
//! and [`Logging`], whether refused requests are printed.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::config::{ServerError, StoreConfig};
use super::pacing::{Flake, flake};
use super::tls::Tls;

/// Whether refused requests are printed: yes in the foreground, where a person is
/// watching, no on a background thread, where they would mix into a chapter's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Logging {
    Quiet,
    Refusals,
}

/// What every connection needs to answer requests: the checked configuration.
#[derive(Debug)]
pub(super) struct Store {
    /// The served folder, canonical, so that a resolved path can be checked to be inside it.
    pub(super) root: PathBuf,
    // The rest are `StoreConfig`'s fields, checked by `Store::check`.
    pub(super) port: u16,
    pub(super) latency: Duration,
    pub(super) bandwidth: Option<u64>,
    pub(super) fail_rate: f64,
    pub(super) seed: u64,
    pub(super) flaky_rate: f64,
    /// Requests answered so far: each one's number draws its flake (see `Store::flake`).
    pub(super) requests: AtomicU64,
    pub(super) max_conns: Option<usize>,
    pub(super) stall: bool,
    /// The handshake every connection goes through first; `None` for plain HTTP.
    pub(super) tls: Option<Tls>,
    pub(super) logging: Logging,
}

impl Store {
    /// Checks the configuration: every setting in range, and a root that is a folder.
    ///
    /// A bad setting is the caller's to fix, so it is reported before the port is
    /// bound or a thread started.
    pub(super) fn check(config: StoreConfig, logging: Logging) -> Result<Store, ServerError> {
        if !(0.0..=1.0).contains(&config.fail_rate) {
            return Err(ServerError::FailRate(config.fail_rate));
        }
        if !(0.0..=1.0).contains(&config.flaky_rate) {
            return Err(ServerError::FlakyRate(config.flaky_rate));
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
        let tls = config.tls.as_ref().map(Tls::load).transpose()?;
        Ok(Store {
            root,
            port: config.port,
            latency: config.latency,
            bandwidth: config.bandwidth,
            fail_rate: config.fail_rate,
            seed: config.seed,
            flaky_rate: config.flaky_rate,
            requests: AtomicU64::new(0),
            max_conns: config.max_conns,
            stall: config.stall,
            tls,
            logging,
        })
    }
}

impl Store {
    /// `https` when the store speaks TLS, else `http`.
    pub(super) fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// Whether this request fails in passing (`flaky_rate`), and how. Each request draws
    /// afresh, by its number, so that the same object fails once and works the next time.
    pub(super) fn flake(&self) -> Option<Flake> {
        if self.flaky_rate == 0.0 {
            return None;
        }
        let number = self.requests.fetch_add(1, Ordering::Relaxed);
        flake(self.seed, number, self.flaky_rate)
    }
}
