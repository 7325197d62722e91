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
//! - [`s3`]: S3-compatible buckets as source and output, through presigned URLs.
//! - [`samples`]: bad inputs made on purpose, for lessons and tests.
//! - [`server`]: the embedded object store, served on loopback.
//! - [`trace`]: spans, and the figures derived from them.
//! - [`task`]: a share of the batch as plain data, runnable in a thread or a process.
//! - [`cli`]: the flags every chapter shares and the driver that runs a chapter.
//! - [`chapters`]: the list of chapters, used by the tour, the bench and the tests.
//! - [`sync`]: a semaphore, a simulated GIL and lock attempts that give up (ch06).
//! - [`shutdown`]: Ctrl-C as a flag that stages check, for a clean stop.
//! - [`chart`] and [`report`]: the SVG charts and `report.md` of `workbench report`.
//! - [`thread_pool`]: a hand-built thread pool with futures (chapter 4).
//! - [`process_pool`]: a hand-built pool of worker processes: spawn, fork, forkserver
//!   (chapter 5). Its `fork` calls are the workbench's only `unsafe` code.
//! - [`async_store`]: the IO steps as async functions, for the tokio chapter.
//! - [`event_loop`]: an event loop built by hand on mio, for the event-loop chapter.
#![deny(unsafe_code)]

pub mod async_store;
pub mod chapters;
pub mod chart;
pub mod cli;
pub mod corpus;
pub mod event_loop;
pub mod job;
pub mod kernel;
pub mod process_pool;
pub mod report;
pub mod s3;
pub mod samples;
pub mod server;
pub mod shutdown;
pub mod store;
pub mod sync;
pub mod task;
pub mod thread_pool;
pub mod trace;
