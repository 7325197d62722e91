//! Why a corpus could not be made.

use std::io;
use std::path::PathBuf;

/// Why a corpus could not be generated.
///
/// The underlying error is kept in a `cause` field and also written into the message,
/// so that a plain `{}` already says what went wrong. (It is deliberately not marked as
/// the error's `source`: `anyhow` prints the source chain too, and the cause would then
/// be printed twice.)
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// The spec cannot be generated (for example more PNGs than images, or a size of 0).
    #[error("invalid corpus spec {spec}: {reason}")]
    InvalidSpec {
        /// The spec's [`CorpusSpec::cache_name`](super::CorpusSpec::cache_name).
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// [`image_bytes`](super::image_bytes) was asked for an image the corpus does not have.
    #[error("no image {index} in a corpus of {count} images")]
    NoSuchImage {
        /// The index asked for.
        index: usize,
        /// How many images the corpus has.
        count: usize,
    },
    /// The encoder refused the image.
    #[error("cannot encode {name}: {cause}")]
    Encode {
        /// The image's file name, e.g. `img-007.jpg`.
        name: String,
        /// What the encoder said.
        cause: image::ImageError,
    },
    /// Reading or writing the corpus folder failed.
    #[error("cannot {action} {}: {cause}", path.display())]
    Io {
        /// What was being done: "create folder", "write", "read", "remove".
        action: &'static str,
        /// The file or folder concerned.
        path: PathBuf,
        /// What the operating system said.
        cause: io::Error,
    },
}
