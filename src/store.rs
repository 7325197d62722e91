//! Where images come from and where thumbnails go: folders and HTTP servers.
//!
//! - A [`Source`] is a folder of images, a text file of URLs (one per line), or an HTTP
//!   prefix that lists its objects (the embedded store's listing, or nginx's JSON
//!   autoindex: they share one shape).
//! - An [`Output`] is a folder (each file written under a temporary name, then renamed,
//!   so no reader ever sees half a thumbnail) or an HTTP prefix (one PUT per thumbnail).
//! - [`HttpClient`] is the blocking client the thread-based chapters share: every call
//!   has a connect timeout, a read timeout and a body limit, because a server that stalls
//!   or sends gigabytes must cost one image, never the batch.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use serde::{Deserialize, Serialize};

use crate::job::{Image, ImageError, Location, Outcome, assign_stems};
use crate::s3::{S3Flags, S3Place};

/// Characters escaped in one path segment of a URL.
pub(crate) const SEGMENT: &AsciiSet = &CONTROLS
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

/// File extensions read from folders and listings (a folder's README is not an image).
const IMAGE_EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// A problem with the run as a whole (exit code 2), as opposed to one image's failure.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The source could not be read or listed.
    #[error("cannot read the source {source_name}: {cause}")]
    Source { source_name: String, cause: String },
    /// The source lists no image.
    #[error("the source {0} has no images")]
    EmptySource(String),
    /// The output cannot be written.
    #[error("cannot write to the output {output}: {cause}")]
    Output { output: String, cause: String },
    /// Anything else about the setup (the embedded store, the corpus).
    #[error("{0}")]
    Other(String),
}

/// Timeouts and limits of every transfer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HttpConfig {
    /// Connect timeout, and the longest wait for any byte of an answer.
    pub timeout: Duration,
    /// The largest body accepted, in bytes.
    pub max_bytes: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            timeout: Duration::from_secs(10),
            max_bytes: 64 << 20,
        }
    }
}

/// A blocking HTTP client with timeouts and a body limit, cheap to clone and safe to
/// share between threads (its connection pool is behind an `Arc`).
#[derive(Clone)]
pub struct HttpClient {
    agent: ureq::Agent,
    config: HttpConfig,
}

impl HttpClient {
    /// A client with `config`'s timeouts and limit.
    pub fn new(config: &HttpConfig) -> HttpClient {
        let timeout = Some(config.timeout);
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(timeout)
            .timeout_recv_response(timeout)
            .timeout_per_read(timeout)
            .timeout_per_write(timeout)
            .build()
            .new_agent();
        HttpClient {
            agent,
            config: *config,
        }
    }

    /// The bytes at `location`: a file read, or an HTTP GET.
    pub fn fetch(&self, location: &Location) -> Result<Vec<u8>, ImageError> {
        match location {
            Location::File(path) => read_limited(path, self.config.max_bytes),
            Location::Url(url) => self.get(url),
        }
    }

    /// GET `url`: the body of a 2xx answer, or the error that names the cause.
    pub fn get(&self, url: &str) -> Result<Vec<u8>, ImageError> {
        let mut response = self
            .agent
            .get(url)
            .call()
            .map_err(|e| self.error(e, "GET"))?;
        check_status(response.status().as_u16(), url)?;
        response
            .body_mut()
            .with_config()
            .limit(self.config.max_bytes)
            .read_to_vec()
            .map_err(|e| self.error(e, "reading the body"))
    }

    /// GET `url` and return the status and body whatever the status (for answers whose
    /// error body matters, such as S3's error codes).
    pub fn get_any_status(&self, url: &str) -> Result<(u16, Vec<u8>), ImageError> {
        let mut response = self
            .agent
            .get(url)
            .call()
            .map_err(|e| self.error(e, "GET"))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(self.config.max_bytes)
            .read_to_vec()
            .map_err(|e| self.error(e, "reading the body"))?;
        Ok((status, body))
    }

    /// PUT `bytes` to `url` with `content_type`.
    pub fn put(&self, url: &str, bytes: &[u8], content_type: &str) -> Result<(), ImageError> {
        let response = self
            .agent
            .put(url)
            .header("Content-Type", content_type)
            .send(bytes)
            .map_err(|e| self.error(e, "PUT"))?;
        check_status(response.status().as_u16(), url)
    }

    fn error(&self, error: ureq::Error, during: &str) -> ImageError {
        match error {
            ureq::Error::Timeout(which) => ImageError::Timeout {
                millis: self.config.timeout.as_millis() as u64,
                during: format!("{during}: {which}"),
            },
            ureq::Error::BodyExceedsLimit(limit) => ImageError::TooLarge { limit },
            ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
                ImageError::Connect(error.to_string())
            }
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                ImageError::Connect(io.to_string())
            }
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                ImageError::Timeout {
                    millis: self.config.timeout.as_millis() as u64,
                    during: during.to_string(),
                }
            }
            other => ImageError::Io(format!("{during} failed: {other}")),
        }
    }
}

fn check_status(status: u16, url: &str) -> Result<(), ImageError> {
    if (200..300).contains(&status) {
        Ok(())
    } else {
        // Without the query: a presigned URL's signature does not belong in a report.
        let url = url.split('?').next().unwrap_or(url);
        Err(ImageError::Status {
            status,
            url: url.to_string(),
        })
    }
}

/// Reads a file, refusing one larger than `limit` before reading it.
pub(crate) fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ImageError> {
    let io = |e: std::io::Error| ImageError::Io(format!("cannot read {}: {e}", path.display()));
    let file = fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(ImageError::TooLarge { limit });
    }
    Ok(bytes)
}

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
            let prefix = if text.ends_with('/') {
                text.to_string()
            } else {
                format!("{text}/")
            };
            return Ok(Source::Listing(prefix));
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

/// One entry of a JSON listing, in the shape of nginx's `autoindex_format json`.
#[derive(Deserialize)]
struct ListingEntry {
    name: String,
    #[serde(rename = "type")]
    kind: String,
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
            let prefix = if text.ends_with('/') {
                text.to_string()
            } else {
                format!("{text}/")
            };
            Ok(Output::Http(prefix))
        } else {
            Ok(Output::Folder(PathBuf::from(text)))
        }
    }

    /// The URL to PUT the thumbnail `name` to, for chapters with an HTTP client of their
    /// own (async, event loop); `None` for a folder.
    pub fn url_for(&self, name: &str) -> Result<Option<String>, ImageError> {
        match self {
            Output::Folder(_) => Ok(None),
            Output::Http(prefix) => Ok(Some(format!(
                "{prefix}{}",
                utf8_percent_encode(name, SEGMENT)
            ))),
            Output::S3(place) => place.put_url(name).map(Some).map_err(ImageError::Io),
        }
    }

    /// Makes sure the output can be written before any work starts: creates the folder,
    /// or checks that the server answers at all.
    pub fn prepare(&self, client: &HttpClient) -> Result<(), SetupError> {
        let fail = |cause: String| SetupError::Output {
            output: self.to_string(),
            cause,
        };
        match self {
            Output::Folder(dir) => fs::create_dir_all(dir).map_err(|e| fail(e.to_string())),
            Output::Http(prefix) => match client.agent.head(prefix).call() {
                Ok(_) => Ok(()),
                Err(e) => Err(fail(client.error(e, "HEAD").to_string())),
            },
            Output::S3(place) => place.check(client),
        }
    }

    /// Writes one thumbnail called `name`: atomically into a folder, or by PUT.
    pub fn write(
        &self,
        client: &HttpClient,
        name: &str,
        bytes: &[u8],
        content_type: &str,
    ) -> Result<(), ImageError> {
        match self {
            Output::Folder(dir) => write_atomically(&dir.join(name), bytes).map_err(|e| {
                ImageError::Io(format!("cannot write {}: {e}", dir.join(name).display()))
            }),
            Output::Http(_) | Output::S3(_) => match self.url_for(name)? {
                Some(url) => client.put(&url, bytes, content_type),
                None => unreachable!("HTTP and S3 outputs have URLs"),
            },
        }
    }
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

/// Writes `bytes` to a hidden temporary file beside `path`, then renames it to `path`.
/// A rename within one folder is atomic: a reader sees the old file or the whole new one,
/// and a crash leaves at worst a hidden temporary file, never a half-written thumbnail.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = path.with_file_name(format!(
        ".{name}.{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = fs::File::create(&temp)
        .and_then(|mut file| file.write_all(bytes))
        .and_then(|()| fs::rename(&temp, path));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
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

    #[test]
    fn atomic_writes_leave_only_the_final_file() {
        let dir = std::env::temp_dir().join(format!("workbench-store-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        write_atomically(&dir.join("x_32.jpg"), b"abc").unwrap();
        write_atomically(&dir.join("x_32.jpg"), b"defg").unwrap();
        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["x_32.jpg"]);
        assert_eq!(fs::read(dir.join("x_32.jpg")).unwrap(), b"defg");
        assert!(write_atomically(&dir.join("missing-folder/x.jpg"), b"abc").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn files_over_the_limit_are_refused() {
        let dir = std::env::temp_dir().join(format!("workbench-limit-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.jpg");
        fs::write(&path, vec![0u8; 100]).unwrap();
        assert_eq!(
            read_limited(&path, 99),
            Err(ImageError::TooLarge { limit: 99 })
        );
        assert_eq!(read_limited(&path, 100).unwrap().len(), 100);
        fs::remove_dir_all(&dir).unwrap();
    }
}
