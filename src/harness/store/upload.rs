//! `PUT` of an object: streamed to a hidden file beside it, then renamed over it, with
//! the folders above the object made on the way.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use http_body_util::{BodyExt as _, Empty};
use hyper::body::Incoming;
use hyper::{Response, StatusCode};
use tokio::io::AsyncWriteExt as _;

use super::accept::Store;
use super::answer::{Body, Refusal};
use super::target::{Target, inside_root};

/// The largest body a `PUT` accepts: 256 MiB, far above any image, low enough that a
/// runaway client cannot fill the disk.
const MAX_UPLOAD_BYTES: u64 = 256 * 1024 * 1024;

// ANCHOR: put
/// `PUT` of an object: written to a hidden file beside it, then renamed over it.
///
/// A rename within one folder is atomic, so a reader sees the old object or the
/// new one, whole, never a half-written file; and an upload that breaks off leaves
/// nothing behind (see [`Upload`]).
pub(super) async fn put_object(
    store: &Store,
    target: &Target,
    mut body: Incoming,
) -> Result<Response<Body>, Refusal> {
    let Some((name, _)) = target.parts.split_last().filter(|_| !target.folder) else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!(
                "refused: PUT needs an object name, and '{}' is a folder",
                target.shown
            ),
        ));
    };
    if target.is_hidden() {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            format!(
                "refused: path '{}': names starting with '.' are kept for uploads in progress",
                target.shown
            ),
        ));
    }
    let too_large = || {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "refused: '{}' is larger than the store's limit of {MAX_UPLOAD_BYTES} bytes",
                target.shown
            ),
        )
    };
    if hyper::body::Body::size_hint(&body).lower() > MAX_UPLOAD_BYTES {
        return Err(too_large());
    }

    let folder = make_folders(store, target).await?;
    let destination = folder.join(name);

    let write_error = |err: io::Error| {
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot store '{}': {err}", target.shown),
        )
    };
    let mut upload = Upload::begin(&folder, name).await.map_err(write_error)?;
    let mut received = 0_u64;
    while let Some(frame) = body.frame().await {
        // The client closed the connection, or sent less than it announced.
        let frame = frame.map_err(|err| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("upload of '{}' broke off: {err}", target.shown),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            received += data.len() as u64;
            if received > MAX_UPLOAD_BYTES {
                return Err(too_large());
            }
            upload.write(&data).await.map_err(write_error)?;
        }
    }
    let replaced = tokio::fs::symlink_metadata(&destination).await.is_ok();
    upload.finish(&destination).await.map_err(|err| {
        Refusal::new(
            StatusCode::CONFLICT,
            format!("refused: cannot put '{}' in place: {err}", target.shown),
        )
    })?;
    let status = if replaced {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::CREATED
    };
    let mut response = Response::new(Empty::new().boxed_unsync());
    *response.status_mut() = status;
    Ok(response)
}
// ANCHOR_END: put

/// Creates the folders above an uploaded object, one at a time from the root.
///
/// Each is checked to be inside the root before the next is made in it, so that a
/// symbolic link cannot lead an upload, or the folders it creates, outside.
async fn make_folders(store: &Store, target: &Target) -> Result<PathBuf, Refusal> {
    let conflict = |why: String| {
        Refusal::new(
            StatusCode::CONFLICT,
            format!(
                "refused: cannot make the folder for '{}': {why}",
                target.shown
            ),
        )
    };
    let mut folder = store.root.clone();
    let above = target.parts.len().saturating_sub(1);
    for part in &target.parts[..above] {
        let next = folder.join(part);
        match tokio::fs::create_dir(&next).await {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(conflict(err.to_string())),
        }
        folder = inside_root(store, target, &next).await?;
        if !tokio::fs::metadata(&folder).await.is_ok_and(|m| m.is_dir()) {
            return Err(conflict(format!("'{part}' is a file, not a folder")));
        }
    }
    Ok(folder)
}

/// Tells uploads in progress apart, together with the process id.
static UPLOAD_COUNTER: AtomicU64 = AtomicU64::new(0);

/// An upload in progress: a hidden file beside its destination.
///
/// Dropping an `Upload` that was not [`finish`](Upload::finish)ed deletes the file.
/// That covers every way an upload can end early: an error returned with `?`, and
/// the task being dropped halfway because the client hung up or the store shut down.
struct Upload {
    file: tokio::fs::File,
    /// `.NAME.PID.COUNTER.part`, in the destination's folder, so the rename stays
    /// within one file system and is atomic.
    path: PathBuf,
    finished: bool,
}

impl Upload {
    async fn begin(folder: &Path, name: &str) -> io::Result<Upload> {
        let number = UPLOAD_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = folder.join(format!(".{name}.{}.{number}.part", std::process::id()));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        Ok(Upload {
            file,
            path,
            finished: false,
        })
    }

    async fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all(data).await
    }

    async fn finish(mut self, destination: &Path) -> io::Result<()> {
        // A tokio file writes on the blocking pool, and `write_all` may return
        // before the last write is done: flush, or the rename could publish a
        // file that is still short.
        self.file.flush().await?;
        tokio::fs::rename(&self.path, destination).await?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.finished {
            // Synchronous, because `drop` cannot wait; deleting one file is quick.
            // Failing to delete it is not worth more than the attempt.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::net::TcpStream;
    use std::thread;
    use std::time::Duration;

    use super::super::test_support::{Scratch, agent, get, quick, start};

    #[test]
    fn put_writes_atomically_and_creates_folders() {
        let scratch = Scratch::new("put");
        let store = start(quick(&scratch.0));
        let url = format!("{}new/deep/x.jpg", store.url());

        let response = agent().put(&url).send(&b"first"[..]).expect("PUT");
        assert_eq!(response.status(), 201);
        assert_eq!(
            std::fs::read(scratch.0.join("new/deep/x.jpg")).expect("read"),
            b"first"
        );

        let response = agent().put(&url).send(&[9_u8; 100_000][..]).expect("PUT");
        assert_eq!(response.status(), 204);
        assert_eq!(
            std::fs::read(scratch.0.join("new/deep/x.jpg")).expect("read"),
            vec![9; 100_000]
        );
        assert_eq!(scratch.hidden_in("new/deep"), Vec::<String>::new());
        assert_eq!(get(&store, "new/deep/x.jpg").2, vec![9; 100_000]);

        // Nothing can be put where a folder is, nor under a hidden name.
        assert_eq!(
            agent()
                .put(format!("{}new", store.url()))
                .send(&b"x"[..])
                .expect("PUT")
                .status(),
            409
        );
        assert_eq!(
            agent()
                .put(format!("{}.x.jpg", store.url()))
                .send(&b"x"[..])
                .expect("PUT")
                .status(),
            403
        );
    }

    /// Polls `condition` for up to 10 s; the deadline only bounds a failing test.
    fn eventually(condition: impl Fn() -> bool) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if condition() {
                return true;
            }
            thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn an_upload_in_progress_is_invisible_and_a_broken_one_leaves_nothing() {
        let scratch = Scratch::new("broken-put");
        let store = start(quick(&scratch.0));

        // Announce 1000 bytes, send 10, and wait until they are on disk.
        let mut stream = TcpStream::connect(store.addr()).expect("connect");
        write!(
            stream,
            "PUT /y.jpg HTTP/1.1\r\nHost: store\r\nContent-Length: 1000\r\n\r\n0123456789"
        )
        .expect("send");
        assert!(
            eventually(|| scratch.hidden_in("").len() == 1),
            "no temp file appeared"
        );
        assert!(
            !scratch.0.join("y.jpg").exists(),
            "a partial upload is visible"
        );

        // Hang up: the temp file goes, and the object never appears.
        drop(stream);
        assert!(
            eventually(|| scratch.hidden_in("").is_empty()),
            "the temp file stayed"
        );
        assert!(!scratch.0.join("y.jpg").exists());
    }
}
