//! The contract every chapter fulfils: which images, which sizes, what the thumbnails
//! are called, what one image's outcome is, and the summary of a run.
//!
//! A chapter receives a [`Job`] and decides only *when* and *on which worker* each of its
//! three steps runs: [`Job::download`] (IO), [`Job::thumbnail`] (CPU), [`Job::upload`]
//! (IO). [`Job::process`] runs all three in a row, which is what most chapters hand to
//! their workers. Every step records a span in the job's [`Tracer`], so the timeline and
//! the figures in the summary come from the same measurements.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::kernel::{self, Thumbnail};
use crate::store::{HttpClient, HttpConfig, Output};
use crate::trace::{Phase, Tracer};

/// The widths to make, in pixels, as given on the command line (`32,64,200`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sizes(Vec<u32>);

impl Sizes {
    /// The sizes in the order given, without repeats.
    pub fn new(widths: impl IntoIterator<Item = u32>) -> Result<Sizes, String> {
        let mut seen = HashSet::new();
        let widths: Vec<u32> = widths.into_iter().filter(|w| seen.insert(*w)).collect();
        if widths.is_empty() {
            return Err("at least one width is needed".into());
        }
        if widths.contains(&0) {
            return Err("a width of 0 pixels makes no thumbnail".into());
        }
        Ok(Sizes(widths))
    }

    /// The requested widths.
    pub fn widths(&self) -> &[u32] {
        &self.0
    }
}

impl Default for Sizes {
    fn default() -> Self {
        Sizes(vec![32, 64, 200])
    }
}

impl FromStr for Sizes {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let widths = text
            .split(',')
            .map(|part| {
                let part = part.trim();
                part.parse::<u32>()
                    .map_err(|_| format!("'{part}' is not a width in pixels"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Sizes::new(widths)
    }
}

impl fmt::Display for Sizes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

/// Where an image's bytes are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Location {
    /// A file on this machine.
    File(PathBuf),
    /// An object behind an HTTP URL.
    Url(String),
}

/// One image of the batch, with the unique stem its thumbnails are named after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// Where the bytes are.
    pub location: Location,
    /// The source as a person would name it (a path or a URL): every error names it.
    pub source: String,
    /// The stem of the thumbnails' names, unique in the batch: `cat` makes `cat_32.jpg`.
    pub stem: String,
}

impl Image {
    /// The short name used in traces and timelines (the stem).
    pub fn label(&self) -> &str {
        &self.stem
    }
}

/// The name of one thumbnail: `{stem}_{width}.{ext}`, where `width` is the requested width
/// (an image narrower than that is not upscaled, but keeps the name, so a batch always
/// makes the same set of names).
pub fn thumbnail_name(stem: &str, width: u32, extension: &str) -> String {
    format!("{stem}_{width}.{extension}")
}

/// Turns the file names of a batch, in order, into unique stems, or the reason a name is
/// refused. `photos/cat.jpg` and `backup/cat.jpg` become `cat` and `cat-2`: two sources
/// with the same name never overwrite each other's thumbnails.
///
/// A name is refused when it could write outside the output: a path separator (after
/// percent-decoding, which the caller does), `.` or `..`, a leading dot (hidden files,
/// and the output's own temporary files), or a control character.
pub fn assign_stems<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<Result<String, String>> {
    let mut taken = HashSet::new();
    names
        .into_iter()
        .map(|name| {
            let stem = safe_stem(name)?;
            let mut unique = stem.clone();
            let mut n = 2;
            while !taken.insert(unique.clone()) {
                unique = format!("{stem}-{n}");
                n += 1;
            }
            Ok(unique)
        })
        .collect()
}

/// The stem of a file name (`cat.jpg` gives `cat`), or why the name is unsafe.
fn safe_stem(name: &str) -> Result<String, String> {
    if name.contains(['/', '\\']) {
        return Err(format!(
            "unsafe name '{name}': it contains a path separator"
        ));
    }
    if name.starts_with('.') {
        return Err(format!(
            "unsafe name '{name}': a name starting with '.' is hidden or leaves the folder"
        ));
    }
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(format!(
            "unsafe name {name:?}: empty or has control characters"
        ));
    }
    let stem = match name.rsplit_once('.') {
        Some((stem, _extension)) => stem,
        None => name,
    };
    Ok(stem.to_string())
}

/// Why one image failed. Every message names the cause; the summary pairs it with the
/// image's source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ImageError {
    /// The server answered with an error status.
    #[error("HTTP {status} from {url}")]
    Status { status: u16, url: String },
    /// No answer in time.
    #[error("timed out after {millis} ms ({during})")]
    Timeout { millis: u64, during: String },
    /// The server could not be reached.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The body is larger than the configured limit.
    #[error("too large: more than {limit} bytes")]
    TooLarge { limit: u64 },
    /// The bytes are not an image this workbench reads (JPEG or PNG).
    #[error("not an image: {0}")]
    NotAnImage(String),
    /// The header declares more pixels than the budget: refused before decoding.
    #[error("too many pixels: {width}x{height} is over the budget of {budget} pixels")]
    TooManyPixels {
        width: u64,
        height: u64,
        budget: u64,
    },
    /// The image is damaged or truncated.
    #[error("corrupt image: {0}")]
    Corrupt(String),
    /// The name would write outside the output.
    #[error("{0}")]
    UnsafeName(String),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(String),
    /// The worker handling the image panicked (chapters that catch panics report this).
    #[error("worker panicked: {0}")]
    Panicked(String),
    /// The run was stopped (Ctrl-C) before this image was done.
    #[error("cancelled: the run was stopped before this image was done")]
    Cancelled,
    /// The chapter returned no outcome for this image: a bug in the chapter.
    #[error("no outcome: the chapter never reported this image")]
    Lost,
}

impl From<kernel::KernelError> for ImageError {
    fn from(error: kernel::KernelError) -> Self {
        use kernel::KernelError as K;
        match error {
            K::NotAnImage(why) => ImageError::NotAnImage(why),
            K::TooManyPixels {
                width,
                height,
                budget,
            } => ImageError::TooManyPixels {
                width,
                height,
                budget,
            },
            K::Corrupt(why) => ImageError::Corrupt(why),
        }
    }
}

/// What became of one image: the names of its thumbnails, or one error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The image, as listed.
    pub image: Image,
    /// The thumbnails' names, or why there are none.
    pub result: Result<Vec<String>, ImageError>,
}

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
}

/// Whether [`Job::say`] is silenced (`--quiet`), for the whole process.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Silences (or not) every [`Job::say`] of this process.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
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
            self.inner.client.fetch(&image.location)
        })
    }

    /// Step 2, CPU-bound: decode, resize to every width, encode.
    pub fn thumbnail(&self, image: &Image, bytes: &[u8]) -> Result<Vec<Thumbnail>, ImageError> {
        self.tracer().record(image.label(), Phase::Resize, || {
            let spec = &self.inner.spec;
            Ok(kernel::thumbnails(bytes, &spec.sizes, spec.max_pixels)?)
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

    fn store(&self, image: &Image, thumb: &Thumbnail) -> Result<String, ImageError> {
        let name = thumbnail_name(&image.stem, thumb.requested_width, thumb.format.extension());
        self.inner.spec.output.write(
            &self.inner.client,
            &name,
            &thumb.bytes,
            thumb.format.mime(),
        )?;
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
        if !QUIET.load(std::sync::atomic::Ordering::Relaxed) {
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

/// One failed image in the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The image's source (path or URL).
    pub source: String,
    /// The cause.
    pub error: String,
}

/// The summary of a run: printed for people, or as one JSON line with `--json`.
/// The field names are stable: scripts and the report read them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The chapter that ran.
    pub chapter: String,
    /// Images in the batch.
    pub images: usize,
    /// Thumbnails written.
    pub thumbnails: usize,
    /// Every image that failed, with its cause.
    pub failed: Vec<Failure>,
    /// Wall-clock time of the whole batch.
    pub wall_s: f64,
    /// Time spent in downloads, summed over all workers.
    pub download_s: f64,
    /// Time spent resizing, summed over all workers.
    pub resize_s: f64,
    /// Time spent storing thumbnails, summed over all workers.
    pub upload_s: f64,
    /// Work time over wall time: 1 means one thing at a time, 8 means eight at once.
    pub overlap: f64,
    /// Peak resident memory of the process (and of its worker processes), in MiB.
    pub peak_rss_mb: f64,
}

impl Summary {
    /// Images per second of wall time.
    pub fn images_per_second(&self) -> f64 {
        if self.wall_s > 0.0 {
            self.images as f64 / self.wall_s
        } else {
            0.0
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} images, {} thumbnails, {} failed in {:.2} s ({:.1} images/s)",
            self.chapter,
            self.images,
            self.thumbnails,
            self.failed.len(),
            self.wall_s,
            self.images_per_second()
        )?;
        writeln!(
            f,
            "  time in download {:.2} s, resize {:.2} s, upload {:.2} s; overlap {:.2}; peak memory {:.0} MiB",
            self.download_s, self.resize_s, self.upload_s, self.overlap, self.peak_rss_mb
        )?;
        for failure in &self.failed {
            writeln!(f, "  failed: {}: {}", failure.source, failure.error)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_keep_order_without_repeats() {
        let sizes: Sizes = "200, 32,64,32".parse().unwrap();
        assert_eq!(sizes.widths(), &[200, 32, 64]);
        assert_eq!(sizes.to_string(), "200,32,64");
        assert!("".parse::<Sizes>().is_err());
        assert!("0".parse::<Sizes>().is_err());
        assert!("32,abc".parse::<Sizes>().is_err());
        assert_eq!(Sizes::default().widths(), &[32, 64, 200]);
    }

    #[test]
    fn thumbnails_are_named_stem_width_extension() {
        assert_eq!(thumbnail_name("cat", 64, "jpg"), "cat_64.jpg");
    }

    #[test]
    fn colliding_names_get_distinct_stems() {
        let stems = assign_stems(["cat.jpg", "cat.jpg", "cat.png", "cat-2.jpg", "dog.jpeg"]);
        let stems: Vec<String> = stems.into_iter().map(Result::unwrap).collect();
        assert_eq!(stems, ["cat", "cat-2", "cat-3", "cat-2-2", "dog"]);
    }

    #[test]
    fn names_that_leave_the_folder_are_refused() {
        for name in [
            "../x.jpg",
            "/etc/passwd",
            "a\\b.jpg",
            "..",
            ".",
            ".hidden.jpg",
            "",
        ] {
            let result = assign_stems([name]).remove(0);
            assert!(result.is_err(), "{name:?} was accepted");
        }
        assert_eq!(
            assign_stems(["no-extension"]).remove(0).unwrap(),
            "no-extension"
        );
    }
}
