//! EXIF orientation: how a photo is stored versus how it is shown.
//!
//! A phone's sensor always reads out in one direction, so a photo taken upright is
//! stored lying on its side, with an EXIF tag saying "rotate 90 degrees to show"
//! (orientation 6). Every viewer obeys the tag, so the thumbnail must too: its width is
//! the *shown* width. The kernel resizes the stored image (the small one, after a
//! scaled decode) and turns each thumbnail at the end, which costs a few thousand
//! pixels instead of millions. The thumbnail then carries no tag at all: its pixels are
//! already upright.

use fast_image_resize::PixelType;
use fast_image_resize::images::Image as PixelBuffer;
use image::metadata::Orientation;
use image::{DynamicImage, ImageBuffer};

use crate::contract::KernelError;

/// The orientation an EXIF block (from its TIFF header on) asks for; none, or an
/// unreadable one, means the pixels are shown as stored.
pub(super) fn from_exif(exif: Option<&[u8]>) -> Orientation {
    exif.and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms)
}

/// Whether showing the image swaps its width and height (the four orientations that
/// turn it by a quarter).
pub(super) fn swaps_sides(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// `(width, height)` as shown, from `(width, height)` as stored (or the other way round:
/// the swap is its own inverse).
pub(super) fn as_shown(orientation: Orientation, size: (u32, u32)) -> (u32, u32) {
    if swaps_sides(orientation) {
        (size.1, size.0)
    } else {
        size
    }
}

/// The stored-orientation pixels of a thumbnail, turned upright, as an image ready to
/// encode.
pub(super) fn upright(
    pixels: &PixelBuffer<'_>,
    orientation: Orientation,
) -> Result<DynamicImage, KernelError> {
    let (width, height) = (pixels.width(), pixels.height());
    let data = pixels.buffer().to_vec();
    let wrong_size = || KernelError::Corrupt("a thumbnail's pixels do not fill it".into());
    let mut image = match pixels.pixel_type() {
        PixelType::U8 => ImageBuffer::from_raw(width, height, data).map(DynamicImage::ImageLuma8),
        PixelType::U8x4 => ImageBuffer::from_raw(width, height, data).map(DynamicImage::ImageRgba8),
        _ => ImageBuffer::from_raw(width, height, data).map(DynamicImage::ImageRgb8),
    }
    .ok_or_else(wrong_size)?;
    image.apply_orientation(orientation);
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarter_turns_swap_the_sides_and_the_rest_do_not() {
        for tag in 1..=8 {
            let orientation = Orientation::from_exif(tag).unwrap();
            let expected = if tag >= 5 { (20, 10) } else { (10, 20) };
            assert_eq!(as_shown(orientation, (10, 20)), expected, "tag {tag}");
        }
        assert_eq!(from_exif(None), Orientation::NoTransforms);
        assert_eq!(from_exif(Some(b"garbage")), Orientation::NoTransforms);
    }
}
