//! Where one thumbnail goes: the plan that an output makes and an executor carries out.

use std::path::PathBuf;

/// Where one thumbnail goes: the plan an executor carries out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A file, to be written atomically.
    File(PathBuf),
    /// A URL to PUT the bytes to, with their content type.
    Put {
        /// The URL (for S3, presigned).
        url: String,
        /// The thumbnail's MIME type.
        content_type: &'static str,
    },
}
