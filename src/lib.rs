//! # thumbnail-workbench
//!
//! The shared pipeline every chapter builds on. A chapter (in `chapters/`) decides only
//! *how the work is scheduled*; everything else, from reading the source to writing the
//! thumbnails and the summary, is here, so that two chapters differ only by their
//! concurrency.
//!
//! - [`job`]: the contract: images, sizes, names, outcomes and the summary.
//! - [`kernel`]: the CPU step: decode, resize, encode.
//! - [`corpus`]: seeded, photo-like test images.
//! - [`store`]: where images come from and thumbnails go (folders and HTTP).
//! - [`samples`]: bad inputs made on purpose, for lessons and tests.
//! - [`server`]: the embedded object store, served on loopback.
//! - [`trace`]: spans, and the figures derived from them.
//! - [`cli`]: the flags every chapter shares and the driver that runs a chapter.
//! - [`chapters`]: the list of chapters, used by the tour, the bench and the tests.
//! - [`async_store`]: the IO steps as async functions, for the tokio chapter.
//! - [`event_loop`]: an event loop built by hand on mio, for the event-loop chapter.
#![forbid(unsafe_code)]

pub mod async_store;
pub mod chapters;
pub mod cli;
pub mod corpus;
pub mod event_loop;
pub mod job;
pub mod kernel;
pub mod samples;
pub mod server;
pub mod store;
pub mod trace;
