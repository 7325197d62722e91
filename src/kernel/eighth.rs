//! A JPEG decoder for one scale only, 1/8, where each 8x8 block becomes one pixel.
//!
//! A baseline JPEG stores every 8x8 block of pixels as 64 frequencies. The first one,
//! DC, is the block's average, so the image at 1/8 of its size needs DC alone: no
//! inverse DCT, no 64-number buffer per block. The other 63 (AC) still have to be read
//! past, because Huffman codes carry no index to jump with, but each is skipped with one
//! table look-up instead of being decoded, de-quantised and transformed. Fast
//! thumbnailers do the same; a general decoder asked for 1/8 does all the work of a full
//! decode but the last transform (and `jpeg-decoder` also hands rows to a thread pool,
//! which hides CPU work from a chapter's own threads).
//!
//! Only the common case is read here: one baseline scan (8-bit, Huffman) holding every
//! component, greyscale or YCbCr, with or without restart markers. For anything else, and
//! for anything damaged, [`decode`] answers `None` and the kernel falls back to the
//! general decoder, which decodes what it can and words the error for what it cannot.
//! So this module never has to explain a bad file; it only has to notice one.

/// The image at 1/8 scale: `ceil(width / 8)` by `ceil(height / 8)` pixels, one byte per
/// pixel (greyscale) or three (RGB).
pub(super) struct Eighth {
    pub width: u32,
    pub height: u32,
    pub channels: usize,
    pub pixels: Vec<u8>,
}

/// Decodes `bytes` at 1/8 scale, or `None` if this is not a JPEG the fast path reads,
/// or it is damaged (truncated, or an invalid code in the data).
pub(super) fn decode(bytes: &[u8]) -> Option<Eighth> {
    let header = Header::read(bytes)?;
    let planes = header.decode_scan(bytes)?;
    header.to_pixels(&planes)
}

/// One colour component of the frame.
#[derive(Clone, Copy)]
struct Component {
    id: u8,
    /// Blocks per MCU across and down (the sampling factors).
    h: usize,
    v: usize,
    /// Which quantisation table, then (from the scan header) which Huffman tables.
    quant: usize,
    dc_table: usize,
    ac_table: usize,
}

/// Everything read before the entropy-coded data.
struct Header {
    width: usize,
    height: usize,
    components: Vec<Component>,
    /// The first (DC) entry of each quantisation table.
    dc_quant: [Option<u16>; 4],
    dc_tables: [Option<Huffman>; 4],
    ac_tables: [Option<Huffman>; 4],
    /// MCUs between restart markers (0: none).
    restart_interval: usize,
    /// Where the entropy-coded data starts.
    scan_start: usize,
}

impl Header {
    /// Reads markers up to the start of the first scan. `None` for anything that is not
    /// a single-scan baseline JPEG of one or three components.
    fn read(bytes: &[u8]) -> Option<Header> {
        if bytes.get(..2)? != [0xFF, 0xD8] {
            return None;
        }
        let mut header = Header {
            width: 0,
            height: 0,
            components: Vec::new(),
            dc_quant: [None; 4],
            dc_tables: Default::default(),
            ac_tables: Default::default(),
            restart_interval: 0,
            scan_start: 0,
        };
        let mut at = 2;
        loop {
            // A marker is 0xFF (any number of them) and a code; most carry a segment
            // whose length counts its own two bytes.
            if *bytes.get(at)? != 0xFF {
                return None;
            }
            while *bytes.get(at)? == 0xFF {
                at += 1;
            }
            let code = bytes[at];
            at += 1;
            // Markers without a segment (end of image, restarts) have no place here.
            if code == 0xD9 || code == 0x01 || (0xD0..=0xD7).contains(&code) {
                return None;
            }
            let length = usize::from(read_u16(bytes, at)?);
            let segment = bytes.get(at + 2..at.checked_add(length)?)?;
            match code {
                0xC0 | 0xC1 => header.read_frame(segment)?,
                // Progressive, lossless, hierarchical or arithmetic-coded: not ours.
                0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return None,
                0xC4 => header.read_huffman_tables(segment)?,
                0xDB => header.read_quant_tables(segment)?,
                0xDD => header.restart_interval = usize::from(read_u16(segment, 0)?),
                // Adobe's marker says how colours are stored; only YCbCr (1) is ours.
                0xEE if segment.starts_with(b"Adobe") && *segment.get(11)? != 1 => return None,
                0xDA => {
                    header.read_scan(segment)?;
                    header.scan_start = at + length;
                    return Some(header);
                }
                _ => {}
            }
            at += length;
        }
    }

    fn read_frame(&mut self, segment: &[u8]) -> Option<()> {
        let precision = *segment.first()?;
        self.height = usize::from(read_u16(segment, 1)?);
        self.width = usize::from(read_u16(segment, 3)?);
        let count = usize::from(*segment.get(5)?);
        // A height of 0 is given later (in a DNL marker): rare, and not ours.
        let size_known = self.width > 0 && self.height > 0;
        if precision != 8
            || !size_known
            || !(count == 1 || count == 3)
            || !self.components.is_empty()
        {
            return None;
        }
        for fields in segment.get(6..6 + 3 * count)?.chunks_exact(3) {
            let (h, v) = (usize::from(fields[1] >> 4), usize::from(fields[1] & 15));
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) || fields[2] > 3 {
                return None;
            }
            self.components.push(Component {
                id: fields[0],
                h,
                v,
                quant: usize::from(fields[2]),
                dc_table: 0,
                ac_table: 0,
            });
        }
        // Components named R, G, B are stored as RGB, not YCbCr.
        if self.components.iter().map(|c| c.id).eq(*b"RGB") {
            return None;
        }
        if count == 1 {
            // A lone component is read block by block whatever its factors say.
            (self.components[0].h, self.components[0].v) = (1, 1);
        }
        // The standard allows at most ten blocks in an MCU.
        let blocks: usize = self.components.iter().map(|c| c.h * c.v).sum();
        (blocks <= 10).then_some(())
    }

    fn read_quant_tables(&mut self, mut segment: &[u8]) -> Option<()> {
        while let Some(&first) = segment.first() {
            let (wide, id) = (first >> 4, usize::from(first & 15));
            let size = if wide == 1 { 128 } else { 64 };
            let dc = if wide == 1 {
                read_u16(segment, 1)?
            } else {
                u16::from(*segment.get(1)?)
            };
            *self.dc_quant.get_mut(id)? = Some(dc);
            segment = segment.get(1 + size..)?;
        }
        Some(())
    }

    fn read_huffman_tables(&mut self, mut segment: &[u8]) -> Option<()> {
        while let Some(&first) = segment.first() {
            let (class, id) = (first >> 4, usize::from(first & 15));
            let counts: [u8; 16] = segment.get(1..17)?.try_into().ok()?;
            let total: usize = counts.iter().map(|&n| usize::from(n)).sum();
            let symbols = segment.get(17..17 + total)?;
            let table = Huffman::new(&counts, symbols)?;
            match class {
                0 => *self.dc_tables.get_mut(id)? = Some(table),
                1 => *self.ac_tables.get_mut(id)? = Some(table),
                _ => return None,
            }
            segment = &segment[17 + total..];
        }
        Some(())
    }

    /// The scan header: which components, in which order, with which tables. The scan
    /// must hold every component of the frame, in the frame's order, and be baseline
    /// (all 64 coefficients, no successive approximation).
    fn read_scan(&mut self, segment: &[u8]) -> Option<()> {
        let count = usize::from(*segment.first()?);
        if count != self.components.len() {
            return None;
        }
        let selectors = segment.get(1..1 + 2 * count)?;
        for (component, fields) in self.components.iter_mut().zip(selectors.chunks_exact(2)) {
            if fields[0] != component.id {
                return None;
            }
            component.dc_table = usize::from(fields[1] >> 4);
            component.ac_table = usize::from(fields[1] & 15);
        }
        let spectral = segment.get(1 + 2 * count..4 + 2 * count)?;
        (spectral == [0, 63, 0]).then_some(())
    }

    /// The largest sampling factors: an MCU covers `8 * h_max` by `8 * v_max` pixels.
    fn max_factors(&self) -> (usize, usize) {
        let h = self.components.iter().map(|c| c.h).max().unwrap_or(1);
        let v = self.components.iter().map(|c| c.v).max().unwrap_or(1);
        (h, v)
    }

    /// Reads the entropy-coded data: one plane of DC pixels per component, each as wide
    /// as the MCUs' blocks of that component.
    fn decode_scan(&self, bytes: &[u8]) -> Option<Vec<Plane>> {
        let (h_max, v_max) = self.max_factors();
        let mcus_across = self.width.div_ceil(8 * h_max);
        let mcus_down = self.height.div_ceil(8 * v_max);
        // Everything the loop below needs, looked up once per component.
        let mut decoding = Vec::with_capacity(self.components.len());
        let mut planes = Vec::with_capacity(self.components.len());
        for c in &self.components {
            decoding.push((
                self.dc_tables.get(c.dc_table)?.as_ref()?,
                self.ac_tables.get(c.ac_table)?.as_ref()?,
                i32::from(self.dc_quant[c.quant]?),
            ));
            planes.push(Plane::new(mcus_across * c.h, mcus_down * c.v));
        }

        let mut bits = Bits::new(bytes.get(self.scan_start..)?);
        let mut predictions = vec![0_i32; self.components.len()];
        let total = mcus_across * mcus_down;
        for mcu in 0..total {
            if self.restart_interval > 0 && mcu > 0 && mcu % self.restart_interval == 0 {
                bits.restart()?;
                predictions.fill(0);
            }
            let (mcu_x, mcu_y) = (mcu % mcus_across, mcu / mcus_across);
            for (i, c) in self.components.iter().enumerate() {
                let (dc_table, ac_table, quant) = decoding[i];
                for block_y in 0..c.v {
                    for block_x in 0..c.h {
                        let difference = bits.decode_dc(dc_table)?;
                        predictions[i] = predictions[i].wrapping_add(difference);
                        bits.skip_ac(ac_table)?;
                        // The inverse DCT of a block with only DC is flat: DC * q / 8,
                        // plus the 128 that JPEG subtracts from every sample.
                        let level = (predictions[i].saturating_mul(quant) + 4) >> 3;
                        planes[i].set(
                            mcu_x * c.h + block_x,
                            mcu_y * c.v + block_y,
                            (level + 128).clamp(0, 255) as u8,
                        );
                    }
                }
            }
        }
        // The scan must have ended on real data, not on the zeros read past its end.
        bits.intact().then_some(planes)
    }

    /// Stretches subsampled colour planes to the size of the brightness plane, crops
    /// all of them to the image, and converts YCbCr to RGB.
    fn to_pixels(&self, planes: &[Plane]) -> Option<Eighth> {
        let (width, height) = (self.width.div_ceil(8), self.height.div_ceil(8));
        let (h_max, v_max) = self.max_factors();
        let full: Vec<Vec<u8>> = self
            .components
            .iter()
            .zip(planes)
            .map(|(c, plane)| plane.stretch(width, height, h_max / c.h, v_max / c.v))
            .collect();
        let (channels, pixels) = match full.as_slice() {
            [grey] => (1, grey.clone()),
            [y, cb, cr] => {
                let rgb = y.iter().zip(cb).zip(cr);
                (
                    3,
                    rgb.flat_map(|((&y, &cb), &cr)| ycbcr_to_rgb(y, cb, cr))
                        .collect(),
                )
            }
            _ => return None,
        };
        Some(Eighth {
            width: u32::try_from(width).ok()?,
            height: u32::try_from(height).ok()?,
            channels,
            pixels,
        })
    }
}

/// JFIF's YCbCr to RGB, in fixed point (16 fractional bits) so that every machine
/// computes the same bytes.
fn ycbcr_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    const HALF: i32 = 1 << 15;
    let (y, cb, cr) = (i32::from(y) << 16, i32::from(cb) - 128, i32::from(cr) - 128);
    let r = y + 91_881 * cr;
    let g = y - 22_554 * cb - 46_802 * cr;
    let b = y + 116_130 * cb;
    [r, g, b].map(|v| ((v + HALF) >> 16).clamp(0, 255) as u8)
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

/// One component's pixels at 1/8 scale, padded to whole MCUs.
struct Plane {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Plane {
    fn new(width: usize, height: usize) -> Plane {
        Plane {
            width,
            height,
            pixels: vec![0; width * height],
        }
    }

    fn set(&mut self, x: usize, y: usize, value: u8) {
        self.pixels[y * self.width + x] = value;
    }

    /// This plane stretched `x_ratio` times across and `y_ratio` times down, cropped
    /// to `width` x `height`. A ratio of 2 (the usual chroma subsampling) blends the
    /// nearest sample, 3/4, with its neighbour on the side the new pixel lies, 1/4: the
    /// "fancy upsampling" of libjpeg, which avoids blocky colour edges. Other ratios
    /// repeat the nearest sample.
    fn stretch(&self, width: usize, height: usize, x_ratio: usize, y_ratio: usize) -> Vec<u8> {
        let columns: Vec<_> = (0..width)
            .map(|x| neighbours(x, x_ratio, self.width))
            .collect();
        let mut out = Vec::with_capacity(width * height);
        for y in 0..height {
            let (y0, y1, (near, far)) = neighbours(y, y_ratio, self.height);
            let row = |y: usize| &self.pixels[y * self.width..(y + 1) * self.width];
            let (row0, row1) = (row(y0), row(y1));
            out.extend(columns.iter().map(|&(x0, x1, (x_near, x_far))| {
                let blend = |row: &[u8]| x_near * u32::from(row[x0]) + x_far * u32::from(row[x1]);
                ((near * blend(row0) + far * blend(row1) + 8) / 16) as u8
            }));
        }
        out
    }
}

/// For position `i` of a plane of `len` samples stretched `ratio` times: the nearest
/// sample, its neighbour, and their weights (summing to 4).
fn neighbours(i: usize, ratio: usize, len: usize) -> (usize, usize, (u32, u32)) {
    let nearest = (i / ratio).min(len - 1);
    if ratio != 2 {
        return (nearest, nearest, (4, 0));
    }
    let neighbour = if i.is_multiple_of(2) {
        nearest.saturating_sub(1)
    } else {
        (nearest + 1).min(len - 1)
    };
    (nearest, neighbour, (3, 1))
}

/// How many bits the fast Huffman look-up reads at once; longer codes (rare) take the
/// slow path.
const LOOKUP_BITS: u32 = 9;

/// How many bits the AC-skipping look-up reads at once.
const SKIP_BITS: u32 = 11;

/// A Huffman table, ready for decoding.
struct Huffman {
    /// Indexed by the next `LOOKUP_BITS` bits: `(length << 8) | symbol` for a code of at
    /// most that length, 0 for a longer one.
    lookup: Vec<u16>,
    /// For each length 1..=16: the largest code of that length (-1 if none), and the
    /// index in `symbols` of its first code minus that code (the canonical trick).
    max_code: [i32; 17],
    offset: [i32; 17],
    symbols: Vec<u8>,
    /// For skipping AC coefficients, indexed by the next `SKIP_BITS` bits: when a code
    /// and the value bits after it fit in them, `(their length << 8) | advance`, where
    /// `advance` is how many coefficients they stand for (0 for "end of block"); 0 when
    /// they do not fit.
    skip: Vec<u16>,
}

impl Huffman {
    /// Builds the canonical codes from the count of codes of each length; `None` if the
    /// counts do not describe a valid code.
    fn new(counts: &[u8; 16], symbols: &[u8]) -> Option<Huffman> {
        let mut table = Huffman {
            lookup: vec![0; 1 << LOOKUP_BITS],
            max_code: [-1; 17],
            offset: [0; 17],
            symbols: symbols.to_vec(),
            skip: vec![0; 1 << SKIP_BITS],
        };
        let (mut code, mut index) = (0_i32, 0_usize);
        for length in 1..=16_u32 {
            let count = usize::from(counts[length as usize - 1]);
            table.offset[length as usize] = index as i32 - code;
            for &symbol in &symbols[index..index + count] {
                if code >= 1 << length {
                    return None;
                }
                if length <= LOOKUP_BITS {
                    let first = (code as usize) << (LOOKUP_BITS - length);
                    let entry = (length as u16) << 8 | u16::from(symbol);
                    table.lookup[first..first + (1 << (LOOKUP_BITS - length))].fill(entry);
                }
                let (run, size) = (u32::from(symbol >> 4), u32::from(symbol & 15));
                let advance = match (run, size) {
                    (0, 0) => 0,  // end of block
                    (_, 0) => 16, // sixteen zeros (or a bad symbol, caught by the slow path)
                    _ => run + 1, // `run` zeros, then one coefficient
                };
                let total = length + size;
                if total <= SKIP_BITS && (size > 0 || run == 0 || run == 15) {
                    let first = (code as usize) << (SKIP_BITS - length);
                    let entry = (total as u16) << 8 | advance as u16;
                    table.skip[first..first + (1 << (SKIP_BITS - length))].fill(entry);
                }
                code += 1;
            }
            index += count;
            if count > 0 {
                table.max_code[length as usize] = code - 1;
            }
            code <<= 1;
        }
        Some(table)
    }
}

/// The entropy-coded data as a stream of bits. In it, a 0xFF data byte is followed by a
/// stuffed 0x00; any other byte after 0xFF makes a marker, which ends the data. Past the
/// end, the stream reads as zeros and counts them: consuming any means the data was cut.
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
    /// Bits not yet consumed, the next one at the top.
    buffer: u64,
    count: u32,
    /// Whether a marker (or the end of the bytes) has been reached.
    at_marker: bool,
    /// Zero bits put in the buffer after the marker.
    padding: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Bits<'a> {
        Bits {
            data,
            at: 0,
            buffer: 0,
            count: 0,
            at_marker: false,
            padding: 0,
        }
    }

    /// Makes sure the buffer holds at least 32 bits: enough for a code (16 at most) and
    /// the value bits after it (15 at most).
    fn refill(&mut self) {
        if self.count >= 32 {
            return;
        }
        if self.at_marker {
            return self.pad();
        }
        // The common case: the next eight bytes hold no 0xFF, so no stuffed byte and no
        // marker: take as many as fit, at once.
        if let Some(next) = self.data.get(self.at..self.at + 8)
            && !next.contains(&0xFF)
            && let Ok(next) = <[u8; 8]>::try_from(next)
        {
            let word = u64::from_be_bytes(next);
            let bytes = (64 - self.count) / 8;
            let bits = bytes * 8;
            let top = if bits == 64 {
                word
            } else {
                word >> (64 - bits)
            };
            self.buffer |= top << (64 - self.count - bits);
            self.at += bytes as usize;
            self.count += bits;
            return;
        }
        self.pad();
    }

    /// [`refill`](Self::refill) byte by byte: unstuffs 0xFF 0x00, and stops at a marker
    /// or the end of the data, reading zeros after it.
    fn pad(&mut self) {
        while self.count <= 56 {
            let mut byte = 0;
            if !self.at_marker {
                match (self.data.get(self.at), self.data.get(self.at + 1)) {
                    (Some(0xFF), Some(0x00)) => (byte, self.at) = (0xFF, self.at + 2),
                    (Some(0xFF), _) | (None, _) => self.at_marker = true,
                    (Some(&b), _) => (byte, self.at) = (b, self.at + 1),
                }
            }
            if self.at_marker {
                self.padding += 8;
            }
            self.buffer |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    fn peek(&self, n: u32) -> u32 {
        (self.buffer >> (64 - n)) as u32
    }

    fn consume(&mut self, n: u32) {
        self.buffer <<= n;
        self.count -= n;
    }

    /// One Huffman symbol.
    fn symbol(&mut self, table: &Huffman) -> Option<u8> {
        self.refill();
        let entry = table.lookup[self.peek(LOOKUP_BITS) as usize];
        if entry != 0 {
            self.consume(u32::from(entry >> 8));
            return Some(entry as u8);
        }
        for length in LOOKUP_BITS + 1..=16 {
            let code = self.peek(length) as i32;
            if code <= table.max_code[length as usize] {
                self.consume(length);
                let index = table.offset[length as usize] + code;
                return table.symbols.get(usize::try_from(index).ok()?).copied();
            }
        }
        None
    }

    /// The DC difference: a symbol giving a bit count, then that many bits, read as a
    /// signed number (JPEG's "extend": a leading 0 means negative).
    fn decode_dc(&mut self, table: &Huffman) -> Option<i32> {
        let size = u32::from(self.symbol(table)?);
        if size == 0 {
            return Some(0);
        }
        if size > 16 {
            return None;
        }
        self.refill();
        let value = self.peek(size) as i32;
        self.consume(size);
        Some(if value < 1 << (size - 1) {
            value - (1 << size) + 1
        } else {
            value
        })
    }

    /// Reads past the 63 AC coefficients of a block: each symbol says how many zeros come
    /// first (high nibble) and how many bits the value takes (low nibble); 0x00 ends the
    /// block early and 0xF0 stands for sixteen zeros.
    fn skip_ac(&mut self, table: &Huffman) -> Option<()> {
        let mut k = 1;
        while k < 64 {
            self.refill();
            // Most codes and their values fit the look-up: one step per coefficient.
            let entry = table.skip[self.peek(SKIP_BITS) as usize];
            if entry != 0 {
                self.consume(u32::from(entry >> 8));
                match entry & 0xFF {
                    0 => return Some(()),
                    advance => k += usize::from(advance),
                }
                continue;
            }
            let symbol = self.symbol(table)?;
            let (run, size) = (usize::from(symbol >> 4), u32::from(symbol & 15));
            match (run, size) {
                (0, 0) => return Some(()),
                (15, 0) => k += 16,
                (_, 0) => return None,
                _ => {
                    self.consume(size); // `symbol` left at least 32 - 16 bits
                    k += run + 1;
                }
            }
        }
        (k == 64).then_some(())
    }

    /// Whether every bit consumed so far was real data.
    fn intact(&self) -> bool {
        self.padding <= self.count
    }

    /// At a restart interval's end: the data must be intact and a restart marker next;
    /// the stream starts again after it, byte-aligned.
    fn restart(&mut self) -> Option<()> {
        // The interval's last code is followed by at most 7 bits of padding, so its
        // last refill has reached the marker.
        if !self.at_marker || !self.intact() {
            return None;
        }
        match self.data.get(self.at..self.at + 2)? {
            [0xFF, 0xD0..=0xD7] => {}
            _ => return None,
        }
        *self = Bits::new(&self.data[self.at + 2..]);
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

    /// A smooth picture with some texture, `width` x `height`, RGB.
    fn picture(width: u16, height: u16) -> Vec<u8> {
        let (w, h) = (usize::from(width), usize::from(height));
        (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                let texture = ((x * 7 + y * 13) % 23) as u8;
                [
                    (x * 255 / w) as u8 ^ texture,
                    (y * 255 / h) as u8,
                    ((x + y) % 256) as u8 / 2 + texture,
                ]
            })
            .collect()
    }

    fn encode(width: u16, height: u16, setup: impl FnOnce(&mut Encoder<&mut Vec<u8>>)) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, 90);
        setup(&mut encoder);
        encoder
            .encode(&picture(width, height), width, height, ColorType::Rgb)
            .expect("encodes");
        out
    }

    /// The general decoder at 1/8, for comparison.
    fn reference(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut decoder = jpeg_decoder::Decoder::new(bytes);
        decoder.read_info().expect("reads");
        let info = decoder.info().expect("has a frame");
        decoder
            .scale(info.width / 8, info.height / 8)
            .expect("scales");
        let pixels = decoder.decode().expect("decodes");
        let info = decoder.info().expect("has a frame");
        (u32::from(info.width), u32::from(info.height), pixels)
    }

    /// The mean difference per sample between this decoder and the general one: they
    /// round differently, so they agree closely (about 1 in 255), not exactly.
    fn mean_difference(bytes: &[u8]) -> f64 {
        let eighth = decode(bytes).expect("the fast path reads it");
        let (width, height, pixels) = reference(bytes);
        assert_eq!((eighth.width, eighth.height), (width, height));
        assert_eq!(eighth.pixels.len(), pixels.len());
        let sum: u64 = eighth
            .pixels
            .iter()
            .zip(&pixels)
            .map(|(&a, &b)| u64::from(a.abs_diff(b)))
            .sum();
        sum as f64 / pixels.len() as f64
    }

    #[test]
    fn agrees_with_the_general_decoder_for_every_subsampling() {
        for sampling in [
            SamplingFactor::F_1_1,
            SamplingFactor::F_2_1,
            SamplingFactor::F_2_2,
            SamplingFactor::F_1_2,
        ] {
            let jpeg = encode(203, 141, |e| e.set_sampling_factor(sampling));
            let difference = mean_difference(&jpeg);
            assert!(difference < 1.5, "{sampling:?}: {difference}");
        }
    }

    #[test]
    fn reads_restart_markers() {
        let jpeg = encode(320, 200, |e| e.set_restart_interval(3));
        assert!(mean_difference(&jpeg) < 1.5);
    }

    #[test]
    fn reads_greyscale() {
        let (width, height) = (120_u16, 80_u16);
        let grey: Vec<u8> = picture(width, height).chunks(3).map(|p| p[0]).collect();
        let mut jpeg = Vec::new();
        Encoder::new(&mut jpeg, 90)
            .encode(&grey, width, height, ColorType::Luma)
            .expect("encodes");
        assert_eq!(decode(&jpeg).expect("reads greyscale").channels, 1);
        assert!(mean_difference(&jpeg) < 2.0);
    }

    #[test]
    fn leaves_progressive_jpegs_to_the_general_decoder() {
        let jpeg = encode(160, 120, |e| e.set_progressive(true));
        assert!(decode(&jpeg).is_none());
    }

    #[test]
    fn notices_damage_instead_of_inventing_pixels() {
        let jpeg = encode(320, 200, |_| {});
        for keep in [jpeg.len() / 2, jpeg.len() - 40] {
            assert!(decode(&jpeg[..keep]).is_none(), "cut to {keep} bytes");
        }
        let with_restarts = encode(320, 200, |e| e.set_restart_interval(2));
        let cut = &with_restarts[..with_restarts.len() / 2];
        assert!(decode(cut).is_none());
        assert!(decode(b"\xFF\xD8\xFF").is_none());
        assert!(decode(&[]).is_none());
    }

    #[test]
    fn converts_colours_like_jfif() {
        assert_eq!(ycbcr_to_rgb(128, 128, 128), [128, 128, 128]);
        assert_eq!(ycbcr_to_rgb(0, 128, 128), [0, 0, 0]);
        assert_eq!(ycbcr_to_rgb(255, 128, 128), [255, 255, 255]);
        assert_eq!(ycbcr_to_rgb(76, 85, 255), [254, 0, 0]);
    }
}
