//! # thumbnail-workbench
//!
//! One thumbnail maker, written once per concurrency pattern. A chapter (in `chapters/`)
//! decides only *how the work is scheduled*; this library holds everything else, in
//! folders that import downward only.
//!
//! **The lesson**, what a student comes to read:
//!
//! - [`patterns`]: the machinery the chapters build by hand, one idea per file: a
//!   semaphore, a simulated GIL, a lock board, futures and a thread pool, a process
//!   pool (spawn, fork, forkserver), an event loop on mio.
//!
//! **The stage**, what every chapter stands on:
//!
//! - [`contract`]: the job's data: sizes, images, thumbnails, errors, outcomes, the
//!   summary. It imports nothing of the project.
//! - [`platform`]: what depends on the operating system (atomic writes, memory figures,
//!   a worker's tie to its parent). It imports nothing of the project.
//! - [`chapters`]: the list of chapters the tour, the bench and the tests go through.
//! - [`trace`]: spans (who did what, when), and the figures computed from them.
//! - [`kernel`]: the CPU step: decode, resize, encode.
//! - [`io`]: sources and outputs (folders, HTTP, S3), the blocking and async clients.
//! - [`job`]: the job a chapter schedules: download, thumbnail, upload, each traced.
//! - [`harness`]: the embedded object store, the generated corpus, bad samples, the
//!   workloads.
//! - [`report`]: charts, timelines, the report (`report.md`, `report.html`,
//!   `results.json`, CSV) and the comparison of two results.
//! - [`cli`]: the flags every chapter shares and the driver that runs a chapter.
//! - [`exercises`]: the classroom: exercises, the checks that run them, hints.
//!
//! From the bottom up: `contract`, `platform`, `chapters` -> `trace`, `kernel`, `io` ->
//! `job` -> `patterns`, `harness` -> `report` -> `cli`, `exercises`. A folder uses only those below it
//! (and itself); `tests/layers.rs` checks it.
#![deny(unsafe_code)]

pub mod chapters;
pub mod cli;
pub mod contract;
pub mod exercises;
pub mod harness;
pub mod io;
pub mod job;
pub mod kernel;
pub mod patterns;
pub mod platform;
pub mod report;
pub mod trace;
