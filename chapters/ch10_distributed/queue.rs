//! The broker's side of the lesson: the two streams and the one consumer every role
//! agrees on, and the messages that travel through them.
//!
//! - **Jobs** (`THUMBNAIL_JOBS`, a *work-queue* stream): one message per image. The
//!   stream keeps a job until a worker acknowledges it, then forgets it. Every worker
//!   pulls from the same durable consumer, `thumbnail-workers`, so each job goes to one
//!   worker at a time; a job not acknowledged within the ack wait goes to another.
//! - **Results** (`THUMBNAIL_RESULTS`): one message per finished job, kept for an hour,
//!   on a subject per batch that the enqueuer reads from the start.
//! - **Started** notices: plain (not stored) messages a worker sends when it takes a job,
//!   so that the enqueuer knows who holds what; only the lesson's kill switch reads them.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use serde::{Deserialize, Serialize};
use workbench::contract::{HttpConfig, Image, Outcome, OutputFormat, Sizes};
use workbench::trace::Span;

/// The stream of jobs.
pub const JOBS: &str = "THUMBNAIL_JOBS";
/// The subject jobs are published on.
pub const JOBS_SUBJECT: &str = "thumbnails.jobs";
/// The durable consumer every worker pulls from.
pub const WORKERS: &str = "thumbnail-workers";
/// The stream of results.
pub const RESULTS: &str = "THUMBNAIL_RESULTS";

/// The subject of a batch's results.
pub fn results_subject(batch: &str) -> String {
    format!("thumbnails.results.{batch}")
}

/// The subject of a batch's started notices.
pub fn started_subject(batch: &str) -> String {
    format!("thumbnails.started.{batch}")
}

/// The subject on which the broker announces a job it stopped redelivering.
pub fn gave_up_subject() -> String {
    format!("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{JOBS}.{WORKERS}")
}

/// How long a worker may hold a job, and how many times it is handed out. Set by
/// whoever creates the consumer first; later roles use what the broker has.
#[derive(Debug, Clone, Copy)]
pub struct Lease {
    /// A job not acknowledged (or extended with "in progress") in this time is given to
    /// another worker.
    pub ack_wait: Duration,
    /// The delivery limit: after this many deliveries the broker stops handing the job
    /// out, and says so in an advisory.
    pub max_deliveries: i64,
}

impl Default for Lease {
    fn default() -> Lease {
        Lease {
            ack_wait: Duration::from_secs(3),
            max_deliveries: 3,
        }
    }
}

/// A connection to the broker, with the streams and the consumer in place.
#[derive(Clone)]
pub struct Queue {
    /// The plain connection (started notices, advisories).
    pub client: async_nats::Client,
    /// JetStream over the same connection (jobs and results).
    pub jetstream: jetstream::Context,
    /// The consumer the workers pull jobs from.
    pub jobs: consumer::PullConsumer,
    /// The lease the broker applies (which may be another run's, if it made the
    /// consumer first).
    pub lease: Lease,
}

impl Queue {
    /// Connects to the broker at `url` and makes the streams and the consumer if they
    /// are not there yet: any role may be the first to arrive.
    pub async fn open(url: &str, lease: Lease) -> Result<Queue, String> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| format!("cannot reach the broker at {url}: {e}"))?;
        let jetstream = jetstream::new(client.clone());
        let broker = |e: &dyn std::fmt::Display| format!("the broker at {url}: {e}");
        let jobs_stream = jetstream
            .get_or_create_stream(stream::Config {
                name: JOBS.into(),
                subjects: vec![JOBS_SUBJECT.into()],
                // A work queue: a job is deleted once acknowledged.
                retention: stream::RetentionPolicy::WorkQueue,
                ..Default::default()
            })
            .await
            .map_err(|e| broker(&e))?;
        jetstream
            .get_or_create_stream(stream::Config {
                name: RESULTS.into(),
                subjects: vec![results_subject("*")],
                max_age: Duration::from_secs(3600),
                ..Default::default()
            })
            .await
            .map_err(|e| broker(&e))?;
        let jobs: consumer::PullConsumer = jobs_stream
            .get_or_create_consumer(
                WORKERS,
                consumer::pull::Config {
                    durable_name: Some(WORKERS.into()),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: lease.ack_wait,
                    max_deliver: lease.max_deliveries,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| broker(&e))?;
        let config = &jobs.cached_info().config;
        let lease = Lease {
            ack_wait: config.ack_wait,
            max_deliveries: config.max_deliver,
        };
        Ok(Queue {
            client,
            jetstream,
            jobs,
            lease,
        })
    }
}

// ANCHOR: messages
/// One job: an image and everything a worker needs to thumbnail it, as plain data.
/// The output travels as its address (`s3://bucket/thumbs/`, a URL, a folder), never
/// with credentials: a worker signs with its own.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobMessage {
    /// The batch the job belongs to (the enqueuer reads the results of its batch).
    pub batch: String,
    /// The image: where it is, and its stem.
    pub image: Image,
    /// The widths to make.
    pub sizes: Sizes,
    /// Where the thumbnails go, as `--out` would name it.
    pub out: String,
    /// Timeouts and body limit of transfers.
    pub http: HttpConfig,
    /// The pixel budget.
    pub max_pixels: u64,
    /// The decoded-bytes budget.
    #[serde(default = "workbench::job::default_max_decoded_bytes")]
    pub max_decoded_bytes: u64,
    /// The thumbnails' format (`--format`).
    #[serde(default)]
    pub format: OutputFormat,
}

/// A worker took a job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Started {
    /// The image's stem.
    pub stem: String,
    /// The worker's process.
    pub pid: u32,
}

/// A finished job: the image's outcome, who made it, and on which delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finished {
    /// The image and its thumbnails' names, or its one error.
    pub outcome: Outcome,
    /// The worker's name.
    pub worker: String,
    /// The worker's process.
    pub pid: u32,
    /// Which delivery of the job this was: 1, or more after a worker died or a
    /// transient failure.
    pub delivery: i64,
    /// The worker's spans for this job, for the enqueuer's timeline.
    pub spans: Vec<Span>,
    /// The worker's peak memory so far, in MiB.
    pub peak_rss_mb: f64,
}
// ANCHOR_END: messages
