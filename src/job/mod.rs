//! The job a chapter schedules: its images, and the three steps for each.
//!
//! A chapter receives a [`Job`] and decides only *when* and *on which worker* each of its
//! three steps runs: [`Job::download`] (IO), [`Job::thumbnail`] (CPU), [`Job::upload`]
//! (IO). [`Job::process`] runs all three in a row, which is what most chapters hand to
//! their workers. Every step records a span in the job's [`Tracer`], so the timeline and
//! the figures in the summary come from the same measurements.
//!
//! - [`AsyncJob`]: the same job with `download` and `upload` to await (tokio).
//! - [`ThumbnailTask`]: a share of the batch as plain data, for a thread or a process.

mod async_job;
mod task;

pub use async_job::AsyncJob;
pub use task::{TaskReport, ThumbnailTask};

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::contract::{HttpConfig, Image, ImageError, Outcome, OutputFormat, Sizes, Thumbnail};
use crate::io::{HttpClient, Output};
use crate::kernel;
use crate::trace::{Phase, Tracer};

/// Everything a worker needs to process images, as plain data: it can be cloned into a
/// thread, or serialised and sent to another process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobSpec {
    /// The widths to make.
    pub sizes: Sizes,
    /// Where the thumbnails go.
    pub output: Output,
    /// Timeouts and body limit of HTTP transfers.
    pub http: HttpConfig,
    /// Images whose header declares more pixels than this are refused before decoding.
    pub max_pixels: u64,
    /// The format thumbnails are written in (`--format`).
    #[serde(default)]
    pub format: OutputFormat,
}

/// Whether [`Job::say`] is silenced (`--quiet`), for the whole process.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Silences (or not) every [`Job::say`] of this process.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// The job a chapter schedules: the images and the three steps for each.
///
/// Cloning a `Job` is cheap (it is an `Arc`), so every thread can own a handle.
#[derive(Clone)]
pub struct Job {
    inner: Arc<JobInner>,
}

struct JobInner {
    spec: JobSpec,
    images: Vec<Image>,
    client: HttpClient,
    tracer: Tracer,
    progress: indicatif::ProgressBar,
    /// Peak memory of each worker process (by pid), in MiB, as the workers report it.
    worker_memory: std::sync::Mutex<std::collections::BTreeMap<u32, f64>>,
}

impl Job {
    /// A job over `images` (already given unique stems). The progress bar is hidden unless
    /// the caller passes a visible one.
    pub fn new(spec: JobSpec, images: Vec<Image>, progress: indicatif::ProgressBar) -> Job {
        let client = HttpClient::new(&spec.http);
        Job {
            inner: Arc::new(JobInner {
                spec,
                images,
                client,
                tracer: Tracer::new(),
                progress,
                worker_memory: Default::default(),
            }),
        }
    }

    /// The images to process, in input order.
    pub fn images(&self) -> &[Image] {
        &self.inner.images
    }

    /// The job as data (for chapters that send work to other processes).
    pub fn spec(&self) -> &JobSpec {
        &self.inner.spec
    }

    /// The spans recorded so far.
    pub fn tracer(&self) -> &Tracer {
        &self.inner.tracer
    }

    /// Records the peak memory a worker process reported (chapters with worker processes
    /// call it with each reply; the largest report of each pid counts).
    pub fn note_worker_memory(&self, pid: u32, peak_rss_mb: f64) {
        let mut memory = self
            .inner
            .worker_memory
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let peak = memory.entry(pid).or_insert(0.0);
        *peak = peak.max(peak_rss_mb);
    }

    /// The peak memory of every worker process, summed (0 with no worker processes).
    pub fn workers_peak_rss_mb(&self) -> f64 {
        let memory = self
            .inner
            .worker_memory
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        memory.values().sum()
    }

    /// Step 1, IO-bound: fetch the image's bytes.
    pub fn download(&self, image: &Image) -> Result<Vec<u8>, ImageError> {
        self.tracer().record(image.label(), Phase::Download, || {
            let wait = |pause| self.retry_wait(image, pause);
            self.inner.client.fetch_waiting(&image.location, wait)
        })
    }

    /// Waits `pause` before a failed request is tried again, as a `retry_wait` span of
    /// the image: the summary counts these spans as its retries.
    fn retry_wait(&self, image: &Image, pause: Duration) {
        self.tracer().record(image.label(), Phase::RetryWait, || {
            std::thread::sleep(pause)
        });
    }

    /// Step 2, CPU-bound: decode, resize to every width, encode.
    pub fn thumbnail(&self, image: &Image, bytes: &[u8]) -> Result<Vec<Thumbnail>, ImageError> {
        self.tracer().record(image.label(), Phase::Resize, || {
            let spec = &self.inner.spec;
            Ok(kernel::thumbnails_as(
                bytes,
                &spec.sizes,
                spec.max_pixels,
                spec.format,
            )?)
        })
    }

    /// Step 3, IO-bound: store every thumbnail (a folder, or PUT to a server) and return
    /// their names.
    pub fn upload(&self, image: &Image, thumbs: &[Thumbnail]) -> Result<Vec<String>, ImageError> {
        self.tracer().record(image.label(), Phase::Upload, || {
            thumbs
                .iter()
                .map(|thumb| self.store(image, thumb))
                .collect()
        })
    }

    /// Step 3 for one thumbnail: store it and return its name. A pipeline uses it to
    /// upload the thumbnails of one image at the same time.
    pub fn upload_one(&self, image: &Image, thumb: &Thumbnail) -> Result<String, ImageError> {
        self.tracer()
            .record(image.label(), Phase::Upload, || self.store(image, thumb))
    }

    /// Stores one thumbnail where the output says, and returns its name.
    fn store(&self, image: &Image, thumb: &Thumbnail) -> Result<String, ImageError> {
        let name = thumb.name(&image.stem);
        let destination = self.inner.spec.output.destination(&name, thumb.format)?;
        let wait = |pause| self.retry_wait(image, pause);
        let client = &self.inner.client;
        client.store_waiting(&destination, &thumb.bytes, wait)?;
        Ok(name)
    }

    // ANCHOR: process
    /// All three steps for one image, one after the other, and its outcome.
    pub fn process(&self, image: &Image) -> Outcome {
        let result = self
            .download(image)
            .and_then(|bytes| self.thumbnail(image, &bytes))
            .and_then(|thumbs| self.upload(image, &thumbs));
        self.finish(image, result)
    }
    // ANCHOR_END: process

    /// Prints a line for the reader on stderr, above the progress bar if one is drawn:
    /// chapters use it to narrate what their threads do (stdout is kept for the summary).
    /// Silent after [`set_quiet`]`(true)` (the driver calls it for `--quiet`).
    pub fn say(&self, line: impl fmt::Display) {
        if !QUIET.load(Ordering::Relaxed) {
            self.inner.progress.suspend(|| eprintln!("{line}"));
        }
    }

    /// Records that an image is done (the progress bar moves) and returns its outcome.
    pub fn finish(&self, image: &Image, result: Result<Vec<String>, ImageError>) -> Outcome {
        self.inner.progress.inc(1);
        Outcome {
            image: image.clone(),
            result,
        }
    }
}
