//! `PUT` of an object: the body received whole, in memory, then written in one
//! atomic step, with the folders above the object made on the way.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use http_body_util::{BodyExt as _, Empty};
use hyper::body::Incoming;
use hyper::{Response, StatusCode};

use super::response::{Body, Refusal};
use super::state::Store;
use super::target::{Target, inside_root};
use crate::platform::write_atomically;

/// The largest body a `PUT` accepts: 256 MiB, far above any image, low enough that a
/// runaway client cannot fill the disk, nor the memory that holds an upload until
/// it is complete.
const MAX_UPLOAD_BYTES: u64 = 256 * 1024 * 1024;

/// How long an upload may pause between two pieces of its body before it is refused:
/// longer than the header timeout (`accept::HEADER_READ_TIMEOUT`), since a large body
/// on a busy machine may pause for a while and still arrive.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

// ANCHOR: put
/// `PUT` of an object: received whole, then written with [`write_atomically`], which
/// writes a hidden file beside the object and renames it over the object.
///
/// A rename within one folder is atomic, so a reader sees the old object or the
/// new one, whole, never a half-written file. And nothing is written until the last
/// byte has arrived, so an upload that breaks off leaves no file behind.
pub(super) async fn put_object(
    store: &Store,
    target: &Target,
    body: Incoming,
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
    // A body announced too large is refused before a byte of it is read.
    if hyper::body::Body::size_hint(&body).lower() > MAX_UPLOAD_BYTES {
        return Err(too_large(target));
    }

    let folder = make_folders(store, target).await?;
    let destination = folder.join(name);
    let data = receive(body, target).await?;

    let replaced = tokio::fs::symlink_metadata(&destination).await.is_ok();
    // Writing a file blocks the thread that does it. On tokio's blocking pool it
    // blocks a thread of its own, and the store's one thread goes on serving.
    let cannot = format!("cannot store '{}'", target.shown);
    tokio::task::spawn_blocking(move || write_atomically(&destination, &data))
        .await
        .map_err(|err| Refusal::unfinished(&cannot, &err))?
        .map_err(|err| write_refusal(target, &err))?;
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

/// Reads the whole body into memory, up to [`MAX_UPLOAD_BYTES`].
///
/// The limit is checked again as the bytes arrive: a body sent in chunks announces
/// no length, and an announced length is only a promise.
async fn receive(mut body: Incoming, target: &Target) -> Result<Vec<u8>, Refusal> {
    let mut received = Vec::new();
    while let Some(frame) = next_frame(&mut body, target).await? {
        // The client closed the connection, or sent less than it announced.
        let frame = frame.map_err(|err| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("upload of '{}' broke off: {err}", target.shown),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            if (received.len() + data.len()) as u64 > MAX_UPLOAD_BYTES {
                return Err(too_large(target));
            }
            received.extend_from_slice(&data);
        }
    }
    Ok(received)
}

/// The body's next frame, or a refusal when none arrives within [`BODY_READ_TIMEOUT`].
async fn next_frame(
    body: &mut Incoming,
    target: &Target,
) -> Result<Option<Result<hyper::body::Frame<bytes::Bytes>, hyper::Error>>, Refusal> {
    tokio::time::timeout(BODY_READ_TIMEOUT, body.frame())
        .await
        .map_err(|_elapsed| {
            Refusal::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "upload of '{}' stalled: nothing received for {} s",
                    target.shown,
                    BODY_READ_TIMEOUT.as_secs()
                ),
            )
        })
}

/// The refusal of a body larger than [`MAX_UPLOAD_BYTES`].
fn too_large(target: &Target) -> Refusal {
    Refusal::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "refused: '{}' is larger than the store's limit of {MAX_UPLOAD_BYTES} bytes",
            target.shown
        ),
    )
}

/// A failed write, as a status a client can act on.
///
/// A folder where the object should go is the client's to move: the rename cannot
/// replace it, and that is a conflict (409). Anything else is the store's own
/// trouble (500).
fn write_refusal(target: &Target, err: &io::Error) -> Refusal {
    if err.kind() == io::ErrorKind::IsADirectory {
        Refusal::new(
            StatusCode::CONFLICT,
            format!("refused: cannot put '{}' in place: {err}", target.shown),
        )
    } else {
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot store '{}': {err}", target.shown),
        )
    }
}

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

#[cfg(test)]
mod tests {
    use std::io::{BufRead as _, BufReader, Write as _};
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

    /// Checks `condition` every 10 ms for `duration`; false as soon as it fails.
    fn throughout(duration: Duration, condition: impl Fn() -> bool) -> bool {
        let deadline = std::time::Instant::now() + duration;
        while std::time::Instant::now() < deadline {
            if !condition() {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
        condition()
    }

    #[test]
    fn an_upload_in_progress_is_invisible_and_a_broken_one_leaves_nothing() {
        let scratch = Scratch::new("broken-put");
        let store = start(quick(&scratch.0));

        // Announce 1000 bytes and wait for `100 Continue`, which the store sends once
        // the PUT has begun to read the body; then send 10 of them.
        let stream = TcpStream::connect(store.addr()).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set timeout");
        write!(
            &stream,
            "PUT /y.jpg HTTP/1.1\r\nHost: store\r\nContent-Length: 1000\r\n\
             Expect: 100-continue\r\n\r\n"
        )
        .expect("send");
        let mut reader = BufReader::new(&stream);
        let mut interim = String::new();
        reader.read_line(&mut interim).expect("read");
        reader.read_line(&mut interim).expect("read");
        assert_eq!(interim, "HTTP/1.1 100 Continue\r\n\r\n");
        (&stream).write_all(b"0123456789").expect("send");

        // The upload is under way: neither the object nor a temp file may appear,
        // as one would if the bytes received so far were written out.
        assert!(
            throughout(Duration::from_millis(300), || {
                scratch.hidden_in("").is_empty() && !scratch.0.join("y.jpg").exists()
            }),
            "a partial upload reached the disk"
        );
        assert!(
            !scratch.0.join("y.jpg").exists(),
            "a partial upload is visible"
        );

        // Hang up: no temp file is left, and the object never appears.
        drop(reader);
        drop(stream);
        assert!(
            eventually(|| scratch.hidden_in("").is_empty()),
            "the temp file stayed"
        );
        assert!(!scratch.0.join("y.jpg").exists());
    }
}
