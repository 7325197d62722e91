//! The work behind a worker's answer: who the worker is, the job's three steps, which
//! failures may pass if tried again, and how a result reaches the broker.
//!
//! These pieces stand apart so that both sides can use them without using each other:
//! the worker's slots (`worker.rs`) pull the jobs and hand each one to `answer.rs`, and
//! `answer.rs` decides what to tell the broker using only what is here.

use std::time::Duration;

use workbench::contract::ImageError;
use workbench::io::Output;
use workbench::io::s3::S3Flags;
use workbench::job::{Job, JobSpec};
use workbench::trace::set_worker_label;

use crate::queue::{Finished, JobMessage, Queue, results_subject};

/// How long a transient failure waits before the broker hands the job out again.
pub(crate) const RETRY_DELAY: Duration = Duration::from_millis(500);

/// Who this worker is, for every job it answers.
pub(crate) struct Identity {
    /// Its name in traces and messages (`worker-PID` unless given one).
    pub(crate) name: String,
    /// Its process id, so that the enqueuer knows which process holds a job.
    pub(crate) pid: u32,
    /// Its own credentials and endpoint for the store: they never travel in a job.
    pub(crate) s3: S3Flags,
    /// Only errors on stderr.
    pub(crate) quiet: bool,
}

/// The job's three steps, ready to run on a blocking thread: the same `Job` steps as
/// every chapter, so the same bytes come out. Returns the result and the spans.
pub(crate) fn thumbnail(
    message: &JobMessage,
    identity: &Identity,
    lane: &str,
) -> impl FnOnce() -> (Result<Vec<String>, ImageError>, Vec<workbench::trace::Span>) + 'static {
    let (message, s3, lane) = (message.clone(), identity.s3.clone(), lane.to_string());
    move || {
        set_worker_label(lane);
        let output = match Output::parse(&message.out, &s3) {
            Ok(output) => output,
            Err(error) => return (Err(ImageError::Io(error.to_string())), Vec::new()),
        };
        let spec = JobSpec {
            sizes: message.sizes,
            output,
            http: message.http,
            max_pixels: message.max_pixels,
            max_decoded_bytes: message.max_decoded_bytes,
            format: message.format,
        };
        let job = Job::new(spec, Vec::new(), indicatif::ProgressBar::hidden());
        let image = &message.image;
        let result = job
            .download(image)
            .and_then(|bytes| job.thumbnail(image, &bytes))
            .and_then(|thumbs| job.upload(image, &thumbs));
        (result, job.tracer().spans())
    }
}

/// A failure that may pass if the job is tried again later: the server was busy or
/// unreachable, or did not answer in time. Anything else (not an image, a 404) would
/// fail the same way every time, so it is the job's final result.
pub(crate) fn is_transient(error: &ImageError) -> bool {
    match error {
        ImageError::Status { status, .. } => *status >= 500 || *status == 429,
        ImageError::Timeout { .. } | ImageError::Connect(_) => true,
        _ => false,
    }
}

/// Publishes a result to the results stream and waits for the broker to store it.
pub(crate) async fn publish_result(
    queue: &Queue,
    batch: &str,
    finished: &Finished,
) -> Result<(), String> {
    let stored = queue
        .jetstream
        .publish(results_subject(batch), to_json(finished).into())
        .await
        .map_err(|e| e.to_string())?;
    stored.await.map(|_| ()).map_err(|e| e.to_string())
}

/// A message's bytes on the wire: its JSON.
pub(crate) fn to_json(value: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Prints `line` on stderr, unless the worker was told to be quiet.
pub(crate) fn say(identity: &Identity, line: String) {
    if !identity.quiet {
        eprintln!("{line}");
    }
}
