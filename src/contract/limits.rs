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
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            timeout: Duration::from_secs(10),
            max_bytes: 64 << 20,
        }
    }
}
