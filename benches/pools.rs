//! What a pool costs per task: 16 tiny images (64x48, thumbnails 16 and 32 wide, folder
//! to folder), so that the work per task is small and the pool's own cost shows. Three
//! ways: inline on this thread (no pool), chapter 4's thread pool with 2 workers, and
//! chapter 5's process pool with 2 spawned workers (each task crosses two pipes as JSON
//! frames). The pools are started once, outside the measurement.
//! Run with `cargo bench --bench pools`.

use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use workbench::contract::HttpConfig;
use workbench::contract::Sizes;
use workbench::harness::corpus::{self, CorpusSpec};
use workbench::io::{HttpClient, Output, Source};
use workbench::job::{Job, JobSpec};
use workbench::kernel::DEFAULT_MAX_PIXELS;
use workbench::patterns::process_pool::{ProcessPool, Starter};
use workbench::patterns::thread_pool::ThreadPool;

const IMAGES: usize = 16;

fn pools(c: &mut Criterion) {
    let input = tempfile::tempdir().expect("a temporary folder");
    let output = tempfile::tempdir().expect("a temporary folder");
    let spec = CorpusSpec {
        count: IMAGES,
        png: 0,
        seed: 5,
        width: 64,
        height: 48,
    };
    corpus::generate(&spec, input.path()).expect("the corpus generates");
    let http = HttpConfig::default();
    let source = Source::Folder(input.path().to_path_buf());
    let (images, _) = source
        .images(&HttpClient::new(&http))
        .expect("the corpus lists");
    let job_spec = JobSpec {
        sizes: Sizes::new([16, 32]).expect("valid sizes"),
        output: Output::Folder(output.path().to_path_buf()),
        http,
        max_pixels: DEFAULT_MAX_PIXELS,
        max_decoded_bytes: workbench::job::default_max_decoded_bytes(),
        format: Default::default(),
    };
    let job = Job::new(job_spec, images, indicatif::ProgressBar::hidden());

    let mut group = c.benchmark_group("pools_16_tiny_images");
    group.throughput(Throughput::Elements(IMAGES as u64));
    group.bench_function("inline", |b| {
        b.iter(|| {
            for image in job.images() {
                assert!(job.process(image).result.is_ok());
            }
        })
    });

    let threads = ThreadPool::new("bench", 2).expect("threads start");
    group.bench_function("thread_pool_2", |b| {
        b.iter(|| {
            let futures: Vec<_> = job
                .images()
                .iter()
                .map(|image| {
                    let (job, image) = (job.clone(), image.clone());
                    threads.submit(move || job.process(&image))
                })
                .collect();
            for future in futures {
                assert!(future.result().expect("no panic").result.is_ok());
            }
        })
    });
    drop(threads);

    let worker = PathBuf::from(env!("CARGO_BIN_EXE_ch05-process-pool"));
    let processes =
        ProcessPool::new(Starter::spawning(worker), 2, &job, None).expect("workers start");
    group.bench_function("process_pool_2", |b| {
        b.iter(|| {
            for result in processes.map(job.images().iter().cloned()) {
                assert!(result.expect("a reply").is_ok());
            }
        })
    });
    drop(processes);
    group.finish();
}

criterion_group!(benches, pools);
criterion_main!(benches);
