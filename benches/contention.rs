//! What a lock held too long costs. Two threads make thumbnails of the same small batch
//! and add each image's figures to one shared `Mutex<Stats>`:
//!
//! - `held_while_resizing`: a worker takes the stats lock, then makes the thumbnails,
//!   then updates the stats: the other worker waits for the whole CPU step, so the two
//!   take turns and the second core idles;
//! - `held_while_updating`: a worker makes the thumbnails first and takes the lock only
//!   for the few additions: the lock is free almost all the time.
//!
//! Same work, same result; only the lock's scope differs. Run with
//! `cargo bench --bench contention`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use workbench::contract::Sizes;
use workbench::harness::corpus::{self, CorpusSpec};
use workbench::kernel::{DEFAULT_MAX_PIXELS, thumbnails};

/// The shared figures every worker adds to.
#[derive(Default)]
struct Stats {
    images: usize,
    thumbnail_bytes: usize,
}

/// Where the lock is taken, relative to the CPU step.
#[derive(Clone, Copy)]
enum LockScope {
    WhileResizing,
    WhileUpdating,
}

/// Two workers take images from `images` and add their figures to one `Mutex<Stats>`.
fn run(images: &[Vec<u8>], sizes: &Sizes, scope: LockScope) -> usize {
    let stats = Mutex::new(Stats::default());
    let next = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while let Some(bytes) = images.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let make = || {
                        thumbnails(bytes, sizes, DEFAULT_MAX_PIXELS)
                            .map(|thumbs| thumbs.iter().map(|t| t.bytes.len()).sum::<usize>())
                            .unwrap_or(0)
                    };
                    match scope {
                        LockScope::WhileResizing => {
                            let mut stats = stats.lock().unwrap_or_else(PoisonError::into_inner);
                            let made = make();
                            stats.images += 1;
                            stats.thumbnail_bytes += made;
                        }
                        LockScope::WhileUpdating => {
                            let made = make();
                            let mut stats = stats.lock().unwrap_or_else(PoisonError::into_inner);
                            stats.images += 1;
                            stats.thumbnail_bytes += made;
                        }
                    }
                }
            });
        }
    });
    let stats = stats.into_inner().unwrap_or_else(PoisonError::into_inner);
    assert_eq!(stats.images, images.len());
    stats.thumbnail_bytes
}

fn contention(c: &mut Criterion) {
    // Mid-size photos: each CPU step is a few milliseconds, so a run of 8 images is short.
    let spec = CorpusSpec {
        count: 8,
        png: 0,
        seed: 3,
        width: 960,
        height: 640,
    };
    let images: Vec<Vec<u8>> = (0..spec.count)
        .map(|i| corpus::image_bytes(&spec, i).expect("the corpus generates"))
        .collect();
    let sizes = Sizes::default();

    let mut group = c.benchmark_group("contention");
    group.throughput(Throughput::Elements(images.len() as u64));
    group.bench_function("held_while_resizing", |b| {
        b.iter(|| run(&images, &sizes, LockScope::WhileResizing))
    });
    group.bench_function("held_while_updating", |b| {
        b.iter(|| run(&images, &sizes, LockScope::WhileUpdating))
    });
    group.finish();
}

criterion_group!(benches, contention);
criterion_main!(benches);
