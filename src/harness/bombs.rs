//! Hostile images, made on purpose: small files that would cost a trusting decoder
//! minutes of CPU or gigabytes of memory, or that walk it into a corner of its
//! arithmetic. The tests make them on the spot (nothing large is stored) and check that
//! each costs one image a clear error, never the batch or the machine.
//!
//! The JPEGs are written by hand, marker by marker, with one-code Huffman tables: a
//! greyscale block whose DC difference and AC coefficients are all zero then takes two
//! bits, so a few bytes describe a picture of any size.

/// A progressive greyscale JPEG of `width` x `height` with `scans` scans: one DC scan,
/// then the same AC band over and over. Each scan is a few bytes (one "end of band"
/// code covers 32768 blocks), yet a decoder goes over every block of the picture for
/// each: a thousand scans at 2000x2000 are about 20 KB.
pub fn progressive_scans(width: u16, height: u16, scans: u32) -> Vec<u8> {
    let blocks = blocks(width, height);
    // DC: category 0 (no difference). AC: 0xE0, an end-of-band run with 14 more bits.
    let mut jpeg = grey_jpeg_start(0xC2, width, height, Tables::new(0x00, 0xE0, 1));
    jpeg.extend(scan_header(0, 0));
    let mut dc = BitWriter::default();
    (0..blocks).for_each(|_| dc.put(0, 1));
    jpeg.extend(dc.finish());
    for _ in 1..scans {
        jpeg.extend(scan_header(1, 63));
        let mut ac = BitWriter::default();
        // The code, then fourteen ones: a run of 2^14 - 1 + 2^14 - 1 more blocks.
        for _ in 0..blocks.div_ceil(1 << 15) {
            ac.put(0, 1);
            ac.put(0x3FFF, 14);
        }
        jpeg.extend(ac.finish());
    }
    jpeg.extend(END_OF_IMAGE);
    jpeg
}

/// A baseline greyscale JPEG that declares `width` x `height` pixels but holds data
/// for only as many blocks as fit in `total_bytes`, and ends with a proper end-of-image
/// marker. A decoder that reads zeros past the end of the data "succeeds" with a grey
/// picture. 692 bytes can declare 10000x10000.
pub fn cut_short(width: u16, height: u16, total_bytes: usize) -> Vec<u8> {
    let mut jpeg = grey_jpeg_start(0xC0, width, height, Tables::new(0x00, 0x00, 1));
    jpeg.extend(scan_header(0, 63));
    // Zero bytes: four empty blocks each.
    let data = total_bytes.saturating_sub(jpeg.len() + END_OF_IMAGE.len());
    jpeg.resize(jpeg.len() + data, 0);
    jpeg.extend(END_OF_IMAGE);
    jpeg
}

/// The first `keep` bytes of a JPEG with an end-of-image marker put back: a cut file
/// that looks whole to a decoder that only checks its markers.
pub fn cut_with_end_marker(good: &[u8], keep: usize) -> Vec<u8> {
    let mut jpeg = good[..keep.min(good.len())].to_vec();
    jpeg.extend(END_OF_IMAGE);
    jpeg
}

/// A whole, valid baseline greyscale JPEG 8 pixels wide and `height` tall, every block
/// flat grey. At 65535 rows it overflows `jpeg-decoder`'s 16-bit row arithmetic.
pub fn tall(height: u16) -> Vec<u8> {
    let mut jpeg = grey_jpeg_start(0xC0, 8, height, Tables::new(0x00, 0x00, 1));
    jpeg.extend(scan_header(0, 63));
    let mut data = BitWriter::default();
    (0..blocks(8, height)).for_each(|_| data.put(0, 2));
    jpeg.extend(data.finish());
    jpeg.extend(END_OF_IMAGE);
    jpeg
}

/// A valid baseline greyscale JPEG of `blocks` blocks stacked down, each adding the
/// largest DC difference (2047) to the last, with the largest quantisation step
/// (65535): the running DC value times the step soon passes what 32 bits hold.
pub fn dc_overflow(blocks: u16) -> Vec<u8> {
    let mut jpeg = grey_jpeg_start(0xC0, 8, blocks * 8, Tables::new(11, 0x00, u16::MAX));
    jpeg.extend(scan_header(0, 63));
    let mut data = BitWriter::default();
    for _ in 0..blocks {
        data.put(0, 1); // category 11
        data.put(0x7FF, 11); // +2047
        data.put(0, 1); // end of block
    }
    jpeg.extend(data.finish());
    jpeg.extend(END_OF_IMAGE);
    jpeg
}

/// A PNG of `width` x `height` RGBA pixels at 16 bits a channel, every byte zero: it
/// decodes to `width * height * 8` bytes. The zeros compress to 13 bits per 258 bytes
/// (one fixed-code "repeat 258" each), so 10000x10000 (800 MB decoded) is a 5 MB file.
pub fn png_of_zeros(width: u32, height: u32) -> Vec<u8> {
    let row = 1 + u64::from(width) * 8; // a filter byte, then the pixels
    let raw = row * u64::from(height);
    let mut header = width.to_be_bytes().to_vec();
    header.extend(height.to_be_bytes());
    header.extend([16, 6, 0, 0, 0]); // 16 bits a channel, RGBA, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &header));
    png.extend(chunk(b"IDAT", &zlib_of_zeros(raw)));
    png.extend(chunk(b"IEND", &[]));
    png
}

const END_OF_IMAGE: [u8; 2] = [0xFF, 0xD9];

/// 8x8 blocks in a greyscale picture.
fn blocks(width: u16, height: u16) -> u64 {
    u64::from(width.div_ceil(8)) * u64::from(height.div_ceil(8))
}

/// The tables of a hand-made JPEG: one DC symbol, one AC symbol (each coded as a
/// single `0` bit), and one quantisation step for all 64 frequencies.
struct Tables {
    dc_symbol: u8,
    ac_symbol: u8,
    step: u16,
}

impl Tables {
    fn new(dc_symbol: u8, ac_symbol: u8, step: u16) -> Tables {
        Tables {
            dc_symbol,
            ac_symbol,
            step,
        }
    }
}

/// Start of image, tables, and a one-component frame header with code `sof`.
fn grey_jpeg_start(sof: u8, width: u16, height: u16, tables: Tables) -> Vec<u8> {
    let mut jpeg = vec![0xFF, 0xD8];
    let quant: Vec<u8> = if tables.step > 255 {
        std::iter::once(0x10) // 16-bit entries, table 0
            .chain((0..64).flat_map(|_| tables.step.to_be_bytes()))
            .collect()
    } else {
        std::iter::once(0x00)
            .chain(std::iter::repeat_n(tables.step as u8, 64))
            .collect()
    };
    jpeg.extend(segment(0xDB, &quant));
    for (class, symbol) in [(0x00, tables.dc_symbol), (0x10, tables.ac_symbol)] {
        let mut table = vec![class, 1]; // one code of length 1
        table.extend([0; 15]);
        table.push(symbol);
        jpeg.extend(segment(0xC4, &table));
    }
    let mut frame = vec![8];
    frame.extend(height.to_be_bytes());
    frame.extend(width.to_be_bytes());
    frame.extend([1, 1, 0x11, 0]); // one component, id 1, 1x1, quantisation table 0
    jpeg.extend(segment(sof, &frame));
    jpeg
}

/// A scan header for the one component, frequencies `first..=last`.
fn scan_header(first: u8, last: u8) -> Vec<u8> {
    segment(0xDA, &[1, 1, 0x00, first, last, 0])
}

/// A marker and its segment, the length counting itself.
fn segment(code: u8, body: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0xFF, code];
    bytes.extend(((body.len() + 2) as u16).to_be_bytes());
    bytes.extend(body);
    bytes
}

/// Entropy-coded data, written most significant bit first, with a 0x00 stuffed after
/// every 0xFF byte and the last byte padded with ones, as JPEG wants.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    current: u32,
    filled: u32,
}

impl BitWriter {
    fn put(&mut self, value: u32, bits: u32) {
        for i in (0..bits).rev() {
            self.current = self.current << 1 | (value >> i & 1);
            self.filled += 1;
            if self.filled == 8 {
                self.push_byte();
            }
        }
    }

    fn push_byte(&mut self) {
        let byte = self.current as u8;
        self.bytes.push(byte);
        if byte == 0xFF {
            self.bytes.push(0x00);
        }
        (self.current, self.filled) = (0, 0);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.filled > 0 {
            let missing = 8 - self.filled;
            self.current = self.current << missing | ((1 << missing) - 1);
            self.push_byte();
        }
        self.bytes
    }
}

/// A zlib stream of `length` zero bytes: one fixed-code deflate block holding a literal
/// zero, then "repeat the last 258 bytes" as often as fits, then the rest as literals.
fn zlib_of_zeros(length: u64) -> Vec<u8> {
    let mut bits = DeflateBits::default();
    bits.put_value(1, 1); // the last block
    bits.put_value(1, 2); // fixed codes
    let mut written = 0;
    if length > 0 {
        bits.put_code(0b0011_0000, 8); // literal 0
        written = 1;
    }
    while length - written >= 258 {
        bits.put_code(0b1100_0101, 8); // length 258 (code 285)
        bits.put_code(0, 5); // distance 1 (code 0)
        written += 258;
    }
    while written < length {
        bits.put_code(0b0011_0000, 8);
        written += 1;
    }
    bits.put_code(0, 7); // end of block (code 256)
    let mut zlib = vec![0x78, 0x01];
    zlib.extend(bits.finish());
    // Adler-32 of zeros: the first sum stays 1, the second adds 1 per byte.
    let adler = (length % 65521) << 16 | 1;
    zlib.extend((adler as u32).to_be_bytes());
    zlib
}

/// Deflate's bit order: values least significant bit first, Huffman codes most
/// significant bit first.
#[derive(Default)]
struct DeflateBits {
    bytes: Vec<u8>,
    current: u8,
    filled: u32,
}

impl DeflateBits {
    fn put_bit(&mut self, bit: u32) {
        self.current |= (bit as u8 & 1) << self.filled;
        self.filled += 1;
        if self.filled == 8 {
            self.bytes.push(self.current);
            (self.current, self.filled) = (0, 0);
        }
    }

    fn put_value(&mut self, value: u32, bits: u32) {
        (0..bits).for_each(|i| self.put_bit(value >> i));
    }

    fn put_code(&mut self, code: u32, bits: u32) {
        (0..bits).rev().for_each(|i| self.put_bit(code >> i));
    }

    fn finish(mut self) -> Vec<u8> {
        if self.filled > 0 {
            self.bytes.push(self.current);
        }
        self.bytes
    }
}

/// A PNG chunk: length, type, data, and the CRC of type and data.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut bytes = (data.len() as u32).to_be_bytes().to_vec();
    let mut checked = kind.to_vec();
    checked.extend(data);
    bytes.extend(&checked);
    bytes.extend(crc32(&checked).to_be_bytes());
    bytes
}

/// The CRC-32 that PNG chunks end with, a byte at a time from a table.
fn crc32(bytes: &[u8]) -> u32 {
    let table: Vec<u32> = (0..256_u32)
        .map(|n| {
            (0..8).fold(n, |c, _| {
                if c & 1 == 1 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                }
            })
        })
        .collect();
    !bytes.iter().fold(!0_u32, |crc, &byte| {
        table[((crc ^ u32::from(byte)) & 0xFF) as usize] ^ (crc >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zeros_png_decodes_to_zeros() {
        let png = png_of_zeros(5, 3);
        let image = image::load_from_memory(&png).expect("a valid PNG");
        assert_eq!((image.width(), image.height()), (5, 3));
        assert!(image.into_rgba16().into_raw().iter().all(|&v| v == 0));
    }

    #[test]
    fn the_hand_made_jpegs_are_valid_where_they_mean_to_be() {
        for jpeg in [tall(64), dc_overflow(4), progressive_scans(40, 24, 5)] {
            let mut decoder = jpeg_decoder::Decoder::new(jpeg.as_slice());
            decoder.decode().expect("decodes");
        }
        assert_eq!(cut_short(10_000, 10_000, 692).len(), 692);
    }
}
