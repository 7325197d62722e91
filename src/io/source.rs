//! Where the images come from: a folder, a file of URLs, an HTTP listing or a bucket.

use std::fs;
use std::path::{Path, PathBuf};

use percent_encoding::{percent_decode_str, utf8_percent_encode};

use super::blocking::HttpClient;
use super::listing::ListingEntry;
use super::s3::{S3Flags, S3Place};
use super::url_path::{SEGMENT, with_trailing_slash};
use crate::contract::{Image, ImageError, Location, Outcome, SetupError, assign_stems};

/// File extensions read from folders and listings (a folder's README is not an image).
const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// Where the images come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Every `.jpg`, `.jpeg` and `.png` file of a folder (not its subfolders), by name.
    Folder(PathBuf),
    /// A text file with one URL per line; blank lines and `#` comments are skipped.
    UrlList(PathBuf),
    /// An HTTP prefix whose `GET` answers a JSON listing of its objects.
    Listing(String),
    /// The objects under a prefix of an S3 bucket.
    S3(S3Place),
}

impl Source {
    /// Reads `--source`: `s3://` is a bucket, an HTTP URL a listing, a folder a folder,
    /// any other file a URL list.
    pub fn parse(text: &str, s3: &S3Flags) -> Result<Source, SetupError> {
        if text.starts_with("s3://") {
            return Ok(Source::S3(S3Place::parse(text, s3)?));
        }
        if text.starts_with("http://") || text.starts_with("https://") {
            return Ok(Source::Listing(with_trailing_slash(text)));
        }
        let path = PathBuf::from(text);
        match fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => Ok(Source::Folder(path)),
            Ok(_) => Ok(Source::UrlList(path)),
            Err(e) => Err(SetupError::Source {
                source_name: text.to_string(),
                cause: e.to_string(),
            }),
        }
    }

    /// The source as given, for messages.
    pub fn name(&self) -> String {
        match self {
            Source::Folder(path) | Source::UrlList(path) => path.display().to_string(),
            Source::Listing(url) => url.clone(),
            Source::S3(place) => place.name(),
        }
    }

    /// The images of the source, with unique stems, and an outcome for every entry that
    /// was refused before any work (an unsafe name). An empty source is a setup error.
    pub fn images(&self, client: &HttpClient) -> Result<(Vec<Image>, Vec<Outcome>), SetupError> {
        let entries = match self {
            Source::S3(place) => s3_entries(place, client)?,
            _ => self.entries(client).map_err(|cause| SetupError::Source {
                source_name: self.name(),
                cause,
            })?,
        };
        if entries.is_empty() {
            return Err(SetupError::EmptySource(self.name()));
        }
        let stems = assign_stems(entries.iter().map(|entry| entry.name.as_str()));
        let mut images = Vec::new();
        let mut refused = Vec::new();
        for (entry, stem) in entries.into_iter().zip(stems) {
            match stem {
                Ok(stem) => images.push(Image {
                    location: entry.location,
                    source: entry.source,
                    stem,
                }),
                Err(why) => refused.push(Outcome {
                    image: Image {
                        location: entry.location,
                        source: entry.source,
                        stem: String::new(),
                    },
                    result: Err(ImageError::UnsafeName(why)),
                }),
            }
        }
        Ok((images, refused))
    }

    fn entries(&self, client: &HttpClient) -> Result<Vec<Entry>, String> {
        match self {
            Source::Folder(dir) => folder_entries(dir),
            Source::UrlList(path) => {
                let text = fs::read_to_string(path).map_err(|e| e.to_string())?;
                url_list_entries(&text)
            }
            Source::Listing(prefix) => {
                let body = client.get(prefix).map_err(|e| e.to_string())?;
                listing_entries(prefix, &body)
            }
            Source::S3(_) => unreachable!("S3 sources are listed by s3_entries"),
        }
    }
}

/// One listed image before it has a stem.
struct Entry {
    location: Location,
    source: String,
    name: String,
}

fn is_image_name(name: &str) -> bool {
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase());
    !name.starts_with('.') && extension.is_some_and(|ext| IMAGE_EXTENSIONS.contains(&ext.as_str()))
}

fn folder_entries(dir: &Path) -> Result<Vec<Entry>, String> {
    let mut entries = Vec::new();
    for item in fs::read_dir(dir).map_err(|e| e.to_string())? {
        let item = item.map_err(|e| e.to_string())?;
        let name = item.file_name().to_string_lossy().into_owned();
        if is_image_name(&name) && item.file_type().is_ok_and(|t| t.is_file()) {
            let path = item.path();
            entries.push(Entry {
                source: path.display().to_string(),
                location: Location::File(path),
                name,
            });
        }
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

fn url_list_entries(text: &str) -> Result<Vec<Entry>, String> {
    let mut entries = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name = file_name_of_url(line).map_err(|why| format!("line {}: {why}", number + 1))?;
        entries.push(Entry {
            location: Location::Url(line.to_string()),
            source: line.to_string(),
            name,
        });
    }
    Ok(entries)
}

/// The file name a URL points at: its last path segment, percent-decoded. The decoded
/// name may still hold `../` or `/`; [`assign_stems`] refuses those.
pub fn file_name_of_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|e| format!("'{text}' is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("'{text}' is not an http or https URL"));
    }
    let segment = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or_default();
    Ok(percent_decode_str(segment).decode_utf8_lossy().into_owned())
}

/// The image objects under an S3 prefix, each with a presigned GET: from here on it is a
/// plain URL, which every chapter's HTTP client can fetch.
fn s3_entries(place: &S3Place, client: &HttpClient) -> Result<Vec<Entry>, SetupError> {
    let mut entries = Vec::new();
    for key in place.list(client)? {
        let name = key.rsplit('/').next().unwrap_or_default().to_string();
        if !is_image_name(&name) {
            continue;
        }
        let url = place.get_url(&key).map_err(SetupError::Other)?;
        entries.push(Entry {
            location: Location::Url(url),
            source: format!("s3://{}/{key}", place.bucket),
            name,
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

fn listing_entries(prefix: &str, body: &[u8]) -> Result<Vec<Entry>, String> {
    let listing: Vec<ListingEntry> =
        serde_json::from_slice(body).map_err(|e| format!("the listing is not JSON: {e}"))?;
    let mut entries: Vec<Entry> = listing
        .into_iter()
        .filter(|item| item.kind == "file" && is_image_name(&item.name))
        .map(|item| {
            let url = format!("{prefix}{}", utf8_percent_encode(&item.name, SEGMENT));
            Entry {
                location: Location::Url(url.clone()),
                source: url,
                name: item.name,
            }
        })
        .collect();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_lists_skip_comments_and_decode_names() {
        let text = "# photos\n\nhttp://h/a/cat.jpg\n  http://h/b/big%20dog.png  \n";
        let entries = url_list_entries(text).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["cat.jpg", "big dog.png"]);
        assert!(url_list_entries("not a url").is_err());
        assert!(url_list_entries("ftp://h/x.jpg").is_err());
    }

    #[test]
    fn a_url_cannot_smuggle_a_path() {
        assert_eq!(
            file_name_of_url("http://h/..%2F..%2Fetc%2Fpasswd.jpg").unwrap(),
            "../../etc/passwd.jpg"
        );
        assert_eq!(file_name_of_url("http://h/a/../x.jpg").unwrap(), "x.jpg");
        let stems = assign_stems(["../../etc/passwd.jpg"]);
        assert!(stems[0].is_err());
    }

    #[test]
    fn listings_in_nginx_shape_keep_only_images() {
        let body = br#"[{"name":"b.png","type":"file","size":3},{"name":"a.jpg","type":"file"},
            {"name":"sub","type":"directory"},{"name":"notes.txt","type":"file"}]"#;
        let entries = listing_entries("http://h/p/", body).unwrap();
        let urls: Vec<&str> = entries.iter().map(|e| e.source.as_str()).collect();
        assert_eq!(urls, ["http://h/p/a.jpg", "http://h/p/b.png"]);
    }
}
