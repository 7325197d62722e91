//! The random numbers behind every picture: SplitMix64, and the few kinds of number
//! the drawing asks it for.

/// SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit counter, scrambled.
///
/// Small, fast, statistically good enough for pictures, and fully specified here, so
/// the corpus cannot change under us when a dependency is upgraded.
pub(super) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// The generator for image `index` of the corpus with `seed`.
    ///
    /// Each image gets its own generator, so that image 7 is the same whether it is
    /// made first, last, or on another thread. Both numbers go through the scrambler,
    /// so neighbouring seeds and neighbouring indices give unrelated streams.
    pub(super) fn for_image(seed: u64, index: usize) -> Self {
        let index = index as u64; // usize is at most 64 bits on every Rust target
        Self {
            state: scramble(seed ^ scramble(index.wrapping_add(0x5EED))),
        }
    }

    /// The next 64 random bits.
    pub(super) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        scramble(self.state)
    }

    /// A number in `[0, 1)`. The top 24 bits make an `f32` exactly, with no rounding.
    pub(super) fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u32 << 24) as f32
    }

    /// A number in `[low, high)`.
    pub(super) fn range(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.unit()
    }

    /// A whole number in `0..n`; `n` must be at least 1. (The modulo's bias is far too
    /// small to see in a picture.)
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A random direction, as `(cos, sin)` of a random angle, found without
    /// trigonometry: pick points in a square until one falls inside the unit circle
    /// (and not too near its centre), then scale it to length 1.
    pub(super) fn direction(&mut self) -> (f32, f32) {
        loop {
            let x = self.range(-1.0, 1.0);
            let y = self.range(-1.0, 1.0);
            let length_squared = x * x + y * y;
            if (0.01..=1.0).contains(&length_squared) {
                let length = length_squared.sqrt();
                return (x / length, y / length);
            }
        }
    }
}

/// SplitMix64's output function: mixes all 64 bits into all 64 bits.
fn scramble(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
