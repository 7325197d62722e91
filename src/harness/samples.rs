//! Bad inputs, made on purpose: the lessons and the tests use them to show that one bad
//! image costs one image, never the batch.

/// A JPEG whose start is intact but whose header and data are overwritten with noise
/// from `from` onwards: the signature is right, the rest is not.
pub fn corrupt(good: &[u8], from: usize) -> Vec<u8> {
    let mut bytes = good.to_vec();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    for byte in bytes.iter_mut().skip(from) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    bytes
}

/// The first `keep` bytes of an image: what a dropped connection leaves.
pub fn truncated(good: &[u8], keep: usize) -> Vec<u8> {
    good[..keep.min(good.len())].to_vec()
}

/// Text, as found in a file named `.jpg` by mistake.
pub fn text() -> Vec<u8> {
    b"This is not a photo; it is a note that someone saved as photo.jpg.\n".to_vec()
}

/// A valid PNG signature and header that declare `width` x `height` pixels and nothing
/// else: 33 bytes that ask a naive decoder for `width * height * 3` bytes of memory.
pub fn huge_png_header(width: u32, height: u32) -> Vec<u8> {
    let mut chunk = b"IHDR".to_vec();
    chunk.extend(width.to_be_bytes());
    chunk.extend(height.to_be_bytes());
    chunk.extend([8, 2, 0, 0, 0]); // 8 bits per channel, RGB, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(13u32.to_be_bytes());
    png.extend(&chunk);
    png.extend(crc32(&chunk).to_be_bytes());
    png
}

/// The CRC-32 that PNG chunks end with.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
