//! The small colour sums every layer of a picture uses: blends, ramps, hues, rounding.

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
