//! The limits every transfer keeps to.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Timeouts and limits of every transfer: an HTTP request, or a file read.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HttpConfig {
    /// Connect timeout, and the longest wait for any byte of an answer.
    pub timeout: Duration,
    /// The largest body (or file) accepted, in bytes.
    pub max_bytes: u64,
    /// How many times a failed request is tried again when the failure may be
    /// transient (a refused connection, a 503); see `io::retry`.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// The longest a whole transfer may take, retries included, however steadily the
    /// bytes come: `timeout` bounds each silence, this bounds the total.
    #[serde(default = "default_deadline")]
    pub deadline: Duration,
}

fn default_retries() -> u32 {
    HttpConfig::default().retries
}

fn default_deadline() -> Duration {
    HttpConfig::default().deadline
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            timeout: Duration::from_secs(10),
            max_bytes: 64 << 20,
            retries: 3,
            deadline: Duration::from_secs(60),
        }
    }
}
