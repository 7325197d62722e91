//! Where images come from and where thumbnails go.
//!
//! - [`Source`]: a folder, a text file of URLs, an HTTP prefix that lists its objects, or
//!   a prefix of an S3 bucket; it lists the batch's [`Image`](crate::contract::Image)s.
//! - [`Output`]: a folder, an HTTP prefix, or a bucket. For each thumbnail it computes one
//!   [`Destination`] (a file to write atomically, or a URL to PUT); the three IO models
//!   of the chapters only carry it out: [`HttpClient::store`] (blocking threads),
//!   [`AsyncHttpClient::store`] (tokio), and the hand-built event loop's `store` step.
//! - [`HttpClient`] and [`AsyncHttpClient`]: the blocking and async HTTP clients, with a
//!   connect timeout, a read timeout and a body limit, because a server that stalls or
//!   sends gigabytes must cost one image, never the batch.
//! - [`file`](mod@file): reading a file under the size limit and writing one atomically, with the
//!   error messages every chapter shares.
//! - [`s3`]: buckets, through presigned URLs that every client sends unchanged.

mod async_client;
mod blocking;
pub mod file;
pub mod listing;
mod output;
pub mod s3;
mod source;

pub use async_client::AsyncHttpClient;
pub use blocking::HttpClient;
pub use output::{Destination, Output};
pub use source::{Source, file_name_of_url};

use percent_encoding::{AsciiSet, CONTROLS};

/// Characters escaped in one path segment of a URL.
pub const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// `text` ending in `/`: an HTTP prefix, to which names are appended.
fn with_trailing_slash(text: &str) -> String {
    if text.ends_with('/') {
        text.to_string()
    } else {
        format!("{text}/")
    }
}
