//! `GET` and `HEAD` of a folder: its visible entries as JSON, in the shape of nginx's
//! `autoindex_format json`, so that one client reads both this store and nginx.

use std::io;
use std::path::Path;
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Response, StatusCode};

use super::response::{Body, Refusal, head_response, with_length};
use super::state::Store;
use super::target::{Target, inside_root};
use crate::io::listing::ListingEntry;

/// `GET` or `HEAD` of a folder: its listing as JSON.
pub(super) async fn list_folder(
    store: &Store,
    target: &Target,
    with_body: bool,
) -> Result<Response<Body>, Refusal> {
    if target.is_hidden() {
        return Err(Refusal::not_found(&target.shown));
    }
    let folder = inside_root(store, target, &target.under(&store.root)).await?;
    // Reading a folder is a burst of small system calls: one trip to the blocking
    // pool for all of them, rather than one per entry.
    let cannot = format!("cannot list '{}'", target.shown);
    let listing = tokio::task::spawn_blocking(move || read_listing(&folder))
        .await
        .map_err(|err| Refusal::unfinished(&cannot, &err))?
        .map_err(|err| Refusal::from_io(&target.shown, &err))?;
    let json = serde_json::to_vec(&listing).map_err(|err| {
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot list '{}': {err}", target.shown),
        )
    })?;
    let length = json.len() as u64;
    if !with_body {
        return Ok(head_response("application/json", length));
    }
    let body = Full::new(Bytes::from(json)).boxed_unsync();
    Ok(with_length(Response::new(body), "application/json", length))
}

/// The visible files and folders in `folder`, sorted by name.
fn read_listing(folder: &Path) -> io::Result<Vec<ListingEntry>> {
    let mut listing = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue; // not UTF-8: no URL the parser accepts could name it
        };
        if name.starts_with('.') {
            continue; // the store's own, such as an upload's temporary file
        }
        // Follows symbolic links, as a GET would; a broken link is left out.
        let Ok(metadata) = std::fs::metadata(entry.path()) else {
            continue;
        };
        let (kind, size) = if metadata.is_dir() {
            ("directory", None)
        } else if metadata.is_file() {
            ("file", Some(metadata.len()))
        } else {
            continue;
        };
        let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        listing.push(ListingEntry {
            name,
            kind: kind.to_string(),
            mtime: httpdate::fmt_http_date(modified),
            size,
        });
    }
    listing.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(listing)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{Scratch, get, quick, raw, start};

    #[test]
    fn a_folder_is_listed_as_nginx_json_without_hidden_files() {
        let scratch = Scratch::new("listing");
        scratch.write("b.png", b"12345");
        scratch.write("a.jpg", b"123");
        scratch.write("sub/c.jpg", b"1");
        scratch.write(".upload.part", b"half");
        let store = start(quick(&scratch.0));

        let (status, content_type, body) = get(&store, "");
        assert_eq!((status, content_type.as_str()), (200, "application/json"));
        let listing: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        let entries = listing.as_array().expect("an array");
        let summary: Vec<(&str, &str, Option<u64>)> = entries
            .iter()
            .map(|entry| {
                (
                    entry["name"].as_str().unwrap_or_default(),
                    entry["type"].as_str().unwrap_or_default(),
                    entry["size"].as_u64(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("a.jpg", "file", Some(3)),
                ("b.png", "file", Some(5)),
                ("sub", "directory", None),
            ]
        );
        for entry in entries {
            let mtime = entry["mtime"].as_str().expect("an mtime");
            assert!(httpdate::parse_http_date(mtime).is_ok(), "{mtime}");
        }

        let (status, _, body) = get(&store, "sub/");
        assert_eq!(status, 200);
        let listing: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(listing[0]["name"], "c.jpg");
        // Named without its slash, a folder redirects to the listing, as in nginx.
        let redirect = raw(&store, "GET", "/sub");
        assert_eq!(
            (redirect.status, redirect.header("location")),
            (301, Some("/sub/"))
        );
    }
}
