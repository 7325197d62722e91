//! The floor: the least wall time any pattern could take for a workload on this machine,
//! computed from measured inputs, so that each chapter's time reads as a distance to it.
//!
//! An image goes through up to three steps: a download (one round trip to the store), the
//! CPU step (decode, resize, encode), and an upload of its thumbnails (one more round
//! trip; the thumbnails of an image go up in parallel, so one round trip for all). The
//! best a pattern can do is to overlap everything that can overlap:
//!
//! ```text
//! floor = start-up + round trips x latency + images x cpu step / cores
//! ```
//!
//! - **start-up**: the process has to start before anything happens.
//! - **round trips x latency**: no download can begin before the listing has named the
//!   images (one latency), no resize before the first download has arrived (one more),
//!   and the last upload ends one latency after the last resize. The downloads and
//!   uploads of all the other images can hide under the resizes, so only these are
//!   paid in full. `cpu` reads and writes files (no round trip), `io` lists and
//!   downloads from the store and writes files (two), `mixed` lists, downloads and
//!   uploads (three).
//! - **images x cpu step / cores**: the CPU step cannot be overlapped with itself beyond
//!   the number of cores, and every image needs it once. The step is the corpus's average
//!   image: its JPEGs and its PNGs each at their own price (a PNG is read whole, several
//!   times the work of a JPEG read at 1/8 of its size), in their proportion.
//!
//! The floor is a lower bound, not a prediction: it leaves out the file system, the
//! copies, the workers' own start-up. A chapter at 1.2x its floor has little left to win
//! by a better pattern; one at 4x has a lot. The larger of the two terms says which
//! resource sets the floor: the cores (add cores, or make the CPU step cheaper) or the
//! store's latency (nothing the client does removes a round trip it needs).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::bench::Bench;
use crate::contract::Sizes;
use crate::harness::corpus::{self, CorpusSpec};
use crate::harness::workload::Workload;
use crate::kernel::{DEFAULT_MAX_PIXELS, thumbnails};

/// The kernel benchmark that measures the CPU step on one full-size photo.
pub const KERNEL_BENCH: &str = "kernel/jpeg_1920x1280_to_32_64_200";
/// The kernel benchmark that measures the CPU step on one full-size PNG.
pub const KERNEL_PNG_BENCH: &str = "kernel/png_1920x1280_to_32_64_200";
/// Images of each format the report times itself when the kernel bench has no result.
const IMAGES_TIMED: usize = 3;
/// Process starts timed; the fastest is kept, since the floor is the least it can be.
const STARTS_TIMED: usize = 5;

/// Where the CPU step's time per image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuSource {
    /// Criterion's median from `cargo bench --bench kernel`.
    KernelBench,
    /// Timed by the report itself, on a few images of the corpus, one thread.
    Timed,
}

impl CpuSource {
    /// How the report says it.
    pub fn describe(self) -> String {
        match self {
            CpuSource::KernelBench => {
                format!("the kernel bench ({KERNEL_BENCH} and {KERNEL_PNG_BENCH})")
            }
            CpuSource::Timed => format!(
                "timed by the report on {IMAGES_TIMED} JPEGs and {IMAGES_TIMED} PNGs, one \
                 thread (run `cargo bench --bench kernel` for criterion's figures)"
            ),
        }
    }
}

/// The measured figures the floor is computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inputs {
    /// The CPU step of the average full-size image (`cpu`, `mixed`) on one core, in
    /// seconds: the photo corpus's JPEGs and PNGs, each at its price, in their proportion.
    pub photo_cpu_s: f64,
    /// Where that figure came from.
    pub photo_source: CpuSource,
    /// The CPU step of the average small image (`io`) on one core, in seconds (always
    /// timed).
    pub small_cpu_s: f64,
    /// The cores that can run CPU steps at once.
    pub cores: usize,
    /// The store's latency before its first byte, per request.
    pub latency_s: f64,
    /// A chapter process's start-up, up to its first line of work; 0 when not measured.
    pub startup_s: f64,
}

/// What sets a floor: the larger of its two terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The CPU steps spread over every core take longer than the round trips.
    Cores,
    /// The round trips that cannot be hidden take longer than the CPU steps.
    Latency,
}

impl Limit {
    /// The resource, as the report names it.
    pub fn name(self) -> &'static str {
        match self {
            Limit::Cores => "the cores",
            Limit::Latency => "the store's latency",
        }
    }
}

/// One workload's floor and its terms, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Floor {
    /// The process's start-up.
    pub startup_s: f64,
    /// The round trips no overlap can hide.
    pub waiting_s: f64,
    /// Every image's CPU step, spread over every core.
    pub computing_s: f64,
}

impl Floor {
    /// The least wall time: the three terms, one after the other.
    pub fn seconds(&self) -> f64 {
        self.startup_s + self.waiting_s + self.computing_s
    }

    /// The resource that sets it.
    pub fn limit(&self) -> Limit {
        if self.computing_s >= self.waiting_s {
            Limit::Cores
        } else {
            Limit::Latency
        }
    }

    /// How far `wall_s` is from the floor: 1 at the floor, 2 when twice as long.
    pub fn distance(&self, wall_s: f64) -> f64 {
        wall_s / self.seconds().max(1e-12)
    }
}

/// The round trips to the store that a batch needs at the least, and that no overlap
/// can hide: the listing, the first download and the last upload.
pub fn round_trips(workload: Workload) -> usize {
    match workload {
        Workload::Cpu => 0,
        Workload::Io => 2,
        Workload::Mixed => 3,
    }
}

/// The floor of `images` images of `workload`, from `inputs` (the formula at the top).
pub fn floor(workload: Workload, images: usize, inputs: &Inputs) -> Floor {
    let cpu_step_s = match workload {
        Workload::Io => inputs.small_cpu_s,
        Workload::Cpu | Workload::Mixed => inputs.photo_cpu_s,
    };
    Floor {
        startup_s: inputs.startup_s,
        waiting_s: round_trips(workload) as f64 * inputs.latency_s,
        computing_s: images as f64 * cpu_step_s / inputs.cores.max(1) as f64,
    }
}

/// Why the floor's inputs could not be measured.
#[derive(Debug, thiserror::Error)]
#[error("cannot measure the floor's CPU step: {0}")]
pub struct MeasureError(String);

/// Measures the floor's inputs: the CPU step from `bench` when the kernel bench ran,
/// else timed here; the start-up by starting `chapter_binary` (with `--help`, which
/// starts the process and parses its flags, and stops before any work).
pub fn measure(
    bench: &Bench,
    cores: usize,
    latency: Duration,
    chapter_binary: &Path,
) -> Result<Inputs, MeasureError> {
    let photos = CorpusSpec::default_photos();
    let (photo_cpu_s, photo_source) = match (bench.get(KERNEL_BENCH), bench.get(KERNEL_PNG_BENCH)) {
        (Some(jpeg), Some(png)) => (
            average_step(&photos, jpeg.median_s, png.median_s),
            CpuSource::KernelBench,
        ),
        _ => (cpu_step(&photos)?, CpuSource::Timed),
    };
    Ok(Inputs {
        photo_cpu_s,
        photo_source,
        small_cpu_s: cpu_step(&CorpusSpec::small())?,
        cores,
        latency_s: latency.as_secs_f64(),
        startup_s: startup(chapter_binary).map_or(0.0, |d| d.as_secs_f64()),
    })
}

/// The CPU step of the average image of `spec`, timed on this thread: the median of its
/// first few JPEGs and of its last few images, which are its PNGs.
fn cpu_step(spec: &CorpusSpec) -> Result<f64, MeasureError> {
    let pngs = spec.png.min(spec.count);
    let jpegs = 0..(spec.count - pngs).min(IMAGES_TIMED);
    let jpeg_s = median_step(spec, jpegs)?;
    if pngs == 0 {
        return Ok(jpeg_s);
    }
    let png_s = median_step(spec, (spec.count - pngs.min(IMAGES_TIMED))..spec.count)?;
    Ok(average_step(spec, jpeg_s, png_s))
}

/// The CPU step of the average image of `spec`, whose last `spec.png` images are PNGs,
/// from the step of one JPEG and of one PNG.
fn average_step(spec: &CorpusSpec, jpeg_s: f64, png_s: f64) -> f64 {
    let pngs = spec.png.min(spec.count);
    let jpegs = spec.count - pngs;
    (jpegs as f64 * jpeg_s + pngs as f64 * png_s) / spec.count.max(1) as f64
}

/// The median time of the CPU step on the images `indices` of `spec`, on this thread.
fn median_step(spec: &CorpusSpec, indices: std::ops::Range<usize>) -> Result<f64, MeasureError> {
    let sizes = Sizes::default();
    let mut times = Vec::new();
    for index in indices {
        let bytes = corpus::image_bytes(spec, index).map_err(|e| MeasureError(e.to_string()))?;
        let start = Instant::now();
        thumbnails(&bytes, &sizes, DEFAULT_MAX_PIXELS)
            .map_err(|e| MeasureError(format!("image {index} of the corpus: {e}")))?;
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    times
        .get(times.len() / 2)
        .copied()
        .ok_or_else(|| MeasureError("the corpus is empty".into()))
}

/// The fastest of a few starts of `binary`, or `None` when it cannot start.
fn startup(binary: &Path) -> Option<Duration> {
    (0..STARTS_TIMED)
        .filter_map(|_| {
            let start = Instant::now();
            let status = Command::new(binary)
                .arg("--help")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .ok()?;
            status.success().then(|| start.elapsed())
        })
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Round figures: 10 ms per photo, 1 ms per small image, 2 cores, 50 ms, 20 ms.
    fn inputs() -> Inputs {
        Inputs {
            photo_cpu_s: 0.010,
            photo_source: CpuSource::Timed,
            small_cpu_s: 0.001,
            cores: 2,
            latency_s: 0.050,
            startup_s: 0.020,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn cpu_pays_no_round_trip_and_spreads_the_photos_over_the_cores() {
        let f = floor(Workload::Cpu, 48, &inputs());
        assert!(close(f.waiting_s, 0.0));
        assert!(close(f.computing_s, 48.0 * 0.010 / 2.0));
        assert!(close(f.seconds(), 0.020 + 0.240));
        assert_eq!(f.limit(), Limit::Cores);
    }

    #[test]
    fn io_pays_the_listing_and_a_download_and_small_images_leave_the_latency_in_charge() {
        let f = floor(Workload::Io, 48, &inputs());
        assert!(close(f.waiting_s, 0.100));
        assert!(close(f.computing_s, 48.0 * 0.001 / 2.0));
        assert_eq!(f.limit(), Limit::Latency);
    }

    #[test]
    fn mixed_pays_the_listing_a_download_and_an_upload() {
        let f = floor(Workload::Mixed, 48, &inputs());
        assert!(close(f.seconds(), 0.020 + 0.150 + 0.240));
        // Twice the cores halve only the CPU term.
        let wider = floor(
            Workload::Mixed,
            48,
            &Inputs {
                cores: 4,
                ..inputs()
            },
        );
        assert!(close(wider.seconds(), 0.020 + 0.150 + 0.120));
    }

    #[test]
    fn the_distance_is_wall_over_floor() {
        let f = floor(Workload::Cpu, 48, &inputs());
        assert!(close(f.distance(0.520), 2.0));
        // No cores reported is read as one, not as a division by zero.
        let one = floor(
            Workload::Cpu,
            2,
            &Inputs {
                cores: 0,
                ..inputs()
            },
        );
        assert!(close(one.computing_s, 0.020));
    }

    #[test]
    fn the_kernel_bench_is_preferred_to_timing_and_a_missing_binary_is_no_start_up() {
        let dir = tempfile::tempdir().unwrap();
        for (folder, id, median_ns) in
            [("jpeg", KERNEL_BENCH, 7e6), ("png", KERNEL_PNG_BENCH, 31e6)]
        {
            let new = dir.path().join("kernel").join(folder).join("new");
            std::fs::create_dir_all(&new).unwrap();
            std::fs::write(
                new.join("benchmark.json"),
                format!(r#"{{"full_id":"{id}"}}"#),
            )
            .unwrap();
            let estimate = format!(
                r#"{{"median":{{"point_estimate":{median_ns},"confidence_interval":{{"lower_bound":{median_ns},"upper_bound":{median_ns}}}}}}}"#
            );
            std::fs::write(new.join("estimates.json"), estimate).unwrap();
        }
        let bench = Bench::read(dir.path());
        let nowhere = dir.path().join("no-such-binary");
        let measured = measure(&bench, 2, Duration::from_millis(50), &nowhere).unwrap();
        assert_eq!(measured.photo_source, CpuSource::KernelBench);
        // The photo corpus: 44 JPEGs at 7 ms and 4 PNGs at 31 ms, 9 ms an image.
        assert!(
            close(measured.photo_cpu_s, 0.009),
            "{}",
            measured.photo_cpu_s
        );
        assert!(measured.small_cpu_s > 0.0);
        assert!(close(measured.startup_s, 0.0));
        let timed = measure(&Bench::default(), 2, Duration::ZERO, &nowhere).unwrap();
        assert_eq!(timed.photo_source, CpuSource::Timed);
        assert!(timed.photo_cpu_s > 0.0);
    }
}
