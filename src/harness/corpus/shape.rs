//! The shapes of a picture: turned ellipses and rectangles, shaded from one side,
//! with crisp or soft edges.

use super::colour::{hsv, mix, smoothstep};
use super::random::SplitMix64;

/// The outline of a shape.
#[derive(Debug, Clone, Copy)]
enum Outline {
    Ellipse,
    Rectangle,
}

/// One shape to draw, in pixel coordinates.
pub(super) struct Shape {
    outline: Outline,
    /// Centre.
    centre: (f32, f32),
    /// Half width and half height, along the shape's own axes.
    half: (f32, f32),
    /// The shape's rotation, as `(cos, sin)`.
    turn: (f32, f32),
    /// The direction of the light, in the shape's own axes, divided by the shape's
    /// size: the shading runs from `lit` on this side to `shaded` on the other.
    light: (f32, f32),
    lit: [f32; 3],
    shaded: [f32; 3],
    /// How opaque the shape is at its centre (1 hides what is behind it).
    opacity: f32,
    /// The width of the soft edge, in pixels: 1 or 2 for an object in focus, tens of
    /// pixels for one out of focus.
    softness: f32,
}

impl Shape {
    /// A random shape somewhere in a `width` x `height` image, in colours near `hue`.
    pub(super) fn random(width: usize, height: usize, hue: f32, rng: &mut SplitMix64) -> Self {
        let (w, h) = (width as f32, height as f32);
        let outline = if rng.below(3) == 0 {
            Outline::Rectangle
        } else {
            Outline::Ellipse
        };
        let size = w.min(h) * rng.range(0.03, 0.3);
        let half = (size, size * rng.range(0.4, 1.6));
        let centre = (rng.range(0.0, w), rng.range(0.0, h));
        let turn = rng.direction();
        let light = rng.direction();
        let shape_hue = if rng.below(2) == 0 {
            hue + rng.range(-0.15, 0.15)
        } else {
            rng.unit()
        };
        let saturation = rng.range(0.2, 0.85);
        let value = rng.range(0.25, 0.95);
        let lit = hsv(shape_hue, saturation, value);
        let shaded = hsv(
            shape_hue + rng.range(-0.05, 0.05),
            saturation,
            value * rng.range(0.35, 0.75),
        );
        let opacity = rng.range(0.65, 1.0);
        let softness = if rng.below(4) == 0 {
            size * rng.range(0.1, 0.4)
        } else {
            rng.range(0.8, 2.5)
        };
        let long = half.0.max(half.1);
        Self {
            outline,
            centre,
            half,
            turn,
            light: (light.0 / long, light.1 / long),
            lit,
            shaded,
            opacity,
            softness,
        }
    }

    /// Roughly how far outside the outline the point `(u, v)` (in the shape's own axes)
    /// is, in pixels; negative inside. For an ellipse this is exact on the short axis
    /// and close enough elsewhere for a soft edge.
    fn outside(&self, u: f32, v: f32) -> f32 {
        let (half_u, half_v) = self.half;
        match self.outline {
            Outline::Ellipse => {
                let (a, b) = (u / half_u, v / half_v);
                ((a * a + b * b).sqrt() - 1.0) * half_u.min(half_v)
            }
            Outline::Rectangle => (u.abs() - half_u).max(v.abs() - half_v),
        }
    }

    /// Where image row `y` crosses the shape, soft edge included: the range of `dx`
    /// (horizontal distance from the centre) where [`Shape::outside`] is below half the
    /// softness, which is where the shape covers anything at all. `None` if the row
    /// misses the shape.
    ///
    /// Visiting only these pixels, instead of every pixel of a bounding square, makes
    /// drawing a turned, elongated shape several times cheaper.
    fn row_span(&self, y: usize) -> Option<(f32, f32)> {
        let dy = y as f32 + 0.5 - self.centre.1;
        let (cos, sin) = self.turn;
        let (half_u, half_v) = self.half;
        let margin = self.softness * 0.5;
        let (low, high) = match self.outline {
            Outline::Ellipse => {
                // In the shape's axes, u = dx cos + dy sin and v = dy cos - dx sin, and the
                // soft edge ends where (u/a)² + (v/b)² = reach², a quadratic in dx:
                // qa dx² + qb dx + qc = 0.
                let reach = 1.0 + margin / half_u.min(half_v);
                let (ia, ib) = (1.0 / (half_u * half_u), 1.0 / (half_v * half_v));
                let qa = cos * cos * ia + sin * sin * ib;
                let qb = 2.0 * dy * cos * sin * (ia - ib);
                let qc = dy * dy * (sin * sin * ia + cos * cos * ib) - reach * reach;
                let discriminant = qb * qb - 4.0 * qa * qc;
                if discriminant <= 0.0 {
                    return None;
                }
                let root = discriminant.sqrt();
                ((-qb - root) / (2.0 * qa), (-qb + root) / (2.0 * qa))
            }
            Outline::Rectangle => {
                // A rectangle is where two bands cross: |u| < a and |v| < b (each grown
                // by the margin). Along the row, each band is an interval of dx.
                let (u_low, u_high) = band(cos, dy * sin, half_u + margin)?;
                let (v_low, v_high) = band(-sin, dy * cos, half_v + margin)?;
                (u_low.max(v_low), u_high.min(v_high))
            }
        };
        (low < high).then_some((low, high))
    }

    /// Blends the shape's part of image row `y` onto `row`.
    pub(super) fn paint_row(&self, y: usize, row: &mut [[f32; 3]]) {
        let Some((low, high)) = self.row_span(y) else {
            return;
        };
        let (cx, cy) = self.centre;
        // Pixel x has its centre at x + 0.5. Round outwards (the cover test below is
        // the exact one); `as usize` turns negative numbers into 0, `min` clips the end.
        let start = (cx + low - 0.5).floor().max(0.0) as usize;
        let end = ((cx + high + 0.5).ceil().max(0.0) as usize).min(row.len());
        let (cos, sin) = self.turn;
        let dy = y as f32 + 0.5 - cy;
        let inverse_softness = 1.0 / self.softness;
        for (x, pixel) in row.iter_mut().enumerate().take(end).skip(start) {
            let dx = x as f32 + 0.5 - cx;
            // The pixel in the shape's own axes.
            let u = dx * cos + dy * sin;
            let v = dy * cos - dx * sin;
            let edge = 0.5 - self.outside(u, v) * inverse_softness;
            let cover = smoothstep(edge.clamp(0.0, 1.0));
            if cover <= 0.0 {
                continue;
            }
            let towards_light = u * self.light.0 + v * self.light.1;
            let shade = (0.5 + 0.5 * towards_light).clamp(0.0, 1.0);
            *pixel = mix(
                *pixel,
                mix(self.shaded, self.lit, shade),
                cover * self.opacity,
            );
        }
    }
}

/// The values of `dx` for which `|slope * dx + offset| < limit`: an interval, all of
/// the line (when the slope is 0 and the offset is within the limit), or `None`.
fn band(slope: f32, offset: f32, limit: f32) -> Option<(f32, f32)> {
    if slope.abs() < 1e-6 {
        return (offset.abs() < limit).then_some((f32::NEG_INFINITY, f32::INFINITY));
    }
    let (a, b) = ((-limit - offset) / slope, (limit - offset) / slope);
    Some((a.min(b), a.max(b)))
}
