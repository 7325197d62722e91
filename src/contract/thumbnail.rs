//! What the CPU step makes: a thumbnail, in the format of its source.

/// The encoded format of an image; thumbnails keep the format of their source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JPEG in, JPEG (quality 85) out.
    Jpeg,
    /// PNG in, PNG out.
    Png,
}

impl Format {
    /// The file extension of thumbnails in this format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
        }
    }

    /// The MIME type, sent as `Content-Type` on upload.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
        }
    }
}

/// One encoded thumbnail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// The width that was asked for (the name uses it).
    pub requested_width: u32,
    /// The width made: the requested one, or the image's own when it is narrower.
    pub width: u32,
    /// The height made: `round(h * width / w)`, at least 1.
    pub height: u32,
    /// The format, the same as the source's.
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
