//! Which URL schemes a source or an output may name, so that a typo (`htp://`, `s4://`)
//! is refused before the run starts instead of being taken for a local folder called
//! `htp:`.

/// The schemes `--source` and `--out` read; anything else with a `://` is refused.
pub const SCHEMES: [&str; 3] = ["http", "https", "s3"];

/// Checks the scheme of a `--source` or `--out` value. A value with no scheme is a path
/// and passes; `http://`, `https://` and `s3://` pass; any other `NAME://`, and a known
/// scheme missing its `//` (`http:/host`), is refused with the schemes that work.
pub fn check(text: &str) -> Result<(), String> {
    let Some((scheme, rest)) = text.split_once(':') else {
        return Ok(());
    };
    if !looks_like_a_scheme(scheme) {
        return Ok(());
    }
    let known = SCHEMES.contains(&scheme);
    match (rest.starts_with("//"), known) {
        (true, true) => Ok(()),
        (true, false) => Err(unknown(scheme)),
        // `http:/host` or `s3:bucket`: a URL with its slashes mistyped, not a folder.
        (false, true) => Err(format!(
            "'{text}' is missing the // after {scheme}: (write {scheme}://...)"
        )),
        (false, false) => Ok(()),
    }
}

/// Why `scheme` is refused, naming the schemes that work.
fn unknown(scheme: &str) -> String {
    let lower = scheme.to_ascii_lowercase();
    let hint = if SCHEMES.contains(&lower.as_str()) {
        format!(" (schemes are written in lower case: {lower}://)")
    } else {
        String::new()
    };
    format!("unknown scheme '{scheme}://'{hint}: use http://, https://, s3://, or a local path")
}

/// An RFC 3986 scheme name: a letter, then letters, digits, `+`, `-` or `.`. One letter
/// alone is left to be a path (`C:/photos` on Windows).
fn looks_like_a_scheme(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && word.len() > 1
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_schemes_and_paths_pass() {
        for ok in [
            "http://127.0.0.1:8080/photos/",
            "https://example.org/a/",
            "s3://bucket/prefix/",
            "photos",
            "./out/ch00",
            "/tmp/a:b/c",
            "C:/photos",
            "my photos: june",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn other_schemes_are_refused_with_the_ones_that_work() {
        for bad in [
            "htp://host/",
            "ftp://host/x",
            "s4://bucket/",
            "file:///tmp/x",
        ] {
            let error = check(bad).unwrap_err();
            assert!(error.contains("unknown scheme"), "{error}");
            assert!(error.contains("http://, https://, s3://"), "{error}");
        }
        assert!(check("HTTP://host/").unwrap_err().contains("lower case"));
        assert!(check("http:/host/").unwrap_err().contains("missing the //"));
    }
}
