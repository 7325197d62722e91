//! A worker's answer to the broker, for each job it pulls: the lesson of this chapter in
//! four words. **Ack** when the job is done (its result is published first), **nak**
//! with a delay when it failed for a reason that may pass (a 503, a timeout), **in
//! progress** every third of the ack wait while a long job runs, and nothing at all if
//! the worker dies: the broker redelivers after the ack wait. (The slots that pull the
//! jobs are in `worker.rs`; the job's steps and how a result is published, in
//! `job_work.rs`.)

use async_nats::jetstream::AckKind;
use async_nats::jetstream::Message;
use workbench::contract::{ImageError, Outcome};
use workbench::platform::peak_rss_mb;

use crate::job_work::{
    Identity, RETRY_DELAY, is_transient, publish_result, say, thumbnail, to_json,
};
use crate::queue::{Finished, JobMessage, Lease, Queue, Started, started_subject};

// ANCHOR: handle
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
// ANCHOR_END: handle

// ANCHOR: lease
/// Runs `work` on a blocking thread and, while it runs, tells the broker every third of
/// the ack wait that the job is still in progress, so that a long job is not handed to
/// another worker. Returns the work's result, or why it panicked.
pub(crate) async fn keep_lease<T: Send + 'static>(
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
// ANCHOR_END: lease
