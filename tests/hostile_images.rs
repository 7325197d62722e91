//! Hostile images against the CPU step: each bomb of `workbench::harness::bombs` gets
//! one clear error, whichever decoder `--sizes` sends it to, and a seeded mutation fuzz
//! checks that any damaged file gets `Ok` or a clean error, the same from both JPEG
//! paths. Tests build with overflow checks on, so arithmetic that a crafted file can
//! overflow panics here instead of passing unseen.
//!
//! The fuzz runs for `HOSTILE_FUZZ_SECONDS` (default 10); every case is numbered and
//! made from its number alone, so a failure names what to replay.

use std::time::{Duration, Instant};

use jpeg_encoder::{ColorType, Encoder};
use workbench::contract::{DecodeLimits, KernelError, Sizes, Thumbnail};
use workbench::harness::bombs;
use workbench::harness::corpus::{self, CorpusSpec};
use workbench::kernel::thumbnails;

/// Widths that send a JPEG to the DC-only fast path (1/8 scale is enough) and widths
/// that send it to the general decoder, for an image `width` pixels wide.
fn both_paths(width: u32) -> [Sizes; 2] {
    let eighth = (width / 8).max(1);
    [
        Sizes::new([eighth]).expect("a width"),
        Sizes::new([width]).expect("a width"),
    ]
}

/// The verdict on `bytes` from both paths, which must agree.
fn one_verdict(bytes: &[u8], width: u32) -> Result<Vec<Thumbnail>, KernelError> {
    let [fast, general] = both_paths(width);
    let from_fast = thumbnails(bytes, &fast, DecodeLimits::DEFAULT);
    let from_general = thumbnails(bytes, &general, DecodeLimits::DEFAULT);
    match (&from_fast, &from_general) {
        (Ok(_), Ok(_)) => {}
        (Err(a), Err(b)) => assert_eq!(a, b, "both paths refuse, for different reasons"),
        _ => panic!("the verdict depends on the sizes: {from_fast:?} / {from_general:?}"),
    }
    from_general
}

fn photo() -> Vec<u8> {
    let spec = CorpusSpec {
        count: 1,
        png: 0,
        seed: 16,
        width: 640,
        height: 480,
    };
    corpus::image_bytes(&spec, 0).expect("a corpus photo")
}

fn small_png() -> Vec<u8> {
    let spec = CorpusSpec {
        count: 1,
        png: 1,
        seed: 16,
        width: 128,
        height: 96,
    };
    corpus::image_bytes(&spec, 0).expect("a corpus PNG")
}

fn encoded(width: u16, height: u16, setup: impl FnOnce(&mut Encoder<&mut Vec<u8>>)) -> Vec<u8> {
    let pixels: Vec<u8> = (0..usize::from(width) * usize::from(height) * 3)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let mut jpeg = Vec::new();
    let mut encoder = Encoder::new(&mut jpeg, 85);
    setup(&mut encoder);
    encoder
        .encode(&pixels, width, height, ColorType::Rgb)
        .expect("encodes");
    jpeg
}

#[test]
fn a_progressive_jpeg_of_a_thousand_scans_is_refused_unread() {
    let bomb = bombs::progressive_scans(1024, 1024, 1000);
    assert_eq!(
        one_verdict(&bomb, 1024),
        Err(KernelError::TooManyScans { limit: 100 })
    );
    // An encoder's own progressive JPEG has about ten scans.
    let progressive = encoded(160, 120, |e| e.set_progressive(true));
    assert!(one_verdict(&progressive, 160).is_ok());
}

#[test]
fn a_sixteen_bit_png_over_the_byte_budget_is_refused_from_its_header() {
    // 100 megapixels is within the pixel budget, 800 MB of pixels is not.
    let bomb = bombs::png_of_zeros(10_000, 10_000);
    let refused = thumbnails(&bomb, &Sizes::default(), DecodeLimits::DEFAULT);
    assert_eq!(
        refused,
        Err(KernelError::TooManyBytes {
            width: 10_000,
            height: 10_000,
            needed_mib: 763,
            budget_mib: 256
        })
    );
    let message = refused.unwrap_err().to_string();
    assert!(message.contains("--max-decoded-mb"), "{message}");
}

#[test]
fn the_byte_budget_counts_every_byte_of_every_sample() {
    let png = bombs::png_of_zeros(300, 200);
    let exactly = 300 * 200 * 8; // RGBA, two bytes a channel
    let within = DecodeLimits {
        max_decoded_bytes: exactly,
        ..DecodeLimits::DEFAULT
    };
    let over = DecodeLimits {
        max_decoded_bytes: exactly - 1,
        ..within
    };
    let sizes = Sizes::default();
    assert!(thumbnails(&png, &sizes, within).is_ok());
    assert!(matches!(
        thumbnails(&png, &sizes, over),
        Err(KernelError::TooManyBytes { .. })
    ));
}

#[test]
fn a_692_byte_jpeg_declaring_ten_thousand_squared_is_cut_short() {
    let bomb = bombs::cut_short(10_000, 10_000, 692);
    assert_eq!(bomb.len(), 692);
    let error = one_verdict(&bomb, 10_000).unwrap_err().to_string();
    assert!(error.contains("truncated"), "{error}");
}

#[test]
fn a_photo_cut_at_sixty_percent_with_its_end_marker_put_back_is_cut_short() {
    let photo = photo();
    let cut = bombs::cut_with_end_marker(&photo, photo.len() * 6 / 10);
    let error = one_verdict(&cut, 640).unwrap_err().to_string();
    assert!(error.contains("truncated"), "{error}");
    assert!(one_verdict(&photo, 640).is_ok());
}

#[test]
fn restart_markers_out_of_order_fail_on_both_paths() {
    let mut jpeg = encoded(256, 128, |e| e.set_restart_interval(4));
    assert!(one_verdict(&jpeg, 256).is_ok());
    let first_restart = (0..jpeg.len() - 1)
        .find(|&i| jpeg[i] == 0xFF && jpeg[i + 1] == 0xD0)
        .expect("a restart marker");
    jpeg[first_restart + 1] = 0xD5;
    assert!(one_verdict(&jpeg, 256).is_err());
}

#[test]
fn a_zero_quantisation_entry_fails_on_both_paths() {
    let mut jpeg = encoded(256, 128, |_| {});
    let table = (0..jpeg.len() - 1)
        .find(|&i| jpeg[i] == 0xFF && jpeg[i + 1] == 0xDB)
        .expect("a quantisation table");
    // Marker (2), length (2), precision and id (1), then 64 entries: zero the last.
    jpeg[table + 68] = 0;
    let error = one_verdict(&jpeg, 256).unwrap_err().to_string();
    assert!(error.contains("quantization table"), "{error}");
}

#[test]
fn a_dc_value_times_the_largest_step_does_not_overflow() {
    let jpeg = bombs::dc_overflow(40);
    // Both paths decode it (the values are clamped to white); neither may panic.
    assert!(one_verdict(&jpeg, 8).is_ok());
}

#[test]
fn a_jpeg_taller_than_the_decoder_can_count_is_refused_before_decoding() {
    let error = one_verdict(&bombs::tall(65_535), 8).unwrap_err();
    assert!(matches!(error, KernelError::BeyondDecoder(_)), "{error}");
    // The last height that pads to no more than 65535 rows still decodes.
    assert!(one_verdict(&bombs::tall(65_528), 8).is_ok());
}

/// A small, seeded random number generator (xorshift64*): the fuzz needs the same
/// cases on every machine, not good randomness.
struct Seeded(u64);

impl Seeded {
    fn new(case: u64) -> Seeded {
        Seeded(case.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Damages `seed` the way a fuzzer does: a few bytes flipped, set to a marker byte or
/// to zero, a byte inserted or removed, a run repeated, or the end cut off.
fn mutate(seed: &[u8], random: &mut Seeded) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..1 + random.below(4) {
        let at = random.below(bytes.len());
        match random.below(7) {
            0 => bytes[at] ^= 1 << random.below(8),
            1 => bytes[at] = 0xFF,
            2 => bytes[at] = 0x00,
            3 => bytes[at] = random.next() as u8,
            4 => bytes.insert(at, random.next() as u8),
            5 if bytes.len() > 1 => {
                bytes.remove(at);
            }
            _ => {
                let end = (at + 1 + random.below(16)).min(bytes.len());
                let run = bytes[at..end].to_vec();
                bytes.splice(at..at, run);
            }
        }
    }
    if random.below(8) == 0 {
        bytes.truncate(random.below(bytes.len()) + 1);
    }
    bytes
}

#[test]
fn mutated_images_get_ok_or_a_clean_error_and_one_verdict() {
    let budget = std::env::var("HOSTILE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(10), Duration::from_secs);
    let grey: Vec<u8> = {
        let mut jpeg = Vec::new();
        let pixels: Vec<u8> = (0..96 * 64).map(|i| (i * 5 % 253) as u8).collect();
        Encoder::new(&mut jpeg, 80)
            .encode(&pixels, 96, 64, ColorType::Luma)
            .expect("encodes");
        jpeg
    };
    // Seeds: the shapes of JPEG each path reads, small enough to decode in a blink,
    // and a PNG (one decoder, so only "Ok or a clean error" applies to it).
    let seeds: [(&str, Vec<u8>, u32); 5] = [
        ("png", small_png(), 128),
        ("baseline", encoded(128, 96, |_| {}), 128),
        (
            "restarts",
            encoded(128, 96, |e| e.set_restart_interval(2)),
            128,
        ),
        ("greyscale", grey, 96),
        (
            "progressive",
            encoded(128, 96, |e| e.set_progressive(true)),
            128,
        ),
    ];
    let start = Instant::now();
    let mut case = 0_u64;
    while start.elapsed() < budget {
        let (name, seed, width) = &seeds[(case % seeds.len() as u64) as usize];
        let mutated = mutate(seed, &mut Seeded::new(case));
        let verdict = std::panic::catch_unwind(|| {
            let [fast, general] = both_paths(*width);
            let from_fast = thumbnails(&mutated, &fast, DecodeLimits::DEFAULT);
            let from_general = thumbnails(&mutated, &general, DecodeLimits::DEFAULT);
            (
                from_fast.is_ok(),
                from_general.is_ok(),
                from_fast,
                from_general,
            )
        });
        match verdict {
            Ok((fast, general, _, _)) if fast == general => {}
            Ok((_, _, from_fast, from_general)) => panic!(
                "case {case} ({name}): the verdict depends on the sizes: \
                 {from_fast:?} / {from_general:?}"
            ),
            Err(_) => panic!("case {case} ({name}): the kernel panicked"),
        }
        case += 1;
    }
    eprintln!("{case} mutated images, one verdict each, in {budget:?}");
}
