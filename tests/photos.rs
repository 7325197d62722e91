//! Real photos: EXIF orientation, colour profiles, WebP and GIF in, the output format,
//! and no metadata out. Each claim is checked against an independent computation in
//! this file (index arithmetic for orientation, the published Display P3 to sRGB matrix
//! for colour), never against the kernel's own helpers.

mod common;

use common::run_chapter;
use image::{DynamicImage, ImageDecoder, RgbImage};
use workbench::chapters;
use workbench::contract::{Format, OutputFormat, Sizes, Thumbnail};
use workbench::harness::corpus::{self, CorpusSpec, Sample, Tags};
use workbench::kernel::{DEFAULT_MAX_PIXELS, target_size, thumbnails, thumbnails_as};

/// A stored picture whose four quadrants have four distinct colours: each of the eight
/// orientations puts a different colour in the shown top-left corner.
const QUADRANTS: [[u8; 3]; 4] = [[220, 30, 30], [30, 200, 40], [40, 50, 210], [235, 235, 235]];

fn quadrant_picture(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let right = usize::from(x >= width / 2);
        let bottom = usize::from(y >= height / 2);
        image::Rgb(QUADRANTS[bottom * 2 + right])
    })
}

/// The picture as a viewer shows it, by the EXIF definitions, with plain index
/// arithmetic: for each shown pixel, the stored pixel it comes from.
fn as_shown(stored: &RgbImage, tag: u8) -> RgbImage {
    let (w, h) = stored.dimensions();
    let swaps = tag >= 5;
    let (shown_w, shown_h) = if swaps { (h, w) } else { (w, h) };
    RgbImage::from_fn(shown_w, shown_h, |x, y| {
        let (sx, sy) = match tag {
            1 => (x, y),
            2 => (w - 1 - x, y),
            3 => (w - 1 - x, h - 1 - y),
            4 => (x, h - 1 - y),
            5 => (y, x),
            6 => (y, h - 1 - x),
            7 => (w - 1 - y, h - 1 - x),
            8 => (w - 1 - y, x),
            _ => unreachable!("EXIF orientations are 1 to 8"),
        };
        *stored.get_pixel(sx, sy)
    })
}

fn decode(thumb: &Thumbnail) -> DynamicImage {
    image::load_from_memory(&thumb.bytes).unwrap()
}

fn close(a: [u8; 3], b: [u8; 3], tolerance: u8) -> bool {
    a.iter().zip(b).all(|(&x, y)| x.abs_diff(y) <= tolerance)
}

/// The colour at the middle of each quadrant of `image` (away from the edges that
/// resizing and JPEG blur).
fn quadrant_colours(image: &RgbImage) -> [[u8; 3]; 4] {
    let (w, h) = image.dimensions();
    [(1, 1), (3, 1), (1, 3), (3, 3)].map(|(qx, qy)| image.get_pixel(w * qx / 4, h * qy / 4).0)
}

fn check_orientation(format: Format, sizes: &Sizes, stored: &RgbImage) {
    for tag in 1..=8 {
        let tags = Tags {
            exif: Some(corpus::exif_with_orientation(tag)),
            icc: None,
        };
        let bytes =
            corpus::encode_tagged(stored.as_raw(), stored.dimensions(), false, format, &tags)
                .unwrap();
        let shown = as_shown(stored, tag);
        let thumbs = thumbnails(&bytes, sizes, DEFAULT_MAX_PIXELS).unwrap();
        for (thumb, &width) in thumbs.iter().zip(sizes.widths()) {
            let what = format!("{format:?} orientation {tag}, width {width}");
            let expected = target_size(shown.width(), shown.height(), width);
            let made = decode(thumb).to_rgb8();
            assert_eq!(made.dimensions(), expected, "{what}");
            assert_eq!((thumb.width, thumb.height), expected, "{what}");
            let small = image::imageops::resize(
                &shown,
                expected.0,
                expected.1,
                image::imageops::FilterType::Nearest,
            );
            let (got, want) = (quadrant_colours(&made), quadrant_colours(&small));
            for (corner, (got, want)) in got.iter().zip(want).enumerate() {
                assert!(
                    close(*got, want, 40),
                    "{what}: quadrant {corner} is {got:?}, shown {want:?}"
                );
            }
        }
    }
}

#[test]
fn all_eight_orientations_give_the_shown_picture_on_every_decode_path() {
    let stored = quadrant_picture(320, 160);
    // 16 wide is within 1/8 of the stored 320x160 (shown 160x320): the DC-only fast path.
    check_orientation(Format::Jpeg, &"16".parse().unwrap(), &stored);
    // 64 and 100 need the scaled general decoder.
    check_orientation(Format::Jpeg, &"100,64".parse().unwrap(), &stored);
    // PNG's eXIf chunk and WebP's EXIF chunk say the same.
    check_orientation(Format::Png, &"64".parse().unwrap(), &stored);
    check_orientation(Format::Webp, &"64".parse().unwrap(), &stored);
}

#[test]
fn a_phone_photo_stored_landscape_with_orientation_6_is_a_portrait_thumbnail() {
    let stored = quadrant_picture(400, 200);
    let tags = Tags {
        exif: Some(corpus::exif_with_orientation(6)),
        icc: None,
    };
    let bytes =
        corpus::encode_tagged(stored.as_raw(), (400, 200), false, Format::Jpeg, &tags).unwrap();
    let thumbs = thumbnails(&bytes, &"64".parse().unwrap(), DEFAULT_MAX_PIXELS).unwrap();
    assert_eq!((thumbs[0].width, thumbs[0].height), (64, 128));
}

#[test]
fn thumbnails_carry_no_exif_so_no_position_leaks() {
    let spec = small_spec();
    let bytes = corpus::sample_bytes(&spec, 0, Sample::Turned(6)).unwrap();
    assert!(contains(&bytes, b"Exif\0\0"), "the sample itself has EXIF");
    for output in [OutputFormat::Auto, OutputFormat::Png, OutputFormat::Webp] {
        let thumbs = thumbnails_as(&bytes, &Sizes::default(), DEFAULT_MAX_PIXELS, output).unwrap();
        for thumb in &thumbs {
            assert!(
                !contains(&thumb.bytes, b"Exif"),
                "{output}: EXIF in a thumbnail"
            );
            assert!(
                !contains(&thumb.bytes, b"eXIf"),
                "{output}: eXIf in a thumbnail"
            );
            let mut decoder = image::ImageReader::new(std::io::Cursor::new(&thumb.bytes))
                .with_guessed_format()
                .unwrap()
                .into_decoder()
                .unwrap();
            assert_eq!(decoder.exif_metadata().unwrap(), None, "{output}");
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn small_spec() -> CorpusSpec {
    CorpusSpec {
        count: 1,
        png: 0,
        seed: 5,
        width: 480,
        height: 320,
    }
}

/// Display P3 to sRGB, independently: undo the transfer curve (P3 uses sRGB's), apply
/// the linear P3-D65 to sRGB matrix, clip, and apply the curve again.
fn p3_to_srgb(p3: [u8; 3]) -> [u8; 3] {
    const P3_TO_SRGB: [[f64; 3]; 3] = [
        [1.224_940_2, -0.224_940_2, 0.0],
        [-0.042_056_95, 1.042_056_95, 0.0],
        [-0.019_637_55, -0.078_636_05, 1.098_273_6],
    ];
    let linear = p3.map(|v| {
        let v = f64::from(v) / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    });
    let mut out = [0u8; 3];
    for (channel, row) in out.iter_mut().zip(P3_TO_SRGB) {
        let l: f64 = row
            .iter()
            .zip(linear)
            .map(|(m, l)| m * l)
            .sum::<f64>()
            .clamp(0.0, 1.0);
        let v = if l <= 0.003_130_8 {
            l * 12.92
        } else {
            1.055 * l.powf(1.0 / 2.4) - 0.055
        };
        *channel = (v * 255.0).round() as u8;
    }
    out
}

#[test]
fn a_display_p3_photo_is_converted_to_srgb() {
    // A flat colour, so that resizing changes nothing and the colour alone is compared.
    let p3 = [200, 80, 60];
    let expected = p3_to_srgb(p3);
    assert!(
        !close(p3, expected, 8),
        "the test colour must move under conversion"
    );
    let pixels = RgbImage::from_pixel(160, 96, image::Rgb(p3));
    let tags = Tags {
        exif: None,
        icc: Some(corpus::display_p3_profile()),
    };
    for format in [Format::Jpeg, Format::Png, Format::Webp] {
        let bytes =
            corpus::encode_tagged(pixels.as_raw(), (160, 96), false, format, &tags).unwrap();
        // 16 takes the JPEG fast path, 64 the general decoder.
        for sizes in ["16", "64"] {
            let thumbs = thumbnails(&bytes, &sizes.parse().unwrap(), DEFAULT_MAX_PIXELS).unwrap();
            let made = decode(&thumbs[0]).to_rgb8();
            let centre = made.get_pixel(made.width() / 2, made.height() / 2).0;
            assert!(
                close(centre, expected, 3),
                "{format:?} at {sizes}: {centre:?}, sRGB {expected:?} (P3 value {p3:?})"
            );
        }
    }
}

#[test]
fn a_display_p3_photo_matches_its_srgb_conversion_across_the_picture() {
    let spec = small_spec();
    let p3 = corpus::sample_bytes(&spec, 0, Sample::DisplayP3).unwrap();
    // The same pixels, encoded the same way, without the profile.
    let untagged = corpus::image_bytes(&spec, 0).unwrap();
    let thumbnail = |bytes: &[u8]| {
        let sizes = "200".parse().unwrap();
        // PNG thumbnails, so that no JPEG re-encoding blurs the comparison.
        let thumbs = thumbnails_as(bytes, &sizes, DEFAULT_MAX_PIXELS, OutputFormat::Png);
        decode(&thumbs.unwrap()[0]).to_rgb8()
    };
    let (from_p3, from_untagged) = (thumbnail(&p3), thumbnail(&untagged));
    // The photo decoded without colour management and resized here: converted by this
    // file's own arithmetic, it is what the P3 thumbnail must look like.
    let raw = image::load_from_memory(&p3).unwrap().to_rgb8();
    let small = image::imageops::resize(
        &raw,
        from_p3.width(),
        from_p3.height(),
        image::imageops::FilterType::Lanczos3,
    );
    let mean_difference = |made: &RgbImage, convert: fn([u8; 3]) -> [u8; 3]| {
        let total: u64 = made
            .pixels()
            .zip(small.pixels())
            .flat_map(|(a, b)| {
                let b = convert(b.0);
                (0..3).map(move |i| u64::from(a[i].abs_diff(b[i])))
            })
            .sum();
        total as f64 / (made.width() * made.height() * 3) as f64
    };
    // Two decoders and two resizers never agree exactly: the untagged photo against its
    // own resize gives the floor that any difference is measured from.
    let floor = mean_difference(&from_untagged, |p| p);
    let converted = mean_difference(&from_p3, p3_to_srgb);
    let as_if_untagged = mean_difference(&from_p3, |p| p);
    let figures =
        format!("floor {floor:.2}, converted {converted:.2}, as if untagged {as_if_untagged:.2}");
    assert!(converted < floor + 0.5, "{figures}");
    assert!(as_if_untagged > floor + 2.0, "{figures}");
}

#[test]
fn webp_and_gif_are_read_and_become_jpeg_or_png_by_transparency() {
    let spec = small_spec();
    for (sample, format) in [
        (Sample::Webp, Format::Jpeg),
        (Sample::WebpTransparent, Format::Png),
        (Sample::Gif, Format::Jpeg),
    ] {
        let bytes = corpus::sample_bytes(&spec, 0, sample).unwrap();
        let thumbs = thumbnails(&bytes, &Sizes::default(), DEFAULT_MAX_PIXELS).unwrap();
        let sizes: Vec<(u32, u32)> = thumbs.iter().map(|t| (t.width, t.height)).collect();
        assert_eq!(sizes, [(32, 21), (64, 43), (200, 133)], "{sample:?}");
        for thumb in &thumbs {
            assert_eq!(thumb.format, format, "{sample:?}");
            assert_eq!(workbench::kernel::sniff(&thumb.bytes), Ok(format));
            assert_eq!(decode(thumb).width(), thumb.width);
        }
    }
}

#[test]
fn the_format_flag_chooses_the_thumbnails_format() {
    let dir = tempfile::tempdir().unwrap();
    let spec = small_spec();
    std::fs::write(
        dir.path().join("photo.jpg"),
        corpus::image_bytes(&spec, 0).unwrap(),
    )
    .unwrap();
    let gif = corpus::sample_bytes(&spec, 0, Sample::Gif).unwrap();
    std::fs::write(dir.path().join("anim.gif"), gif).unwrap();
    let source = dir.path().to_str().unwrap();
    for (flag, extensions) in [
        ("webp", ["webp", "webp"]),
        ("png", ["png", "png"]),
        ("jpeg", ["jpg", "jpg"]),
        ("same", ["png", "jpg"]),
        ("auto", ["jpg", "jpg"]),
    ] {
        let run = run_chapter(
            chapters::ALL[0].name,
            source,
            &["--format".into(), flag.into()],
        );
        assert_eq!(run.code, 0, "--format {flag}: {}", run.stderr);
        for (stem, extension) in ["anim", "photo"].iter().zip(extensions) {
            let path = run.out().join(format!("{stem}_64.{extension}"));
            let made = image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(made.width(), 64, "{}", path.display());
        }
    }
    let bad = run_chapter(
        chapters::ALL[0].name,
        source,
        &["--format".into(), "tiff".into()],
    );
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

/// Each channel's mean over the picture: what survives resizing and JPEG alike.
fn mean_colour(image: &RgbImage) -> [f64; 3] {
    let count = f64::from(image.width() * image.height());
    let mut sums = [0.0; 3];
    for pixel in image.pixels() {
        for (sum, &value) in sums.iter_mut().zip(&pixel.0) {
            *sum += f64::from(value);
        }
    }
    sums.map(|sum| sum / count)
}

#[test]
fn a_lossy_webp_is_read() {
    // Lossy WebP (a `VP8 ` chunk) has no pure-Rust encoder, so this one is kept as a
    // file (see tests/data/README.md).
    let bytes = include_bytes!("data/lossy.webp");
    assert!(contains(bytes, b"VP8 "), "the sample is lossy");
    let thumbs = thumbnails(bytes, &"64,32".parse().unwrap(), DEFAULT_MAX_PIXELS).unwrap();
    let sizes: Vec<(u32, u32)> = thumbs.iter().map(|t| (t.width, t.height)).collect();
    assert_eq!(sizes, [(64, 43), (32, 21)]);
    assert!(thumbs.iter().all(|t| t.format == Format::Jpeg));
    let source = mean_colour(&image::load_from_memory(bytes).unwrap().to_rgb8());
    let made = mean_colour(&decode(&thumbs[0]).to_rgb8());
    for (a, b) in source.iter().zip(made) {
        assert!(
            (a - b).abs() < 4.0,
            "mean colour {made:?}, source {source:?}"
        );
    }
}

#[test]
fn a_workload_with_photos_serves_the_samples_beside_the_corpus() {
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let binary = chapters::binary_path(chapters::ALL[0].name).unwrap();
    let output = std::process::Command::new(binary)
        .args([
            "--workload",
            "io",
            "--photos",
            "--count",
            "2",
            "--latency",
            "0ms",
        ])
        .args(["--json", "--quiet", "--out"])
        .arg(out.path())
        .env("WORKBENCH_CACHE", cache.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let images = 2 + Sample::all().len();
    assert_eq!(summary["images"], images);
    assert_eq!(summary["thumbnails"], images * 3);
    assert!(out.path().join("turned-6_64.jpg").is_file());
    assert!(out.path().join("transparent_64.png").is_file());
}
