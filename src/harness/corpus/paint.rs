//! Painting a picture: the loop that draws a scene row by row, and the small colour
//! sums (blends, ramps, hues, rounding) that every layer uses.

use super::random::SplitMix64;
use super::scene::Scene;

/// Draws one picture and returns its pixels as bytes, row by row: RGB, or RGBA with
/// `alpha`.
///
/// First every random choice is made, in a fixed order, into a [`Scene`]; then the
/// picture is drawn one row at a time. Drawing by rows keeps the working data (one row
/// of floats, about 23 KB at 1920 wide) in the processor's cache, where a whole picture
/// of floats (30 MB) would not fit, and gives the same result as drawing layer by layer
/// over the whole picture.
pub(super) fn render(width: usize, height: usize, alpha: bool, rng: &mut SplitMix64) -> Vec<u8> {
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

/// Rounds a level to the nearest byte, clipping to `0..=255`.
pub(super) fn to_byte(level: f32) -> u8 {
    // After the clamp the value fits, and `as` rounds toward zero: hence the + 0.5.
    (level + 0.5).clamp(0.0, 255.0) as u8
}

/// The smooth 0-to-1 ramp `3t² - 2t³`: flat at both ends, so blended cells and soft
/// edges show no seams.
pub(super) fn smoothstep(t: f32) -> f32 {
    t * t * (3.0 - 2.0 * t)
}

/// `a` blended towards `b` by `t` (0 gives `a`, 1 gives `b`), channel by channel.
pub(super) fn mix<const N: usize>(a: [f32; N], b: [f32; N], t: f32) -> [f32; N] {
    std::array::from_fn(|i| a[i] + (b[i] - a[i]) * t)
}

/// A colour from hue (any number; only its fractional part counts), saturation and
/// value (both `0..=1`), as levels `0..=255`. The hue wheel is six straight ramps, so
/// no trigonometry is needed.
pub(super) fn hsv(hue: f32, saturation: f32, value: f32) -> [f32; 3] {
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
