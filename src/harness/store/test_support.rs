//! What the store's tests share: a scratch folder, a store started without latency,
//! and two clients, ureq for ordinary requests and a raw socket for the requests a
//! well-behaved client would never send.

use std::io::{self, BufRead, BufReader, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::config::StoreConfig;
// The other files' tests take the handle from here, so that none of them imports
// `mod.rs`, which imports them.
pub(super) use super::RunningStore;

/// A folder under the system's temp dir, removed when the test ends.
pub(super) struct Scratch(pub(super) PathBuf);

impl Scratch {
    pub(super) fn new(test: &str) -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("workbench-store-{test}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create scratch folder");
        Scratch(path)
    }

    pub(super) fn write(&self, relative: &str, bytes: &[u8]) {
        let path = self.0.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create folder");
        }
        std::fs::write(path, bytes).expect("write file");
    }

    /// The hidden files in `folder` (relative to the scratch root): the temporary
    /// files of uploads being written.
    pub(super) fn hidden_in(&self, folder: &str) -> Vec<String> {
        std::fs::read_dir(self.0.join(folder))
            .expect("read folder")
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.starts_with('.'))
            .collect()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A store without latency, so that the tests that are not about it run fast.
pub(super) fn quick(root: &Path) -> StoreConfig {
    StoreConfig {
        latency: Duration::ZERO,
        ..StoreConfig::new(root)
    }
}

pub(super) fn start(config: StoreConfig) -> RunningStore {
    RunningStore::start(config).expect("start the store")
}

/// A ureq agent that hands back 4xx and 5xx responses instead of errors.
pub(super) fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(10)))
            .build(),
    )
}

pub(super) fn get(store: &RunningStore, path: &str) -> (u16, String, Vec<u8>) {
    let mut response = agent()
        .get(format!("{}{path}", store.url()))
        .call()
        .expect("GET");
    let content_type = header_of(response.headers(), "content-type");
    let body = response.body_mut().read_to_vec().expect("read body");
    (response.status().as_u16(), content_type, body)
}

fn header_of(headers: &ureq::http::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A response read off a raw socket: just enough HTTP for the tests that send
/// what a well-behaved client would not (`..` unnormalised, short uploads).
#[derive(Debug)]
pub(super) struct RawResponse {
    pub(super) status: u16,
    headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

impl RawResponse {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Reads one response; `head` says it answers a HEAD, which has no body.
pub(super) fn read_response(reader: &mut impl BufRead, head: bool) -> io::Result<RawResponse> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let Some((key, value)) = line.trim_end().split_once(':') else {
            break;
        };
        headers.push((key.to_owned(), value.trim().to_owned()));
    }
    let mut response = RawResponse {
        status,
        headers,
        body: Vec::new(),
    };
    let length: usize = response
        .header("content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    if !head {
        response.body.resize(length, 0);
        reader.read_exact(&mut response.body)?;
    }
    Ok(response)
}

/// Sends `method path` on a fresh connection, with `Connection: close`.
pub(super) fn raw(store: &RunningStore, method: &str, path: &str) -> RawResponse {
    let mut stream = TcpStream::connect(store.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: store\r\nConnection: close\r\n\r\n"
    )
    .expect("send request");
    read_response(&mut BufReader::new(stream), method == "HEAD").expect("read response")
}

pub(super) fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
