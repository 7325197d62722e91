//! The CPU step alone: one 1920x1280 JPEG of the default corpus to thumbnails of three
//! widths, on one thread; then the same picture as real photos come: stored on its side
//! (EXIF orientation 6), in Display P3, as a lossless WebP and as a GIF. Run with
//! `cargo bench --bench kernel`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use workbench::contract::Sizes;
use workbench::harness::corpus::{self, CorpusSpec, Sample};
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
    // A photo stored on its side needs its stored *height* for the shown width: 200
    // shown pixels are more than 1/8 of 1280, so it is decoded at 1/4.
    for (name, sample) in [
        ("jpeg_turned_6", Sample::Turned(6)),
        ("jpeg_display_p3", Sample::DisplayP3),
        ("webp_lossless", Sample::Webp),
        ("gif", Sample::Gif),
    ] {
        let bytes = corpus::sample_bytes(&spec, 0, sample).expect("the samples generate");
        group.bench_function(format!("{name}_1920x1280_to_32_64_200"), |b| {
            b.iter(|| thumbnails(&bytes, &sizes, DEFAULT_MAX_PIXELS).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, kernel);
criterion_main!(benches);
