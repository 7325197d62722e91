//! Colour profiles: pixels are converted to sRGB before they are resized.
//!
//! A pixel's three numbers mean nothing without a colour space. Most images are sRGB
//! (the web's default, and what a file without a profile is taken to be, as every
//! browser and libvips do). Current phones and cameras shoot in wider spaces (Display
//! P3, Adobe RGB) and embed an ICC profile saying so; read as if it were sRGB, such a
//! photo looks dull. So a tagged RGB image is converted to sRGB with `moxcms`, the
//! pure-Rust colour-management crate the `image` crate itself uses, and its thumbnails
//! are plain sRGB with no profile (which every viewer assumes).
//!
//! What is not converted, on purpose:
//! - an image with no profile, or one whose profile cannot be read: taken as sRGB;
//! - greyscale images: their profiles are tone curves close to sRGB's;
//! - CMYK JPEGs: turned into RGB by the simple ink formula (see `decode`), ignoring
//!   their profile, so their colours are approximate.

use fast_image_resize::PixelType;
use fast_image_resize::images::Image as PixelBuffer;
use moxcms::{ColorProfile, DataColorSpace, Layout, TransformOptions};

use crate::contract::KernelError;

/// `pixels` converted from the colour space `icc` describes to sRGB. Pixels with no
/// profile, or a profile this step does not apply (see the module's notes), are
/// returned as they are.
pub(super) fn to_srgb(
    pixels: PixelBuffer<'static>,
    icc: Option<&[u8]>,
) -> Result<PixelBuffer<'static>, KernelError> {
    let layout = match pixels.pixel_type() {
        PixelType::U8x3 => Layout::Rgb,
        PixelType::U8x4 => Layout::Rgba,
        _ => return Ok(pixels),
    };
    let Some(profile) = icc.and_then(|icc| ColorProfile::new_from_slice(icc).ok()) else {
        return Ok(pixels);
    };
    if profile.color_space != DataColorSpace::Rgb {
        return Ok(pixels);
    }
    let failed = |e: &dyn std::fmt::Display| {
        KernelError::Corrupt(format!("cannot convert its colour profile to sRGB: {e}"))
    };
    let srgb = ColorProfile::new_srgb();
    let transform = profile
        .create_transform_8bit(layout, &srgb, layout, TransformOptions::default())
        .map_err(|e| failed(&e))?;
    let (width, height, pixel_type) = (pixels.width(), pixels.height(), pixels.pixel_type());
    let mut converted = vec![0; pixels.buffer().len()];
    transform
        .transform(pixels.buffer(), &mut converted)
        .map_err(|e| failed(&e))?;
    PixelBuffer::from_vec_u8(width, height, converted, pixel_type).map_err(|e| failed(&e))
}
