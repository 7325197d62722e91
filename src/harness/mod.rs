//! The stage the chapters perform on, apart from the lessons themselves:
//!
//! - [`store`]: the embedded object store, an HTTP server on loopback with latency,
//!   bandwidth, failures and stalls to order.
//! - [`corpus`]: seeded, photo-like images, generated once and cached.
//! - [`samples`]: bad inputs made on purpose.
//! - [`bombs`]: hostile images made on purpose, small files that would cost a trusting
//!   decoder minutes or gigabytes.
//! - [`workload`]: the ready-made workloads (`cpu`, `io`, `mixed`).

pub mod bombs;
pub mod corpus;
pub mod samples;
pub mod store;
pub mod workload;
