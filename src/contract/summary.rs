//! What became of each image, and the summary of a run.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Image, ImageError};

/// What became of one image: the names of its thumbnails, or one error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The image, as listed.
    pub image: Image,
    /// The thumbnails' names, or why there are none.
    pub result: Result<Vec<String>, ImageError>,
}

/// One failed image in the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The image's source (path or URL).
    pub source: String,
    /// The cause.
    pub error: String,
}

/// One file a listing did not take as an image, and why (the summary names every one,
/// so that no file is left out in silence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The file's source (path or URL).
    pub source: String,
    /// Why it is not an image of the batch.
    pub reason: String,
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
    /// Files the source listed that are not images of the batch, with the reason.
    #[serde(default)]
    pub skipped: Vec<Skipped>,
    /// Requests tried again after a failure that may pass (a refused connection, a 503):
    /// the `retry_wait` spans of the trace.
    #[serde(default)]
    pub retries: usize,
    /// Images cancelled because the run was stopped before they started (they are among
    /// `failed` too, with the error `cancelled`). Like the two fields below, it is left
    /// out of the JSON when there is nothing to say, so an ordinary run's line is as
    /// before.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cancelled: usize,
    /// The signal that stopped the run (`SIGINT`, `SIGTERM`), if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<String>,
    /// What happened to the run as a whole: a worker start-up that had to change,
    /// threads that could not be started.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Whether a count is zero (for `skip_serializing_if`, which takes a reference).
fn is_zero(count: &usize) -> bool {
    *count == 0
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
        if self.retries > 0 {
            writeln!(f, "  {} requests tried again", self.retries)?;
        }
        for failure in &self.failed {
            writeln!(f, "  failed: {}: {}", failure.source, failure.error)?;
        }
        for skipped in &self.skipped {
            writeln!(f, "  skipped: {}: {}", skipped.source, skipped.reason)?;
        }
        for note in &self.notes {
            writeln!(f, "  note: {note}")?;
        }
        if let Some(signal) = &self.stopped_by {
            writeln!(
                f,
                "  stopped by {signal}: {} images cancelled before they started",
                self.cancelled
            )?;
        }
        Ok(())
    }
}
