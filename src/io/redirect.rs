//! Redirects: one policy that all three clients follow, so that the same URL gives the
//! same answer in every chapter.
//!
//! - Up to [`MAX_REDIRECTS`] hops; more is a loop or a misconfigured server.
//! - Only to `http` and `https`: a server must not make a client read `file:///etc/...`.
//! - A GET follows 301, 302, 303, 307 and 308. A PUT follows only 307 and 308, the two
//!   that keep the method and the body; the others would turn it into a GET and lose
//!   the thumbnail.
//!
//! Each client asks [`next_hop`] after every answer, and carries the request on to
//! the URL it gets back.

use crate::contract::ImageError;

/// The most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;

/// Where an answer sends the request next: `Ok(None)` when it is not a redirect (the
/// caller reads it as usual), `Ok(Some(url))` to follow, or the error that says why a
/// redirect is refused.
///
/// `hops` is how many redirects this request has already followed.
pub fn next_hop(
    method: &str,
    url: &str,
    status: u16,
    location: Option<&str>,
    hops: usize,
) -> Result<Option<String>, ImageError> {
    if !matches!(status, 301 | 302 | 303 | 307 | 308) {
        return Ok(None);
    }
    let refused = |why: String| ImageError::Io(format!("{method} {url}: redirect refused: {why}"));
    if method != "GET" && !matches!(status, 307 | 308) {
        return Err(refused(format!(
            "HTTP {status} would turn the {method} into a GET and drop its body"
        )));
    }
    let location = location.ok_or_else(|| refused(format!("HTTP {status} with no Location")))?;
    let base = url::Url::parse(url).map_err(|e| refused(e.to_string()))?;
    let target = base
        .join(location)
        .map_err(|e| refused(format!("bad Location '{location}': {e}")))?;
    if !matches!(target.scheme(), "http" | "https") {
        return Err(refused(format!(
            "to {target}: only http and https are followed"
        )));
    }
    if hops >= MAX_REDIRECTS {
        return Err(refused(format!(
            "too many redirects (more than {MAX_REDIRECTS}), the last to {target}"
        )));
    }
    Ok(Some(target.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FROM: &str = "http://store.test/a/b.jpg";

    #[test]
    fn a_relative_location_is_resolved_against_the_url() {
        let next = next_hop("GET", FROM, 302, Some("../c.jpg"), 0).expect("followed");
        assert_eq!(next.as_deref(), Some("http://store.test/c.jpg"));
        let https = next_hop("GET", FROM, 301, Some("https://other.test/d.jpg"), 0);
        assert_eq!(
            https.expect("followed").as_deref(),
            Some("https://other.test/d.jpg")
        );
    }

    #[test]
    fn an_answer_that_is_not_a_redirect_is_left_to_the_caller() {
        assert!(matches!(next_hop("GET", FROM, 200, None, 0), Ok(None)));
        assert!(matches!(next_hop("GET", FROM, 304, None, 0), Ok(None)));
    }

    #[test]
    fn a_refused_redirect_says_why() {
        let why = |result: Result<Option<String>, ImageError>| match result {
            Err(error) => error.to_string(),
            Ok(next) => panic!("followed to {next:?}"),
        };
        let file = why(next_hop("GET", FROM, 302, Some("file:///etc/passwd"), 0));
        assert!(file.contains("only http and https"), "{file}");
        let many = why(next_hop("GET", FROM, 302, Some("/x"), MAX_REDIRECTS));
        assert!(many.contains("too many redirects"), "{many}");
        let put = why(next_hop("PUT", FROM, 302, Some("/x"), 0));
        assert!(put.contains("drop its body"), "{put}");
        let nowhere = why(next_hop("GET", FROM, 307, None, 0));
        assert!(nowhere.contains("no Location"), "{nowhere}");
        assert!(matches!(
            next_hop("PUT", FROM, 308, Some("/x"), 0),
            Ok(Some(_))
        ));
    }
}
