//! Encoding a thumbnail. Only pixels are written: no EXIF (so no camera serial, date or
//! GPS position leaks into a thumbnail), no orientation tag (the pixels are already
//! upright), no colour profile (they are sRGB, which every viewer assumes).

use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ExtendedColorType, ImageEncoder};

use crate::contract::{Format, KernelError};

/// JPEG quality of the thumbnails.
pub const JPEG_QUALITY: u8 = 85;

/// `image` encoded as `format`. JPEG thumbnails go through `jpeg-encoder`, about twice as
/// fast as the `image` crate's encoder on these small images; WebP thumbnails are
/// lossless, because `image-webp`, the `image` crate's own pure-Rust encoder, has no
/// lossy mode.
pub(super) fn encode(format: Format, image: DynamicImage) -> Result<Vec<u8>, KernelError> {
    let failed = |e: &dyn std::fmt::Display| KernelError::Corrupt(format!("encoding failed: {e}"));
    let mut out = Vec::new();
    let (w, h) = (image.width(), image.height());
    match format {
        Format::Jpeg => {
            let (w, h) = (
                u16::try_from(w).map_err(|e| failed(&e))?,
                u16::try_from(h).map_err(|e| failed(&e))?,
            );
            let (pixels, colour) = match image {
                DynamicImage::ImageLuma8(grey) => (grey.into_raw(), jpeg_encoder::ColorType::Luma),
                DynamicImage::ImageRgba8(rgba) => (on_white(&rgba), jpeg_encoder::ColorType::Rgb),
                other => (other.into_rgb8().into_raw(), jpeg_encoder::ColorType::Rgb),
            };
            jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY)
                .encode(&pixels, w, h, colour)
                .map_err(|e| failed(&e))?;
        }
        Format::Png => PngEncoder::new(&mut out)
            .write_image(image.as_bytes(), w, h, colour_type(&image))
            .map_err(|e| failed(&e))?,
        Format::Webp => WebPEncoder::new_lossless(&mut out)
            .write_image(image.as_bytes(), w, h, colour_type(&image))
            .map_err(|e| failed(&e))?,
        Format::Gif => return Err(failed(&"GIF thumbnails are not written")),
    }
    Ok(out)
}

fn colour_type(image: &DynamicImage) -> ExtendedColorType {
    match image {
        DynamicImage::ImageLuma8(_) => ExtendedColorType::L8,
        DynamicImage::ImageRgba8(_) => ExtendedColorType::Rgba8,
        _ => ExtendedColorType::Rgb8,
    }
}

/// RGBA laid on a white background, as RGB: JPEG has no transparency, and white is what
/// a transparent area shows on most pages.
fn on_white(rgba: &image::RgbaImage) -> Vec<u8> {
    rgba.pixels()
        .flat_map(|pixel| {
            let alpha = u16::from(pixel[3]);
            [0, 1, 2]
                .map(|i| ((u16::from(pixel[i]) * alpha + 255 * (255 - alpha) + 127) / 255) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transparent_pixels_become_white_and_opaque_ones_stay() {
        let rgba = image::RgbaImage::from_raw(2, 1, vec![10, 20, 30, 0, 10, 20, 30, 255]).unwrap();
        assert_eq!(on_white(&rgba), [255, 255, 255, 10, 20, 30]);
    }
}
