//! Which format an image is in, from its first bytes (never from its name: a text file
//! named `.jpg` is still text, and a WebP saved as `.jpg` is still a WebP).

use crate::contract::{Format, KernelError};

/// Recognises the four formats the kernel reads. A few others that people have in their
/// folders (HEIC from phones, AVIF, TIFF, BMP, JPEG XL) are named in the error, so that
/// "not an image" is kept for what really is none.
pub fn sniff(bytes: &[u8]) -> Result<Format, KernelError> {
    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.is_empty() {
        Err(KernelError::NotAnImage("the file is empty".into()))
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok(Format::Jpeg)
    } else if bytes.starts_with(PNG_SIGNATURE) {
        Ok(Format::Png)
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Ok(Format::Webp)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Ok(Format::Gif)
    } else if let Some(name) = unsupported_format(bytes) {
        Err(KernelError::Unsupported(name.to_string()))
    } else {
        Err(KernelError::NotAnImage(
            "no JPEG, PNG, WebP or GIF signature".into(),
        ))
    }
}

/// The name of an image format the kernel recognises but does not read.
fn unsupported_format(bytes: &[u8]) -> Option<&'static str> {
    // HEIC and AVIF are ISO media files: a box of type `ftyp`, then a brand.
    let brand = (bytes.get(4..8) == Some(b"ftyp"))
        .then(|| bytes.get(8..12))
        .flatten();
    match brand {
        Some(b"heic" | b"heix" | b"hevc" | b"mif1" | b"msf1") => return Some("HEIC"),
        Some(b"avif" | b"avis") => return Some("AVIF"),
        _ => {}
    }
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Some("TIFF")
    } else if bytes.starts_with(b"BM") {
        Some("BMP")
    } else if bytes.starts_with(&[0xFF, 0x0A]) || bytes.starts_with(b"\0\0\0\x0CJXL ") {
        Some("JPEG XL")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_comes_from_the_bytes_not_the_name() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Ok(Format::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Ok(Format::Png));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8L"), Ok(Format::Webp));
        assert_eq!(sniff(b"GIF89a\x01\0"), Ok(Format::Gif));
        assert!(matches!(sniff(b""), Err(KernelError::NotAnImage(_))));
        assert!(matches!(
            sniff(b"RIFF\0\0\0\0WAVE"),
            Err(KernelError::NotAnImage(_))
        ));
    }

    #[test]
    fn formats_it_does_not_read_are_named() {
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0";
        assert_eq!(sniff(heic), Err(KernelError::Unsupported("HEIC".into())));
        assert_eq!(
            sniff(b"II*\0\x08\0\0\0"),
            Err(KernelError::Unsupported("TIFF".into()))
        );
    }
}
