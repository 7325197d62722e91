//! The request path, turned into names below the root: percent-decoded, split, and
//! refused when it could lead outside the root, by `..` or by a symbolic link.

use std::path::{Path, PathBuf};

use hyper::StatusCode;
use percent_encoding::percent_decode_str;

use super::response::Refusal;
use super::state::Store;

/// A request path, decoded and checked: the names below the root, in order.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Target {
    /// The path's components; empty for the root.
    pub(super) parts: Vec<String>,
    /// The path ends with `/`: a folder, answered with a listing.
    pub(super) folder: bool,
    /// The decoded path, as the client meant it, for messages.
    pub(super) shown: String,
    /// The path as sent, still percent-encoded, for a redirect.
    pub(super) sent: String,
}

impl Target {
    /// Percent-decodes `raw`, splits it on `/` and refuses every component that could
    /// leave the root or mean something other than a plain name.
    ///
    /// Decoding comes first, so that `%2e%2e` and `..%2f` are seen for what they are.
    pub(super) fn parse(raw: &str) -> Result<Target, Refusal> {
        let decoded = percent_decode_str(raw).decode_utf8().map_err(|_| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("refused: path '{raw}' is not UTF-8 once percent-decoded"),
            )
        })?;
        let quoted = if decoded == raw {
            format!("'{decoded}'")
        } else {
            format!("'{decoded}' (sent as '{raw}')")
        };
        let refuse = |why: &str| {
            Refusal::new(
                StatusCode::FORBIDDEN,
                format!("refused: path {quoted} {why}"),
            )
        };

        let Some(rest) = decoded.strip_prefix('/') else {
            return Err(refuse("does not start with '/'"));
        };
        if rest.is_empty() {
            return Ok(Target {
                parts: Vec::new(),
                folder: true,
                shown: decoded.into_owned(),
                sent: raw.to_owned(),
            });
        }
        let (names, folder) = match rest.strip_suffix('/') {
            Some(names) => (names, true),
            None => (rest, false),
        };
        let mut parts = Vec::new();
        for part in names.split('/') {
            let why = match part {
                "" => Some("has an empty component"),
                ".." => Some("leaves the store's root"),
                "." => Some("has a '.' component"),
                _ if part.contains('\\') => Some("contains a backslash"),
                _ if part.contains('\0') => Some("contains a NUL byte"),
                _ => None,
            };
            if let Some(why) = why {
                return Err(refuse(why));
            }
            parts.push(part.to_owned());
        }
        Ok(Target {
            parts,
            folder,
            shown: decoded.into_owned(),
            sent: raw.to_owned(),
        })
    }

    /// Names starting with '.' are the store's own (an upload's temporary file, while it
    /// is written): never served.
    pub(super) fn is_hidden(&self) -> bool {
        self.parts.iter().any(|part| part.starts_with('.'))
    }

    /// The path below the root, `a/b.jpg`: what `fail_rate` hashes.
    pub(super) fn key(&self) -> String {
        self.parts.join("/")
    }

    /// Where the target would be on disk; not yet checked for symbolic links.
    pub(super) fn under(&self, root: &Path) -> PathBuf {
        let mut path = root.to_path_buf();
        path.extend(&self.parts);
        path
    }
}

/// Resolves symbolic links in `path` and refuses a result outside the root: the
/// checks in [`Target::parse`] stop `..`, this stops a link that points elsewhere.
pub(super) async fn inside_root(
    store: &Store,
    target: &Target,
    path: &Path,
) -> Result<PathBuf, Refusal> {
    let real = tokio::fs::canonicalize(path)
        .await
        .map_err(|err| Refusal::from_io(&target.shown, &err))?;
    if real.starts_with(&store.root) {
        Ok(real)
    } else {
        Err(Refusal::new(
            StatusCode::FORBIDDEN,
            format!(
                "refused: path '{}' leaves the store's root through a symbolic link",
                target.shown
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{Scratch, quick, raw, start};
    use super::Target;

    #[test]
    fn paths_are_decoded_then_checked() {
        let parse = |raw| Target::parse(raw).map(|target| (target.parts, target.folder));
        assert_eq!(parse("/").ok(), Some((vec![], true)));
        assert_eq!(
            parse("/a/b%20c.jpg").ok(),
            Some((vec!["a".to_owned(), "b c.jpg".to_owned()], false))
        );
        assert_eq!(parse("/a/").ok(), Some((vec!["a".to_owned()], true)));
        for refused in [
            "//",
            "/a//b",
            "/..",
            "/%2E%2E/x",
            "/a/.",
            "/a%5Cb",
            "/a%00",
            "/a/..%2f",
        ] {
            assert!(parse(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn paths_that_leave_the_root_are_refused_with_the_reason() {
        let scratch = Scratch::new("traversal");
        scratch.write("root/a/b.jpg", b"inside");
        scratch.write("x", b"outside the root");
        let store = start(quick(&scratch.0.join("root")));

        for path in ["/../x", "/%2e%2e/x", "/a/..%2f..%2fx", "/a/../../x"] {
            let response = raw(&store, "GET", path);
            let body = String::from_utf8_lossy(&response.body);
            assert_eq!(response.status, 403, "{path}: {body}");
            assert!(body.starts_with("refused: path '"), "{path}: {body}");
            assert!(body.contains("leaves the store's root"), "{path}: {body}");
        }
        for (path, reason) in [
            ("/a//b.jpg", "empty component"),
            ("/a/./b.jpg", "'.' component"),
            ("/a%5cb.jpg", "backslash"),
            ("/a%00.jpg", "NUL"),
        ] {
            let response = raw(&store, "GET", path);
            let body = String::from_utf8_lossy(&response.body);
            assert_eq!(response.status, 403, "{path}: {body}");
            assert!(body.contains(reason), "{path}: {body}");
        }
        assert_eq!(raw(&store, "PUT", "/../y").status, 403);
        assert!(!scratch.0.join("y").exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_out_of_the_root_is_not_followed() {
        let scratch = Scratch::new("symlink");
        scratch.write("root/a.jpg", b"inside");
        scratch.write("outside/secret.jpg", b"outside");
        std::os::unix::fs::symlink(scratch.0.join("outside"), scratch.0.join("root/link"))
            .expect("make link");
        let store = start(quick(&scratch.0.join("root")));

        let response = raw(&store, "GET", "/link/secret.jpg");
        assert_eq!(response.status, 403);
        assert!(String::from_utf8_lossy(&response.body).contains("symbolic link"));
        assert_eq!(raw(&store, "PUT", "/link/new.jpg").status, 403);
        assert!(!scratch.0.join("outside/new.jpg").exists());
    }
}
