//! The CPU step: decode an image, resize it to every requested width, encode each result.
//!
//! This is the one piece of work every chapter does the same way, so that every chapter
//! writes byte-identical thumbnails and differs only in how it schedules this function.
//! It runs on the calling thread and touches nothing shared.
//!
//! These choices make it fast, as in real thumbnailers:
//!
//! - **JPEG is decoded at a reduced scale.** A JPEG stores 8x8 blocks of frequencies, and
//!   a decoder can reconstruct each block at 1/2, 1/4 or 1/8 of its size for far less.
//!   A 200-pixel thumbnail of a 1920-pixel photo needs only the 1/8 image (240 pixels
//!   wide), where each block is its first frequency alone: the `eighth` module reads
//!   just that and skips the rest. Other scales, and JPEGs it does not read
//!   (progressive ones, CMYK), go to `jpeg-decoder`'s scaled decode.
//! - **Resizing is done by `fast_image_resize`** (Lanczos3, SIMD chosen at run time),
//!   widest thumbnail first, each narrower one from the one before it.
//! - **JPEG thumbnails are encoded by `jpeg-encoder`**, about twice as fast as the
//!   `image` crate's encoder on these small images.
//!
//! Everything here runs on the calling thread. That matters for the lessons: a decoder
//! that quietly handed work to a thread pool of its own (as `jpeg-decoder` does with
//! its `rayon` feature, on the slow path only) would make a "sequential" chapter use
//! two cores and blur every chapter's timeline.
//!
//! Images whose header declares more pixels than a budget are refused after reading the
//! header and before allocating any pixel buffer: a 40-byte PNG can claim 100000x100000.

use std::io::Cursor;

use fast_image_resize::images::Image as PixelBuffer;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::png::{PngDecoder, PngEncoder};
use image::{ExtendedColorType, ImageDecoder, ImageEncoder};

use crate::contract::{Format, KernelError, Sizes, Thumbnail};

mod eighth;

/// The default pixel budget: 100 megapixels.
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

/// JPEG quality of the thumbnails.
pub const JPEG_QUALITY: u8 = 85;

/// Recognises the format from the first bytes (never from the name: a text file named
/// `.jpg` is still text).
pub fn sniff(bytes: &[u8]) -> Result<Format, KernelError> {
    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.is_empty() {
        Err(KernelError::NotAnImage("the file is empty".into()))
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok(Format::Jpeg)
    } else if bytes.starts_with(PNG_SIGNATURE) {
        Ok(Format::Png)
    } else {
        Err(KernelError::NotAnImage(
            "neither a JPEG nor a PNG signature".into(),
        ))
    }
}

/// The size of the thumbnail for a requested width: never wider than the image, and the
/// height in proportion, rounded to the nearest pixel and at least 1.
pub fn target_size(width: u32, height: u32, requested_width: u32) -> (u32, u32) {
    let w = requested_width.min(width);
    let h = (u64::from(height) * u64::from(w) + u64::from(width) / 2) / u64::from(width);
    (w, h.max(1) as u32)
}

/// Makes one thumbnail per width in `sizes`, in that order.
pub fn thumbnails(
    bytes: &[u8],
    sizes: &Sizes,
    max_pixels: u64,
) -> Result<Vec<Thumbnail>, KernelError> {
    thumbnails_in_steps(bytes, sizes, max_pixels, || {})
}

/// [`thumbnails`], calling `between` after each of its pieces: after the decode, and
/// after each width is resized and encoded. The result is the same, byte for byte;
/// `between` only gives the caller a say between pieces (the shared-state chapter's
/// simulated GIL uses it to let another thread run, the way an interpreter switches
/// threads between instructions).
pub fn thumbnails_in_steps(
    bytes: &[u8],
    sizes: &Sizes,
    max_pixels: u64,
    mut between: impl FnMut(),
) -> Result<Vec<Thumbnail>, KernelError> {
    let format = sniff(bytes)?;
    let decoded = match format {
        Format::Jpeg => decode_jpeg(bytes, sizes, max_pixels)?,
        Format::Png => decode_png(bytes, max_pixels)?,
    };
    between();
    let mut resizer = Resizer::new();
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    // Widest first, and each narrower thumbnail from the one just made: a 64-pixel
    // thumbnail needs nothing the 200-pixel one lacks, and resizing 200 pixels costs far
    // less than resizing 1920 (a PNG is decoded at its full size).
    let widths = sizes.widths();
    let mut order: Vec<usize> = (0..widths.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(widths[i]));
    let mut thumbs: Vec<Option<Thumbnail>> = vec![None; widths.len()];
    let mut source = decoded.pixels;
    for i in order {
        let (width, height) = target_size(decoded.full_width, decoded.full_height, widths[i]);
        let mut resized = PixelBuffer::new(width, height, source.pixel_type());
        resizer
            .resize(&source, &mut resized, &options)
            .map_err(|e| KernelError::Corrupt(format!("resize failed: {e}")))?;
        thumbs[i] = Some(Thumbnail {
            requested_width: widths[i],
            width,
            height,
            format,
            bytes: encode(format, &resized)?,
        });
        between();
        source = resized;
    }
    Ok(thumbs.into_iter().flatten().collect())
}

/// Decoded pixels, possibly at a reduced scale, and the size of the full image (which
/// the thumbnails' sizes are computed from, so that a scaled decode changes nothing but
/// the speed).
struct Decoded {
    pixels: PixelBuffer<'static>,
    full_width: u32,
    full_height: u32,
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

fn decode_jpeg(bytes: &[u8], sizes: &Sizes, max_pixels: u64) -> Result<Decoded, KernelError> {
    let corrupt = |e: jpeg_decoder::Error| KernelError::Corrupt(e.to_string());
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.read_info().map_err(corrupt)?;
    let info = decoder
        .info()
        .ok_or_else(|| KernelError::Corrupt("no frame header".into()))?;
    let (full_width, full_height) = (u32::from(info.width), u32::from(info.height));
    check_budget(full_width.into(), full_height.into(), max_pixels)?;
    decoder.set_max_decoding_buffer_size(
        usize::try_from(max_pixels.saturating_mul(4)).unwrap_or(usize::MAX),
    );

    // Ask for the smallest DCT scale that is still at least as large as the widest
    // thumbnail: the resize that follows then works on a far smaller image.
    let widest = sizes
        .widths()
        .iter()
        .map(|&w| target_size(full_width, full_height, w))
        .max();
    // When 1/8 is enough, the fast path reads the DC coefficients alone (see
    // `eighth`); for any JPEG it does not read, the general decoder below does.
    let eighth_is_enough = widest.is_some_and(|(width, height)| {
        width <= full_width.div_ceil(8) && height <= full_height.div_ceil(8)
    });
    if let Some(eighth) = eighth_is_enough.then(|| eighth::decode(bytes)).flatten() {
        let pixel_type = match eighth.channels {
            1 => PixelType::U8,
            _ => PixelType::U8x3,
        };
        let pixels =
            PixelBuffer::from_vec_u8(eighth.width, eighth.height, eighth.pixels, pixel_type)
                .map_err(|e| KernelError::Corrupt(format!("truncated pixel data: {e}")))?;
        return Ok(Decoded {
            pixels,
            full_width,
            full_height,
        });
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
    Ok(Decoded {
        pixels,
        full_width,
        full_height,
    })
}

/// Adobe CMYK JPEGs store inverted ink values: scale each colour by the black channel.
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    cmyk.chunks_exact(4)
        .flat_map(|p| {
            let k = u16::from(p[3]);
            [0, 1, 2].map(|i| ((u16::from(p[i]) * k + 127) / 255) as u8)
        })
        .collect()
}

fn decode_png(bytes: &[u8], max_pixels: u64) -> Result<Decoded, KernelError> {
    let corrupt = |e: image::ImageError| KernelError::Corrupt(e.to_string());
    // The size is read from the header chunk by hand, before any decoder runs: the
    // budget is checked on 24 bytes, not after a decoder has started reading.
    let (width, height) = png_dimensions(bytes)?;
    check_budget(width.into(), height.into(), max_pixels)?;
    let decoder = PngDecoder::new(Cursor::new(bytes)).map_err(corrupt)?;
    let has_alpha = decoder.color_type().has_alpha();
    let image = image::DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    let (pixel_type, data) = if has_alpha {
        (PixelType::U8x4, image.into_rgba8().into_raw())
    } else {
        (PixelType::U8x3, image.into_rgb8().into_raw())
    };
    let pixels = PixelBuffer::from_vec_u8(width, height, data, pixel_type)
        .map_err(|e| KernelError::Corrupt(format!("truncated pixel data: {e}")))?;
    Ok(Decoded {
        pixels,
        full_width: width,
        full_height: height,
    })
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

fn encode(format: Format, image: &PixelBuffer<'_>) -> Result<Vec<u8>, KernelError> {
    let failed = |e: &dyn std::fmt::Display| KernelError::Corrupt(format!("encoding failed: {e}"));
    let mut out = Vec::new();
    let (w, h) = (image.width(), image.height());
    match format {
        Format::Jpeg => {
            // A JPEG thumbnail is made from a JPEG, so it is no larger than 65535 pixels.
            let (w, h) = (
                u16::try_from(w).map_err(|e| failed(&e))?,
                u16::try_from(h).map_err(|e| failed(&e))?,
            );
            let color = match image.pixel_type() {
                PixelType::U8 => jpeg_encoder::ColorType::Luma,
                _ => jpeg_encoder::ColorType::Rgb,
            };
            jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY)
                .encode(image.buffer(), w, h, color)
                .map_err(|e| failed(&e))?;
        }
        Format::Png => {
            let color = match image.pixel_type() {
                PixelType::U8 => ExtendedColorType::L8,
                PixelType::U8x4 => ExtendedColorType::Rgba8,
                _ => ExtendedColorType::Rgb8,
            };
            PngEncoder::new(&mut out)
                .write_image(image.buffer(), w, h, color)
                .map_err(|e| failed(&e))?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_size_keeps_the_aspect_ratio_and_never_upscales() {
        assert_eq!(target_size(1920, 1280, 200), (200, 133));
        assert_eq!(target_size(1920, 1280, 32), (32, 21));
        assert_eq!(target_size(100, 50, 200), (100, 50));
        assert_eq!(target_size(1000, 1, 10), (10, 1));
    }

    #[test]
    fn the_format_comes_from_the_bytes_not_the_name() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Ok(Format::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Ok(Format::Png));
        assert!(matches!(sniff(b""), Err(KernelError::NotAnImage(_))));
        assert!(matches!(sniff(b"GIF89a"), Err(KernelError::NotAnImage(_))));
    }
}
