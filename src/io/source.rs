//! Where the images come from: a folder, a file of URLs, an HTTP listing or a bucket.

use std::fs;
use std::path::{Path, PathBuf};

use percent_encoding::{percent_decode_str, utf8_percent_encode};

use super::blocking::HttpClient;
use super::listing::read_listing;
use super::s3::{S3Flags, S3Place};
use super::url_path::{SEGMENT, with_trailing_slash};
use crate::contract::{Image, ImageError, Location, Outcome, SetupError, Skipped, assign_stems};

/// File extensions read from folders and listings (a folder's README is not an image).
/// Every other file is named in the summary as skipped, with the reason.
const IMAGE_EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "webp", "gif"];

/// Where the images come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Every `.jpg`, `.jpeg`, `.png`, `.webp` and `.gif` file of a folder (not its
    /// subfolders), by name.
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
        let listed = self.list(client)?;
        Ok((listed.images, listed.refused))
    }

    /// [`Source::images`], and the files the source holds that are not images of the
    /// batch, each with the reason (the summary names them).
    pub fn list(&self, client: &HttpClient) -> Result<Listed, SetupError> {
        let Found { entries, skipped } = match self {
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
                    size: entry.size,
                }),
                Err(why) => refused.push(Outcome {
                    image: Image {
                        location: entry.location,
                        source: entry.source,
                        stem: String::new(),
                        size: entry.size,
                    },
                    result: Err(ImageError::UnsafeName(why)),
                }),
            }
        }
        Ok(Listed {
            images,
            refused,
            skipped,
        })
    }

    fn entries(&self, client: &HttpClient) -> Result<Found, String> {
        match self {
            Source::Folder(dir) => folder_entries(dir),
            Source::UrlList(path) => {
                // A URL list names its images one by one: every line is taken.
                let text = fs::read_to_string(path).map_err(|e| e.to_string())?;
                Ok(Found {
                    entries: url_list_entries(&text)?,
                    skipped: Vec::new(),
                })
            }
            Source::Listing(prefix) => {
                let body = client.get(prefix).map_err(|e| e.to_string())?;
                listing_entries(prefix, &body)
            }
            Source::S3(_) => unreachable!("S3 sources are listed by s3_entries"),
        }
    }
}

/// What a source lists, sorted into the batch and the rest.
#[derive(Debug)]
pub struct Listed {
    /// The images of the batch, with unique stems.
    pub images: Vec<Image>,
    /// An outcome for every image refused before any work (an unsafe name).
    pub refused: Vec<Outcome>,
    /// Every file that is not an image of the batch, and why.
    pub skipped: Vec<Skipped>,
}

/// One listed image before it has a stem.
struct Entry {
    location: Location,
    source: String,
    name: String,
    size: Option<u64>,
}

/// A listing's images, and the files it passed over with the reason.
#[derive(Default)]
struct Found {
    entries: Vec<Entry>,
    skipped: Vec<Skipped>,
}

impl Found {
    fn sorted(mut self) -> Found {
        self.entries.sort_by(|a, b| a.name.cmp(&b.name));
        self.skipped.sort_by(|a, b| a.source.cmp(&b.source));
        self
    }
}

/// Why a listed name is not taken as an image, or `None` when it is one. Hidden files
/// (`.name`) are `Some("")`: not part of a folder, as `ls` shows it, and not named in the
/// summary (the corpus keeps its marker file so).
fn why_not_an_image(name: &str) -> Option<String> {
    if name.starts_with('.') {
        return Some(String::new());
    }
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase());
    match extension {
        Some(ext) if IMAGE_EXTENSIONS.contains(&ext.as_str()) => None,
        Some(ext) => Some(format!(
            "not an image name: .{ext} is none of .jpg, .jpeg, .png, .webp, .gif"
        )),
        None => Some("not an image name: it has no extension".into()),
    }
}

/// Sorts one listed file into `found`: an image entry, or a skipped file with the
/// reason (a hidden file goes nowhere).
fn take(found: &mut Found, entry: Entry) {
    match why_not_an_image(&entry.name) {
        None => found.entries.push(entry),
        Some(reason) if reason.is_empty() => {}
        Some(reason) => found.skipped.push(Skipped {
            source: entry.source,
            reason,
        }),
    }
}

fn folder_entries(dir: &Path) -> Result<Found, String> {
    let mut found = Found::default();
    for item in fs::read_dir(dir).map_err(|e| e.to_string())? {
        let item = item.map_err(|e| e.to_string())?;
        let name = item.file_name().to_string_lossy().into_owned();
        let path = item.path();
        let source = path.display().to_string();
        if name.starts_with('.') {
            continue;
        }
        if !item.file_type().is_ok_and(|t| t.is_file()) {
            found.skipped.push(Skipped {
                source,
                reason: "not a file (subfolders are not read)".into(),
            });
            continue;
        }
        let entry = Entry {
            location: Location::File(path),
            source,
            name,
            size: item.metadata().ok().map(|meta| meta.len()),
        };
        take(&mut found, entry);
    }
    Ok(found.sorted())
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
            size: None,
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
fn s3_entries(place: &S3Place, client: &HttpClient) -> Result<Found, SetupError> {
    let mut found = Found::default();
    for (key, size) in place.list(client)? {
        let name = key.rsplit('/').next().unwrap_or_default().to_string();
        let source = format!("s3://{}/{key}", place.bucket);
        if why_not_an_image(&name).is_some() {
            // Skipped without presigning a URL nobody will fetch.
            let location = Location::Url(source.clone());
            take(
                &mut found,
                Entry {
                    location,
                    source,
                    name,
                    size,
                },
            );
            continue;
        }
        let url = place.get_url(&key).map_err(SetupError::Other)?;
        found.entries.push(Entry {
            location: Location::Url(url),
            source,
            name,
            size,
        });
    }
    Ok(found.sorted())
}

fn listing_entries(prefix: &str, body: &[u8]) -> Result<Found, String> {
    let mut found = Found::default();
    for item in read_listing(prefix, body)? {
        let url = format!("{prefix}{}", utf8_percent_encode(&item.name, SEGMENT));
        if item.folder {
            if !item.name.starts_with('.') {
                found.skipped.push(Skipped {
                    source: url,
                    reason: "not a file (subfolders are not read)".into(),
                });
            }
            continue;
        }
        let entry = Entry {
            location: Location::Url(url.clone()),
            source: url,
            name: item.name,
            size: item.size,
        };
        take(&mut found, entry);
    }
    Ok(found.sorted())
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
        let found = listing_entries("http://h/p/", body).unwrap();
        let urls: Vec<&str> = found.entries.iter().map(|e| e.source.as_str()).collect();
        assert_eq!(urls, ["http://h/p/a.jpg", "http://h/p/b.png"]);
        let sizes: Vec<Option<u64>> = found.entries.iter().map(|e| e.size).collect();
        assert_eq!(
            sizes,
            [None, Some(3)],
            "the sizes the listing gives are kept"
        );
        let skipped: Vec<&str> = found.skipped.iter().map(|s| s.source.as_str()).collect();
        assert_eq!(skipped, ["http://h/p/notes.txt", "http://h/p/sub"]);
    }

    #[test]
    fn a_folder_names_what_it_skips_and_hides_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.webp", "a.gif", "c.jpg", "notes.txt", ".hidden.jpg"] {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        fs::create_dir(dir.path().join("sub")).unwrap();
        let found = folder_entries(dir.path()).unwrap();
        let names: Vec<&str> = found.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a.gif", "b.webp", "c.jpg"]);
        assert!(
            found.entries.iter().all(|e| e.size == Some(1)),
            "sizes come along"
        );
        let skipped: Vec<(String, &str)> = found
            .skipped
            .iter()
            .map(|s| {
                let name = Path::new(&s.source).file_name().unwrap();
                (name.to_string_lossy().into_owned(), s.reason.as_str())
            })
            .collect();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert_eq!(skipped[0].0, "notes.txt");
        assert!(skipped[1].1.contains("subfolders are not read"));
    }

    #[test]
    fn webp_and_gif_are_image_names_and_the_rest_say_why_not() {
        for name in ["a.webp", "b.GIF", "c.jpeg", "d.PNG"] {
            assert_eq!(why_not_an_image(name), None, "{name}");
        }
        let heic = why_not_an_image("IMG_0001.HEIC").unwrap();
        assert!(heic.contains(".heic is none of"), "{heic}");
        assert!(why_not_an_image("README").unwrap().contains("no extension"));
        assert_eq!(why_not_an_image(".complete").as_deref(), Some(""));
    }
}
