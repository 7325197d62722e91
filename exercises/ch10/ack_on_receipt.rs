//! # Exercise `ex10-ack-on-receipt` (chapter 10, open)
//!
//! **Do.** The check runs chapter 10's whole cluster on this machine with
//! `--workers 2 --slots 1 --ack-wait 1s --kill-one-worker-after 2`: once two results are
//! in, the next worker that takes a job is killed with SIGKILL. As written, the run never
//! ends: the killed worker's job is never done. Find why in `handle`, and fix it so that
//! the broker hands that job to the surviving worker.
//!
//! **Concept.** At-least-once delivery: a job is acknowledged only once its result is
//! safe. Acknowledge too early and a worker that dies takes the job with it
//! (at-most-once); acknowledge after publishing the result and the broker redelivers
//! it after the ack wait, at the price of a job that may run twice.
//!
//! **Python counterpart.** Celery acks a task when a worker *receives* it, by default;
//! `acks_late=True` (with `task_reject_on_worker_lost=True`) acks after the task ran.
//!
//! **Check it.** `cargo run -- exercises check ex10-ack-on-receipt`: the run ends with
//! exit 0 (it is stopped after 30 s otherwise), every image is done with identical
//! thumbnails, and the trace shows a job done on its second delivery, `(delivery 2)`.

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
    // The job is ours: say so at once, so that the broker does not wait for us.
    let _ = message.double_ack().await;
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
            // The job was acknowledged when it arrived: only the result is left to send.
            if let Err(error) = publish_result(queue, &job.batch, &finished).await {
                eprintln!("{lane}: cannot publish the result: {error}");
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
    tokio::pin!(running);
    let mut beat = tokio::time::interval(lease.ack_wait / 3);
    beat.tick().await; // the first tick is immediate
    loop {
        tokio::select! {
            done = &mut running => return done.map_err(|e| ImageError::Panicked(e.to_string())),
            _ = beat.tick() => {
                let _ = message.ack_with(AckKind::Progress).await;
            }
        }
    }
}
