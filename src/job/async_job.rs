//! The job's IO steps for async code: [`AsyncJob`], whose `download` and `upload` can be
//! awaited and record the same spans as [`Job::download`] and [`Job::upload`].

use std::future::Future;
use std::time::Duration;

use super::Job;
use crate::contract::{Image, ImageError, Outcome, Thumbnail};
use crate::io::{AsyncHttpClient, Output};
use crate::trace::{Phase, Span, now_us};

/// A [`Job`] whose IO steps are async. `thumbnail` stays a plain function: it is CPU
/// work, and the chapter decides where it runs.
///
/// Spans of `download` and `upload` are recorded under the lane `task-{stem}`: a task
/// may move between the runtime's threads while it waits, so the task, not the thread,
/// is what did the work.
#[derive(Clone)]
pub struct AsyncJob {
    job: Job,
    client: AsyncHttpClient,
}

impl AsyncJob {
    /// Wraps `job`, with an async client configured like the job's. Must be called
    /// inside a tokio runtime.
    pub fn new(job: &Job) -> AsyncJob {
        AsyncJob {
            client: AsyncHttpClient::new(&job.spec().http),
            job: job.clone(),
        }
    }

    /// The wrapped job (images, spec, tracer, `thumbnail`, `finish`).
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// Step 1, awaited: the image's bytes (a file is read on tokio's blocking pool). A
    /// stopping run cancels the image here, as [`Job::download`] does.
    pub async fn download(&self, image: &Image) -> Result<Vec<u8>, ImageError> {
        if self.job.stop_requested() {
            return Err(ImageError::Cancelled);
        }
        let wait = |pause| self.retry_wait(image, pause);
        let bytes = self.client.fetch_waiting(&image.location, wait);
        self.traced(image, Phase::Download, bytes).await
    }

    /// Step 3, awaited: stores every thumbnail (PUT, or an atomic write to a folder on
    /// tokio's blocking pool) and returns their names; all or nothing, as
    /// [`Job::upload`].
    pub async fn upload(
        &self,
        image: &Image,
        thumbs: Vec<Thumbnail>,
    ) -> Result<Vec<String>, ImageError> {
        self.traced(image, Phase::Upload, async {
            let output = &self.job.spec().output;
            let mut stored = Vec::with_capacity(thumbs.len());
            for thumb in thumbs {
                let result = self.store(output, image, thumb).await;
                let failed = result.is_err();
                stored.push(result);
                if failed {
                    break;
                }
            }
            output.all_or_nothing(stored)
        })
        .await
    }

    /// Stores one thumbnail where `output` says, and returns its name.
    async fn store(
        &self,
        output: &Output,
        image: &Image,
        thumb: Thumbnail,
    ) -> Result<String, ImageError> {
        let name = thumb.name(&image.stem);
        let destination = output.destination(&name, thumb.format)?;
        let wait = |pause| self.retry_wait(image, pause);
        self.client
            .store_waiting(destination, thumb.bytes, wait)
            .await?;
        Ok(name)
    }

    /// Records that an image is done and returns its outcome (see [`Job::finish`]).
    pub fn finish(&self, image: &Image, result: Result<Vec<String>, ImageError>) -> Outcome {
        self.job.finish(image, result)
    }

    /// Waits `pause` before a failed request is tried again, as a `retry_wait` span (the
    /// summary counts these spans as its retries).
    pub async fn retry_wait(&self, image: &Image, pause: Duration) {
        self.traced(image, Phase::RetryWait, tokio::time::sleep(pause))
            .await;
    }

    /// Awaits `work`, recording it as a span of `phase` in the image's task lane.
    async fn traced<T>(&self, image: &Image, phase: Phase, work: impl Future<Output = T>) -> T {
        let start_us = now_us();
        let result = work.await;
        self.job.tracer().push(Span {
            worker: format!("task-{}", image.label()),
            image: image.label().to_string(),
            phase,
            start_us,
            end_us: now_us(),
        });
        result
    }
}
