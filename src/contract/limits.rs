//! The limits every transfer, and every decode, keeps to.

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

/// What one image may cost the CPU step, checked from its header before any pixel is
/// decoded: a file of a few hundred bytes can declare a picture of gigabytes, or ask the
/// decoder to read the whole picture a thousand times over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodeLimits {
    /// The most pixels (width x height) an image may declare.
    pub max_pixels: u64,
    /// The most bytes its decoded pixels may take: width x height x channels x bytes per
    /// sample. A 16-bit RGBA PNG needs eight bytes a pixel, so a pixel budget alone lets
    /// it take eight times what an 8-bit greyscale image of the same size does.
    pub max_decoded_bytes: u64,
    /// The most scans a progressive JPEG may have. Each scan is a pass over the whole
    /// picture; encoders write about ten (libjpeg-turbo's decoder offers the same limit).
    pub max_scans: u32,
}

impl DecodeLimits {
    /// The limits a chapter keeps to unless told otherwise. With the byte budget, eight
    /// workers decoding at once hold at most 2 GiB of decoded pixels (plus the 8-bit
    /// copy a deeper image is converted to), and a progressive 24-megapixel photo (144
    /// MB of coefficients) still fits.
    pub const DEFAULT: DecodeLimits = DecodeLimits {
        max_pixels: 100_000_000,
        max_decoded_bytes: 256 << 20,
        max_scans: 100,
    };
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits::DEFAULT
    }
}

/// A bare number is a pixel budget, with the other limits at their defaults.
impl From<u64> for DecodeLimits {
    fn from(max_pixels: u64) -> Self {
        DecodeLimits {
            max_pixels,
            ..DecodeLimits::DEFAULT
        }
    }
}
