//! Why an image, or a whole run, can fail. Every message names the cause; the summary
//! pairs an image's error with the image's source.

use serde::{Deserialize, Serialize};

/// Why the CPU step could not make thumbnails of an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum KernelError {
    /// The bytes are not an image this workbench reads (JPEG, PNG, WebP or GIF).
    #[error("not an image: {0}")]
    NotAnImage(String),
    /// An image in a format the kernel recognises but does not read (HEIC, TIFF, ...).
    #[error("unsupported format: {0} (the formats read are JPEG, PNG, WebP and GIF)")]
    Unsupported(String),
    /// The header declares more pixels than the budget: refused before decoding.
    #[error("too many pixels: {width}x{height} is over the budget of {budget} pixels")]
    TooManyPixels {
        width: u64,
        height: u64,
        budget: u64,
    },
    /// Its decoded pixels would take more memory than the budget: refused before
    /// decoding.
    #[error(
        "too much memory to decode: {width}x{height} needs {needed_mib} MiB, over the budget of {budget_mib} MiB (--max-decoded-mb)"
    )]
    TooManyBytes {
        width: u64,
        height: u64,
        needed_mib: u64,
        budget_mib: u64,
    },
    /// A progressive JPEG with more scans than the limit: each is a pass over the whole
    /// picture.
    #[error(
        "too many scans: the JPEG has more than {limit} (each one decodes the whole image again)"
    )]
    TooManyScans { limit: u32 },
    /// Within every budget, but past what the decoder can count (jpeg-decoder counts rows
    /// in 16 bits).
    #[error("beyond the decoder's limits: {0}")]
    BeyondDecoder(String),
    /// Damaged, truncated, or a variant this kernel does not decode.
    #[error("corrupt image: {0}")]
    Corrupt(String),
}

/// Why one image failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ImageError {
    /// The server answered with an error status.
    #[error("HTTP {status} from {url}")]
    Status { status: u16, url: String },
    /// No answer in time.
    #[error("timed out after {millis} ms ({during})")]
    Timeout { millis: u64, during: String },
    /// The server could not be reached.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The body is larger than the configured limit.
    #[error("too large: more than {limit} bytes")]
    TooLarge { limit: u64 },
    /// The CPU step refused the bytes: not an image, too many pixels, or corrupt.
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// The name would write outside the output.
    #[error("{0}")]
    UnsafeName(String),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(String),
    /// Storing one of the image's thumbnails failed after others were stored on a
    /// server, where they could not be taken back: the cause, and which are there.
    #[error("{cause} (stored before the failure, still on the server: {})", .stored.join(", "))]
    Incomplete {
        cause: Box<ImageError>,
        stored: Vec<String>,
    },
    /// The worker handling the image panicked (chapters that catch panics report this).
    #[error("worker panicked: {0}")]
    Panicked(String),
    /// The run was stopped (Ctrl-C) before this image was done.
    #[error("cancelled: the run was stopped before this image was done")]
    Cancelled,
    /// The chapter returned no outcome for this image: a bug in the chapter.
    #[error("no outcome: the chapter never reported this image")]
    Lost,
}

/// A problem with the run as a whole (exit code 2), as opposed to one image's failure.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The source could not be read or listed.
    #[error("cannot read the source {source_name}: {cause}")]
    Source { source_name: String, cause: String },
    /// The source lists no image.
    #[error("the source {0} has no images")]
    EmptySource(String),
    /// The output cannot be written.
    #[error("cannot write to the output {output}: {cause}")]
    Output { output: String, cause: String },
    /// Anything else about the setup (the embedded store, the corpus).
    #[error("{0}")]
    Other(String),
}
