//! A JPEG's layout, read before any decoder runs: its frame header and how many scans
//! it has.
//!
//! A JPEG is a row of markers (`0xFF` and a code), most followed by a segment that
//! gives its own length; after each scan header (SOS) comes entropy-coded data, in
//! which a `0xFF` data byte is always followed by a stuffed `0x00`. So the whole file
//! can be walked by looking for `0xFF` and the byte after it, without decoding a
//! single block: a pass at the speed of memory, done before a decoder is trusted with
//! the file. It reads what a decoder has no knob for: how many times the decoder would
//! go over the whole picture (one pass per scan), and whether the frame is one that
//! `jpeg-decoder`'s 16-bit row counters can reach the end of.
//!
//! The walk follows the markers the way `jpeg-decoder` does (bytes between segments
//! skipped, fill bytes before a marker allowed, restart markers inside the data), so
//! that it counts the scans that decoder would decode. Whether the file is well formed
//! is for the decoders to say.

/// What the walk found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Layout {
    /// The frame header (the first one), if the walk met one.
    pub frame: Option<Frame>,
    /// Scan headers before the end of the image.
    pub scans: u32,
}

/// The frame header: the picture's size and how it is coded.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Frame {
    pub width: u16,
    pub height: u16,
    /// Each component's sampling factors, across and down.
    pub factors: Vec<(u8, u8)>,
}

/// The largest number `jpeg-decoder` counts pixel rows and columns in: it computes
/// `block row x 8` in 16 bits, so a frame padded past this overflows it.
const DECODER_COUNTS_TO: u32 = u16::MAX as u32;

impl Layout {
    /// Walks the markers of `bytes` from the start-of-image marker to the end-of-image
    /// marker (or the end of the bytes).
    pub fn read(bytes: &[u8]) -> Layout {
        let mut layout = Layout::default();
        if !bytes.starts_with(&[0xFF, 0xD8]) {
            return layout;
        }
        let mut at = 2;
        while let Some((code, after)) = next_marker(bytes, at) {
            at = after;
            match code {
                0xD9 => break,
                // Restart markers (inside entropy-coded data) and TEM have no segment.
                0xD0..=0xD7 | 0x01 => continue,
                _ => {}
            }
            let Some(segment) = segment(bytes, at) else {
                break;
            };
            match code {
                // Every start-of-frame code but DHT (C4), JPG (C8) and DAC (CC).
                0xC0..=0xCF if !matches!(code, 0xC4 | 0xC8 | 0xCC) && layout.frame.is_none() => {
                    layout.frame = Frame::read(segment);
                }
                0xDA => layout.scans += 1,
                _ => {}
            }
            at += 2 + segment.len();
        }
        layout
    }
}

impl Frame {
    fn read(segment: &[u8]) -> Option<Frame> {
        let field = |at: usize| {
            Some(u16::from_be_bytes([
                *segment.get(at)?,
                *segment.get(at + 1)?,
            ]))
        };
        let count = usize::from(*segment.get(5)?);
        let factors = segment
            .get(6..6 + 3 * count)?
            .chunks_exact(3)
            .map(|component| (component[1] >> 4, component[1] & 15))
            .collect();
        Some(Frame {
            height: field(1)?,
            width: field(3)?,
            factors,
        })
    }

    /// Whether `jpeg-decoder` can count to the frame's last block row and column: it
    /// pads the picture to whole MCUs (`8 x` the largest sampling factor) and counts
    /// pixel rows in 16 bits, so a frame padded past 65535 makes its arithmetic
    /// overflow (a panic in a build with overflow checks, a wrong answer without).
    pub fn fits_decoder_counters(&self) -> bool {
        let largest = |factor: fn(&(u8, u8)) -> u8| {
            u32::from(self.factors.iter().map(factor).max().unwrap_or(1).max(1))
        };
        let padded = |size: u16, factor: u32| u32::from(size).div_ceil(8 * factor) * 8 * factor;
        padded(self.width, largest(|f| f.0)) <= DECODER_COUNTS_TO
            && padded(self.height, largest(|f| f.1)) <= DECODER_COUNTS_TO
    }
}

/// The next marker at or after `at`: its code, and where its segment (if any) starts.
/// Bytes that are not a marker are passed over, as the decoders do: entropy-coded data,
/// stuffed `0xFF 0x00` pairs, and junk between segments.
fn next_marker(bytes: &[u8], mut at: usize) -> Option<(u8, usize)> {
    loop {
        at += bytes.get(at..)?.iter().position(|&b| b == 0xFF)?;
        // Any number of 0xFF fill bytes may come before a marker's code.
        while *bytes.get(at)? == 0xFF {
            at += 1;
        }
        let code = bytes[at];
        at += 1;
        if code != 0x00 {
            return Some((code, at));
        }
    }
}

/// The segment whose two-byte length (which counts itself) is at `at`, without that
/// length; `None` if it runs past the end of the bytes.
fn segment(bytes: &[u8], at: usize) -> Option<&[u8]> {
    let length = usize::from(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
    bytes.get(at + 2..at + length.max(2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jpeg_encoder::{ColorType, Encoder};

    fn encode(progressive: bool) -> Vec<u8> {
        let (width, height) = (64_u16, 48_u16);
        let pixels = vec![128_u8; usize::from(width) * usize::from(height) * 3];
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, 90);
        encoder.set_progressive(progressive);
        encoder
            .encode(&pixels, width, height, ColorType::Rgb)
            .expect("encodes");
        out
    }

    #[test]
    fn a_baseline_jpeg_has_one_scan_and_a_progressive_one_several() {
        let baseline = Layout::read(&encode(false));
        assert_eq!(baseline.scans, 1);
        let frame = baseline.frame.expect("a frame");
        assert_eq!(
            (frame.width, frame.height, frame.factors.len()),
            (64, 48, 3)
        );
        let progressive = Layout::read(&encode(true));
        assert!(progressive.scans > 1, "{progressive:?}");
    }

    #[test]
    fn a_frame_padded_past_65535_rows_does_not_fit_the_decoder() {
        let frame = |height, factor| Frame {
            width: 8,
            height,
            factors: vec![(1, factor)],
        };
        assert!(frame(65528, 1).fits_decoder_counters());
        assert!(!frame(65535, 1).fits_decoder_counters());
        assert!(frame(65520, 2).fits_decoder_counters());
        assert!(!frame(65521, 2).fits_decoder_counters());
    }

    #[test]
    fn anything_else_has_no_frame_and_no_scan() {
        assert_eq!(Layout::read(b""), Layout::default());
        assert_eq!(Layout::read(b"\x89PNG\r\n"), Layout::default());
        assert_eq!(Layout::read(b"\xFF\xD8\xFF"), Layout::default());
    }
}
