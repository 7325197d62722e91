//! Decoding: the bytes of a JPEG, PNG, WebP or GIF into pixels, with what the pixels
//! alone do not say (how to turn them to show them, and their colour profile).
//!
//! What an image may cost is checked from its header, before any pixel buffer is
//! allocated ([`DecodeLimits`]): a 40-byte PNG can claim 100000x100000 pixels, a 777 KB
//! one 10000x10000 at 16 bits per channel (1.2 GB to decode), and a 60 KB progressive
//! JPEG a thousand scans, each a pass over the whole picture.

use std::io::Cursor;

use fast_image_resize::PixelType;
use fast_image_resize::images::Image as PixelBuffer;
use image::codecs::gif::GifDecoder;
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, RgbaImage};

use super::jpeg_layout::{Frame, Layout};
use super::{eighth, orientation, resize_target};
use crate::contract::{DecodeLimits, Format, KernelError, Sizes};

/// Decoded pixels, possibly at a reduced scale, and what the kernel needs beside them.
pub(super) struct Decoded {
    /// The pixels as stored (not yet turned by `orientation`).
    pub pixels: PixelBuffer<'static>,
    /// The size of the full image as stored, which the thumbnails' sizes are computed
    /// from, so that a scaled decode changes nothing but the speed.
    pub full_width: u32,
    pub full_height: u32,
    /// How to turn the pixels to show them (EXIF).
    pub orientation: Orientation,
    /// The embedded ICC colour profile, if any.
    pub icc: Option<Vec<u8>>,
}

/// Decodes an image of a sniffed `format`; a JPEG at the smallest scale `sizes` allow.
pub(super) fn decode(
    format: Format,
    bytes: &[u8],
    sizes: &Sizes,
    limits: &DecodeLimits,
) -> Result<Decoded, KernelError> {
    let corrupt = |e: image::ImageError| KernelError::Corrupt(e.to_string());
    match format {
        Format::Jpeg => decode_jpeg(bytes, sizes, limits),
        Format::Png => {
            // The size is read from the header chunk by hand, before any decoder runs:
            // the budget is checked on 24 bytes, not after a decoder has started reading.
            let (width, height) = png_dimensions(bytes)?;
            check_budget(width.into(), height.into(), limits.max_pixels)?;
            decode_with_image(
                PngDecoder::new(Cursor::new(bytes)).map_err(corrupt)?,
                limits,
            )
        }
        Format::Webp => decode_with_image(
            WebPDecoder::new(Cursor::new(bytes)).map_err(corrupt)?,
            limits,
        ),
        // The `image` crate's GIF decoder gives the first frame of an animation.
        Format::Gif => decode_with_image(
            GifDecoder::new(Cursor::new(bytes)).map_err(corrupt)?,
            limits,
        ),
    }
}

/// Refuses an image whose decoded pixels would take more than the byte budget.
fn check_decoded_bytes(
    width: u32,
    height: u32,
    bytes: u64,
    budget: u64,
) -> Result<(), KernelError> {
    const MIB: u64 = 1 << 20;
    if bytes <= budget {
        return Ok(());
    }
    Err(KernelError::TooManyBytes {
        width: width.into(),
        height: height.into(),
        needed_mib: bytes.div_ceil(MIB),
        budget_mib: budget / MIB,
    })
}

/// What a JPEG's layout says it would cost, checked before a decoder reads its data:
/// the bytes its decoder would hold, how many scans it has, and whether `jpeg-decoder`
/// can count its rows.
fn check_jpeg_cost(
    info: &jpeg_decoder::ImageInfo,
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<(), KernelError> {
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    // A progressive JPEG is refined scan by scan, so its decoder keeps every
    // coefficient of the whole picture (two bytes a sample) until the last scan.
    let progressive = info.coding_process == jpeg_decoder::CodingProcess::DctProgressive;
    let bytes_per_sample = if progressive { 2 } else { 1 };
    let decoded = u64::from(width) * u64::from(height) * info.pixel_format.pixel_bytes() as u64;
    check_decoded_bytes(
        width,
        height,
        decoded * bytes_per_sample,
        limits.max_decoded_bytes,
    )?;
    let layout = Layout::read(bytes);
    if layout.scans > limits.max_scans {
        return Err(KernelError::TooManyScans {
            limit: limits.max_scans,
        });
    }
    if !layout
        .frame
        .as_ref()
        .is_none_or(Frame::fits_decoder_counters)
    {
        return Err(KernelError::BeyondDecoder(format!(
            "{width}x{height}, padded to whole blocks, passes row or column 65535, \
             which jpeg-decoder counts in 16 bits"
        )));
    }
    Ok(())
}

fn check_budget(width: u64, height: u64, budget: u64) -> Result<(), KernelError> {
    if width.saturating_mul(height) > budget {
        return Err(KernelError::TooManyPixels {
            width,
            height,
            budget,
        });
    }
    if width == 0 || height == 0 {
        return Err(KernelError::Corrupt(format!(
            "the header declares {width}x{height} pixels"
        )));
    }
    Ok(())
}

fn decode_jpeg(bytes: &[u8], sizes: &Sizes, limits: &DecodeLimits) -> Result<Decoded, KernelError> {
    let corrupt = |e: jpeg_decoder::Error| KernelError::Corrupt(e.to_string());
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    // Reads the markers up to the frame header, the EXIF and ICC segments among them
    // (cameras put them first).
    decoder.read_info().map_err(corrupt)?;
    let info = decoder
        .info()
        .ok_or_else(|| KernelError::Corrupt("no frame header".into()))?;
    let (full_width, full_height) = (u32::from(info.width), u32::from(info.height));
    check_budget(full_width.into(), full_height.into(), limits.max_pixels)?;
    check_jpeg_cost(&info, bytes, limits)?;
    let orientation = orientation::from_exif(decoder.exif_data());
    let icc = decoder.icc_profile();
    decoder.set_max_decoding_buffer_size(
        usize::try_from(limits.max_decoded_bytes).unwrap_or(usize::MAX),
    );
    let decoded = |pixels| Decoded {
        pixels,
        full_width,
        full_height,
        orientation,
        icc: icc.clone(),
    };

    // Ask for the smallest DCT scale that is still at least as large as the widest
    // thumbnail, as stored: the resize that follows then works on a far smaller image.
    let widest = sizes
        .widths()
        .iter()
        .map(|&w| resize_target(orientation, (full_width, full_height), w))
        .max();
    // When 1/8 is enough, the fast path reads the DC coefficients alone (see
    // `eighth`); for any JPEG it does not read, the general decoder below does.
    let eighth_is_enough = widest.is_some_and(|(width, height)| {
        width <= full_width.div_ceil(8) && height <= full_height.div_ceil(8)
    });
    let fast = if eighth_is_enough {
        eighth::decode(bytes)
    } else {
        // The general decoder reads zeros past the end of cut data and makes grey
        // blocks of them: ask the fast path's reader whether the data is whole first,
        // so that a file gets the same verdict whatever the sizes.
        eighth::check(bytes).map(|()| None)
    };
    if let Some(eighth) = fast.map_err(KernelError::Corrupt)? {
        let pixel_type = match eighth.channels {
            1 => PixelType::U8,
            _ => PixelType::U8x3,
        };
        let pixels =
            PixelBuffer::from_vec_u8(eighth.width, eighth.height, eighth.pixels, pixel_type)
                .map_err(|e| KernelError::Corrupt(format!("truncated pixel data: {e}")))?;
        return Ok(decoded(pixels));
    }
    if let Some((width, height)) = widest {
        // Both fit in u16: they are no larger than the JPEG's own u16 dimensions.
        decoder
            .scale(width as u16, height as u16)
            .map_err(corrupt)?;
    }
    let data = decoder.decode().map_err(corrupt)?;
    let info = decoder
        .info()
        .ok_or_else(|| KernelError::Corrupt("no frame header".into()))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    let (pixel_type, data) = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => (PixelType::U8x3, data),
        jpeg_decoder::PixelFormat::L8 => (PixelType::U8, data),
        jpeg_decoder::PixelFormat::CMYK32 => (PixelType::U8x3, cmyk_to_rgb(&data)),
        jpeg_decoder::PixelFormat::L16 => {
            return Err(KernelError::Corrupt("16-bit JPEG is not supported".into()));
        }
    };
    let pixels = PixelBuffer::from_vec_u8(width, height, data, pixel_type)
        .map_err(|e| KernelError::Corrupt(format!("truncated pixel data: {e}")))?;
    Ok(decoded(pixels))
}

/// Adobe CMYK JPEGs store inverted ink values: scale each colour by the black channel.
/// (Their colour profile, if any, is not applied: see `colour`.)
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    cmyk.chunks_exact(4)
        .flat_map(|p| {
            let k = u16::from(p[3]);
            [0, 1, 2].map(|i| ((u16::from(p[i]) * k + 127) / 255) as u8)
        })
        .collect()
}

/// PNG, WebP and GIF, through the `image` crate's decoders, into RGB, or RGBA when some
/// pixel is at least partly transparent.
fn decode_with_image(
    mut decoder: impl ImageDecoder,
    limits: &DecodeLimits,
) -> Result<Decoded, KernelError> {
    let corrupt = |e: image::ImageError| KernelError::Corrupt(e.to_string());
    let (width, height) = decoder.dimensions();
    check_budget(width.into(), height.into(), limits.max_pixels)?;
    // The decoder's own colour type, before any conversion: a 16-bit RGBA PNG is
    // decoded at eight bytes a pixel.
    check_decoded_bytes(
        width,
        height,
        decoder.total_bytes(),
        limits.max_decoded_bytes,
    )?;
    // A damaged EXIF or ICC block loses only what it says, not the image.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let icc = decoder.icc_profile().ok().flatten();
    let has_alpha = decoder.color_type().has_alpha();
    let image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    // `into_` conversions hand over the decoder's own buffer when it already has the
    // layout asked for: a full-size image is not copied for nothing.
    let (pixel_type, data) = if has_alpha {
        let rgba = image.into_rgba8();
        if has_transparency(&rgba) {
            (PixelType::U8x4, rgba.into_raw())
        } else {
            // An alpha channel that is opaque everywhere (every GIF frame comes as
            // RGBA) is dropped: the image is opaque, and may become a JPEG.
            let opaque = DynamicImage::ImageRgba8(rgba).into_rgb8();
            (PixelType::U8x3, opaque.into_raw())
        }
    } else {
        (PixelType::U8x3, image.into_rgb8().into_raw())
    };
    let pixels = PixelBuffer::from_vec_u8(width, height, data, pixel_type)
        .map_err(|e| KernelError::Corrupt(format!("truncated pixel data: {e}")))?;
    Ok(Decoded {
        pixels,
        full_width: width,
        full_height: height,
        orientation,
        icc,
    })
}

fn has_transparency(rgba: &RgbaImage) -> bool {
    rgba.pixels().any(|pixel| pixel[3] < 255)
}

/// Width and height from a PNG's first chunk, which must be `IHDR` (the PNG standard
/// puts it first): 8 bytes of signature, 4 of length, 4 of type, then the two sizes.
fn png_dimensions(bytes: &[u8]) -> Result<(u32, u32), KernelError> {
    let field = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    match (bytes.get(12..16), field(16), field(20)) {
        (Some(b"IHDR"), Some(width), Some(height)) => Ok((width, height)),
        _ => Err(KernelError::Corrupt(
            "the PNG header chunk is missing".into(),
        )),
    }
}
