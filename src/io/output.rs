//! Where thumbnails go, and the plan for each one: a [`Destination`].
//!
//! One plan, three executors. [`Output::destination`] decides, once, where a thumbnail
//! goes: a file in a folder, or a URL to PUT (a plain prefix, or a presigned S3 URL).
//! The blocking client ([`HttpClient::store`]), the async client
//! ([`AsyncHttpClient::store`](super::AsyncHttpClient::store)) and the event loop each
//! only carry a destination out, so they cannot disagree on a name, a URL or a message.

use std::path::{Path, PathBuf};

use percent_encoding::utf8_percent_encode;
use serde::{Deserialize, Serialize};

use super::blocking::HttpClient;
use super::destination::Destination;
use super::s3::{S3Flags, S3Place};
use super::url_path::{SEGMENT, with_trailing_slash};
use crate::contract::{Format, ImageError, SetupError};
use crate::platform::check_writable;

/// Where thumbnails go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Output {
    /// A folder on this machine.
    Folder(PathBuf),
    /// An HTTP prefix (ending in `/`) that accepts PUT.
    Http(String),
    /// A prefix of an S3 bucket (each thumbnail a presigned PUT).
    S3(S3Place),
}

impl Output {
    /// Reads `--out`: `s3://` is a bucket, an HTTP URL a prefix, anything else a folder.
    pub fn parse(text: &str, s3: &S3Flags) -> Result<Output, SetupError> {
        if text.starts_with("s3://") {
            Ok(Output::S3(S3Place::parse(text, s3)?))
        } else if text.starts_with("http://") || text.starts_with("https://") {
            Ok(Output::Http(with_trailing_slash(text)))
        } else {
            Ok(Output::Folder(PathBuf::from(text)))
        }
    }

    /// Where the thumbnail called `name`, in `format`, goes.
    pub fn destination(&self, name: &str, format: Format) -> Result<Destination, ImageError> {
        let put = |url: String| Destination::Put {
            url,
            content_type: format.mime(),
        };
        match self {
            Output::Folder(dir) => Ok(Destination::File(dir.join(name))),
            Output::Http(prefix) => Ok(put(format!(
                "{prefix}{}",
                utf8_percent_encode(name, SEGMENT)
            ))),
            Output::S3(place) => place.put_url(name).map(put).map_err(ImageError::Io),
        }
    }

    /// Makes sure the output can be written before any work starts: creates the folder
    /// and writes a file in it, or checks that the server answers at all.
    pub fn prepare(&self, client: &HttpClient) -> Result<(), SetupError> {
        let fail = |cause: String| SetupError::Output {
            output: self.to_string(),
            cause,
        };
        match self {
            Output::Folder(dir) => std::fs::create_dir_all(dir)
                .and_then(|()| check_writable(dir))
                .map_err(|e| fail(e.to_string())),
            Output::Http(prefix) => client.answers(prefix).map_err(|e| fail(e.to_string())),
            Output::S3(place) => place.check(client),
        }
    }

    // ANCHOR: all_or_nothing
    /// An image's thumbnails are all or nothing. `stored` is what became of each one
    /// (its name, or why it failed); when all are stored, their names. When one failed,
    /// the first failure, after taking back what was stored: in a folder the files are
    /// removed, so that it holds only complete sets; a server's objects cannot be taken
    /// back here, so the error says which ones are there.
    pub fn all_or_nothing(
        &self,
        stored: Vec<Result<String, ImageError>>,
    ) -> Result<Vec<String>, ImageError> {
        let mut names = Vec::new();
        let mut first_failure = None;
        for result in stored {
            match result {
                Ok(name) => names.push(name),
                Err(error) => {
                    first_failure.get_or_insert(error);
                }
            }
        }
        let Some(cause) = first_failure else {
            return Ok(names);
        };
        let left = match self {
            Output::Folder(dir) => remove_files(dir, names),
            Output::Http(_) | Output::S3(_) => names,
        };
        if left.is_empty() {
            Err(cause)
        } else {
            Err(ImageError::Incomplete {
                cause: Box::new(cause),
                stored: left,
            })
        }
    }
    // ANCHOR_END: all_or_nothing
}

/// Removes each of `names` from `dir`; the names that could not be removed.
fn remove_files(dir: &Path, names: Vec<String>) -> Vec<String> {
    names
        .into_iter()
        .filter(|name| std::fs::remove_file(dir.join(name)).is_err())
        .collect()
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Folder(dir) => write!(f, "{}", dir.display()),
            Output::Http(prefix) => f.write_str(prefix),
            Output::S3(place) => f.write_str(&place.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_set_is_removed_from_a_folder_and_reported_from_a_server() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["cat_32.jpg", "cat_64.jpg", "dog_32.jpg"] {
            std::fs::write(dir.path().join(name), b"thumbnail").unwrap();
        }
        let full = || ImageError::Io("disk full".into());
        let stored = || {
            vec![
                Ok("cat_32.jpg".into()),
                Ok("cat_64.jpg".into()),
                Err(full()),
            ]
        };

        let folder = Output::Folder(dir.path().to_path_buf());
        assert_eq!(folder.all_or_nothing(stored()), Err(full()));
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the other image's thumbnail is left");

        let server = Output::Http("http://h/thumbs/".into());
        assert_eq!(
            server.all_or_nothing(stored()).unwrap_err().to_string(),
            "disk full (stored before the failure, still on the server: cat_32.jpg, cat_64.jpg)"
        );
        assert_eq!(server.all_or_nothing(vec![Err(full())]), Err(full()));
        assert_eq!(
            server.all_or_nothing(vec![Ok("a_32.png".into()), Ok("a_64.png".into())]),
            Ok(vec!["a_32.png".into(), "a_64.png".into()])
        );
    }

    #[test]
    fn a_thumbnail_goes_to_a_file_or_an_escaped_url() {
        let folder = Output::Folder(PathBuf::from("out"));
        assert_eq!(
            folder.destination("cat_32.jpg", Format::Jpeg),
            Ok(Destination::File(PathBuf::from("out/cat_32.jpg")))
        );
        let http = Output::Http("http://h/thumbs/".into());
        assert_eq!(
            http.destination("big dog_64.png", Format::Png),
            Ok(Destination::Put {
                url: "http://h/thumbs/big%20dog_64.png".into(),
                content_type: "image/png",
            })
        );
    }
}
