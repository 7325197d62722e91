//! The contract every chapter fulfils, as plain data: which widths to make
//! ([`Sizes`]), which images ([`Image`], [`Location`]) and what their thumbnails are
//! called, what a thumbnail is ([`Thumbnail`]), why an image or a run can fail
//! ([`ImageError`], [`KernelError`], [`SetupError`]), what became of each image
//! ([`Outcome`]) and the summary of a run ([`Summary`]).
//!
//! This folder is the bottom of the house: it imports nothing of the project, and every
//! other folder may import it. Everything here can be cloned into a thread or serialised
//! and sent to another process.

mod error;
mod image;
mod limits;
mod sizes;
mod summary;
mod thumbnail;

pub use error::{ImageError, KernelError, SetupError};
pub use image::{Image, Location, assign_stems, largest_first, thumbnail_name};
pub use limits::{DecodeLimits, HttpConfig};
pub use sizes::Sizes;
pub use summary::{Failure, Outcome, Skipped, Summary};
pub use thumbnail::{Format, OutputFormat, Thumbnail};
