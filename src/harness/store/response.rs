//! What every handler answers with: the response [`Body`], a [`Refusal`] (a status
//! with the reason in words), and the small helpers that build responses.

use std::convert::Infallible;
use std::io;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Empty, Full};
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

/// The response body: a short text, nothing, or the object streamed from its file
/// (paced to a bandwidth or not).
pub(super) type Body = UnsyncBoxBody<Bytes, Infallible>;

/// A request the store will not serve as asked: the status, and why, in words.
#[derive(Debug)]
pub(super) struct Refusal {
    /// The status the client gets.
    pub(super) status: StatusCode,
    /// Why, in words: the body the client gets, and the line the log prints.
    pub(super) reason: String,
}

impl Refusal {
    pub(super) fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Refusal {
            status,
            reason: reason.into(),
        }
    }

    pub(super) fn not_found(path: &str) -> Self {
        Refusal::new(StatusCode::NOT_FOUND, format!("no such object: '{path}'"))
    }

    /// An IO error while reading `path`, as a status a client can act on.
    pub(super) fn from_io(path: &str, err: &io::Error) -> Self {
        match err.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => Refusal::not_found(path),
            io::ErrorKind::PermissionDenied => {
                Refusal::new(StatusCode::FORBIDDEN, format!("refused: '{path}': {err}"))
            }
            _ => Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot read '{path}': {err}"),
            ),
        }
    }

    /// `what` could not be done because its work on the blocking pool died (it
    /// panicked, or the runtime is shutting down): a 500 that says so.
    pub(super) fn unfinished(what: &str, err: &tokio::task::JoinError) -> Self {
        Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{what}: {err}"))
    }

    /// The refusal as a text response; a 405 also says which methods are allowed.
    pub(super) fn into_response(self) -> Response<Body> {
        let mut response = text(self.status, format!("{}\n", self.reason));
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, PUT"));
        }
        response
    }
}

/// A short text response: refusals and redirects.
pub(super) fn text(status: StatusCode, body: String) -> Response<Body> {
    let length = body.len() as u64;
    let mut response = with_length(
        Response::new(Full::new(Bytes::from(body)).boxed_unsync()),
        "text/plain; charset=utf-8",
        length,
    );
    *response.status_mut() = status;
    response
}

/// The headers of a `GET`, without its body: what `HEAD` answers.
pub(super) fn head_response(content_type: &'static str, length: u64) -> Response<Body> {
    with_length(
        Response::new(Empty::new().boxed_unsync()),
        content_type,
        length,
    )
}

/// Sets Content-Type and Content-Length. The length is set by hand because a paced
/// body does not know it, and without it hyper would fall back to chunked encoding.
pub(super) fn with_length(
    mut response: Response<Body>,
    content_type: &'static str,
    length: u64,
) -> Response<Body> {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}
