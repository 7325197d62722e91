//! The CPU step on real images: the corpus's photos and the bad samples. (The kernel's
//! own unit tests, beside its code, need no images.)

use workbench::contract::{Format, KernelError, Sizes, Thumbnail};
use workbench::harness::corpus::{self, CorpusSpec};
use workbench::harness::samples;
use workbench::kernel::{DEFAULT_MAX_PIXELS, sniff, thumbnails};

fn spec(width: u32, height: u32) -> CorpusSpec {
    CorpusSpec {
        count: 2,
        png: 1,
        seed: 7,
        width,
        height,
    }
}

fn dimensions(thumb: &Thumbnail) -> (u32, u32) {
    let image = image::load_from_memory(&thumb.bytes).unwrap();
    (image.width(), image.height())
}

#[test]
fn makes_each_width_in_the_source_format() {
    let sizes = Sizes::default();
    let s = spec(640, 480);
    for (index, format) in [(0, Format::Jpeg), (1, Format::Png)] {
        let bytes = corpus::image_bytes(&s, index).unwrap();
        let thumbs = thumbnails(&bytes, &sizes, DEFAULT_MAX_PIXELS).unwrap();
        let made: Vec<(u32, u32)> = thumbs.iter().map(dimensions).collect();
        assert_eq!(made, [(32, 24), (64, 48), (200, 150)]);
        assert!(thumbs.iter().all(|t| t.format == format));
        assert_eq!(sniff(&thumbs[0].bytes).unwrap(), format);
    }
}

#[test]
fn a_narrow_image_is_not_upscaled() {
    let bytes = corpus::image_bytes(&spec(48, 36), 0).unwrap();
    let thumbs = thumbnails(&bytes, &Sizes::default(), DEFAULT_MAX_PIXELS).unwrap();
    assert_eq!(dimensions(&thumbs[2]), (48, 36));
    assert_eq!(thumbs[2].requested_width, 200);
}

#[test]
fn same_bytes_in_same_bytes_out() {
    let bytes = corpus::image_bytes(&spec(800, 600), 0).unwrap();
    let a = thumbnails(&bytes, &Sizes::default(), DEFAULT_MAX_PIXELS).unwrap();
    let b = thumbnails(&bytes, &Sizes::default(), DEFAULT_MAX_PIXELS).unwrap();
    assert_eq!(a, b);
}

#[test]
fn refuses_bad_input_with_a_cause() {
    let sizes = Sizes::default();
    let not_image = thumbnails(b"hello, I am text", &sizes, DEFAULT_MAX_PIXELS);
    assert!(matches!(not_image, Err(KernelError::NotAnImage(_))));
    assert!(matches!(
        thumbnails(b"", &sizes, DEFAULT_MAX_PIXELS),
        Err(KernelError::NotAnImage(_))
    ));
    let jpeg = corpus::image_bytes(&spec(320, 240), 0).unwrap();
    let truncated = thumbnails(&jpeg[..jpeg.len() / 3], &sizes, DEFAULT_MAX_PIXELS);
    assert!(
        matches!(truncated, Err(KernelError::Corrupt(_))),
        "{truncated:?}"
    );
    let over_budget = thumbnails(&jpeg, &sizes, 320 * 240 - 1);
    assert!(matches!(
        over_budget,
        Err(KernelError::TooManyPixels { .. })
    ));
}

#[test]
fn a_huge_png_header_is_refused_before_decoding() {
    let bomb = samples::huge_png_header(100_000, 100_000);
    let result = thumbnails(&bomb, &Sizes::default(), DEFAULT_MAX_PIXELS);
    assert_eq!(
        result,
        Err(KernelError::TooManyPixels {
            width: 100_000,
            height: 100_000,
            budget: DEFAULT_MAX_PIXELS
        })
    );
}
