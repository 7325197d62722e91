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
//! And these make it right on the photos people have (one file each):
//!
//! - `orientation`: a phone photo stored on its side is shown upright, so its thumbnail
//!   is too; the small thumbnail is turned, never the big image.
//! - `colour`: a photo with a colour profile (Display P3, Adobe RGB) is converted to
//!   sRGB before it is resized.
//! - `decode`: WebP and GIF (its first frame) are read beside JPEG and PNG.
//! - `encode`: a thumbnail carries pixels only, no EXIF, so no GPS position leaks; its
//!   format follows [`OutputFormat`].
//!
//! Everything here runs on the calling thread. That matters for the lessons: a decoder
//! that quietly handed work to a thread pool of its own (as `jpeg-decoder` does with
//! its `rayon` feature, on the slow path only) would make a "sequential" chapter use
//! two cores and blur every chapter's timeline.

use fast_image_resize::images::Image as PixelBuffer;
use fast_image_resize::{FilterType, MulDiv, ResizeAlg, ResizeOptions, Resizer};
use image::metadata::Orientation;

use crate::contract::{DecodeLimits, KernelError, OutputFormat, Sizes, Thumbnail};

mod colour;
mod decode;
mod eighth;
mod encode;
mod jpeg_layout;
mod orientation;
mod sniff;

pub use encode::JPEG_QUALITY;
pub use sniff::sniff;

/// The default pixel budget: 100 megapixels.
pub const DEFAULT_MAX_PIXELS: u64 = DecodeLimits::DEFAULT.max_pixels;

/// The size of the thumbnail for a requested width: never wider than the image, and the
/// height in proportion, rounded to the nearest pixel and at least 1.
pub fn target_size(width: u32, height: u32, requested_width: u32) -> (u32, u32) {
    let w = requested_width.min(width);
    let h = (u64::from(height) * u64::from(w) + u64::from(width) / 2) / u64::from(width);
    (w, h.max(1) as u32)
}

/// The size to resize the stored pixels to, for a thumbnail `requested_width` wide *as
/// shown*: the target size of the shown image, turned back to how it is stored.
fn resize_target(orientation: Orientation, stored: (u32, u32), requested_width: u32) -> (u32, u32) {
    let (width, height) = orientation::as_shown(orientation, stored);
    orientation::as_shown(orientation, target_size(width, height, requested_width))
}

/// Makes one thumbnail per width in `sizes`, in that order, in the [`OutputFormat::Auto`]
/// format, within `limits` (a bare number is a pixel budget, the other limits at their
/// defaults).
pub fn thumbnails(
    bytes: &[u8],
    sizes: &Sizes,
    limits: impl Into<DecodeLimits>,
) -> Result<Vec<Thumbnail>, KernelError> {
    thumbnails_in_steps(bytes, sizes, limits, OutputFormat::Auto, |_| {})
}

/// [`thumbnails`] in the format `output` chooses.
pub fn thumbnails_as(
    bytes: &[u8],
    sizes: &Sizes,
    limits: impl Into<DecodeLimits>,
    output: OutputFormat,
) -> Result<Vec<Thumbnail>, KernelError> {
    thumbnails_in_steps(bytes, sizes, limits, output, |_| {})
}

/// A piece of the CPU step, as [`thumbnails_in_steps`] reports it when it is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// The image read into pixels (and its colours converted to sRGB).
    Decode,
    /// One thumbnail's pixels resized (and turned upright), by its requested width.
    Resize(u32),
    /// One thumbnail encoded, by its requested width.
    Encode(u32),
}

/// [`thumbnails_as`], calling `between` after each of its pieces: the decode, then each
/// width's resize and encode. The result is the same, byte for byte; `between` only
/// gives the caller a say between pieces (the shared-state chapter's simulated GIL uses
/// it to let another thread run, the way an interpreter switches threads between
/// instructions; `workbench profile` times the pieces).
pub fn thumbnails_in_steps(
    bytes: &[u8],
    sizes: &Sizes,
    limits: impl Into<DecodeLimits>,
    output: OutputFormat,
    mut between: impl FnMut(Piece),
) -> Result<Vec<Thumbnail>, KernelError> {
    let source_format = sniff(bytes)?;
    let decoded = decode::decode(source_format, bytes, sizes, &limits.into())?;
    let transparent = decoded.pixels.pixel_type() == fast_image_resize::PixelType::U8x4;
    let format = output.choose(source_format, transparent);
    let stored = (decoded.full_width, decoded.full_height);
    // Colours are converted before resizing: resizing averages pixels, and averages of
    // numbers in two different colour spaces would be neither.
    let mut source = colour::to_srgb(decoded.pixels, decoded.icc.as_deref())?;
    between(Piece::Decode);
    let mut resizer = Resizer::new();
    // Widest first, and each narrower thumbnail from the one just made: a 64-pixel
    // thumbnail needs nothing the 200-pixel one lacks, and resizing 200 pixels costs far
    // less than resizing 1920 (a PNG is decoded at its full size).
    let widths = sizes.widths();
    let mut order: Vec<usize> = (0..widths.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(widths[i]));
    let mut thumbs: Vec<Option<Thumbnail>> = vec![None; widths.len()];
    for i in order {
        // ANCHOR: resize_and_turn
        let (width, height) = resize_target(decoded.orientation, stored, widths[i]);
        let resized = resize(&mut resizer, &mut source, width, height)?;
        // Turned upright only now, on the thumbnail: a few thousand pixels to move
        // instead of the whole photo.
        let upright = orientation::upright(&resized, decoded.orientation)?;
        // ANCHOR_END: resize_and_turn
        between(Piece::Resize(widths[i]));
        thumbs[i] = Some(Thumbnail {
            requested_width: widths[i],
            width: upright.width(),
            height: upright.height(),
            format,
            bytes: encode::encode(format, upright)?,
        });
        between(Piece::Encode(widths[i]));
        source = resized;
    }
    Ok(thumbs.into_iter().flatten().collect())
}

/// Resizes `source` to `width` x `height` (Lanczos3). The source may be changed.
///
/// In a picture with transparency, each colour must count in proportion to its opacity,
/// or the colour of invisible pixels bleeds into the edges of visible ones: the colours
/// are multiplied by their alpha before resizing and divided by it after. The resizer
/// would multiply them into a copy of the whole picture, 10 MB of fresh memory for a
/// full-size PNG; here they are multiplied where they are, with the same arithmetic and
/// the same result. A picture already at the size is copied as it is, untouched.
fn resize(
    resizer: &mut Resizer,
    source: &mut PixelBuffer<'static>,
    width: u32,
    height: u32,
) -> Result<PixelBuffer<'static>, KernelError> {
    let failed = |e: &dyn std::fmt::Display| KernelError::Corrupt(format!("resize failed: {e}"));
    let mut resized = PixelBuffer::new(width, height, source.pixel_type());
    let alpha = MulDiv::default();
    let weighted = alpha.is_supported(source.pixel_type())
        && (width, height) != (source.width(), source.height());
    if weighted {
        alpha
            .multiply_alpha_inplace(source)
            .map_err(|e| failed(&e))?;
    }
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .use_alpha(false);
    resizer
        .resize(source, &mut resized, &options)
        .map_err(|e| failed(&e))?;
    if weighted {
        alpha
            .divide_alpha_inplace(&mut resized)
            .map_err(|e| failed(&e))?;
    }
    Ok(resized)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fast_image_resize::PixelType;

    #[test]
    fn transparent_pixels_resize_as_the_resizer_would_on_a_copy() {
        let (width, height) = (300, 200);
        let mut seed = 7u32;
        let rgba: Vec<u8> = (0..width * height * 4)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (seed >> 16) as u8
            })
            .collect();
        let picture =
            || PixelBuffer::from_vec_u8(width, height, rgba.clone(), PixelType::U8x4).unwrap();
        for (w, h) in [(100, 67), (300, 200)] {
            let mut expected = PixelBuffer::new(w, h, PixelType::U8x4);
            let lanczos =
                ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
            Resizer::new()
                .resize(&picture(), &mut expected, &lanczos)
                .unwrap();
            let resized = resize(&mut Resizer::new(), &mut picture(), w, h).unwrap();
            assert_eq!(resized.buffer(), expected.buffer(), "{w}x{h}");
        }
    }

    #[test]
    fn target_size_keeps_the_aspect_ratio_and_never_upscales() {
        assert_eq!(target_size(1920, 1280, 200), (200, 133));
        assert_eq!(target_size(1920, 1280, 32), (32, 21));
        assert_eq!(target_size(100, 50, 200), (100, 50));
        assert_eq!(target_size(1000, 1, 10), (10, 1));
    }

    #[test]
    fn the_check_points_come_after_the_decode_then_each_width_widest_first() {
        let mut picture = Vec::new();
        image::RgbImage::from_fn(300, 200, |x, y| image::Rgb([x as u8, y as u8, 90]))
            .write_to(
                &mut std::io::Cursor::new(&mut picture),
                image::ImageFormat::Png,
            )
            .unwrap();
        let sizes: Sizes = "32,200,64".parse().unwrap();
        let mut pieces = Vec::new();
        let thumbs = thumbnails_in_steps(
            &picture,
            &sizes,
            DEFAULT_MAX_PIXELS,
            OutputFormat::Auto,
            |p| pieces.push(p),
        )
        .unwrap();
        use Piece::*;
        let expected = [
            Decode,
            Resize(200),
            Encode(200),
            Resize(64),
            Encode(64),
            Resize(32),
            Encode(32),
        ];
        assert_eq!(pieces, expected);
        // And the thumbnails are the ones asked for, in the order asked.
        let widths: Vec<u32> = thumbs.iter().map(|t| t.width).collect();
        assert_eq!(widths, [32, 200, 64]);
    }

    #[test]
    fn a_photo_stored_on_its_side_is_resized_to_its_shown_width() {
        // Stored 400x200, shown 200x400: a 64-wide thumbnail is 64x128 as shown, so the
        // stored pixels are resized to 128x64 before they are turned.
        assert_eq!(
            resize_target(Orientation::Rotate90, (400, 200), 64),
            (128, 64)
        );
        assert_eq!(
            resize_target(Orientation::NoTransforms, (400, 200), 64),
            (64, 32)
        );
        assert_eq!(
            resize_target(Orientation::Rotate270FlipH, (400, 200), 300),
            (400, 200)
        );
    }
}
