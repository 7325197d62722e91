//! Every chapter binary on every workload, timed as a whole process: start-up, worker
//! start, the batch, the summary. Then a worker sweep of every chapter that has a worker
//! count, the simulated-GIL comparison when that chapter exists, and the broker's price
//! per job (chapter 10 against chapter 0 on tiny images).
//!
//! Each workload is prepared once per group: its corpus generated (and cached), copied
//! into a temporary folder and, for `io` and `mixed`, served by the embedded store with
//! 50 ms of latency. The outputs are cleared before every run, outside the timing.
//!
//! ```text
//! cargo bench --bench chapters              # the full run, about 15 minutes
//! cargo bench --bench chapters -- --test    # every benchmark once, as CI does
//! cargo bench --bench chapters -- mixed/    # one group
//! ```
//!
//! `workbench report` draws the results.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use tempfile::TempDir;
use workbench::chapters;
use workbench::cli::corpus_folder;
use workbench::harness::store::{RunningStore, StoreConfig};
use workbench::harness::workload::Workload;
use workbench::report::{GIL_CHAPTER, GIL_GROUP, SWEEP_IMAGES, SWEEP_WORKLOAD};

/// The store's latency on the `io` and `mixed` workloads, as in a chapter's default run.
const LATENCY: Duration = Duration::from_millis(50);
/// Images per workload, as in a chapter's default run.
const IMAGES: usize = 48;

/// A workload ready to run: its images, where the thumbnails go, and the store serving
/// them (stopped when this is dropped).
struct Prepared {
    source: String,
    out: String,
    /// The folder the thumbnails land in (directly, or through the store's PUT).
    out_dir: PathBuf,
    _store: Option<RunningStore>,
    _dir: TempDir,
}

impl Prepared {
    fn new(workload: Workload, images: usize) -> Prepared {
        Prepared::with_latency(workload, images, LATENCY)
    }

    /// [`Prepared::new`] with the store answering after `latency`.
    fn with_latency(workload: Workload, images: usize, latency: Duration) -> Prepared {
        let corpus = corpus_folder(&workload.corpus(images)).expect("the corpus generates");
        let dir = tempfile::tempdir().expect("a temporary folder");
        let images_dir = dir.path().join("images");
        copy_folder(&corpus, &images_dir);
        let (source, out, out_dir, store) = match workload {
            Workload::Cpu => {
                let out = dir.path().join("thumbs");
                (path_text(&images_dir), path_text(&out), out, None)
            }
            Workload::Io | Workload::Mixed => {
                let mut config = StoreConfig::new(&images_dir);
                config.latency = latency;
                let store = RunningStore::start(config).expect("the embedded store starts");
                let source = store.url().to_string();
                if workload == Workload::Mixed {
                    // PUT back to the store, which writes into its folder.
                    let out = format!("{}thumbs/", store.url());
                    (source, out, images_dir.join("thumbs"), Some(store))
                } else {
                    let out = dir.path().join("thumbs");
                    (source, path_text(&out), out, Some(store))
                }
            }
        };
        Prepared {
            source,
            out,
            out_dir,
            _store: store,
            _dir: dir,
        }
    }

    /// Runs `chapter` once with `flags` and returns its wall time, outputs cleared first.
    fn run(&self, chapter: &str, flags: &[String]) -> Duration {
        let _ = std::fs::remove_dir_all(&self.out_dir);
        std::fs::create_dir_all(&self.out_dir).expect("the output folder");
        let binary = chapters::binary_path(chapter).expect("the chapter's path");
        let mut command = Command::new(&binary);
        command
            .args(["--source", &self.source, "--out", &self.out, "--quiet"])
            .args(flags);
        let start = Instant::now();
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let elapsed = start.elapsed();
        assert!(
            output.status.success(),
            "{chapter} {flags:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        elapsed
    }
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("the images folder");
    for entry in std::fs::read_dir(from)
        .expect("the corpus folder")
        .flatten()
    {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("a copy of the corpus");
        }
    }
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Times `chapter` with `flags` on `prepared`, one process per iteration.
fn time_process(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: BenchmarkId,
    prepared: &Prepared,
    chapter: &str,
    flags: &[String],
) {
    group.bench_function(id, |b| {
        b.iter_custom(|iterations| (0..iterations).map(|_| prepared.run(chapter, flags)).sum())
    });
}

/// Settings for benchmarks that take from a tenth of a second to ten seconds per run:
/// few samples, and one run per sample when runs are long.
fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sampling_mode(SamplingMode::Flat);
}

/// Every chapter on every workload: groups `cpu`, `io`, `mixed`, one function per chapter.
fn workloads(c: &mut Criterion) {
    for workload in Workload::ALL {
        let prepared = Prepared::new(workload, IMAGES);
        let mut group = c.benchmark_group(workload.name());
        configure(&mut group);
        for chapter in runnable() {
            let id = BenchmarkId::from_parameter(chapter.name);
            time_process(&mut group, id, &prepared, chapter.name, &[]);
        }
        group.finish();
    }
}

/// Every chapter with a worker count, over `chapters::SWEEP_WORKERS`: group `sweep`,
/// function the chapter, parameter the workers.
fn sweep(c: &mut Criterion) {
    let prepared = Prepared::new(SWEEP_WORKLOAD, SWEEP_IMAGES);
    let mut group = c.benchmark_group("sweep");
    configure(&mut group);
    for chapter in runnable() {
        let Some(flag) = chapter.sweep else { continue };
        for &workers in chapters::SWEEP_WORKERS {
            let id = BenchmarkId::new(chapter.name, workers);
            let flags = [flag.to_string(), workers.to_string()];
            time_process(&mut group, id, &prepared, chapter.name, &flags);
        }
    }
    group.finish();
}

/// The shared-state chapter with and without its simulated GIL, on `cpu`.
fn gil(c: &mut Criterion) {
    if chapters::find(GIL_CHAPTER).is_none() {
        return;
    }
    let prepared = Prepared::new(Workload::Cpu, IMAGES);
    let mut group = c.benchmark_group(GIL_GROUP);
    configure(&mut group);
    time_process(
        &mut group,
        BenchmarkId::from_parameter("threads"),
        &prepared,
        GIL_CHAPTER,
        &[],
    );
    let flags = ["--gil".to_string()];
    time_process(
        &mut group,
        BenchmarkId::from_parameter("gil"),
        &prepared,
        GIL_CHAPTER,
        &flags,
    );
    group.finish();
}

/// The broker's price per job: chapter 0 and chapter 10 on tiny images with no store
/// latency, where the work is nearly nothing and what is left is the hand-over (publish,
/// pull, result, ack). Group `broker`; images per second is `BROKER_IMAGES` / time.
fn broker(c: &mut Criterion) {
    let Some(distributed) = runnable().into_iter().find(|c| c.name == BROKER_CHAPTER) else {
        return;
    };
    let prepared = Prepared::with_latency(Workload::Io, BROKER_IMAGES, Duration::ZERO);
    let mut group = c.benchmark_group("broker");
    configure(&mut group);
    for chapter in [chapters::ALL[0].name, distributed.name] {
        let id = BenchmarkId::new(chapter, BROKER_IMAGES);
        time_process(&mut group, id, &prepared, chapter, &[]);
    }
    group.finish();
}

/// The chapter whose broker the `broker` group measures, and its batch.
const BROKER_CHAPTER: &str = "ch10-distributed";
const BROKER_IMAGES: usize = 200;

/// The chapters that can run here: one that needs a program that is not installed
/// (`nats-server`) is left out, with a line saying how to install it.
fn runnable() -> Vec<&'static chapters::Chapter> {
    let mut found = Vec::new();
    for chapter in chapters::ALL {
        match chapters::missing_program(chapter.name) {
            None => found.push(chapter),
            Some(why) => eprintln!("{} left out: {why}", chapter.name),
        }
    }
    found
}

criterion_group!(benches, workloads, sweep, gil, broker);
criterion_main!(benches);
