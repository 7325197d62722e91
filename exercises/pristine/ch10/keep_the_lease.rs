//! # Exercise `ex10-keep-the-lease` (chapter 10, guided)
//!
//! **Do.** The check runs chapter 10's whole cluster on this machine with
//! `--workers 2 --ack-wait 1s`, on a store that takes 1.5 s to answer: every job takes
//! longer than its lease. Write the loop of `keep_lease` so that, while the work runs,
//! the broker hears every third of the ack wait that the job is still in progress.
//!
//! **Concept.** A lease: the broker lends a job for the ack wait and takes it back when
//! it hears nothing, to give it to another worker. A long job renews its lease; without
//! that, a job slower than the ack wait is handed out again while it still runs.
//!
//! **Python counterpart.** Celery's `visibility_timeout` on Redis or SQS, which a long
//! task must outlast; RabbitMQ's consumer timeout.
//!
//! **Check it.** `cargo run -- exercises check ex10-keep-the-lease`: exit 0, every image
//! done with identical thumbnails, no span of a later delivery (`(delivery 2)`) in the
//! trace, and no report of results that came twice.

use std::process::ExitCode;

use async_nats::jetstream::AckKind;
use async_nats::jetstream::Message;
use workbench::contract::{ImageError, Outcome};
use workbench::platform::peak_rss_mb;

use crate::job_work::{
    Identity, RETRY_DELAY, is_transient, publish_result, say, thumbnail, to_json,
};
use crate::queue::{Finished, JobMessage, Lease, Queue, Started, started_subject};

// The rest of chapter 10, as it is: the enqueuer, the local cluster, the worker's slots
// and the work on a job. Only the two functions below are this exercise's.
#[path = "../../chapters/ch10_distributed/enqueue.rs"]
mod enqueue;
#[path = "../../chapters/ch10_distributed/job_work.rs"]
mod job_work;
#[path = "../../chapters/ch10_distributed/local.rs"]
mod local;
#[path = "../../chapters/ch10_distributed/queue.rs"]
mod queue;
#[path = "cluster/run.rs"]
mod run;
#[path = "../../chapters/ch10_distributed/worker.rs"]
mod worker;

// The chapter's worker asks `answer::handle` what to tell the broker: here, this file's.
mod answer {
    pub(crate) use super::handle;
}

fn main() -> ExitCode {
    run::main()
}

/// One job, from the broker's message to its answer.
pub(crate) async fn handle(queue: &Queue, identity: &Identity, lane: &str, message: Message) {
    let delivery = message.info().map_or(1, |info| info.delivered);
    let Ok(job) = serde_json::from_slice::<JobMessage>(&message.payload) else {
        // Not a job this program wrote: no worker will ever do better, so drop it.
        eprintln!("{lane}: dropping a message that is not a job");
        let _ = message.ack_with(AckKind::Term).await;
        return;
    };
    let started = Started {
        stem: job.image.stem.clone(),
        pid: identity.pid,
    };
    let _ = queue
        .client
        .publish(started_subject(&job.batch), to_json(&started).into())
        .await;

    let result = keep_lease(&message, queue.lease, thumbnail(&job, identity, lane)).await;
    let (result, spans) = result.unwrap_or_else(|panic| (Err(panic), Vec::new()));

    let last_chance = delivery >= queue.lease.max_deliveries;
    match result {
        Err(error) if is_transient(&error) && !last_chance => {
            say(
                identity,
                format!("{lane}: {} will be retried: {error}", job.image.stem),
            );
            let _ = message.ack_with(AckKind::Nak(Some(RETRY_DELAY))).await;
        }
        result => {
            let finished = Finished {
                outcome: Outcome {
                    image: job.image.clone(),
                    result,
                },
                worker: identity.name.clone(),
                pid: identity.pid,
                delivery,
                spans,
                peak_rss_mb: peak_rss_mb(),
            };
            // The result is stored before the job is acknowledged: if this worker dies
            // between the two, the job runs again and its result comes twice (the
            // enqueuer keeps the first), but it is never lost.
            match publish_result(queue, &job.batch, &finished).await {
                Ok(()) => {
                    let _ = message.double_ack().await;
                }
                // No ack either: after the ack wait the job goes to a worker that can
                // reach the broker's results.
                Err(error) => eprintln!("{lane}: cannot publish the result: {error}"),
            }
        }
    }
}

/// Runs `work` on a blocking thread and, while it runs, tells the broker every third of
/// the ack wait that the job is still in progress, so that a long job is not handed to
/// another worker. Returns the work's result, or why it panicked.
async fn keep_lease<T: Send + 'static>(
    message: &Message,
    lease: Lease,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ImageError> {
    let running = tokio::task::spawn_blocking(work);
    // To write: while `running` runs, an "in progress" ack every third of the ack wait.
    let _ = (message, lease, AckKind::Progress);
    running
        .await
        .map_err(|e| ImageError::Panicked(e.to_string()))
}
