//! Every chapter binary on every workload, timed as a whole process: start-up, worker
//! start, the batch, the summary. Then a worker sweep of every chapter that has a worker
//! count, the simulated-GIL comparison when that chapter exists, and the broker's price
//! per job (chapter 10 against chapter 0 on tiny images).
//!
//! Each workload is prepared once per group: its corpus generated (and cached), copied
//! into a temporary folder (in memory where the system has one, see `scratch_folder`)
//! and, for `io` and `mixed`, served with 50 ms of latency by
//! `workbench serve`, a process of its own as a real store would be, so that its work
//! does not run on the chapter's process. The outputs are cleared before every run,
//! outside the timing. Around every run the bench reads the processor time of the
//! chapter and of the store, and writes their means per run beside criterion's result
//! (`cost.json`), for the report's table.
//!
//! ```text
//! cargo bench --bench chapters              # the full run, about 15 minutes
//! cargo test --benches                      # every benchmark once, as CI does
//! cargo bench --bench chapters -- mixed/    # one group
//! ```
//!
//! `workbench report` draws the results.

use std::cell::RefCell;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use tempfile::TempDir;
use workbench::chapters;
use workbench::cli::corpus_folder;
use workbench::harness::workload::Workload;
use workbench::platform::{CpuTime, children_cpu_time};
use workbench::report::store_cost::{self, Tally};
use workbench::report::{
    BENCH_IMAGES as IMAGES, BENCH_LATENCY as LATENCY, GIL_CHAPTER, GIL_GROUP, SWEEP_IMAGES,
    SWEEP_WORKLOAD, bench_id, sweep_id,
};

/// `workbench serve` in a process of its own, stopped when dropped.
struct StoreProcess {
    child: Child,
    /// The store's standard output, kept open so that it can go on writing to it.
    _stdout: BufReader<ChildStdout>,
    url: String,
}

impl StoreProcess {
    /// Starts the store on `root` with `latency`, and waits for the line that says
    /// where it listens (`serving ROOT at http://ADDR/`).
    fn start(root: &Path, latency: Duration) -> StoreProcess {
        let binary = chapters::binary_path("workbench").expect("the workbench's path");
        let latency = format!("{}ms", latency.as_millis());
        let mut child = Command::new(&binary)
            .args(["serve", "--root", &path_text(root), "--latency", &latency])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut stdout = BufReader::new(child.stdout.take().expect("a piped stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("the store's first line");
        let url = line
            .trim()
            .rsplit_once(" at ")
            .map(|(_, url)| url.to_string())
            .unwrap_or_else(|| panic!("the store said {line:?}, not where it listens"));
        StoreProcess {
            child,
            _stdout: stdout,
            url,
        }
    }

    /// The processor time the store has used so far.
    fn cpu_time(&self) -> Option<CpuTime> {
        store_cost::process_cpu_time(self.child.id())
    }
}

impl Drop for StoreProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A workload ready to run: its images, where the thumbnails go, and the store serving
/// them (stopped when this is dropped).
struct Prepared {
    source: String,
    out: String,
    /// The folder the thumbnails land in (directly, or through the store's PUT).
    out_dir: PathBuf,
    store: Option<StoreProcess>,
    _dir: TempDir,
}

impl Prepared {
    fn new(workload: Workload, images: usize) -> Prepared {
        Prepared::with_latency(workload, images, LATENCY)
    }

    /// [`Prepared::new`] with the store answering after `latency`.
    fn with_latency(workload: Workload, images: usize, latency: Duration) -> Prepared {
        let corpus = corpus_folder(&workload.corpus(images)).expect("the corpus generates");
        let dir = scratch_folder();
        let images_dir = dir.path().join("images");
        copy_folder(&corpus, &images_dir);
        let (source, out, out_dir, store) = match workload {
            Workload::Cpu => {
                let out = dir.path().join("thumbs");
                (path_text(&images_dir), path_text(&out), out, None)
            }
            Workload::Io | Workload::Mixed => {
                let store = StoreProcess::start(&images_dir, latency);
                let source = store.url.clone();
                if workload == Workload::Mixed {
                    // PUT back to the store, which writes into its folder.
                    let out = format!("{}thumbs/", store.url);
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
            store,
            _dir: dir,
        }
    }

    /// Runs `chapter` once with `flags` and returns its wall time, outputs cleared first;
    /// adds its processor time and the store's to `tally`.
    fn run(&self, chapter: &str, flags: &[String], tally: &mut Tally) -> Duration {
        let _ = std::fs::remove_dir_all(&self.out_dir);
        std::fs::create_dir_all(&self.out_dir).expect("the output folder");
        let binary = chapters::binary_path(chapter).expect("the chapter's path");
        let mut command = Command::new(&binary);
        command
            .args(["--source", &self.source, "--out", &self.out, "--quiet"])
            .args(flags);
        let store_before = self.store.as_ref().and_then(StoreProcess::cpu_time);
        let chapter_before = children_cpu_time();
        let start = Instant::now();
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let elapsed = start.elapsed();
        let chapter_cpu = children_cpu_time().since(chapter_before);
        let store_after = self.store.as_ref().and_then(StoreProcess::cpu_time);
        let store_cpu = store_before
            .zip(store_after)
            .map(|(before, after)| after.since(before));
        tally.add(chapter_cpu, store_cpu);
        assert!(
            output.status.success(),
            "{chapter} {flags:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        elapsed
    }
}

/// A temporary folder for a workload's images and thumbnails, in memory (`/dev/shm`)
/// where the system has one. The bench deletes the same hundreds of thumbnails and
/// writes them again on every run, and on ext4 each new file then searches past every
/// inode deleted in the last minutes: a cost that grows with the bench's length, which
/// no single run of a chapter pays, and which would land on the store's share of the
/// cores.
fn scratch_folder() -> TempDir {
    let memory = Path::new("/dev/shm");
    memory
        .is_dir()
        .then(|| tempfile::tempdir_in(memory).ok())
        .flatten()
        .unwrap_or_else(|| tempfile::tempdir().expect("a temporary folder"))
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

/// Times `chapter` with `flags` on `prepared`, one process per iteration, as benchmark
/// `id`, whose full name is `name`; then writes the processor time per run of the
/// chapter and the store beside criterion's result.
fn time_process(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    (id, name): (BenchmarkId, String),
    prepared: &Prepared,
    chapter: &str,
    flags: &[String],
) {
    let tally = RefCell::new(Tally::default());
    group.bench_function(id, |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| prepared.run(chapter, flags, &mut tally.borrow_mut()))
                .sum()
        })
    });
    write_cost(&name, &tally.borrow());
}

/// Writes the cost of benchmark `name` into its criterion folder, when criterion
/// measures (`cargo bench` passes `--bench`); not in test mode (`-- --test`, or
/// `cargo test --benches`), where criterion writes no result for it to sit beside.
fn write_cost(name: &str, tally: &Tally) {
    let arg = |flag: &str| std::env::args().any(|a| a == flag);
    if !arg("--bench") || arg("--test") {
        return;
    }
    let Some(cost) = tally.cost() else { return };
    let folder = criterion_folder().join(name);
    if let Err(e) = store_cost::write(&folder, name, cost) {
        eprintln!(
            "cannot write the cost of {name} into {}: {e}",
            folder.display()
        );
    }
}

/// Criterion's output folder: `CRITERION_HOME`, or `criterion` in the target folder
/// (this bench runs from `<target>/<profile>/deps/`).
fn criterion_folder() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let exe = std::env::current_exe().expect("the bench's own path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the bench runs from <target>/<profile>/deps/");
    target.join("criterion")
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
            let name = bench_id(workload, chapter.name);
            time_process(&mut group, (id, name), &prepared, chapter.name, &[]);
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
            let name = sweep_id(chapter.name, workers);
            let flags = [flag.to_string(), workers.to_string()];
            time_process(&mut group, (id, name), &prepared, chapter.name, &flags);
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
    let id = |variant: &str| {
        (
            BenchmarkId::from_parameter(variant),
            format!("{GIL_GROUP}/{variant}"),
        )
    };
    time_process(&mut group, id("threads"), &prepared, GIL_CHAPTER, &[]);
    let flags = ["--gil".to_string()];
    time_process(&mut group, id("gil"), &prepared, GIL_CHAPTER, &flags);
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
        let name = format!("broker/{chapter}/{BROKER_IMAGES}");
        time_process(&mut group, (id, name), &prepared, chapter, &[]);
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
