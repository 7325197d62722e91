//! The CPU step alone: one 1920x1280 JPEG of the default corpus to thumbnails of three
//! widths, on one thread. Run with `cargo bench --bench kernel`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use workbench::contract::Sizes;
use workbench::harness::corpus::{self, CorpusSpec};
use workbench::kernel::{DEFAULT_MAX_PIXELS, thumbnails};

fn kernel(c: &mut Criterion) {
    let spec = CorpusSpec::default_photos();
    let jpegs: Vec<Vec<u8>> = (0..4)
        .map(|i| corpus::image_bytes(&spec, i).expect("the corpus generates"))
        .collect();
    let png = corpus::image_bytes(&spec, spec.count - 1).expect("the corpus generates");
    let sizes = Sizes::default();

    let mut group = c.benchmark_group("kernel");
    group.throughput(Throughput::Elements(1));
    group.bench_function("jpeg_1920x1280_to_32_64_200", |b| {
        let mut next = jpegs.iter().cycle();
        b.iter(|| thumbnails(next.next().unwrap(), &sizes, DEFAULT_MAX_PIXELS).unwrap())
    });
    group.bench_function("png_1920x1280_to_32_64_200", |b| {
        b.iter(|| thumbnails(&png, &sizes, DEFAULT_MAX_PIXELS).unwrap())
    });
    group.finish();
}

criterion_group!(benches, kernel);
criterion_main!(benches);
