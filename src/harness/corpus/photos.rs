//! Samples of the photos people really have, beside the plain corpus: a phone photo
//! stored on its side with an EXIF orientation (and a GPS position, as phones write),
//! a photo in the Display P3 colour space with its ICC profile, WebP files (lossless, one
//! with transparency) and a GIF.
//!
//! Each sample draws the same seeded scene as a corpus image, so samples are as
//! repeatable as the corpus. The tags are written by the `image` crate's encoders; the
//! Display P3 profile is the one `moxcms` builds, not a file from elsewhere.

use std::path::{Path, PathBuf};

use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder};

use super::random::SplitMix64;
use super::scene::render;
use super::spec::check;
use super::{CorpusError, CorpusSpec, JPEG_QUALITY, write};
use crate::contract::Format;

/// One kind of sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    /// A JPEG with this EXIF orientation (1 to 8) and a GPS position.
    Turned(u8),
    /// A JPEG whose pixels are Display P3, with the profile that says so.
    DisplayP3,
    /// A lossless WebP, opaque.
    Webp,
    /// A lossless WebP with transparent corners.
    WebpTransparent,
    /// A GIF (one frame, 256 colours).
    Gif,
}

impl Sample {
    /// One of each: every orientation, the P3 photo, the WebPs and the GIF.
    pub fn all() -> Vec<Sample> {
        let mut all: Vec<Sample> = (1..=8).map(Sample::Turned).collect();
        all.extend([
            Sample::DisplayP3,
            Sample::Webp,
            Sample::WebpTransparent,
            Sample::Gif,
        ]);
        all
    }

    /// The sample's file name, e.g. `turned-6.jpg`.
    pub fn file_name(self) -> String {
        match self {
            Sample::Turned(tag) => format!("turned-{tag}.jpg"),
            Sample::DisplayP3 => "display-p3.jpg".into(),
            Sample::Webp => "lossless.webp".into(),
            Sample::WebpTransparent => "transparent.webp".into(),
            Sample::Gif => "first-frame.gif".into(),
        }
    }
}

/// Writes one of each [`Sample::all`] into `dir`, drawn like the corpus's first image,
/// and returns their paths.
pub fn write_samples(spec: &CorpusSpec, dir: &Path) -> Result<Vec<PathBuf>, CorpusError> {
    Sample::all()
        .into_iter()
        .map(|sample| {
            let path = dir.join(sample.file_name());
            write(&path, &sample_bytes(spec, 0, sample)?)?;
            Ok(path)
        })
        .collect()
}

/// What a sample carries beside its pixels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags {
    /// An EXIF block, from its TIFF header on.
    pub exif: Option<Vec<u8>>,
    /// An ICC colour profile.
    pub icc: Option<Vec<u8>>,
}

/// The bytes of `sample`, drawn as the scene of image `index` of `spec`.
pub fn sample_bytes(
    spec: &CorpusSpec,
    index: usize,
    sample: Sample,
) -> Result<Vec<u8>, CorpusError> {
    check(spec)?;
    let transparent = sample == Sample::WebpTransparent;
    let mut rng = SplitMix64::for_image(spec.seed, index);
    let pixels = render(
        spec.width as usize,
        spec.height as usize,
        transparent,
        &mut rng,
    );
    let (format, tags) = match sample {
        Sample::Turned(tag) => (
            Format::Jpeg,
            Tags {
                exif: Some(exif_with_orientation(tag)),
                icc: None,
            },
        ),
        Sample::DisplayP3 => (
            Format::Jpeg,
            Tags {
                exif: None,
                icc: Some(display_p3_profile()),
            },
        ),
        Sample::Webp | Sample::WebpTransparent => (Format::Webp, Tags::default()),
        Sample::Gif => (Format::Gif, Tags::default()),
    };
    let size = (spec.width, spec.height);
    encode_tagged(&pixels, size, transparent, format, &tags).map_err(|cause| CorpusError::Encode {
        name: sample.file_name(),
        cause,
    })
}

/// Encodes RGB (or RGBA with `alpha`) pixels as `format`, with `tags` where the format
/// holds them (a GIF holds neither).
pub fn encode_tagged(
    pixels: &[u8],
    (width, height): (u32, u32),
    alpha: bool,
    format: Format,
    tags: &Tags,
) -> Result<Vec<u8>, image::ImageError> {
    let colour = if alpha {
        ExtendedColorType::Rgba8
    } else {
        ExtendedColorType::Rgb8
    };
    let mut bytes = Vec::new();
    match format {
        Format::Jpeg => {
            let encoder = JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY);
            write_tagged(encoder, pixels, (width, height), colour, tags)?;
        }
        Format::Png => write_tagged(
            PngEncoder::new(&mut bytes),
            pixels,
            (width, height),
            colour,
            tags,
        )?,
        Format::Webp => write_tagged(
            WebPEncoder::new_lossless(&mut bytes),
            pixels,
            (width, height),
            colour,
            tags,
        )?,
        Format::Gif => {
            let rgba = if alpha {
                pixels.to_vec()
            } else {
                pixels
                    .chunks_exact(3)
                    .flat_map(|p| [p[0], p[1], p[2], 255])
                    .collect()
            };
            GifEncoder::new(&mut bytes).encode(&rgba, width, height, ExtendedColorType::Rgba8)?;
        }
    }
    Ok(bytes)
}

fn write_tagged(
    mut encoder: impl ImageEncoder,
    pixels: &[u8],
    (width, height): (u32, u32),
    colour: ExtendedColorType,
    tags: &Tags,
) -> Result<(), image::ImageError> {
    let unsupported = |e: image::error::UnsupportedError| image::ImageError::Unsupported(e);
    if let Some(exif) = &tags.exif {
        encoder
            .set_exif_metadata(exif.clone())
            .map_err(unsupported)?;
    }
    if let Some(icc) = &tags.icc {
        encoder.set_icc_profile(icc.clone()).map_err(unsupported)?;
    }
    encoder.write_image(pixels, width, height, colour)
}

/// An EXIF block (little-endian TIFF) with an orientation `tag` and, as a phone writes
/// it, a GPS position: the thumbnails must show the first and leak neither.
pub fn exif_with_orientation(tag: u8) -> Vec<u8> {
    let entry = |id: u16, kind: u16, count: u32, value: [u8; 4]| {
        [
            &id.to_le_bytes()[..],
            &kind.to_le_bytes(),
            &count.to_le_bytes(),
            &value,
        ]
        .concat()
    };
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const ASCII: u16 = 2;
    // The header (8 bytes), then the first directory: a count, two 12-byte entries and
    // the offset of the next directory (none): 30 bytes. The GPS directory follows it.
    let gps_at: u32 = 8 + 30;
    let mut exif = b"II*\0".to_vec();
    exif.extend(8u32.to_le_bytes());
    exif.extend(2u16.to_le_bytes());
    exif.extend(entry(0x0112, SHORT, 1, [tag, 0, 0, 0]));
    exif.extend(entry(0x8825, LONG, 1, gps_at.to_le_bytes()));
    exif.extend(0u32.to_le_bytes());
    // GPS: latitude reference "N", and the latitude itself would follow in a real
    // photo; one field is enough to be a position that must not leak.
    exif.extend(1u16.to_le_bytes());
    exif.extend(entry(0x0001, ASCII, 2, *b"N\0\0\0"));
    exif.extend(0u32.to_le_bytes());
    exif
}

/// The Display P3 ICC profile, as `moxcms` builds it.
pub fn display_p3_profile() -> Vec<u8> {
    // Encoding a profile the crate itself built cannot fail; an empty profile would be
    // ignored by readers (taken as sRGB), which the P3 test would notice.
    moxcms::ColorProfile::new_display_p3()
        .encode()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::ImageDecoder;
    use image::metadata::Orientation;

    fn tiny() -> CorpusSpec {
        CorpusSpec {
            count: 1,
            png: 0,
            seed: 3,
            width: 40,
            height: 24,
        }
    }

    #[test]
    fn turned_samples_carry_their_orientation() {
        for tag in 1..=8 {
            let bytes = sample_bytes(&tiny(), 0, Sample::Turned(tag)).unwrap();
            let mut decoder =
                image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(&bytes)).unwrap();
            assert_eq!(
                decoder.orientation().unwrap(),
                Orientation::from_exif(tag).unwrap()
            );
        }
    }

    #[test]
    fn every_sample_decodes_at_its_size_and_p3_has_its_profile() {
        for sample in Sample::all() {
            let bytes = sample_bytes(&tiny(), 0, sample).unwrap();
            let image = image::load_from_memory(&bytes).unwrap();
            assert_eq!((image.width(), image.height()), (40, 24), "{sample:?}");
        }
        let p3 = sample_bytes(&tiny(), 0, Sample::DisplayP3).unwrap();
        let mut decoder = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(&p3)).unwrap();
        let icc = decoder.icc_profile().unwrap().unwrap();
        assert_eq!(icc, display_p3_profile());
        assert!(!icc.is_empty());
    }
}
