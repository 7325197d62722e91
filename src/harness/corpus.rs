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
//! generator is SplitMix64, written out below rather than taken from `rand`, because
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
use std::sync::atomic::{AtomicU64, Ordering};

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};
use rayon::prelude::*;

/// What to generate.
///
/// Two equal specs always describe the same bytes: the spec is the whole recipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusSpec {
    /// How many images, JPEG and PNG together.
    pub count: usize,
    /// How many of the `count` images are PNG; they are the last ones, after the JPEGs.
    pub png: usize,
    /// The seed every image's generator is derived from; another seed gives other images.
    pub seed: u64,
    /// Width of every image, in pixels.
    pub width: u32,
    /// Height of every image, in pixels.
    pub height: u32,
}

impl CorpusSpec {
    /// The default corpus: 48 images (44 JPEG + 4 PNG), seed 1, 1920x1280.
    ///
    /// 1920x1280 is a common size for photos on the web: big enough that decoding and
    /// resizing dominate a thumbnail's cost, small enough that 48 of them fit easily in
    /// memory on any laptop.
    pub fn default_photos() -> Self {
        Self {
            count: 48,
            png: 4,
            seed: 1,
            width: 1920,
            height: 1280,
        }
    }

    /// Small images for the `io` workload where waiting dominates: 48 images, 4 png,
    /// seed 1, 320x240.
    ///
    /// At 320x240 an image decodes and shrinks in well under a millisecond, so any
    /// simulated latency (tens of milliseconds) dwarfs the CPU work, and the chapters'
    /// differences show up as differences in how they *wait*. The images are still real,
    /// grainy JPEGs and PNGs (about 25 KB each), so the bytes that travel are not trivial.
    pub fn small() -> Self {
        Self {
            count: 48,
            png: 4,
            seed: 1,
            width: 320,
            height: 240,
        }
    }

    /// A short name for cache folders, e.g. "48x1920x1280-png4-seed1".
    ///
    /// It contains every field, so two different specs never share a folder.
    pub fn cache_name(&self) -> String {
        format!(
            "{}x{}x{}-png{}-seed{}",
            self.count, self.width, self.height, self.png, self.seed
        )
    }
}

/// Why a corpus could not be generated.
///
/// The underlying error is kept in a `cause` field and also written into the message,
/// so that a plain `{}` already says what went wrong. (It is deliberately not marked as
/// the error's `source`: `anyhow` prints the source chain too, and the cause would then
/// be printed twice.)
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// The spec cannot be generated (for example more PNGs than images, or a size of 0).
    #[error("invalid corpus spec {spec}: {reason}")]
    InvalidSpec {
        /// The spec's [`CorpusSpec::cache_name`].
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// [`image_bytes`] was asked for an image the corpus does not have.
    #[error("no image {index} in a corpus of {count} images")]
    NoSuchImage {
        /// The index asked for.
        index: usize,
        /// How many images the corpus has.
        count: usize,
    },
    /// The encoder refused the image.
    #[error("cannot encode {name}: {cause}")]
    Encode {
        /// The image's file name, e.g. `img-007.jpg`.
        name: String,
        /// What the encoder said.
        cause: image::ImageError,
    },
    /// Reading or writing the corpus folder failed.
    #[error("cannot {action} {}: {cause}", path.display())]
    Io {
        /// What was being done: "create folder", "write", "rename into", ...
        action: &'static str,
        /// The file or folder concerned.
        path: PathBuf,
        /// What the operating system said.
        cause: io::Error,
    },
}

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
            let bytes = image_bytes(spec, index)?;
            write_atomically(dir, &file_name(spec, index), &bytes)
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
    check(spec)?;
    let dir = cache_root.join(spec.cache_name());
    let marker = dir.join(MARKER_NAME);
    let expected = marker_text(spec);

    let paths: Vec<PathBuf> = (0..spec.count)
        .map(|index| dir.join(file_name(spec, index)))
        .collect();
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
    let paths = generate(spec, &dir)?;
    // Written last, and atomically: its presence means every image above is complete.
    write_atomically(&dir, MARKER_NAME, expected.as_bytes())?;
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

/// The file name of image `index`: `img-000.jpg`, `img-001.jpg`, ..., and `img-NNN.png`
/// for the last `spec.png` images.
///
/// The number is padded to three digits so that names sort in index order (a corpus of
/// more than 1000 images gets longer numbers, which still sort within each length).
pub fn file_name(spec: &CorpusSpec, index: usize) -> String {
    let extension = match kind_of(spec, index) {
        Kind::Jpeg => "jpg",
        Kind::PngRgb | Kind::PngRgba => "png",
    };
    format!("img-{index:03}.{extension}")
}

// ---------------------------------------------------------------------------------------
// Spec checks, names and files
// ---------------------------------------------------------------------------------------

/// The JPEG quality of the corpus: what a camera or a photo site typically saves at.
const JPEG_QUALITY: u8 = 90;

/// The largest image the generator agrees to draw (an 8192x8192 square). Each thread
/// holds one image's pixels (up to 4 bytes a pixel) and its encoded file, so this
/// bounds memory at a few hundred MB per thread; it is well above any size the
/// workbench uses, and turns a mistyped size into an error instead of an abort.
const MAX_PIXELS: u64 = 64 * 1024 * 1024;

/// The name of the marker file that [`cached`] writes once a corpus is complete.
const MARKER_NAME: &str = ".complete";

/// Bump this whenever a change to the drawing code changes the bytes produced, so that
/// caches made by the old code are not reused.
const GENERATOR_VERSION: u32 = 1;

/// What [`cached`] writes in the marker: the generator version and the spec.
fn marker_text(spec: &CorpusSpec) -> String {
    format!(
        "thumbnail-workbench corpus, generator v{GENERATOR_VERSION}\n{}\n",
        spec.cache_name()
    )
}

/// Refuses specs that cannot be generated, with a message that says why.
fn check(spec: &CorpusSpec) -> Result<(), CorpusError> {
    let invalid = |reason: String| {
        Err(CorpusError::InvalidSpec {
            spec: spec.cache_name(),
            reason,
        })
    };
    if spec.png > spec.count {
        return invalid(format!(
            "{} PNG images asked for, but only {} images in all",
            spec.png, spec.count
        ));
    }
    if spec.width == 0 || spec.height == 0 {
        return invalid("width and height must be at least 1 pixel".to_string());
    }
    let pixels = u64::from(spec.width) * u64::from(spec.height);
    if pixels > MAX_PIXELS {
        return invalid(format!(
            "{}x{} is {pixels} pixels, over the limit of {MAX_PIXELS}",
            spec.width, spec.height
        ));
    }
    Ok(())
}

/// How an image is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Jpeg,
    /// A PNG without transparency: decoders take the 3-channel path.
    PngRgb,
    /// A PNG with an alpha channel: decoders take the 4-channel path.
    PngRgba,
}

/// JPEG for the first `count - png` images; then PNGs, alternating with and without
/// alpha (the first PNG has alpha) so that both of a decoder's PNG paths are exercised.
fn kind_of(spec: &CorpusSpec, index: usize) -> Kind {
    let first_png = spec.count.saturating_sub(spec.png);
    if index < first_png {
        Kind::Jpeg
    } else if (index - first_png).is_multiple_of(2) {
        Kind::PngRgba
    } else {
        Kind::PngRgb
    }
}

/// Distinguishes the temporary files of threads (and of calls) within one process; the
/// process id distinguishes processes.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `dir/name` so that the name only ever holds complete contents:
/// first to a hidden temporary file in the same folder, then renamed over the name.
///
/// A rename within one folder is atomic: a reader (or a later run) sees either the old
/// file or the new one, never half of one. The temporary name is unique per process and
/// per call, so two runs filling the same cache at once do not write into each other's
/// files; they both rename complete, identical files into place. The data is not
/// `fsync`ed: the danger here is an interrupted run (Ctrl-C), not a power cut, and a
/// damaged cache can always be deleted and made again.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, CorpusError> {
    let path = dir.join(name);
    let unique = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    // Ends in `.tmp`, so nothing that looks for `.jpg` or `.png` files picks it up.
    let temp = dir.join(format!(".{name}.{}-{unique}.tmp", std::process::id()));
    if let Err(cause) = fs::write(&temp, bytes) {
        // Best effort: the write already failed, and that is the error worth reporting.
        let _ = fs::remove_file(&temp);
        return Err(CorpusError::Io {
            action: "write",
            path: temp,
            cause,
        });
    }
    if let Err(cause) = fs::rename(&temp, &path) {
        let _ = fs::remove_file(&temp);
        return Err(CorpusError::Io {
            action: "rename a temporary file to",
            path,
            cause,
        });
    }
    Ok(path)
}

// ---------------------------------------------------------------------------------------
// The random-number generator
// ---------------------------------------------------------------------------------------

/// SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit counter, scrambled.
///
/// Small, fast, statistically good enough for pictures, and fully specified here, so
/// the corpus cannot change under us when a dependency is upgraded.
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// The generator for image `index` of the corpus with `seed`.
    ///
    /// Each image gets its own generator, so that image 7 is the same whether it is
    /// made first, last, or on another thread. Both numbers go through the scrambler,
    /// so neighbouring seeds and neighbouring indices give unrelated streams.
    fn for_image(seed: u64, index: usize) -> Self {
        let index = index as u64; // usize is at most 64 bits on every Rust target
        Self {
            state: scramble(seed ^ scramble(index.wrapping_add(0x5EED))),
        }
    }

    /// The next 64 random bits.
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        scramble(self.state)
    }

    /// A number in `[0, 1)`. The top 24 bits make an `f32` exactly, with no rounding.
    fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u32 << 24) as f32
    }

    /// A number in `[low, high)`.
    fn range(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.unit()
    }

    /// A whole number in `0..n`; `n` must be at least 1. (The modulo's bias is far too
    /// small to see in a picture.)
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A random direction, as `(cos, sin)` of a random angle, found without
    /// trigonometry: pick points in a square until one falls inside the unit circle
    /// (and not too near its centre), then scale it to length 1.
    fn direction(&mut self) -> (f32, f32) {
        loop {
            let x = self.range(-1.0, 1.0);
            let y = self.range(-1.0, 1.0);
            let length_squared = x * x + y * y;
            if (0.01..=1.0).contains(&length_squared) {
                let length = length_squared.sqrt();
                return (x / length, y / length);
            }
        }
    }
}

/// SplitMix64's output function: mixes all 64 bits into all 64 bits.
fn scramble(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

// ---------------------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------------------

/// How strong the per-pixel grain is, in levels of 0..255, before each image's random
/// variation of ±20 %. Grain is the main knob of the file size (and so of the decode
/// cost). Tuned so that a 1920x1280 JPEG at quality 90 is about 500 KB: the 44 JPEGs of
/// the default corpus measure 412 to 567 KB, median 500 KB.
const GRAIN: f32 = 7.5;

/// How strong the fine texture (6-pixel cells) is, in levels of 0..255.
const FINE_TEXTURE: f32 = 6.0;

/// Draws one picture and returns its pixels as bytes, row by row: RGB, or RGBA with
/// `alpha`.
///
/// First every random choice is made, in a fixed order, into a [`Scene`]; then the
/// picture is drawn one row at a time. Drawing by rows keeps the working data (one row
/// of floats, about 23 KB at 1920 wide) in the processor's cache, where a whole picture
/// of floats (30 MB) would not fit, and gives the same result as drawing layer by layer
/// over the whole picture.
fn render(width: usize, height: usize, alpha: bool, rng: &mut SplitMix64) -> Vec<u8> {
    let mut scene = Scene::random(width, height, rng);
    let channels = if alpha { 4 } else { 3 };
    let mut bytes = vec![0u8; width * height * channels];
    let mut colour_row = vec![[0.0f32; 3]; width];
    let mut texture_row = vec![[0.0f32; 1]; width];

    for (y, out) in bytes.chunks_exact_mut(width * channels).enumerate() {
        scene.background_row(y, height, &mut colour_row);
        for field in &mut scene.colour_fields {
            field.add_row(y, &mut colour_row);
        }
        for shape in &scene.shapes {
            shape.paint_row(y, &mut colour_row);
        }
        // Texture goes on last, over the shapes as well: real objects have surfaces.
        texture_row.fill([0.0]);
        for field in &mut scene.texture_fields {
            field.add_row(y, &mut texture_row);
        }
        scene.develop_row(y, &colour_row, &texture_row, alpha, out, rng);
    }
    bytes
}

/// Everything random about one picture except its grain, decided before drawing.
struct Scene {
    /// The colours at the top and the bottom of the background gradient.
    top: [f32; 3],
    bottom: [f32; 3],
    /// How much the gradient leans: the horizon is not always level.
    tilt: f32,
    /// Large, smooth blobs of colour: "the lighting".
    colour_fields: Vec<ValueNoise<3>>,
    /// Finer brightness-only noise: "the material".
    texture_fields: Vec<ValueNoise<1>>,
    /// Drawn in order, later ones over earlier ones.
    shapes: Vec<Shape>,
    /// How much darker the corners are than the centre (0 = not at all).
    vignette: f32,
    /// The strength of the brightness grain, and of the (weaker) colour grain.
    grain: f32,
    colour_grain: f32,
    /// For pictures with alpha: where the opaque oval ends (in half-widths and
    /// half-heights from the centre), and how wide its fading edge is.
    oval_edge: f32,
    oval_softness: f32,
    /// The squared distance from the centre of each column and each row, in
    /// half-widths and half-heights, for the vignette and the oval.
    across: Vec<f32>,
    down: Vec<f32>,
}

impl Scene {
    /// Makes every choice for a `width` x `height` picture, in a fixed order.
    fn random(width: usize, height: usize, rng: &mut SplitMix64) -> Self {
        // A palette around one base hue, as a real scene tends to have.
        let hue = rng.unit();
        let top = hsv(
            hue + rng.range(-0.08, 0.08),
            rng.range(0.15, 0.55),
            rng.range(0.6, 0.95),
        );
        let bottom = hsv(
            hue + rng.range(-0.3, 0.3),
            rng.range(0.25, 0.75),
            rng.range(0.2, 0.6),
        );
        let tilt = rng.range(-0.3, 0.3);

        // Cell sizes are relative to the picture for the colour fields (lighting scales
        // with the scene), and in pixels for the texture (a material's grain looks the
        // same at any picture size).
        let short_side = width.min(height) as f32;
        let colour_fields = vec![
            ValueNoise::random(width, height, short_side / 3.0, 45.0, rng),
            ValueNoise::random(width, height, short_side / 12.0, 20.0, rng),
        ];
        let texture_fields = vec![
            ValueNoise::random(width, height, 24.0, 10.0, rng),
            ValueNoise::random(width, height, 6.0, FINE_TEXTURE, rng),
        ];

        let shape_count = 10 + rng.below(15);
        let shapes = (0..shape_count)
            .map(|_| Shape::random(width, height, hue, rng))
            .collect();

        let grain = GRAIN * rng.range(0.8, 1.2);
        Self {
            top,
            bottom,
            tilt,
            colour_fields,
            texture_fields,
            shapes,
            vignette: rng.range(0.15, 0.4),
            grain,
            // Colour noise is weaker than brightness noise, as in a real sensor's output.
            colour_grain: grain * 0.4,
            oval_edge: rng.range(0.85, 0.98),
            oval_softness: rng.range(0.1, 0.25),
            across: centred_squares(width),
            down: centred_squares(height),
        }
    }

    /// Fills `row` with row `y` of the background gradient.
    fn background_row(&self, y: usize, height: usize, row: &mut [[f32; 3]]) {
        let down = (y as f32 + 0.5) / height as f32;
        let width = row.len() as f32;
        for (x, pixel) in row.iter_mut().enumerate() {
            let across = (x as f32 + 0.5) / width - 0.5;
            *pixel = mix(
                self.top,
                self.bottom,
                (down + self.tilt * across).clamp(0.0, 1.0),
            );
        }
    }

    /// Turns row `y` into bytes, as a camera develops its sensor data: adds the texture,
    /// darkens towards the corners (vignette), adds grain, and rounds to 8 bits. With
    /// `alpha`, a fourth channel cuts the picture out as a soft-edged oval, transparent
    /// in the corners, as a product photo or a sticker might be.
    ///
    /// The grain is drawn here, pixel by pixel in row order, from the same generator as
    /// the scene: still one fixed sequence of draws.
    fn develop_row(
        &self,
        y: usize,
        colour: &[[f32; 3]],
        texture: &[[f32; 1]],
        alpha: bool,
        out: &mut [u8],
        rng: &mut SplitMix64,
    ) {
        let channels = if alpha { 4 } else { 3 };
        let dy2 = self.down[y];
        let pixels = colour.iter().zip(texture).zip(&self.across);
        for (((pixel, &[texture]), &dx2), bytes) in pixels.zip(out.chunks_exact_mut(channels)) {
            let distance_squared = dx2 + dy2;
            let light = 1.0 - self.vignette * distance_squared * 0.5;
            // Grain from one 64-bit draw: the sum of two 16-bit numbers is a triangular
            // (roughly bell-shaped) brightness noise; two more give the colour noise.
            let bits = rng.next_u64();
            let part = |shift: u32| ((bits >> shift) & 0xFFFF) as i32 as f32 / 65535.0;
            let luma = texture + (part(0) + part(16) - 1.0) * self.grain;
            let red_shift = (part(32) - 0.5) * 2.0 * self.colour_grain;
            let blue_shift = (part(48) - 0.5) * 2.0 * self.colour_grain;
            bytes[0] = to_byte(pixel[0] * light + luma + red_shift);
            bytes[1] = to_byte(pixel[1] * light + luma - 0.5 * (red_shift + blue_shift));
            bytes[2] = to_byte(pixel[2] * light + luma + blue_shift);
            if alpha {
                let distance = distance_squared.sqrt();
                let inside = (self.oval_edge - distance) / self.oval_softness + 0.5;
                bytes[3] = to_byte(255.0 * smoothstep(inside.clamp(0.0, 1.0)));
            }
        }
    }
}

/// For each of `n` pixels along a side, the square of its distance from the middle,
/// where the middle is 0 and either edge is 1.
fn centred_squares(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let d = (i as f32 + 0.5) / n as f32 * 2.0 - 1.0;
            d * d
        })
        .collect()
}

/// Value noise: random values on a grid of square cells, blended smoothly between the
/// grid points. `N` is the number of channels: 3 for coloured blobs, 1 for brightness.
///
/// This is the cheap cousin of Perlin noise. Per pixel it costs one blend of two
/// values: the blend weights of each column are computed once, and for each image row
/// the grid is first blended down to one row of values.
struct ValueNoise<const N: usize> {
    /// The side of a cell, in pixels.
    cell: f32,
    /// Grid points per grid row, and grid rows.
    columns: usize,
    rows: usize,
    /// The random values at the grid points, row by row.
    grid: Vec<[f32; N]>,
    /// For each pixel column: the grid column to its left, and the weight of the next.
    column_blend: Vec<(usize, f32)>,
    /// Scratch space: the grid blended to the current image row.
    row_values: Vec<[f32; N]>,
}

impl<const N: usize> ValueNoise<N> {
    /// A field for a `width` x `height` picture, with `cell`-pixel cells and values in
    /// `±amplitude`.
    fn random(
        width: usize,
        height: usize,
        cell: f32,
        amplitude: f32,
        rng: &mut SplitMix64,
    ) -> Self {
        let cell = cell.max(1.0);
        // One grid point at each cell corner, plus one so the last cell has a far edge.
        let columns = (width as f32 / cell) as usize + 2;
        let rows = (height as f32 / cell) as usize + 2;
        let grid = (0..columns * rows)
            .map(|_| std::array::from_fn(|_| rng.range(-amplitude, amplitude)))
            .collect();
        let column_blend = (0..width)
            .map(|x| split(x as f32 / cell, columns))
            .collect();
        Self {
            cell,
            columns,
            rows,
            grid,
            column_blend,
            row_values: vec![[0.0; N]; columns],
        }
    }

    /// Adds row `y` of the field to `row`.
    fn add_row(&mut self, y: usize, row: &mut [[f32; N]]) {
        let (j, ty) = split(y as f32 / self.cell, self.rows);
        let (upper, lower) = (j * self.columns, (j + 1) * self.columns);
        for (i, value) in self.row_values.iter_mut().enumerate() {
            *value = mix(self.grid[upper + i], self.grid[lower + i], ty);
        }
        for (pixel, &(i, tx)) in row.iter_mut().zip(&self.column_blend) {
            let noise = mix(self.row_values[i], self.row_values[i + 1], tx);
            for (channel, n) in pixel.iter_mut().zip(noise) {
                *channel += n;
            }
        }
    }
}

/// Splits a grid coordinate into the cell to its left (or above) and a smoothed weight
/// for the next one. The cell is kept at most `cells - 2`, so `cell + 1` is in the grid.
fn split(position: f32, cells: usize) -> (usize, f32) {
    let cell = (position.floor() as usize).min(cells - 2);
    (cell, smoothstep(position - cell as f32))
}

/// The outline of a shape.
#[derive(Debug, Clone, Copy)]
enum Outline {
    Ellipse,
    Rectangle,
}

/// One shape to draw, in pixel coordinates.
struct Shape {
    outline: Outline,
    /// Centre.
    centre: (f32, f32),
    /// Half width and half height, along the shape's own axes.
    half: (f32, f32),
    /// The shape's rotation, as `(cos, sin)`.
    turn: (f32, f32),
    /// The direction of the light, in the shape's own axes, divided by the shape's
    /// size: the shading runs from `lit` on this side to `shaded` on the other.
    light: (f32, f32),
    lit: [f32; 3],
    shaded: [f32; 3],
    /// How opaque the shape is at its centre (1 hides what is behind it).
    opacity: f32,
    /// The width of the soft edge, in pixels: 1 or 2 for an object in focus, tens of
    /// pixels for one out of focus.
    softness: f32,
}

impl Shape {
    /// A random shape somewhere in a `width` x `height` image, in colours near `hue`.
    fn random(width: usize, height: usize, hue: f32, rng: &mut SplitMix64) -> Self {
        let (w, h) = (width as f32, height as f32);
        let outline = if rng.below(3) == 0 {
            Outline::Rectangle
        } else {
            Outline::Ellipse
        };
        let size = w.min(h) * rng.range(0.03, 0.3);
        let half = (size, size * rng.range(0.4, 1.6));
        let centre = (rng.range(0.0, w), rng.range(0.0, h));
        let turn = rng.direction();
        let light = rng.direction();
        let shape_hue = if rng.below(2) == 0 {
            hue + rng.range(-0.15, 0.15)
        } else {
            rng.unit()
        };
        let saturation = rng.range(0.2, 0.85);
        let value = rng.range(0.25, 0.95);
        let lit = hsv(shape_hue, saturation, value);
        let shaded = hsv(
            shape_hue + rng.range(-0.05, 0.05),
            saturation,
            value * rng.range(0.35, 0.75),
        );
        let opacity = rng.range(0.65, 1.0);
        let softness = if rng.below(4) == 0 {
            size * rng.range(0.1, 0.4)
        } else {
            rng.range(0.8, 2.5)
        };
        let long = half.0.max(half.1);
        Self {
            outline,
            centre,
            half,
            turn,
            light: (light.0 / long, light.1 / long),
            lit,
            shaded,
            opacity,
            softness,
        }
    }

    /// Roughly how far outside the outline the point `(u, v)` (in the shape's own axes)
    /// is, in pixels; negative inside. For an ellipse this is exact on the short axis
    /// and close enough elsewhere for a soft edge.
    fn outside(&self, u: f32, v: f32) -> f32 {
        let (half_u, half_v) = self.half;
        match self.outline {
            Outline::Ellipse => {
                let (a, b) = (u / half_u, v / half_v);
                ((a * a + b * b).sqrt() - 1.0) * half_u.min(half_v)
            }
            Outline::Rectangle => (u.abs() - half_u).max(v.abs() - half_v),
        }
    }

    /// Where image row `y` crosses the shape, soft edge included: the range of `dx`
    /// (horizontal distance from the centre) where [`Shape::outside`] is below half the
    /// softness, which is where the shape covers anything at all. `None` if the row
    /// misses the shape.
    ///
    /// Visiting only these pixels, instead of every pixel of a bounding square, makes
    /// drawing a turned, elongated shape several times cheaper.
    fn row_span(&self, y: usize) -> Option<(f32, f32)> {
        let dy = y as f32 + 0.5 - self.centre.1;
        let (cos, sin) = self.turn;
        let (half_u, half_v) = self.half;
        let margin = self.softness * 0.5;
        let (low, high) = match self.outline {
            Outline::Ellipse => {
                // In the shape's axes, u = dx cos + dy sin and v = dy cos - dx sin, and the
                // soft edge ends where (u/a)² + (v/b)² = reach², a quadratic in dx:
                // qa dx² + qb dx + qc = 0.
                let reach = 1.0 + margin / half_u.min(half_v);
                let (ia, ib) = (1.0 / (half_u * half_u), 1.0 / (half_v * half_v));
                let qa = cos * cos * ia + sin * sin * ib;
                let qb = 2.0 * dy * cos * sin * (ia - ib);
                let qc = dy * dy * (sin * sin * ia + cos * cos * ib) - reach * reach;
                let discriminant = qb * qb - 4.0 * qa * qc;
                if discriminant <= 0.0 {
                    return None;
                }
                let root = discriminant.sqrt();
                ((-qb - root) / (2.0 * qa), (-qb + root) / (2.0 * qa))
            }
            Outline::Rectangle => {
                // A rectangle is where two bands cross: |u| < a and |v| < b (each grown
                // by the margin). Along the row, each band is an interval of dx.
                let (u_low, u_high) = band(cos, dy * sin, half_u + margin)?;
                let (v_low, v_high) = band(-sin, dy * cos, half_v + margin)?;
                (u_low.max(v_low), u_high.min(v_high))
            }
        };
        (low < high).then_some((low, high))
    }

    /// Blends the shape's part of image row `y` onto `row`.
    fn paint_row(&self, y: usize, row: &mut [[f32; 3]]) {
        let Some((low, high)) = self.row_span(y) else {
            return;
        };
        let (cx, cy) = self.centre;
        // Pixel x has its centre at x + 0.5. Round outwards (the cover test below is
        // the exact one); `as usize` turns negative numbers into 0, `min` clips the end.
        let start = (cx + low - 0.5).floor().max(0.0) as usize;
        let end = ((cx + high + 0.5).ceil().max(0.0) as usize).min(row.len());
        let (cos, sin) = self.turn;
        let dy = y as f32 + 0.5 - cy;
        let inverse_softness = 1.0 / self.softness;
        for (x, pixel) in row.iter_mut().enumerate().take(end).skip(start) {
            let dx = x as f32 + 0.5 - cx;
            // The pixel in the shape's own axes.
            let u = dx * cos + dy * sin;
            let v = dy * cos - dx * sin;
            let edge = 0.5 - self.outside(u, v) * inverse_softness;
            let cover = smoothstep(edge.clamp(0.0, 1.0));
            if cover <= 0.0 {
                continue;
            }
            let towards_light = u * self.light.0 + v * self.light.1;
            let shade = (0.5 + 0.5 * towards_light).clamp(0.0, 1.0);
            *pixel = mix(
                *pixel,
                mix(self.shaded, self.lit, shade),
                cover * self.opacity,
            );
        }
    }
}

/// The values of `dx` for which `|slope * dx + offset| < limit`: an interval, all of
/// the line (when the slope is 0 and the offset is within the limit), or `None`.
fn band(slope: f32, offset: f32, limit: f32) -> Option<(f32, f32)> {
    if slope.abs() < 1e-6 {
        return (offset.abs() < limit).then_some((f32::NEG_INFINITY, f32::INFINITY));
    }
    let (a, b) = ((-limit - offset) / slope, (limit - offset) / slope);
    Some((a.min(b), a.max(b)))
}

/// Rounds a level to the nearest byte, clipping to `0..=255`.
fn to_byte(level: f32) -> u8 {
    // After the clamp the value fits, and `as` rounds toward zero: hence the + 0.5.
    (level + 0.5).clamp(0.0, 255.0) as u8
}

/// The smooth 0-to-1 ramp `3t² - 2t³`: flat at both ends, so blended cells and soft
/// edges show no seams.
fn smoothstep(t: f32) -> f32 {
    t * t * (3.0 - 2.0 * t)
}

/// `a` blended towards `b` by `t` (0 gives `a`, 1 gives `b`), channel by channel.
fn mix<const N: usize>(a: [f32; N], b: [f32; N], t: f32) -> [f32; N] {
    std::array::from_fn(|i| a[i] + (b[i] - a[i]) * t)
}

/// A colour from hue (any number; only its fractional part counts), saturation and
/// value (both `0..=1`), as levels `0..=255`. The hue wheel is six straight ramps, so
/// no trigonometry is needed.
fn hsv(hue: f32, saturation: f32, value: f32) -> [f32; 3] {
    let h = (hue - hue.floor()) * 6.0;
    let sector = h.floor();
    let f = h - sector;
    let v = value * 255.0;
    let p = v * (1.0 - saturation);
    let q = v * (1.0 - saturation * f);
    let t = v * (1.0 - saturation * (1.0 - f));
    match sector as u32 {
        0 => [v, t, p],
        1 => [q, v, p],
        2 => [p, v, t],
        3 => [p, q, v],
        4 => [t, p, v],
        _ => [v, p, q],
    }
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

    /// A fresh, empty folder under the system's temporary folder, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(test: &str) -> Self {
            let path = std::env::temp_dir()
                .join(format!("workbench-corpus-{}-{test}", std::process::id()));
            let _ = fs::remove_dir_all(&path);
            Self(path)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
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
        let one = Scratch::new("one-thread");
        let three = Scratch::new("three-threads");
        let single = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
        let triple = rayon::ThreadPoolBuilder::new().num_threads(3).build()?;
        let a = single.install(|| generate(&spec, &one.0))?;
        let b = triple.install(|| generate(&spec, &three.0))?;
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
    fn names_follow_the_png_split() {
        let spec = CorpusSpec::default_photos();
        assert_eq!(file_name(&spec, 0), "img-000.jpg");
        assert_eq!(file_name(&spec, 43), "img-043.jpg");
        assert_eq!(file_name(&spec, 44), "img-044.png");
        assert_eq!(file_name(&spec, 47), "img-047.png");
        let jpegs = (0..spec.count)
            .filter(|&i| file_name(&spec, i).ends_with(".jpg"))
            .count();
        assert_eq!(jpegs, 44);
        assert_eq!(spec.cache_name(), "48x1920x1280-png4-seed1");
    }

    #[test]
    fn generate_writes_exactly_the_named_files() -> TestResult {
        let spec = tiny(3);
        let scratch = Scratch::new("generate");
        let paths = generate(&spec, &scratch.0)?;
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
        let mut on_disk: Vec<String> = fs::read_dir(&scratch.0)?
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
        let scratch = Scratch::new("cached");
        let first = cached(&spec, &scratch.0)?;
        assert_eq!(
            first[0],
            scratch.0.join(spec.cache_name()).join("img-000.jpg")
        );

        // Spoil one file: if the second call regenerated, the spoil would be gone.
        fs::write(&first[0], b"not regenerated")?;
        let second = cached(&spec, &scratch.0)?;
        assert_eq!(first, second);
        assert_eq!(fs::read(&second[0])?, b"not regenerated");

        // Without the marker the folder counts as unfinished and is made again.
        fs::remove_file(scratch.0.join(spec.cache_name()).join(MARKER_NAME))?;
        let third = cached(&spec, &scratch.0)?;
        assert_eq!(fs::read(&third[0])?, image_bytes(&spec, 0)?);
        Ok(())
    }

    #[test]
    fn cached_regenerates_after_a_missing_file() -> TestResult {
        let spec = tiny(12);
        let scratch = Scratch::new("cached-missing");
        let paths = cached(&spec, &scratch.0)?;
        fs::remove_file(&paths[4])?;
        cached(&spec, &scratch.0)?;
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
