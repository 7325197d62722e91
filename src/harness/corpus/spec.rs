//! The spec, the whole recipe of a corpus: what it may be, how each image is encoded,
//! and what each file is called.

use super::error::CorpusError;

/// What to generate.
///
/// Two equal specs always describe the same bytes: the spec is the whole recipe. As
/// flags (`workbench corpus`), its defaults are [`CorpusSpec::default_photos`]'s.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct CorpusSpec {
    /// How many images, JPEG and PNG together.
    #[arg(long, default_value_t = 48)]
    pub count: usize,
    /// How many of the `count` images are PNG; they are the last ones, after the JPEGs.
    #[arg(long, default_value_t = 4)]
    pub png: usize,
    /// The seed every image's generator is derived from; another seed gives other images.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Width of every image, in pixels.
    #[arg(long, default_value_t = 1920)]
    pub width: u32,
    /// Height of every image, in pixels.
    #[arg(long, default_value_t = 1280)]
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

/// The largest image the generator agrees to draw (an 8192x8192 square). Each thread
/// holds one image's pixels (up to 4 bytes a pixel) and its encoded file, so this
/// bounds memory at a few hundred MB per thread; it is well above any size the
/// workbench uses, and turns a mistyped size into an error instead of an abort.
const MAX_PIXELS: u64 = 64 * 1024 * 1024;

/// Refuses specs that cannot be generated, with a message that says why.
pub(super) fn check(spec: &CorpusSpec) -> Result<(), CorpusError> {
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
pub(super) enum Kind {
    Jpeg,
    /// A PNG without transparency: decoders take the 3-channel path.
    PngRgb,
    /// A PNG with an alpha channel: decoders take the 4-channel path.
    PngRgba,
}

/// JPEG for the first `count - png` images; then PNGs, alternating with and without
/// alpha (the first PNG has alpha) so that both of a decoder's PNG paths are exercised.
pub(super) fn kind_of(spec: &CorpusSpec, index: usize) -> Kind {
    let first_png = spec.count.saturating_sub(spec.png);
    if index < first_png {
        Kind::Jpeg
    } else if (index - first_png).is_multiple_of(2) {
        Kind::PngRgba
    } else {
        Kind::PngRgb
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
