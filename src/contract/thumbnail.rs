//! What the CPU step reads and makes: the formats of images, which format a thumbnail
//! is written in, and a thumbnail.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The encoded format of an image: the four the kernel reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    /// JPEG, written at quality 85.
    Jpeg,
    /// PNG, lossless, with transparency.
    Png,
    /// WebP: read lossy or lossless, written lossless.
    Webp,
    /// GIF: its first frame is read. Never written: a thumbnail of a GIF is a JPEG or a
    /// PNG (see [`OutputFormat`]).
    Gif,
}

impl Format {
    /// The file extension of thumbnails in this format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Gif => "gif",
        }
    }

    /// The MIME type, sent as `Content-Type` on upload.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Gif => "image/gif",
        }
    }

    /// The format's usual name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Webp => "WebP",
            Format::Gif => "GIF",
        }
    }
}

/// Which format thumbnails are written in (`--format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutputFormat {
    /// What people expect: a JPEG stays a JPEG and a PNG a PNG; any other image becomes
    /// a PNG if it has transparent pixels and a JPEG if it has none.
    #[default]
    Auto,
    /// Always JPEG; transparent pixels are laid on white (JPEG has no transparency).
    Jpeg,
    /// Always PNG.
    Png,
    /// Always WebP (lossless).
    Webp,
    /// The source's own format; a GIF, which has no encoder here worth its 256 colours,
    /// becomes a PNG.
    Same,
}

impl OutputFormat {
    /// The format of the thumbnails of a `source` image, knowing whether it has any
    /// transparent pixel.
    pub fn choose(self, source: Format, transparent: bool) -> Format {
        match (self, source) {
            (OutputFormat::Jpeg, _) => Format::Jpeg,
            (OutputFormat::Png, _) | (OutputFormat::Same, Format::Gif) => Format::Png,
            (OutputFormat::Webp, _) => Format::Webp,
            (OutputFormat::Same, source) => source,
            (OutputFormat::Auto, Format::Jpeg | Format::Png) => source,
            (OutputFormat::Auto, Format::Webp | Format::Gif) if transparent => Format::Png,
            (OutputFormat::Auto, Format::Webp | Format::Gif) => Format::Jpeg,
        }
    }
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(OutputFormat::Auto),
            "jpeg" | "jpg" => Ok(OutputFormat::Jpeg),
            "png" => Ok(OutputFormat::Png),
            "webp" => Ok(OutputFormat::Webp),
            "same" => Ok(OutputFormat::Same),
            other => Err(format!(
                "'{other}' is not an output format (auto, jpeg, png, webp or same)"
            )),
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OutputFormat::Auto => "auto",
            OutputFormat::Jpeg => "jpeg",
            OutputFormat::Png => "png",
            OutputFormat::Webp => "webp",
            OutputFormat::Same => "same",
        })
    }
}

/// One encoded thumbnail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// The width that was asked for (the name uses it).
    pub requested_width: u32,
    /// The width made: the requested one, or the image's own when it is narrower. It is
    /// the width the photo is shown at (after its EXIF orientation), not the stored one.
    pub width: u32,
    /// The height made: `round(h * width / w)`, at least 1.
    pub height: u32,
    /// The format it is encoded in (see [`OutputFormat`]).
    pub format: Format,
    /// The encoded bytes.
    pub bytes: Vec<u8>,
}

impl Thumbnail {
    /// The thumbnail's name for an image with this `stem`: `{stem}_{width}.{ext}`.
    pub fn name(&self, stem: &str) -> String {
        super::thumbnail_name(stem, self.requested_width, self.format.extension())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_keeps_jpeg_and_png_and_picks_by_transparency_for_the_rest() {
        let auto = OutputFormat::Auto;
        assert_eq!(auto.choose(Format::Jpeg, false), Format::Jpeg);
        assert_eq!(auto.choose(Format::Png, false), Format::Png);
        assert_eq!(auto.choose(Format::Webp, false), Format::Jpeg);
        assert_eq!(auto.choose(Format::Webp, true), Format::Png);
        assert_eq!(auto.choose(Format::Gif, false), Format::Jpeg);
        assert_eq!(auto.choose(Format::Gif, true), Format::Png);
    }

    #[test]
    fn a_chosen_format_wins_and_same_never_writes_gif() {
        assert_eq!(OutputFormat::Webp.choose(Format::Jpeg, false), Format::Webp);
        assert_eq!(OutputFormat::Jpeg.choose(Format::Png, true), Format::Jpeg);
        assert_eq!(OutputFormat::Same.choose(Format::Webp, true), Format::Webp);
        assert_eq!(OutputFormat::Same.choose(Format::Gif, false), Format::Png);
        for text in ["auto", "jpeg", "png", "webp", "same"] {
            let parsed: OutputFormat = text.parse().unwrap();
            assert_eq!(parsed.to_string(), text);
        }
        assert!("tiff".parse::<OutputFormat>().is_err());
    }
}
