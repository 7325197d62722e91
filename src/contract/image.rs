//! The images of a batch, and what their thumbnails are called.

use std::collections::HashSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where an image's bytes are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Location {
    /// A file on this machine.
    File(PathBuf),
    /// An object behind an HTTP URL.
    Url(String),
}

/// One image of the batch, with the unique stem its thumbnails are named after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// Where the bytes are.
    pub location: Location,
    /// The source as a person would name it (a path or a URL): every error names it.
    pub source: String,
    /// The stem of the thumbnails' names, unique in the batch: `cat` makes `cat_32.jpg`.
    pub stem: String,
    /// The size in bytes, when the source says it (a folder, nginx's listing and S3 do; a
    /// URL list does not). A scheduler can start the biggest images first with it.
    #[serde(default)]
    pub size: Option<u64>,
}

impl Image {
    /// The short name used in traces and timelines (the stem).
    pub fn label(&self) -> &str {
        &self.stem
    }
}

/// `images`, biggest first where the source gave sizes; images of unknown size come last,
/// and images of equal size keep their order. Handed out in this order, the longest pieces
/// of work start first and the short ones fill the gaps at the end, so no worker is left
/// alone with one big image that started last (longest job first).
pub fn largest_first(images: &[Image]) -> Vec<&Image> {
    let mut order: Vec<&Image> = images.iter().collect();
    order.sort_by_key(|image| std::cmp::Reverse(image.size));
    order
}

/// The name of one thumbnail: `{stem}_{width}.{ext}`, where `width` is the requested width
/// (an image narrower than that is not upscaled, but keeps the name, so a batch always
/// makes the same set of names).
pub fn thumbnail_name(stem: &str, width: u32, extension: &str) -> String {
    format!("{stem}_{width}.{extension}")
}

/// Turns the file names of a batch, in order, into unique stems, or the reason a name is
/// refused. `photos/cat.jpg` and `backup/cat.jpg` become `cat` and `cat-2`: two sources
/// with the same name never overwrite each other's thumbnails.
///
/// A name is refused when it could write outside the output: a path separator (after
/// percent-decoding, which the caller does), `.` or `..`, a leading dot (hidden files,
/// and the output's own temporary files), or a control character.
pub fn assign_stems<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<Result<String, String>> {
    let mut taken = HashSet::new();
    names
        .into_iter()
        .map(|name| {
            let stem = safe_stem(name)?;
            let mut unique = stem.clone();
            let mut n = 2;
            while !taken.insert(unique.clone()) {
                unique = format!("{stem}-{n}");
                n += 1;
            }
            Ok(unique)
        })
        .collect()
}

/// The stem of a file name (`cat.jpg` gives `cat`), or why the name is unsafe.
fn safe_stem(name: &str) -> Result<String, String> {
    if name.contains(['/', '\\']) {
        return Err(format!(
            "unsafe name '{name}': it contains a path separator"
        ));
    }
    if name.starts_with('.') {
        return Err(format!(
            "unsafe name '{name}': a name starting with '.' is hidden or leaves the folder"
        ));
    }
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(format!(
            "unsafe name {name:?}: empty or has control characters"
        ));
    }
    let stem = match name.rsplit_once('.') {
        Some((stem, _extension)) => stem,
        None => name,
    };
    Ok(stem.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_biggest_come_first_and_the_unknown_last_in_their_order() {
        let image = |stem: &str, size: Option<u64>| Image {
            location: Location::Url(format!("http://h/{stem}.jpg")),
            source: format!("http://h/{stem}.jpg"),
            stem: stem.into(),
            size,
        };
        let images = [
            image("a", None),
            image("b", Some(10)),
            image("c", Some(40)),
            image("d", None),
            image("e", Some(10)),
        ];
        let order: Vec<&str> = largest_first(&images).iter().map(|i| i.label()).collect();
        assert_eq!(order, ["c", "b", "e", "a", "d"]);
    }

    #[test]
    fn thumbnails_are_named_stem_width_extension() {
        assert_eq!(thumbnail_name("cat", 64, "jpg"), "cat_64.jpg");
    }

    #[test]
    fn colliding_names_get_distinct_stems() {
        let stems = assign_stems(["cat.jpg", "cat.jpg", "cat.png", "cat-2.jpg", "dog.jpeg"]);
        let stems: Vec<String> = stems.into_iter().map(Result::unwrap).collect();
        assert_eq!(stems, ["cat", "cat-2", "cat-3", "cat-2-2", "dog"]);
    }

    #[test]
    fn names_that_leave_the_folder_are_refused() {
        for name in [
            "../x.jpg",
            "/etc/passwd",
            "a\\b.jpg",
            "..",
            ".",
            ".hidden.jpg",
            "",
        ] {
            let result = assign_stems([name]).remove(0);
            assert!(result.is_err(), "{name:?} was accepted");
        }
        assert_eq!(
            assign_stems(["no-extension"]).remove(0).unwrap(),
            "no-extension"
        );
    }
}
