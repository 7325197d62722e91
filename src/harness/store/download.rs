//! `GET` and `HEAD` of an object: its bytes, streamed from the file, or only its
//! headers, after the seeded failure check, and paced to the bandwidth when one is set.

use std::path::Path;

use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use super::pacing::{injected_failure, paced, streamed};
use super::response::{Body, Refusal, head_response, text, with_length};
use super::state::Store;
use super::target::{Target, inside_root};

/// `GET` or `HEAD` of an object.
pub(super) async fn get_object(
    store: &Store,
    target: &Target,
    with_body: bool,
) -> Result<Response<Body>, Refusal> {
    if target.is_hidden() {
        return Err(Refusal::not_found(&target.shown));
    }
    // Failures are decided before the disk is touched: a real store's front end
    // fails without looking for the object.
    if injected_failure(store.seed, &target.key(), store.fail_rate) {
        return Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "injected failure for '{}' (fail_rate {}, seed {})",
                target.shown, store.fail_rate, store.seed
            ),
        ));
    }
    let path = inside_root(store, target, &target.under(&store.root)).await?;
    let refused = |err: std::io::Error| Refusal::from_io(&target.shown, &err);
    let metadata = tokio::fs::metadata(&path).await.map_err(refused)?;
    if metadata.is_dir() {
        // As nginx does: a folder named without its slash is found at the slashed path.
        let mut response = text(StatusCode::MOVED_PERMANENTLY, String::new());
        if let Ok(location) = HeaderValue::from_str(&format!("{}/", target.sent)) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        return Ok(response);
    }

    let content_type = content_type(&path);
    if !with_body {
        return Ok(head_response(content_type, metadata.len()));
    }
    // Streamed from the open file, a slice at a time, so that a reader who stalls costs
    // the store one slice of memory, not the object. The open file is the object as it
    // was when opened: a replacement (see `upload::put_object`) renames a new file over
    // the name and leaves this one whole, so a reader never gets half of each.
    let file = tokio::fs::File::open(&path).await.map_err(refused)?;
    let length = file.metadata().await.map_err(refused)?.len();
    let body = match store.bandwidth {
        Some(bytes_per_second) => paced(file, bytes_per_second),
        None => streamed(file),
    };
    Ok(with_length(Response::new(body), content_type, length))
}

/// The Content-Type for an object, from its extension.
fn content_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Write as _};
    use std::net::TcpStream;
    use std::time::Duration;

    use super::super::test_support::{Scratch, get, quick, raw, read_response, start};

    #[test]
    fn get_returns_the_bytes_and_the_content_type() {
        let scratch = Scratch::new("get");
        scratch.write("a.jpg", b"jpeg bytes");
        scratch.write("sub/b.PNG", b"png bytes");
        scratch.write("c.bin", b"other bytes");
        let store = start(quick(&scratch.0));

        assert_eq!(
            get(&store, "a.jpg"),
            (200, "image/jpeg".to_owned(), b"jpeg bytes".to_vec())
        );
        assert_eq!(
            get(&store, "sub/b.PNG"),
            (200, "image/png".to_owned(), b"png bytes".to_vec())
        );
        assert_eq!(
            get(&store, "c.bin"),
            (
                200,
                "application/octet-stream".to_owned(),
                b"other bytes".to_vec()
            )
        );
        assert_eq!(
            raw(&store, "GET", "/a.jpg").header("server"),
            Some("workbench-store")
        );
    }

    #[test]
    fn head_has_the_length_and_no_body_and_the_connection_stays_open() {
        let scratch = Scratch::new("head");
        scratch.write("a.jpg", &[7; 1234]);
        let store = start(quick(&scratch.0));

        // HEAD then GET on one connection: if HEAD had sent a body, the GET's
        // response would be read from the middle of it.
        let stream = TcpStream::connect(store.addr()).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set timeout");
        let mut reader = BufReader::new(stream.try_clone().expect("clone socket"));
        let mut writer = stream;
        write!(writer, "HEAD /a.jpg HTTP/1.1\r\nHost: store\r\n\r\n").expect("send HEAD");
        let head = read_response(&mut reader, true).expect("read HEAD");
        write!(writer, "HEAD /missing.jpg HTTP/1.1\r\nHost: store\r\n\r\n").expect("send HEAD");
        let missing = read_response(&mut reader, true).expect("read HEAD");
        write!(writer, "GET /a.jpg HTTP/1.1\r\nHost: store\r\n\r\n").expect("send GET");
        let get = read_response(&mut reader, false).expect("read GET");

        assert_eq!(head.status, 200);
        assert_eq!(head.header("content-length"), Some("1234"));
        assert_eq!(head.header("content-type"), Some("image/jpeg"));
        assert_eq!(missing.status, 404);
        assert_eq!(get.status, 200);
        assert_eq!(get.body, vec![7; 1234]);
    }

    #[test]
    fn missing_and_hidden_objects_are_404() {
        let scratch = Scratch::new("missing");
        scratch.write(".hidden.jpg", b"secret");
        scratch.write("a.jpg", b"jpeg");
        let store = start(quick(&scratch.0));

        assert_eq!(get(&store, "nothing.jpg").0, 404);
        assert_eq!(get(&store, "no/such/folder/").0, 404);
        assert_eq!(get(&store, "a.jpg/b.jpg").0, 404);
        assert_eq!(get(&store, ".hidden.jpg").0, 404);
    }
}
