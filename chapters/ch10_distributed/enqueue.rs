//! The enqueue role: publish one job per image, then collect one result per image.
//!
//! Two things make it safe to repeat. Each job is published with the image's key as its
//! message id, so the broker drops a second copy of a job it already holds (enqueueing
//! twice is harmless). And results are kept by image: a job that ran twice (its first
//! worker died after storing the thumbnails but before its ack) answers twice, and the
//! second answer is counted, not added: its thumbnails were the same bytes under the
//! same names, so the second upload changed nothing.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use async_nats::jetstream::message::PublishMessage;
use futures_util::StreamExt;
use serde::Deserialize;
use workbench::contract::{Image, ImageError, Outcome};
use workbench::job::Job;

use crate::queue::{
    Finished, JOBS_SUBJECT, JobMessage, Queue, RESULTS, Started, gave_up_subject, results_subject,
    started_subject,
};

/// What the enqueuer learnt about redeliveries, for the closing report.
#[derive(Debug, Default)]
pub struct Deliveries {
    /// Images whose kept result came from a second (or later) delivery: stem, delivery,
    /// worker.
    pub redelivered: Vec<(String, i64, String)>,
    /// Results that came after the image already had one (ignored).
    pub repeated: usize,
}

/// What the broker says when it gives up on a job (a delivery-limit advisory).
#[derive(Debug, Deserialize)]
struct GaveUp {
    stream_seq: u64,
    deliveries: u64,
}

// ANCHOR: enqueue
/// Publishes every image of `job` as a job and waits until each one has a result (or the
/// broker gave up on it, or Ctrl-C). Each time a worker takes a job, `taken` hears who
/// took which, and how many results are in (the local run uses it to kill a worker
/// mid-batch, one that has just taken a job and so surely holds it).
pub async fn enqueue_and_collect(
    job: &Job,
    queue: &Queue,
    mut taken: impl FnMut(usize, &Started),
) -> Result<(Vec<Outcome>, Deliveries), String> {
    let batch = batch_id(job);
    // Listen before publishing, so that no answer can come before we listen.
    let results = queue
        .jetstream
        .get_stream(RESULTS)
        .await
        .map_err(|e| e.to_string())?
        .create_consumer(OrderedConfig {
            filter_subject: results_subject(&batch),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut results = results.messages().await.map_err(|e| e.to_string())?;
    let mut started =
        (queue.client.subscribe(started_subject(&batch)).await).map_err(|e| e.to_string())?;
    let mut gave_up =
        (queue.client.subscribe(gave_up_subject()).await).map_err(|e| e.to_string())?;

    let by_sequence = publish_jobs(job, queue, &batch).await?;

    let images: HashMap<&str, &Image> = job.images().iter().map(|i| (i.stem.as_str(), i)).collect();
    let mut outcomes: HashMap<String, Outcome> = HashMap::new();
    let mut deliveries = Deliveries::default();
    let stop = stop_requested(job);
    tokio::pin!(stop);
    while outcomes.len() < images.len() {
        tokio::select! {
            Some(Ok(message)) = results.next() => {
                let Ok(finished) = serde_json::from_slice::<Finished>(&message.payload) else {
                    continue;
                };
                let Some(image) = images.get(finished.outcome.image.stem.as_str()) else {
                    continue;
                };
                if outcomes.contains_key(&image.stem) {
                    deliveries.repeated += 1; // done twice: the first answer stands
                    continue;
                }
                keep(job, image, finished, &mut deliveries, &mut outcomes);
            }
            Some(notice) = started.next() => {
                if let Ok(notice) = serde_json::from_slice::<Started>(&notice.payload)
                    && !outcomes.contains_key(&notice.stem)
                {
                    taken(outcomes.len(), &notice);
                }
            }
            Some(advisory) = gave_up.next() => {
                let Ok(advisory) = serde_json::from_slice::<GaveUp>(&advisory.payload) else {
                    continue;
                };
                if let Some(image) = by_sequence.get(&advisory.stream_seq)
                    && !outcomes.contains_key(&image.stem)
                {
                    let why = format!(
                        "given up after {} deliveries: every worker that took it stopped \
                         answering",
                        advisory.deliveries
                    );
                    outcomes.insert(image.stem.clone(), job.finish(image, Err(ImageError::Io(why))));
                }
            }
            () = &mut stop => break,
        }
    }
    // Images with no result (Ctrl-C, SIGTERM) are cancelled; the driver names them.
    for image in job.images() {
        if !outcomes.contains_key(&image.stem) {
            outcomes.insert(
                image.stem.clone(),
                job.finish(image, Err(ImageError::Cancelled)),
            );
        }
    }
    Ok((outcomes.into_values().collect(), deliveries))
}
// ANCHOR_END: enqueue

/// Resolves once the run is asked to stop: the driver raises the job's stop flag at
/// Ctrl-C or SIGTERM. A flag has nothing to await, so it is looked at every 50 ms.
async fn stop_requested(job: &Job) {
    while !job.stop_requested() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

// ANCHOR: publish
/// Publishes one job per image, each with its key as the message id, and waits for the
/// broker to store them. Returns which stream sequence holds which image.
async fn publish_jobs<'a>(
    job: &'a Job,
    queue: &Queue,
    batch: &str,
) -> Result<HashMap<u64, &'a Image>, String> {
    let spec = job.spec();
    let mut pending = Vec::new();
    for image in job.images() {
        let message = JobMessage {
            batch: batch.to_string(),
            image: image.clone(),
            sizes: spec.sizes.clone(),
            out: spec.output.to_string(),
            http: spec.http,
            max_pixels: spec.max_pixels,
            max_decoded_bytes: spec.max_decoded_bytes,
            format: spec.format,
        };
        let payload = serde_json::to_vec(&message).map_err(|e| e.to_string())?;
        let publish = PublishMessage::build()
            .payload(payload.into())
            .message_id(format!("{batch}.{}", image.stem));
        let stored = queue
            .jetstream
            .send_publish(JOBS_SUBJECT, publish)
            .await
            .map_err(|e| format!("cannot publish the job of {}: {e}", image.source))?;
        pending.push((image, stored));
    }
    let mut by_sequence = HashMap::new();
    for (image, stored) in pending {
        let ack = stored
            .await
            .map_err(|e| format!("the broker did not store the job of {}: {e}", image.source))?;
        by_sequence.insert(ack.sequence, image);
    }
    Ok(by_sequence)
}
// ANCHOR_END: publish

/// Records an image's result: its spans go on the run's timeline (a later delivery's
/// spans are labelled with its number), its outcome is the image's.
fn keep(
    job: &Job,
    image: &Image,
    finished: Finished,
    deliveries: &mut Deliveries,
    outcomes: &mut HashMap<String, Outcome>,
) {
    for mut span in finished.spans {
        if finished.delivery > 1 {
            span.image = format!("{} (delivery {})", span.image, finished.delivery);
        }
        job.tracer().push(span);
    }
    job.note_worker_memory(finished.pid, finished.peak_rss_mb);
    if finished.delivery > 1 {
        let worker = format!("{} (pid {})", finished.worker, finished.pid);
        (deliveries.redelivered).push((image.stem.clone(), finished.delivery, worker));
    }
    let outcome = job.finish(image, finished.outcome.result);
    outcomes.insert(image.stem.clone(), outcome);
}

/// The batch's name: the same images, sizes and output always make the same name, so a
/// second enqueue of the same batch finds the first one's jobs and results.
fn batch_id(job: &Job) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let spec = job.spec();
    (spec.sizes.to_string(), spec.output.to_string()).hash(&mut hasher);
    for image in job.images() {
        (&image.source, &image.stem).hash(&mut hasher);
    }
    format!("{:016x}", hasher.finish())
}
