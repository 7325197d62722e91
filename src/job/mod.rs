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

use crate::contract::{
    DecodeLimits, HttpConfig, Image, ImageError, Outcome, OutputFormat, Sizes, Thumbnail,
    largest_first,
};
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
    /// Images whose decoded pixels would take more bytes than this are refused before
    /// decoding.
    #[serde(default = "default_max_decoded_bytes")]
    pub max_decoded_bytes: u64,
    /// The format thumbnails are written in (`--format`).
    #[serde(default)]
    pub format: OutputFormat,
}

impl JobSpec {
    /// What one image may cost the CPU step.
    pub fn decode_limits(&self) -> DecodeLimits {
        DecodeLimits {
            max_pixels: self.max_pixels,
            max_decoded_bytes: self.max_decoded_bytes,
            ..DecodeLimits::DEFAULT
        }
    }
}

/// The byte budget of a spec written before it had one.
pub fn default_max_decoded_bytes() -> u64 {
    DecodeLimits::DEFAULT.max_decoded_bytes
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
    /// Raised when the run is asked to stop (Ctrl-C, SIGTERM): no new image starts.
    stop: Arc<AtomicBool>,
    /// What happened to the run as a whole, for the summary (a worker start-up that had
    /// to change, threads that could not be started, ...).
    notes: std::sync::Mutex<Vec<String>>,
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
                stop: Arc::default(),
                notes: Default::default(),
            }),
        }
    }

    /// The images to process, in input order.
    pub fn images(&self) -> &[Image] {
        &self.inner.images
    }

    /// The images, biggest first where the source gave sizes ([`largest_first`]).
    pub fn images_largest_first(&self) -> Vec<&Image> {
        largest_first(&self.inner.images)
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
        let mut memory = lock_ignoring_poison(&self.inner.worker_memory);
        let peak = memory.entry(pid).or_insert(0.0);
        *peak = peak.max(peak_rss_mb);
    }

    /// The peak memory of every worker process, summed (0 with no worker processes).
    pub fn workers_peak_rss_mb(&self) -> f64 {
        let memory = lock_ignoring_poison(&self.inner.worker_memory);
        memory.values().sum()
    }

    /// The flag that stops the run: the driver raises it at the first Ctrl-C or SIGTERM.
    pub fn stop_flag(&self) -> &Arc<AtomicBool> {
        &self.inner.stop
    }

    /// Whether the run has been asked to stop. Every way into an image's first step
    /// checks it, so a stopped run starts no new image, whatever the chapter.
    pub fn stop_requested(&self) -> bool {
        self.inner.stop.load(Ordering::Relaxed)
    }

    /// Says `line` on stderr now (like [`say`](Self::say), but even with `--quiet`: it
    /// is news about the run, not narration) and keeps it for the summary.
    pub fn note(&self, line: impl Into<String>) {
        let line = line.into();
        self.inner.progress.suspend(|| eprintln!("{line}"));
        lock_ignoring_poison(&self.inner.notes).push(line);
    }

    /// Every line given to [`note`](Self::note), in order.
    pub fn notes(&self) -> Vec<String> {
        lock_ignoring_poison(&self.inner.notes).clone()
    }

    /// Step 1, IO-bound: fetch the image's bytes. Once the run is stopping, an image
    /// that has not started is cancelled here, before any byte is fetched.
    pub fn download(&self, image: &Image) -> Result<Vec<u8>, ImageError> {
        if self.stop_requested() {
            return Err(ImageError::Cancelled);
        }
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
                spec.decode_limits(),
                spec.format,
            )?)
        })
    }

    /// Step 3, IO-bound: store every thumbnail (a folder, or PUT to a server) and return
    /// their names. All or nothing: after a failure the rest are not tried, and those
    /// already stored are taken back (see [`Output::all_or_nothing`]).
    pub fn upload(&self, image: &Image, thumbs: &[Thumbnail]) -> Result<Vec<String>, ImageError> {
        self.tracer().record(image.label(), Phase::Upload, || {
            let mut stored = Vec::with_capacity(thumbs.len());
            for thumb in thumbs {
                let result = self.store(image, thumb);
                let failed = result.is_err();
                stored.push(result);
                if failed {
                    break;
                }
            }
            self.spec().output.all_or_nothing(stored)
        })
    }

    /// Step 3 for one thumbnail: store it and return its name. A pipeline uses it to
    /// upload the thumbnails of one image at the same time, and hands what became of
    /// each to [`Output::all_or_nothing`] once all are done.
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

/// Locks `mutex`, even if a thread panicked while holding it: the data kept here (figures,
/// lines of text) is whole after any panic.
fn lock_ignoring_poison<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
