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
//! - [`file`](mod@file): reading a file under the size limit and writing one atomically,
//!   with the error messages every chapter shares.
//! - [`s3`]: buckets, through presigned URLs that every client sends unchanged;
//!   [`aws_profile`]: their credentials from the AWS tools' shared files.
//! - [`retry`]: retries with backoff and the deadline of a transfer, one policy for the
//!   three clients.
//! - [`url_path`]: names as URL path segments.
//! - [`scheme`]: the URL schemes a source or an output may name.
//! - [`tls`]: HTTPS, the certificates every client trusts; [`redirect`]: the redirects
//!   every client follows.

mod async_client;
pub mod aws_profile;
mod blocking;
mod destination;
pub mod file;
pub mod listing;
mod output;
pub mod redirect;
pub mod retry;
pub mod s3;
pub mod scheme;
mod source;
pub mod tls;
pub mod url_path;

pub use async_client::AsyncHttpClient;
pub use blocking::HttpClient;
pub use destination::Destination;
pub use output::Output;
pub use source::{Listed, Source, file_name_of_url};
