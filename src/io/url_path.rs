//! Names in URLs: escaping a name as one path segment, and a prefix names are added to.

use percent_encoding::{AsciiSet, CONTROLS};

/// Characters escaped in one path segment of a URL.
pub const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// `text` ending in `/`: an HTTP prefix, to which names are appended.
pub(super) fn with_trailing_slash(text: &str) -> String {
    if text.ends_with('/') {
        text.to_string()
    } else {
        format!("{text}/")
    }
}
