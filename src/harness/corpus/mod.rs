//! # Corpus: seeded, photo-like test images
//!
//! The workbench times how long each chapter takes to make thumbnails, and most of that
//! time is spent *decoding* the source images. How long a JPEG takes to decode depends
//! on its entropy, not only on its pixel count: the decoder Huffman-decodes every
//! non-zero coefficient of every 8x8 block, so a flat or gently shaded image, whose
//! blocks are almost all zeros, decodes much faster than a photo of the same size (a
//! smooth 1920x1280 gradient decodes about three times faster than an image of this
//! corpus). A corpus of flat test cards would make every chapter look faster than it
//! is, and would shift the balance between CPU work and waiting that the chapters are
//! about.
//!
//! So the images here imitate what a camera produces, in layers:
//!
//! 1. **Light**: a sky-like vertical gradient, with large random blobs of colour
//!    blended in (value noise on a coarse grid), like light falling on a scene.
//! 2. **Shapes**: ellipses and rectangles, turned at random angles, shaded from one
//!    side to the other, some with crisp edges (objects in focus) and some with wide
//!    soft edges (out of focus).
//! 3. **Texture**: the same kind of noise on finer grids, in brightness only, over
//!    everything, like foliage, fabric or gravel.
//! 4. **Vignette and grain**: corners a little darker, and per-pixel sensor noise. The
//!    grain is what makes the JPEG size realistic: a 1920x1280 JPEG at quality 90 comes
//!    out near 500 KB, as a real photo of that size does.
//!
//! Every image is made from its own small random-number generator, seeded from the
//! corpus seed and the image's index, so the images can be made in parallel (rayon) in
//! any order, on any number of threads, and still come out byte for byte the same. The
//! generator is SplitMix64, written out in `random.rs` rather than taken from `rand`, because
//! `rand` does not promise the same stream of values across its versions, and a corpus
//! that silently changed would make old measurements incomparable with new ones. The
//! drawing uses only `+ - * /` and `sqrt`, which IEEE 754 rounds exactly, and no `sin`
//! or `exp`, whose last bit may differ between platforms' maths libraries.
//!
//! Generating the default corpus takes a few seconds, so [`cached`] keeps it in a folder
//! named after the spec, and writes a marker file last: a folder without the marker is
//! treated as unfinished and made again. Each file is written under a hidden temporary
//! name and renamed into place, so an interrupted run never leaves a half-written image
//! under a real name.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};
use rayon::prelude::*;

use crate::platform;

mod colour;
mod error;
mod noise;
mod photos;
mod random;
mod scene;
mod shape;
mod spec;

pub use error::CorpusError;
pub use photos::{
    Sample, Tags, display_p3_profile, encode_tagged, exif_with_orientation, sample_bytes,
    write_samples,
};
use random::SplitMix64;
use scene::render;
pub use spec::{CorpusSpec, file_name};
use spec::{Kind, check, kind_of};

/// Generates the corpus into `dir` (created if missing) and returns the file paths in
/// name order.
///
/// Existing files of the same names are replaced. The images are made in parallel on
/// rayon's pool; the result does not depend on the number of threads.
pub fn generate(spec: &CorpusSpec, dir: &Path) -> Result<Vec<PathBuf>, CorpusError> {
    check(spec)?;
    fs::create_dir_all(dir).map_err(|cause| CorpusError::Io {
        action: "create folder",
        path: dir.to_path_buf(),
        cause,
    })?;
    // `collect` into a `Result<Vec<_>, _>` keeps the index order, whatever order the
    // threads finish in, and stops at the first error.
    (0..spec.count)
        .into_par_iter()
        .map(|index| {
            let path = dir.join(file_name(spec, index));
            write(&path, &image_bytes(spec, index)?)?;
            Ok(path)
        })
        .collect()
}

/// The corpus for `spec`, generated once into `cache_root/<spec.cache_name()>/` and
/// reused: if a marker file (`.complete`, written last) is present it returns the
/// existing paths without regenerating.
///
/// The marker holds the generator's version, so a cache made by an older version of the
/// drawing code is made again rather than silently reused.
pub fn cached(spec: &CorpusSpec, cache_root: &Path) -> Result<Vec<PathBuf>, CorpusError> {
    cached_in(spec, &cache_root.join(spec.cache_name()), false)
}

/// [`cached`], with the real-photo samples ([`Sample::all`]) beside the corpus, in a
/// folder of its own (`<spec.cache_name()>-photos/`), so that the plain corpus, which
/// the benches measure, never changes.
pub fn cached_with_photos(
    spec: &CorpusSpec,
    cache_root: &Path,
) -> Result<Vec<PathBuf>, CorpusError> {
    let dir = cache_root.join(format!("{}-photos", spec.cache_name()));
    cached_in(spec, &dir, true)
}

fn cached_in(spec: &CorpusSpec, dir: &Path, photos: bool) -> Result<Vec<PathBuf>, CorpusError> {
    check(spec)?;
    let marker = dir.join(MARKER_NAME);
    let expected = marker_text(spec, photos);

    let mut paths: Vec<PathBuf> = (0..spec.count)
        .map(|index| dir.join(file_name(spec, index)))
        .collect();
    if photos {
        paths.extend(Sample::all().into_iter().map(|s| dir.join(s.file_name())));
    }
    match fs::read_to_string(&marker) {
        Ok(found) if found == expected && paths.iter().all(|path| path.is_file()) => {
            return Ok(paths);
        }
        // Unfinished, stale or damaged: fall through and make it again.
        Ok(_) => {}
        Err(cause) if cause.kind() == io::ErrorKind::NotFound => {}
        Err(cause) => {
            return Err(CorpusError::Io {
                action: "read",
                path: marker,
                cause,
            });
        }
    }

    // Remove a stale marker *before* regenerating: if this run is interrupted, the
    // folder must not look complete to the next one.
    match fs::remove_file(&marker) {
        Ok(()) => {}
        Err(cause) if cause.kind() == io::ErrorKind::NotFound => {}
        Err(cause) => {
            return Err(CorpusError::Io {
                action: "remove",
                path: marker,
                cause,
            });
        }
    }
    let mut paths = generate(spec, dir)?;
    if photos {
        paths.extend(write_samples(spec, dir)?);
    }
    // Written last, and atomically: its presence means every image above is complete.
    write(&marker, expected.as_bytes())?;
    Ok(paths)
}

/// One image's encoded bytes (what generate writes for index i), for tests and benches.
pub fn image_bytes(spec: &CorpusSpec, index: usize) -> Result<Vec<u8>, CorpusError> {
    check(spec)?;
    if index >= spec.count {
        return Err(CorpusError::NoSuchImage {
            index,
            count: spec.count,
        });
    }
    let kind = kind_of(spec, index);
    let mut rng = SplitMix64::for_image(spec.seed, index);
    // `check` has made sure both sides fit comfortably in usize.
    let (width, height) = (spec.width as usize, spec.height as usize);
    let has_alpha = kind == Kind::PngRgba;
    let pixels = render(width, height, has_alpha, &mut rng);

    let encode_error = |cause| CorpusError::Encode {
        name: file_name(spec, index),
        cause,
    };
    let mut bytes = Vec::new();
    match kind {
        Kind::Jpeg => JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
            .write_image(&pixels, spec.width, spec.height, ExtendedColorType::Rgb8)
            .map_err(encode_error)?,
        Kind::PngRgb | Kind::PngRgba => {
            let colour = if has_alpha {
                ExtendedColorType::Rgba8
            } else {
                ExtendedColorType::Rgb8
            };
            PngEncoder::new(&mut bytes)
                .write_image(&pixels, spec.width, spec.height, colour)
                .map_err(encode_error)?
        }
    }
    Ok(bytes)
}

/// The JPEG quality of the corpus: what a camera or a photo site typically saves at.
const JPEG_QUALITY: u8 = 90;

/// The name of the marker file that [`cached`] writes once a corpus is complete.
const MARKER_NAME: &str = ".complete";

/// Bump this whenever a change to the drawing code changes the bytes produced, so that
/// caches made by the old code are not reused.
const GENERATOR_VERSION: u32 = 1;

/// What [`cached`] writes in the marker: the generator version and the spec (and
/// whether the photo samples are there too).
fn marker_text(spec: &CorpusSpec, photos: bool) -> String {
    let samples = if photos { " with photo samples" } else { "" };
    format!(
        "thumbnail-workbench corpus, generator v{GENERATOR_VERSION}{samples}\n{}\n",
        spec.cache_name()
    )
}

/// Writes `bytes` to `path` with the workbench's one atomic write, so that a real name
/// only ever holds a complete file.
///
/// Two runs filling the same cache at once write separate temporary files, and both
/// rename complete, identical files into place. Nothing is `fsync`ed: the danger here
/// is an interrupted run (Ctrl-C), not a power cut, and a damaged cache can always be
/// deleted and made again.
fn write(path: &Path, bytes: &[u8]) -> Result<(), CorpusError> {
    platform::write_atomically(path, bytes).map_err(|cause| CorpusError::Io {
        action: "write",
        path: path.to_path_buf(),
        cause,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    type TestResult = Result<(), Box<dyn Error>>;

    /// A small corpus, quick to make: 6 images of which the last 3 are PNG.
    fn tiny(seed: u64) -> CorpusSpec {
        CorpusSpec {
            count: 6,
            png: 3,
            seed,
            width: 160,
            height: 120,
        }
    }

    #[test]
    fn same_seed_gives_the_same_bytes() -> TestResult {
        let spec = tiny(7);
        for index in 0..spec.count {
            assert_eq!(image_bytes(&spec, index)?, image_bytes(&spec, index)?);
        }
        Ok(())
    }

    #[test]
    fn thread_count_does_not_change_the_files() -> TestResult {
        let spec = tiny(7);
        let one = tempfile::tempdir()?;
        let three = tempfile::tempdir()?;
        let single = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
        let triple = rayon::ThreadPoolBuilder::new().num_threads(3).build()?;
        let a = single.install(|| generate(&spec, one.path()))?;
        let b = triple.install(|| generate(&spec, three.path()))?;
        for (index, (a, b)) in a.iter().zip(&b).enumerate() {
            assert_eq!(fs::read(a)?, fs::read(b)?, "image {index}");
            assert_eq!(fs::read(a)?, image_bytes(&spec, index)?, "image {index}");
        }
        Ok(())
    }

    #[test]
    fn different_seeds_give_different_images() -> TestResult {
        let (one, two) = (tiny(1), tiny(2));
        for index in 0..one.count {
            assert_ne!(image_bytes(&one, index)?, image_bytes(&two, index)?);
        }
        // ... and different indices of one seed differ from each other too.
        assert_ne!(image_bytes(&one, 0)?, image_bytes(&one, 1)?);
        Ok(())
    }

    #[test]
    fn generate_writes_exactly_the_named_files() -> TestResult {
        let spec = tiny(3);
        let scratch = tempfile::tempdir()?;
        let paths = generate(&spec, scratch.path())?;
        let names: Vec<String> = paths
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(String::from))
            .collect();
        let expected = [
            "img-000.jpg",
            "img-001.jpg",
            "img-002.jpg",
            "img-003.png",
            "img-004.png",
            "img-005.png",
        ];
        assert_eq!(names, expected);
        // Nothing else is left behind: no temporary files.
        let mut on_disk: Vec<String> = fs::read_dir(scratch.path())?
            .map(|entry| Ok(entry?.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, io::Error>>()?;
        on_disk.sort();
        assert_eq!(on_disk, expected);
        Ok(())
    }

    #[test]
    fn images_decode_with_the_right_size_and_channels() -> TestResult {
        let spec = tiny(5);
        for index in 0..spec.count {
            let bytes = image_bytes(&spec, index)?;
            let decoded = image::load_from_memory(&bytes)?;
            assert_eq!((decoded.width(), decoded.height()), (160, 120));
            let expected = match index {
                0..=2 => image::ColorType::Rgb8, // JPEG
                3 | 5 => image::ColorType::Rgba8,
                _ => image::ColorType::Rgb8,
            };
            assert_eq!(decoded.color(), expected, "image {index}");
            if expected == image::ColorType::Rgba8 {
                // The alpha is really used: opaque in the middle, clear in the corners.
                let rgba = decoded.to_rgba8();
                assert_eq!(rgba.get_pixel(80, 60)[3], 255);
                assert_eq!(rgba.get_pixel(0, 0)[3], 0);
            }
        }
        Ok(())
    }

    #[test]
    fn images_are_not_flat() -> TestResult {
        let spec = tiny(9);
        let decoded = image::load_from_memory(&image_bytes(&spec, 0)?)?.to_luma8();
        let mut levels = [false; 256];
        for pixel in decoded.pixels() {
            levels[usize::from(pixel[0])] = true;
        }
        let distinct = levels.iter().filter(|&&seen| seen).count();
        assert!(distinct > 40, "only {distinct} grey levels");
        Ok(())
    }

    #[test]
    fn cached_reuses_a_complete_corpus() -> TestResult {
        let spec = tiny(11);
        let scratch = tempfile::tempdir()?;
        let first = cached(&spec, scratch.path())?;
        assert_eq!(
            first[0],
            scratch.path().join(spec.cache_name()).join("img-000.jpg")
        );

        // Spoil one file: if the second call regenerated, the spoil would be gone.
        fs::write(&first[0], b"not regenerated")?;
        let second = cached(&spec, scratch.path())?;
        assert_eq!(first, second);
        assert_eq!(fs::read(&second[0])?, b"not regenerated");

        // Without the marker the folder counts as unfinished and is made again.
        fs::remove_file(scratch.path().join(spec.cache_name()).join(MARKER_NAME))?;
        let third = cached(&spec, scratch.path())?;
        assert_eq!(fs::read(&third[0])?, image_bytes(&spec, 0)?);
        Ok(())
    }

    #[test]
    fn the_photo_samples_have_a_folder_of_their_own() -> TestResult {
        let spec = tiny(13);
        let scratch = tempfile::tempdir()?;
        let plain = cached(&spec, scratch.path())?;
        let with_photos = cached_with_photos(&spec, scratch.path())?;
        assert_eq!(with_photos.len(), plain.len() + Sample::all().len());
        assert_ne!(plain[0].parent(), with_photos[0].parent());
        assert_eq!(fs::read(&plain[0])?, fs::read(&with_photos[0])?);
        assert!(with_photos.iter().any(|p| p.ends_with("first-frame.gif")));
        // The plain corpus's folder holds the corpus alone.
        let in_plain = fs::read_dir(plain[0].parent().ok_or("no folder")?)?.count();
        assert_eq!(in_plain, plain.len() + 1, "the images and the marker");
        Ok(())
    }

    #[test]
    fn cached_regenerates_after_a_missing_file() -> TestResult {
        let spec = tiny(12);
        let scratch = tempfile::tempdir()?;
        let paths = cached(&spec, scratch.path())?;
        fs::remove_file(&paths[4])?;
        cached(&spec, scratch.path())?;
        assert_eq!(fs::read(&paths[4])?, image_bytes(&spec, 4)?);
        Ok(())
    }

    #[test]
    fn bad_specs_and_indices_are_errors() {
        let mut spec = tiny(1);
        spec.png = 7;
        assert!(matches!(
            image_bytes(&spec, 0),
            Err(CorpusError::InvalidSpec { .. })
        ));
        let mut spec = tiny(1);
        spec.width = 0;
        assert!(matches!(
            generate(&spec, Path::new("unused")),
            Err(CorpusError::InvalidSpec { .. })
        ));
        assert!(matches!(
            image_bytes(&tiny(1), 6),
            Err(CorpusError::NoSuchImage { index: 6, count: 6 })
        ));
    }

    #[test]
    fn a_full_size_jpeg_is_as_big_as_a_photo() -> TestResult {
        let spec = CorpusSpec::default_photos();
        let size = image_bytes(&spec, 0)?.len();
        assert!(
            (300_000..=800_000).contains(&size),
            "a 1920x1280 JPEG at quality 90 is {size} bytes, not 300-800 KB"
        );
        Ok(())
    }
}
