//! A JPEG decoder for one scale only, 1/8, where each 8x8 block becomes one pixel.
//!
//! A baseline JPEG stores every 8x8 block of pixels as 64 frequencies. The first one,
//! DC, is the block's average, so the image at 1/8 of its size needs DC alone: no
//! inverse DCT, no 64-number buffer per block. The other 63 (AC) still have to be read
//! past, because Huffman codes carry no index to jump with, but they are skipped, not
//! decoded, de-quantised and transformed: one table look-up reads twelve bits and says
//! how many whole coefficients they hold (two or three, often) and whether the block
//! ends among them. Fast thumbnailers do the same; a general decoder asked for 1/8 does all the work of a full
//! decode but the last transform (and `jpeg-decoder` also hands rows to a thread pool,
//! which hides CPU work from a chapter's own threads).
//!
//! Only the common case is read here: one baseline scan (8-bit, Huffman) holding every
//! component, greyscale or YCbCr, with or without restart markers, and nothing after it
//! but the end of the image. For anything else [`decode`] answers `Ok(None)` and the
//! kernel falls back to the general decoder.
//!
//! Whether an image fails must not depend on which decoder read it (that is, on
//! `--sizes`). So this module is strict where the general decoder is: whatever
//! `jpeg-decoder` would refuse in the part read here (a zero in a quantisation table, a
//! restart marker out of order, a DC difference over 11 bits) is either refused or left
//! to that decoder. And it is strict where that decoder is lenient: `jpeg-decoder` reads
//! zeros past the end of cut data and makes grey blocks of them, which turns a file cut
//! in half into a "successful" half-grey thumbnail. Here, data that ends before the last
//! block is an error, and [`check`] lets the kernel ask the same of a file it hands to
//! the general decoder.

/// The image at 1/8 scale: `ceil(width / 8)` by `ceil(height / 8)` pixels, one byte per
/// pixel (greyscale) or three (RGB).
pub(super) struct Eighth {
    pub width: u32,
    pub height: u32,
    pub channels: usize,
    pub pixels: Vec<u8>,
}

/// Decodes `bytes` at 1/8 scale: `Ok(None)` if this is not a JPEG the fast path reads,
/// an error naming the damage if its entropy-coded data is damaged (cut short, an
/// invalid code, restart markers out of order).
pub(super) fn decode(bytes: &[u8]) -> Result<Option<Eighth>, String> {
    let Some(header) = Header::read(bytes) else {
        return Ok(None);
    };
    match header.decode_scan(bytes) {
        Ok(planes) => Ok(header.to_pixels(&planes)),
        Err(Stop::NotOurs) => Ok(None),
        Err(Stop::Damaged(why)) => Err(why),
    }
}

/// Reads the entropy-coded data of a JPEG the fast path reads, for the damage
/// [`decode`] would report, without making its pixels; `Ok` for a JPEG it does not read.
/// The general decoder cannot tell cut data from data, so the kernel asks this first.
pub(super) fn check(bytes: &[u8]) -> Result<(), String> {
    let Some(header) = Header::read(bytes) else {
        return Ok(());
    };
    match header.decode_scan(bytes) {
        Ok(_) | Err(Stop::NotOurs) => Ok(()),
        Err(Stop::Damaged(why)) => Err(why),
    }
}

/// Why the scan was not read to its end.
enum Stop {
    /// Something this module leaves to the general decoder, which may accept it (an AC
    /// run past the block's end) or word its own error.
    NotOurs,
    /// Damage that makes the image wrong whichever decoder reads it.
    Damaged(String),
}

impl Stop {
    fn damaged(why: impl Into<String>) -> Stop {
        Stop::Damaged(why.into())
    }
}

/// The largest DC difference category: a difference takes at most 11 bits.
const MAX_DC_BITS: u32 = 11;

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
                0xC4 => header.read_huffman_tables(segment)?,
                0xDB => header.read_quant_tables(segment)?,
                0xDD if segment.len() == 2 => {
                    header.restart_interval = usize::from(read_u16(segment, 0)?)
                }
                // Adobe's marker says how colours are stored; only YCbCr (1) is ours.
                0xEE if segment.starts_with(b"Adobe") && *segment.get(11)? != 1 => return None,
                0xDA => {
                    header.read_scan(segment)?;
                    header.scan_start = at + length;
                    return Some(header);
                }
                // Application data and comments change nothing here.
                0xE0..=0xEF | 0xFE => {}
                // Progressive, lossless, hierarchical or arithmetic-coded frames, and
                // markers that have no place before a scan: not ours.
                _ => return None,
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
            || segment.len() != 6 + 3 * count
        {
            return None;
        }
        for fields in segment.get(6..6 + 3 * count)?.chunks_exact(3) {
            let (h, v) = (usize::from(fields[1] >> 4), usize::from(fields[1] & 15));
            let repeated = self.components.iter().any(|c| c.id == fields[0]);
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) || fields[2] > 3 || repeated {
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
        // The standard allows at most ten blocks in an MCU, and colour planes a whole
        // fraction of the brightness plane's size.
        let blocks: usize = self.components.iter().map(|c| c.h * c.v).sum();
        let (h_max, v_max) = self.max_factors();
        let whole = self
            .components
            .iter()
            .all(|c| h_max % c.h == 0 && v_max % c.v == 0);
        (blocks <= 10 && whole).then_some(())
    }

    /// Keeps the DC entry of each table. A zero anywhere in a table is refused by the
    /// general decoder, so it is not read here either.
    fn read_quant_tables(&mut self, mut segment: &[u8]) -> Option<()> {
        while let Some(&first) = segment.first() {
            let (wide, id) = (first >> 4, usize::from(first & 15));
            let entries: Vec<u16> = match wide {
                0 => segment.get(1..65)?.iter().map(|&q| q.into()).collect(),
                1 => (0..64)
                    .map(|i| read_u16(segment, 1 + 2 * i))
                    .collect::<Option<_>>()?,
                _ => return None,
            };
            if entries.contains(&0) {
                return None;
            }
            *self.dc_quant.get_mut(id)? = Some(entries[0]);
            segment = segment.get(1 + 64 * (usize::from(wide) + 1)..)?;
        }
        Some(())
    }

    fn read_huffman_tables(&mut self, mut segment: &[u8]) -> Option<()> {
        while let Some(&first) = segment.first() {
            let (class, id) = (first >> 4, usize::from(first & 15));
            let counts: [u8; 16] = segment.get(1..17)?.try_into().ok()?;
            let total: usize = counts.iter().map(|&n| usize::from(n)).sum();
            // A baseline frame has two tables of each class; an empty table is invalid.
            if id > 1 || total == 0 || total > 256 {
                return None;
            }
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
        if count != self.components.len() || segment.len() != 4 + 2 * count {
            return None;
        }
        let selectors = segment.get(1..1 + 2 * count)?;
        for (component, fields) in self.components.iter_mut().zip(selectors.chunks_exact(2)) {
            if fields[0] != component.id {
                return None;
            }
            component.dc_table = usize::from(fields[1] >> 4);
            component.ac_table = usize::from(fields[1] & 15);
            if component.dc_table > 1 || component.ac_table > 1 {
                return None;
            }
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
    fn decode_scan(&self, bytes: &[u8]) -> Result<Vec<Plane>, Stop> {
        let (h_max, v_max) = self.max_factors();
        let mcus_across = self.width.div_ceil(8 * h_max);
        let mcus_down = self.height.div_ceil(8 * v_max);
        // Everything the loop below needs, looked up once per component.
        let mut decoding = Vec::with_capacity(self.components.len());
        let mut planes = Vec::with_capacity(self.components.len());
        for c in &self.components {
            let dc_table = self.dc_tables[c.dc_table].as_ref();
            let ac_table = self.ac_tables[c.ac_table].as_ref();
            let (Some(dc_table), Some(ac_table), Some(quant)) =
                (dc_table, ac_table, self.dc_quant[c.quant])
            else {
                return Err(Stop::NotOurs);
            };
            decoding.push((dc_table, ac_table, i64::from(quant)));
            planes.push(Plane::new(mcus_across * c.h, mcus_down * c.v));
        }

        let mut bits = Bits::new(bytes.get(self.scan_start..).ok_or(Stop::NotOurs)?);
        let mut predictions = vec![0_i32; self.components.len()];
        let total = mcus_across * mcus_down;
        for mcu in 0..total {
            if self.restart_interval > 0 && mcu > 0 && mcu % self.restart_interval == 0 {
                // Restart markers count 0 to 7 and round again.
                bits.restart((mcu / self.restart_interval - 1) % 8)?;
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
                        // In 64 bits, where no prediction times any table entry can
                        // overflow, whatever a crafted file holds.
                        let level = (i64::from(predictions[i]) * quant + 4) >> 3;
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
        if !bits.intact() {
            return Err(Stop::damaged(CUT_SHORT));
        }
        // And what follows must be the end of the image, as in a file with one scan;
        // anything else is for the general decoder to read.
        if !ends_the_image(bits.rest()) {
            return Err(Stop::NotOurs);
        }
        Ok(planes)
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

/// The error for entropy-coded data that ends before the last block.
const CUT_SHORT: &str = "truncated: the image data ends before its last block";

/// Whether the bytes after a scan's last block lead to the end-of-image marker, as the
/// general decoder reads them: past leftover data bits, stuffed bytes and restart
/// markers (some encoders end with one), to the first other marker.
fn ends_the_image(rest: &[u8]) -> bool {
    let mut at = 0;
    loop {
        let Some(offset) = rest
            .get(at..)
            .and_then(|r| r.iter().position(|&b| b == 0xFF))
        else {
            return false;
        };
        at += offset + 1;
        let fill = rest[at..].iter().take_while(|&&b| b == 0xFF).count();
        at += fill;
        match rest.get(at) {
            Some(0x00) if fill == 0 => at += 1,
            Some(0xD0..=0xD7) => at += 1,
            Some(0xD9) => return true,
            _ => return false,
        }
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

/// How many bits the look-ups that read a code and its value together take at once.
const SKIP_BITS: u32 = 12;

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
    /// Every step of `skip` that the same `SKIP_BITS` bits hold whole, taken at once:
    /// `length | advance << 8 | end_of_block << 16`, where `length` is all their bits,
    /// `advance` all their coefficients, and `end_of_block` set when the last one ends
    /// the block; 0 when not even one step fits. Short codes are the common ones, so
    /// twelve bits often hold two or three coefficients: one look-up instead of three.
    steps: Vec<u32>,
    /// For a DC table, indexed by the next `SKIP_BITS` bits: when the code and the
    /// difference's bits fit in them, `length | difference << 16` (the difference as an
    /// `i16`); 0 when they do not fit.
    dc: Vec<u32>,
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
            steps: Vec::new(),
            dc: Vec::new(),
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
        let windows = 0..1_u32 << SKIP_BITS;
        table.steps = windows.clone().map(|bits| table.steps_in(bits)).collect();
        table.dc = windows.map(|bits| table.difference_in(bits)).collect();
        Some(table)
    }

    /// The `steps` entry for `window`: `skip` looked up again after each step, on the
    /// bits left (padded with zeros, so a step is taken only if it ends inside them).
    fn steps_in(&self, window: u32) -> u32 {
        let (mut length, mut advance) = (0, 0);
        while length < SKIP_BITS {
            let rest = (window << length) & ((1 << SKIP_BITS) - 1);
            let step = self.skip[rest as usize];
            let step_length = u32::from(step >> 8);
            if step == 0 || length + step_length > SKIP_BITS {
                break;
            }
            length += step_length;
            match u32::from(step & 0xFF) {
                0 => return length | advance << 8 | 1 << 16,
                coefficients => advance += coefficients,
            }
        }
        length | advance << 8
    }

    /// The `dc` entry for `window`. A difference of more than `MAX_DC_BITS` is left to
    /// the slow path, which refuses it.
    fn difference_in(&self, window: u32) -> u32 {
        let entry = self.lookup[(window >> (SKIP_BITS - LOOKUP_BITS)) as usize];
        let (length, size) = (u32::from(entry >> 8), u32::from(entry & 0xFF));
        if entry == 0 || size > MAX_DC_BITS || length + size > SKIP_BITS {
            return 0;
        }
        let bits = (window >> (SKIP_BITS - length - size)) & ((1 << size) - 1);
        let difference = if size == 0 { 0 } else { extend(bits, size) };
        (length + size) | u32::from(difference as i16 as u16) << 16
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
    /// the value bits after it (15 at most). Called before every look-up, so the check
    /// is kept apart from the work, which is needed only every few look-ups.
    #[inline(always)]
    fn refill(&mut self) {
        if self.count < 32 {
            self.fill();
        }
    }

    #[inline(never)]
    fn fill(&mut self) {
        if self.at_marker {
            return self.pad();
        }
        // The common case: the next eight bytes hold no 0xFF, so no stuffed byte and no
        // marker: take as many as fit, at once.
        if let Some(next) = self.data.get(self.at..self.at + 8)
            && let Ok(next) = <[u8; 8]>::try_from(next)
            && let word = u64::from_be_bytes(next)
            && !has_ff(word)
        {
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

    /// One Huffman symbol: a short code from the look-up, a longer one code length by
    /// code length.
    #[inline(always)]
    fn symbol(&mut self, table: &Huffman) -> Result<u8, Stop> {
        self.refill();
        let entry = table.lookup[self.peek(LOOKUP_BITS) as usize];
        if entry != 0 {
            self.consume(u32::from(entry >> 8));
            return Ok(entry as u8);
        }
        self.long_symbol(table)
    }

    #[inline(never)]
    fn long_symbol(&mut self, table: &Huffman) -> Result<u8, Stop> {
        for length in LOOKUP_BITS + 1..=16 {
            let code = self.peek(length) as i32;
            if code <= table.max_code[length as usize] {
                self.consume(length);
                let index = usize::try_from(table.offset[length as usize] + code).ok();
                return index
                    .and_then(|index| table.symbols.get(index).copied())
                    .ok_or_else(|| self.invalid_code());
            }
        }
        Err(self.invalid_code())
    }

    /// An invalid code is damage; in the zeros read past the end it means cut data.
    fn invalid_code(&self) -> Stop {
        if self.intact() {
            Stop::damaged("an invalid Huffman code in the image data")
        } else {
            Stop::damaged(CUT_SHORT)
        }
    }

    /// The DC difference: a symbol giving a bit count, then that many bits, read as a
    /// signed number (JPEG's "extend": a leading 0 means negative).
    fn decode_dc(&mut self, table: &Huffman) -> Result<i32, Stop> {
        // Usually both fit the look-up.
        self.refill();
        let entry = table.dc[self.peek(SKIP_BITS) as usize];
        if entry != 0 {
            self.consume(entry & 0xFF);
            return Ok(i32::from((entry >> 16) as u16 as i16));
        }
        let size = u32::from(self.symbol(table)?);
        if size == 0 {
            return Ok(0);
        }
        if size > MAX_DC_BITS {
            return Err(Stop::damaged(format!(
                "a DC difference of {size} bits (at most {MAX_DC_BITS})"
            )));
        }
        self.refill();
        let bits = self.peek(size);
        self.consume(size);
        Ok(extend(bits, size))
    }

    /// Reads past the 63 AC coefficients of a block: each symbol says how many zeros come
    /// first (high nibble) and how many bits the value takes (low nibble); 0x00 ends the
    /// block early and 0xF0 stands for sixteen zeros. A run past the block's end, or a
    /// progressive-only "end of band" code, is left to the general decoder (which
    /// accepts both).
    fn skip_ac(&mut self, table: &Huffman) -> Result<(), Stop> {
        let mut k = 1;
        while k < 64 {
            self.refill();
            // Most codes and their values are short: several steps per look-up, unless
            // the block could end among them (then one at a time, below).
            let steps = table.steps[self.peek(SKIP_BITS) as usize];
            let advance = (steps >> 8 & 0xFF) as usize;
            if steps != 0 && k + advance < 64 {
                self.consume(steps & 0xFF);
                if steps >> 16 != 0 {
                    return Ok(());
                }
                k += advance;
                continue;
            }
            // One code and its value in the look-up: one step.
            let entry = table.skip[self.peek(SKIP_BITS) as usize];
            if entry != 0 {
                self.consume(u32::from(entry >> 8));
                match entry & 0xFF {
                    0 => return Ok(()),
                    advance => k += usize::from(advance),
                }
                continue;
            }
            let symbol = self.symbol(table)?;
            let (run, size) = (usize::from(symbol >> 4), u32::from(symbol & 15));
            match (run, size) {
                (0, 0) => return Ok(()),
                (15, 0) => k += 16,
                (_, 0) => return Err(Stop::NotOurs),
                _ => {
                    self.consume(size); // `symbol` left at least 32 - 16 bits
                    k += run + 1;
                }
            }
        }
        if k == 64 { Ok(()) } else { Err(Stop::NotOurs) }
    }

    /// Whether every bit consumed so far was real data.
    fn intact(&self) -> bool {
        self.padding <= self.count
    }

    /// At a restart interval's end: the data must be intact and restart marker
    /// `number` next; the stream starts again after it, byte-aligned.
    fn restart(&mut self, number: usize) -> Result<(), Stop> {
        if !self.intact() {
            return Err(Stop::damaged(CUT_SHORT));
        }
        // The interval's last code is followed by at most 7 bits of padding, so its
        // last refill has reached the marker, unless junk comes first: not ours.
        if !self.at_marker {
            return Err(Stop::NotOurs);
        }
        let marker = self.data[self.at..]
            .iter()
            .find(|&&b| b != 0xFF)
            .copied()
            .ok_or_else(|| Stop::damaged(CUT_SHORT))?;
        match marker {
            0xD0..=0xD7 if usize::from(marker - 0xD0) == number => {}
            0xD0..=0xD7 => {
                return Err(Stop::damaged(format!(
                    "restart marker {} where {number} was expected",
                    marker - 0xD0
                )));
            }
            _ => return Err(Stop::damaged("a marker inside the image data")),
        }
        let after = self.at
            + self.data[self.at..]
                .iter()
                .take_while(|&&b| b == 0xFF)
                .count()
            + 1;
        *self = Bits::new(&self.data[after..]);
        Ok(())
    }

    /// The bytes not yet read into the buffer.
    fn rest(&self) -> &'a [u8] {
        &self.data[self.at..]
    }
}

/// Whether any byte of `word` is 0xFF, that is, whether any byte of `!word` is zero:
/// subtracting 1 from each byte borrows into its top bit only from a zero byte.
fn has_ff(word: u64) -> bool {
    let flipped = !word;
    flipped.wrapping_sub(0x0101_0101_0101_0101) & !flipped & 0x8080_8080_8080_8080 != 0
}

/// JPEG's "extend": `size` bits read as a signed number, where a leading 0 means
/// negative (`0b011` of 3 bits is -4, `0b100` is 4).
fn extend(bits: u32, size: u32) -> i32 {
    let value = bits as i32;
    if value < 1 << (size - 1) {
        value - (1 << size) + 1
    } else {
        value
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
        let eighth = decode(bytes)
            .expect("not damaged")
            .expect("the fast path reads it");
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
        let eighth = decode(&jpeg)
            .expect("not damaged")
            .expect("reads greyscale");
        assert_eq!(eighth.channels, 1);
        assert!(mean_difference(&jpeg) < 2.0);
    }

    #[test]
    fn leaves_progressive_jpegs_to_the_general_decoder() {
        let jpeg = encode(160, 120, |e| e.set_progressive(true));
        assert!(matches!(decode(&jpeg), Ok(None)));
    }

    #[test]
    fn notices_damage_instead_of_inventing_pixels() {
        let jpeg = encode(320, 200, |_| {});
        for keep in [jpeg.len() / 2, jpeg.len() - 40] {
            assert!(decode(&jpeg[..keep]).is_err(), "cut to {keep} bytes");
            assert!(check(&jpeg[..keep]).is_err(), "cut to {keep} bytes");
        }
        let with_restarts = encode(320, 200, |e| e.set_restart_interval(2));
        let cut = &with_restarts[..with_restarts.len() / 2];
        assert!(decode(cut).is_err());
        assert!(matches!(decode(b"\xFF\xD8\xFF"), Ok(None)));
        assert!(matches!(decode(&[]), Ok(None)));
    }

    #[test]
    fn cut_data_with_an_end_marker_added_is_still_cut() {
        let jpeg = encode(320, 200, |_| {});
        let mut cut = jpeg[..jpeg.len() * 6 / 10].to_vec();
        cut.extend([0xFF, 0xD9]);
        let error = decode(&cut).err().expect("refused");
        assert!(error.contains("truncated"), "{error}");
    }

    #[test]
    fn restart_markers_must_come_in_order() {
        let mut jpeg = encode(320, 200, |e| e.set_restart_interval(2));
        assert!(check(&jpeg).is_ok());
        // Swap the numbers of the first two restart markers.
        let markers: Vec<usize> = (0..jpeg.len() - 1)
            .filter(|&i| jpeg[i] == 0xFF && (0xD0..=0xD7).contains(&jpeg[i + 1]))
            .take(2)
            .collect();
        (jpeg[markers[0] + 1], jpeg[markers[1] + 1]) = (0xD1, 0xD0);
        let error = decode(&jpeg).err().expect("refused");
        assert!(error.contains("restart marker 1 where 0"), "{error}");
    }

    #[test]
    fn a_zero_in_a_quantisation_table_is_left_to_the_general_decoder() {
        let mut jpeg = encode(64, 64, |_| {});
        let table = (0..jpeg.len() - 1)
            .find(|&i| jpeg[i] == 0xFF && jpeg[i + 1] == 0xDB)
            .expect("a DQT");
        // Marker, length, then the table's precision and id: the last entry is at 68.
        jpeg[table + 68] = 0;
        assert!(matches!(decode(&jpeg), Ok(None)));
    }

    #[test]
    fn converts_colours_like_jfif() {
        assert_eq!(ycbcr_to_rgb(128, 128, 128), [128, 128, 128]);
        assert_eq!(ycbcr_to_rgb(0, 128, 128), [0, 0, 0]);
        assert_eq!(ycbcr_to_rgb(255, 128, 128), [255, 255, 255]);
        assert_eq!(ycbcr_to_rgb(76, 85, 255), [254, 0, 0]);
    }

    #[test]
    fn finds_a_0xff_byte_anywhere_in_a_word() {
        assert!(!has_ff(0));
        assert!(!has_ff(0xFEFE_FEFE_FEFE_FEFE));
        for byte in 0..8 {
            assert!(has_ff(0xFF << (8 * byte)), "byte {byte}");
            assert!(has_ff(0x0102_0304_0506_0708 | 0xFF << (8 * byte)));
        }
    }

    #[test]
    fn extends_like_jpeg() {
        assert_eq!(extend(0b0, 1), -1);
        assert_eq!(extend(0b1, 1), 1);
        assert_eq!(extend(0b011, 3), -4);
        assert_eq!(extend(0b100, 3), 4);
        assert_eq!(extend(0, 11), -2047);
    }

    /// Taking several steps per look-up reads exactly what taking one at a time reads,
    /// at every quality (the lower, the more short codes, and the more steps per look-up).
    #[test]
    fn several_steps_at_once_read_what_one_at_a_time_reads() {
        let (width, height) = (203, 117);
        for quality in [20, 50, 75, 90, 100] {
            let mut bytes = Vec::new();
            Encoder::new(&mut bytes, quality)
                .encode(&picture(width, height), width, height, ColorType::Rgb)
                .expect("encodes");
            let header = Header::read(&bytes).expect("ours");
            let mut one_at_a_time = Header::read(&bytes).expect("ours");
            for table in one_at_a_time.ac_tables.iter_mut().flatten() {
                table.steps.fill(0);
            }
            let read = |header: &Header| {
                let planes = header.decode_scan(&bytes).ok().expect("reads");
                header.to_pixels(&planes).expect("converts").pixels
            };
            assert_eq!(read(&header), read(&one_at_a_time), "quality {quality}");
        }
    }
}
