//! Folder listings an HTTP source can read, whoever serves them:
//!
//! - JSON in the shape of nginx's `autoindex_format json` (the embedded store writes
//!   this shape too): `[{"name": "a.jpg", "type": "file"}, ...]`;
//! - a JSON array of names: `["a.jpg", "b.png"]` (a name ending in `/` is a folder);
//! - an HTML index, as `python3 -m http.server`, nginx and Apache write by default: the
//!   page's `<a href>` links to the files just below the listed prefix. The page is read
//!   by an HTML tokenizer (html5ever), never by a regular expression: attributes may be
//!   quoted either way or not at all, `<A HREF=...>` is the same tag, and entities in a
//!   link (`&amp;`) must be decoded.
//!
//! Anything else is refused with what was found and what would work.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingEntry {
    /// The file or folder name.
    pub name: String,
    /// `"file"` or `"directory"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// An HTTP date, like nginx's: `Sat, 21 Nov 2026 10:00:00 GMT`.
    #[serde(default)]
    pub mtime: String,
    /// Files only: nginx gives no size for a folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// A name a listing gives, whatever its format: a file or a folder just below the prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedName {
    /// The name, percent-decoded (`big dog.jpg`).
    pub name: String,
    /// Whether it is a folder (subfolders are not read).
    pub folder: bool,
    /// The file's size in bytes, when the listing gives it.
    pub size: Option<u64>,
}

/// The names in the listing `body` of the prefix `prefix` (a URL ending in `/`), in the
/// listing's order, or what the body is and which listings would work.
pub fn read_listing(prefix: &str, body: &[u8]) -> Result<Vec<ListedName>, String> {
    if let Ok(entries) = serde_json::from_slice::<Vec<ListingEntry>>(body) {
        return Ok(entries.into_iter().map(from_nginx).collect());
    }
    if let Ok(names) = serde_json::from_slice::<Vec<String>>(body) {
        return Ok(names.iter().map(|name| from_name(name)).collect());
    }
    let text = String::from_utf8_lossy(body);
    if text.trim_start().starts_with('<') {
        let names = html_listing(prefix, &text);
        if !names.is_empty() {
            return Ok(names);
        }
        return Err(refusal(
            "an HTML page with no link to a file below the prefix",
        ));
    }
    Err(refusal(&describe(body)))
}

fn from_nginx(entry: ListingEntry) -> ListedName {
    ListedName {
        folder: entry.kind != "file",
        name: entry.name,
        size: entry.size,
    }
}

fn from_name(name: &str) -> ListedName {
    match name.strip_suffix('/') {
        Some(folder) => ListedName {
            name: folder.to_string(),
            folder: true,
            size: None,
        },
        None => ListedName {
            name: name.to_string(),
            folder: false,
            size: None,
        },
    }
}

/// The error for a listing of none of the formats read.
fn refusal(found: &str) -> String {
    format!(
        "the listing is {found}; an HTTP source must list its files as nginx's JSON \
         (autoindex_format json), a JSON array of names, or an HTML index of <a href> \
         links (as python3 -m http.server, nginx and Apache write); or give a file of \
         URLs, one per line, as --source"
    )
}

/// A short description of a body that is no listing.
fn describe(body: &[u8]) -> String {
    if body.iter().all(u8::is_ascii_whitespace) {
        return "empty".into();
    }
    if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
        return "JSON, but neither nginx's listing nor an array of names".into();
    }
    match std::str::from_utf8(body) {
        Ok(text) => {
            let start: String = text.trim_start().chars().take(40).collect();
            format!("text that starts with {start:?}")
        }
        Err(_) => format!("{} bytes of binary data", body.len()),
    }
}

// ANCHOR: html
/// The files and folders an HTML index links to, just below `prefix`. Links elsewhere
/// (the parent folder, a sort order such as Apache's `?C=M;O=A`, another site, the
/// prefix itself) are not entries of the listing, and are passed over.
fn html_listing(prefix: &str, html: &str) -> Vec<ListedName> {
    let Ok(base) = url::Url::parse(prefix) else {
        return Vec::new();
    };
    let mut names: Vec<ListedName> = Vec::new();
    for href in links(html) {
        let Some(listed) = below(&base, &href) else {
            continue;
        };
        if !names.contains(&listed) {
            names.push(listed);
        }
    }
    names
}

/// The entry `href` names, if it is a file or folder just below `base`.
fn below(base: &url::Url, href: &str) -> Option<ListedName> {
    let target = base.join(href).ok()?;
    if target.origin() != base.origin() || target.query().is_some() {
        return None;
    }
    let rest = target.path().strip_prefix(base.path())?;
    let (name, folder) = match rest.strip_suffix('/') {
        Some(name) => (name, true),
        None => (rest, false),
    };
    if name.is_empty() || name.contains('/') {
        return None;
    }
    let name = percent_decode_str(name).decode_utf8_lossy().into_owned();
    Some(ListedName {
        name,
        folder,
        size: None,
    })
}

/// The `href` of every `<a>` tag of `html`, in order, as the tokenizer decodes them.
fn links(html: &str) -> Vec<String> {
    let tokenizer = Tokenizer::new(Links::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    // An index has no scripts, so the tokenizer never stops to hand one back.
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.hrefs.take()
}

/// What the tokenizer hands each token to: it keeps the links' targets.
#[derive(Default)]
struct Links {
    hrefs: RefCell<Vec<String>>,
}

impl TokenSink for Links {
    type Handle = ();

    fn process_token(&self, token: Token, _line_number: u64) -> TokenSinkResult<()> {
        if let Token::TagToken(tag) = token
            && tag.kind == TagKind::StartTag
            && &*tag.name == "a"
            && let Some(href) = tag.attrs.iter().find(|a| &*a.name.local == "href")
        {
            self.hrefs.borrow_mut().push(href.value.to_string());
        }
        TokenSinkResult::Continue
    }
}
// ANCHOR_END: html

#[cfg(test)]
mod tests {
    use super::*;

    fn names(listed: &[ListedName]) -> Vec<(&str, bool)> {
        listed.iter().map(|l| (l.name.as_str(), l.folder)).collect()
    }

    #[test]
    fn nginx_json_and_an_array_of_names_are_read() {
        let nginx = br#"[{"name":"a.jpg","type":"file","mtime":"","size":3},
                          {"name":"sub","type":"directory","mtime":""}]"#;
        let listed = read_listing("http://h/p/", nginx).unwrap();
        assert_eq!(names(&listed), [("a.jpg", false), ("sub", true)]);
        let array = br#"["b.png", "big dog.jpg", "sub/"]"#;
        let listed = read_listing("http://h/p/", array).unwrap();
        assert_eq!(
            names(&listed),
            [("b.png", false), ("big dog.jpg", false), ("sub", true)]
        );
    }

    #[test]
    fn an_html_index_gives_the_links_just_below_the_prefix() {
        // The three shapes met in the wild: python3 -m http.server, nginx, Apache.
        let python = r#"<!DOCTYPE HTML><html><body><ul>
            <li><a href="big%20dog.jpg">big dog.jpg</a></li>
            <li><a href="sub/">sub/</a></li></ul></body></html>"#;
        let nginx = r#"<html><body><h1>Index of /p/</h1><hr><pre><a href="../">../</a>
            <a href="big%20dog.jpg">big dog.jpg</a>  21-Nov-2026 10:00  3
            <a href="sub/">sub/</a></pre></body></html>"#;
        let apache = r#"<html><body><table><tr><th><a href="?C=N;O=D">Name</a></th></tr>
            <tr><td><a href="/">Parent Directory</a></td></tr>
            <tr><td><A HREF=big%20dog.jpg>big dog.jpg</A></td></tr>
            <tr><td><a href='/p/sub/'>sub/</a></td></tr>
            <tr><td><a href="http://elsewhere/p/x.jpg">x</a></td></tr></table></body></html>"#;
        for page in [python, nginx, apache] {
            let listed = read_listing("http://h/p/", page.as_bytes()).unwrap();
            assert_eq!(
                names(&listed),
                [("big dog.jpg", false), ("sub", true)],
                "{page}"
            );
        }
    }

    #[test]
    fn entities_in_a_link_are_decoded() {
        let page = r#"<html><a href="salt&amp;pepper.jpg">s</a></html>"#;
        let listed = read_listing("http://h/", page.as_bytes()).unwrap();
        assert_eq!(names(&listed), [("salt&pepper.jpg", false)]);
    }

    #[test]
    fn anything_else_says_what_it_is_and_what_would_work() {
        for (body, found) in [
            (&b""[..], "empty"),
            (br#"{"files": []}"#, "JSON, but neither"),
            (b"hello", "text that starts with \"hello\""),
            (b"<html><p>nothing here</p></html>", "no link"),
            (&[0xff, 0xd8, 0xff][..], "binary data"),
        ] {
            let error = read_listing("http://h/p/", body).unwrap_err();
            assert!(error.contains(found), "{error}");
            assert!(error.contains("a JSON array of names"), "{error}");
        }
    }
}
