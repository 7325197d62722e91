//! The scene: every random choice about one picture (its light, shapes, texture,
//! vignette and grain), the two steps that start and finish each row, and the loop
//! that draws the picture row by row.

use super::colour::{hsv, mix, smoothstep, to_byte};
use super::noise::ValueNoise;
use super::random::SplitMix64;
use super::shape::Shape;

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

/// How strong the per-pixel grain is, in levels of 0..255, before each image's random
/// variation of ±20 %. Grain is the main knob of the file size (and so of the decode
/// cost). Tuned so that a 1920x1280 JPEG at quality 90 is about 500 KB: the 44 JPEGs of
/// the default corpus measure 412 to 567 KB, median 500 KB.
const GRAIN: f32 = 7.5;

/// How strong the fine texture (6-pixel cells) is, in levels of 0..255.
const FINE_TEXTURE: f32 = 6.0;

/// Everything random about one picture except its grain, decided before drawing.
pub(super) struct Scene {
    /// The colours at the top and the bottom of the background gradient.
    top: [f32; 3],
    bottom: [f32; 3],
    /// How much the gradient leans: the horizon is not always level.
    tilt: f32,
    /// Large, smooth blobs of colour: "the lighting".
    pub(super) colour_fields: Vec<ValueNoise<3>>,
    /// Finer brightness-only noise: "the material".
    pub(super) texture_fields: Vec<ValueNoise<1>>,
    /// Drawn in order, later ones over earlier ones.
    pub(super) shapes: Vec<Shape>,
    /// How much darker the corners are than the centre (0 = not at all).
    vignette: f32,
    /// The strength of the brightness grain, and of the (weaker) colour grain.
    grain: f32,
    colour_grain: f32,
    /// For pictures with alpha: where the opaque oval ends (in half-widths and
    /// half-heights from the centre), and how wide its fading edge is.
    oval_edge: f32,
    oval_softness: f32,
    /// The squared distance from the centre of each column and each row, in
    /// half-widths and half-heights, for the vignette and the oval.
    across: Vec<f32>,
    down: Vec<f32>,
}

impl Scene {
    /// Makes every choice for a `width` x `height` picture, in a fixed order.
    pub(super) fn random(width: usize, height: usize, rng: &mut SplitMix64) -> Self {
        // A palette around one base hue, as a real scene tends to have.
        let hue = rng.unit();
        let top = hsv(
            hue + rng.range(-0.08, 0.08),
            rng.range(0.15, 0.55),
            rng.range(0.6, 0.95),
        );
        let bottom = hsv(
            hue + rng.range(-0.3, 0.3),
            rng.range(0.25, 0.75),
            rng.range(0.2, 0.6),
        );
        let tilt = rng.range(-0.3, 0.3);

        // Cell sizes are relative to the picture for the colour fields (lighting scales
        // with the scene), and in pixels for the texture (a material's grain looks the
        // same at any picture size).
        let short_side = width.min(height) as f32;
        let colour_fields = vec![
            ValueNoise::random(width, height, short_side / 3.0, 45.0, rng),
            ValueNoise::random(width, height, short_side / 12.0, 20.0, rng),
        ];
        let texture_fields = vec![
            ValueNoise::random(width, height, 24.0, 10.0, rng),
            ValueNoise::random(width, height, 6.0, FINE_TEXTURE, rng),
        ];

        let shape_count = 10 + rng.below(15);
        let shapes = (0..shape_count)
            .map(|_| Shape::random(width, height, hue, rng))
            .collect();

        let grain = GRAIN * rng.range(0.8, 1.2);
        Self {
            top,
            bottom,
            tilt,
            colour_fields,
            texture_fields,
            shapes,
            vignette: rng.range(0.15, 0.4),
            grain,
            // Colour noise is weaker than brightness noise, as in a real sensor's output.
            colour_grain: grain * 0.4,
            oval_edge: rng.range(0.85, 0.98),
            oval_softness: rng.range(0.1, 0.25),
            across: centred_squares(width),
            down: centred_squares(height),
        }
    }

    /// Fills `row` with row `y` of the background gradient.
    pub(super) fn background_row(&self, y: usize, height: usize, row: &mut [[f32; 3]]) {
        let down = (y as f32 + 0.5) / height as f32;
        let width = row.len() as f32;
        for (x, pixel) in row.iter_mut().enumerate() {
            let across = (x as f32 + 0.5) / width - 0.5;
            *pixel = mix(
                self.top,
                self.bottom,
                (down + self.tilt * across).clamp(0.0, 1.0),
            );
        }
    }

    /// Turns row `y` into bytes, as a camera develops its sensor data: adds the texture,
    /// darkens towards the corners (vignette), adds grain, and rounds to 8 bits. With
    /// `alpha`, a fourth channel cuts the picture out as a soft-edged oval, transparent
    /// in the corners, as a product photo or a sticker might be.
    ///
    /// The grain is drawn here, pixel by pixel in row order, from the same generator as
    /// the scene: still one fixed sequence of draws.
    pub(super) fn develop_row(
        &self,
        y: usize,
        colour: &[[f32; 3]],
        texture: &[[f32; 1]],
        alpha: bool,
        out: &mut [u8],
        rng: &mut SplitMix64,
    ) {
        let channels = if alpha { 4 } else { 3 };
        let dy2 = self.down[y];
        let pixels = colour.iter().zip(texture).zip(&self.across);
        for (((pixel, &[texture]), &dx2), bytes) in pixels.zip(out.chunks_exact_mut(channels)) {
            let distance_squared = dx2 + dy2;
            let light = 1.0 - self.vignette * distance_squared * 0.5;
            // Grain from one 64-bit draw: the sum of two 16-bit numbers is a triangular
            // (roughly bell-shaped) brightness noise; two more give the colour noise.
            let bits = rng.next_u64();
            let part = |shift: u32| ((bits >> shift) & 0xFFFF) as i32 as f32 / 65535.0;
            let luma = texture + (part(0) + part(16) - 1.0) * self.grain;
            let red_shift = (part(32) - 0.5) * 2.0 * self.colour_grain;
            let blue_shift = (part(48) - 0.5) * 2.0 * self.colour_grain;
            bytes[0] = to_byte(pixel[0] * light + luma + red_shift);
            bytes[1] = to_byte(pixel[1] * light + luma - 0.5 * (red_shift + blue_shift));
            bytes[2] = to_byte(pixel[2] * light + luma + blue_shift);
            if alpha {
                let distance = distance_squared.sqrt();
                let inside = (self.oval_edge - distance) / self.oval_softness + 0.5;
                bytes[3] = to_byte(255.0 * smoothstep(inside.clamp(0.0, 1.0)));
            }
        }
    }
}

/// For each of `n` pixels along a side, the square of its distance from the middle,
/// where the middle is 0 and either edge is 1.
fn centred_squares(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let d = (i as f32 + 0.5) / n as f32 * 2.0 - 1.0;
            d * d
        })
        .collect()
}
