//! The async HTTP client of the tokio chapter, with the same timeouts, body limit,
//! retries, deadline, HTTPS and redirects as the blocking [`HttpClient`](super::HttpClient).
//!
//! Why a second client: a blocking client called from a task holds one of the runtime's
//! few threads for the whole round trip, and every other task on that thread waits with
//! it. An async client hands the thread back while it waits for the server.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Method, Request};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::destination::Destination;
use super::file::{read_limited, write_thumbnail};
use super::retry::{self, Failure};
use super::{redirect, tls};
use crate::contract::{HttpConfig, ImageError, Location};

/// An async HTTP/1.1 client with a connect timeout, a timeout on every wait for the
/// server (the answer's head, then each piece of the body) and a body limit. Cheap to
/// clone: clones share one pool of connections.
#[derive(Clone)]
pub struct AsyncHttpClient {
    /// For `http://` URLs, which need no certificates.
    plain: Client<HttpConnector, Full<Bytes>>,
    /// For `https://` URLs, made on the first one: reading the system's certificates
    /// takes milliseconds that a run without HTTPS (most runs) need not pay.
    secure: Arc<OnceLock<Client<HttpsConnector<HttpConnector>, Full<Bytes>>>>,
    config: HttpConfig,
}

impl AsyncHttpClient {
    /// A client with `config`'s timeouts and limit. Must be used inside a tokio runtime.
    pub fn new(config: &HttpConfig) -> AsyncHttpClient {
        AsyncHttpClient {
            plain: Client::builder(TokioExecutor::new()).build(tcp_connector(config)),
            secure: Arc::new(OnceLock::new()),
            config: *config,
        }
    }

    /// The client for `https://` URLs: TLS wraps TCP, and the connector runs the
    /// handshake on each new connection, with the trust every client shares.
    fn secure(&self) -> &Client<HttpsConnector<HttpConnector>, Full<Bytes>> {
        self.secure.get_or_init(|| {
            let mut tcp = tcp_connector(&self.config);
            // The TCP connector must let `https://` through to the TLS layer above it.
            tcp.enforce_http(false);
            let connector = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config((*tls::client_config()).clone())
                .https_only()
                .enable_http1()
                .wrap_connector(tcp);
            Client::builder(TokioExecutor::new()).build(connector)
        })
    }

    /// GET `url`: the body of a 2xx answer, or the error that names the cause.
    pub async fn get(&self, url: &str) -> Result<Vec<u8>, ImageError> {
        self.get_waiting(url, tokio::time::sleep).await
    }

    /// [`get`](Self::get), awaiting `wait` for each wait between two tries (a job
    /// records the wait in its trace).
    pub async fn get_waiting<W: Future<Output = ()>>(
        &self,
        url: &str,
        wait: impl FnMut(Duration) -> W,
    ) -> Result<Vec<u8>, ImageError> {
        let attempt = |left| self.send_within(left, Method::GET, url, None, Bytes::new());
        retry::awaiting(&self.config, "GET", attempt, wait).await
    }

    /// The bytes at `location`: an HTTP GET, or a file read on tokio's blocking pool.
    pub async fn fetch(&self, location: &Location) -> Result<Vec<u8>, ImageError> {
        self.fetch_waiting(location, tokio::time::sleep).await
    }

    /// [`fetch`](Self::fetch), awaiting `wait` for each wait between two tries.
    pub async fn fetch_waiting<W: Future<Output = ()>>(
        &self,
        location: &Location,
        wait: impl FnMut(Duration) -> W,
    ) -> Result<Vec<u8>, ImageError> {
        match location {
            Location::Url(url) => self.get_waiting(url, wait).await,
            Location::File(path) => {
                let (path, limit) = (path.clone(), self.config.max_bytes);
                blocking(move || read_limited(&path, limit)).await
            }
        }
    }

    /// Carries out one thumbnail's [`Destination`]: a PUT, or an atomic file write on
    /// tokio's blocking pool.
    pub async fn store(&self, destination: Destination, bytes: Vec<u8>) -> Result<(), ImageError> {
        self.store_waiting(destination, bytes, tokio::time::sleep)
            .await
    }

    /// [`store`](Self::store), awaiting `wait` for each wait between two tries of a PUT.
    /// A thumbnail's bytes are the same at every try, so a PUT may be repeated.
    pub async fn store_waiting<W: Future<Output = ()>>(
        &self,
        destination: Destination,
        bytes: Vec<u8>,
        wait: impl FnMut(Duration) -> W,
    ) -> Result<(), ImageError> {
        match destination {
            Destination::Put { url, content_type } => {
                self.put_waiting(&url, bytes, content_type, wait).await
            }
            Destination::File(path) => blocking(move || write_thumbnail(&path, &bytes)).await,
        }
    }

    /// PUT `bytes` to `url` with `content_type`.
    pub async fn put(
        &self,
        url: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), ImageError> {
        self.put_waiting(url, bytes, content_type, tokio::time::sleep)
            .await
    }

    async fn put_waiting<W: Future<Output = ()>>(
        &self,
        url: &str,
        bytes: Vec<u8>,
        content_type: &str,
        wait: impl FnMut(Duration) -> W,
    ) -> Result<(), ImageError> {
        // `Bytes` clones share one buffer: each try sends the same bytes, copied never.
        let body = Bytes::from(bytes);
        let attempt = |left| {
            let body = body.clone();
            async move {
                self.send_within(left, Method::PUT, url, Some(content_type), body)
                    .await
                    .map(drop)
            }
        };
        retry::awaiting(&self.config, "PUT", attempt, wait).await
    }

    /// One try: sends a request, following redirects as [`redirect`] allows, and reads
    /// the whole answer, all within `left` (the time before the transfer's deadline).
    async fn send_within(
        &self,
        left: Duration,
        method: Method,
        url: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<Vec<u8>, Failure> {
        let during = method.to_string();
        let sent = self.send(method, url, content_type, body);
        tokio::time::timeout(left, sent)
            .await
            .map_err(|_| Failure::permanent(retry::past_deadline(&self.config, &during)))?
    }

    /// Sends the request to `url`, then to where each redirect points, and reads the
    /// last answer; each wait bounded by the timeout.
    async fn send(
        &self,
        method: Method,
        url: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<Vec<u8>, Failure> {
        let during = method.to_string();
        let mut url = url.to_string();
        for hops in 0.. {
            let request = build_request(method.clone(), &url, content_type, body.clone())?;
            let answer = if tls::is_https(&url) {
                self.within(&during, self.secure().request(request)).await?
            } else {
                self.within(&during, self.plain.request(request)).await?
            };
            let response = answer.map_err(|e| Failure::transient(connect_or_io(&e, &during)))?;
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get(hyper::header::LOCATION)
                .and_then(|value| value.to_str().ok());
            match redirect::next_hop(method.as_str(), &url, status, location, hops) {
                Ok(Some(next)) => url = next,
                Ok(None) => return self.read_answer(&url, response).await,
                Err(refused) => return Err(Failure::permanent(refused)),
            }
        }
        unreachable!("the redirect policy ends the loop after a few hops")
    }

    /// The body of a 2xx answer, read piece by piece under the limit.
    async fn read_answer(
        &self,
        url: &str,
        response: hyper::Response<hyper::body::Incoming>,
    ) -> Result<Vec<u8>, Failure> {
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let retry_after = response
                .headers()
                .get(hyper::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok());
            return Err(Failure::status(status, url, retry_after));
        }
        let limit = self.config.max_bytes;
        let mut body = response.into_body();
        let mut bytes = Vec::new();
        // One piece of the body at a time, so that a server that stops half-way costs
        // one timeout, and a body over the limit is refused before it is all in memory.
        while let Some(frame) = self.within("reading the body", body.frame()).await? {
            let frame = frame.map_err(|e| {
                Failure::transient(ImageError::Io(format!("reading the body: {e}")))
            })?;
            if let Some(data) = frame.data_ref() {
                if (bytes.len() + data.len()) as u64 > limit {
                    return Err(Failure::permanent(ImageError::TooLarge { limit }));
                }
                bytes.extend_from_slice(data);
            }
        }
        Ok(bytes)
    }

    /// `work`, or a timeout (worth a retry) when it takes longer than the configured
    /// timeout.
    async fn within<T>(&self, during: &str, work: impl Future<Output = T>) -> Result<T, Failure> {
        tokio::time::timeout(self.config.timeout, work)
            .await
            .map_err(|_| {
                Failure::transient(ImageError::Timeout {
                    millis: self.config.timeout.as_millis() as u64,
                    during: during.to_string(),
                })
            })
    }
}

/// A request of `method` to `url`, with `body` of `content_type` if there is one.
fn build_request(
    method: Method,
    url: &str,
    content_type: Option<&str>,
    body: Bytes,
) -> Result<Request<Full<Bytes>>, Failure> {
    let mut request = Request::builder().method(method).uri(url);
    if let Some(content_type) = content_type {
        request = request.header(hyper::header::CONTENT_TYPE, content_type);
    }
    request
        .body(Full::new(body))
        .map_err(|e| Failure::permanent(ImageError::Io(format!("bad request for {url}: {e}"))))
}

/// A refused or unreachable server is a connect error; anything else an IO error. The
/// message includes the causes, which hyper keeps in the error's source chain.
/// TCP with the connect timeout, and without Nagle's delay on small requests.
fn tcp_connector(config: &HttpConfig) -> HttpConnector {
    let mut tcp = HttpConnector::new();
    tcp.set_connect_timeout(Some(config.timeout));
    tcp.set_nodelay(true);
    tcp
}

fn connect_or_io(error: &hyper_util::client::legacy::Error, during: &str) -> ImageError {
    let mut message = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        message = format!("{message}: {inner}");
        cause = inner.source();
    }
    // A failed TLS handshake is a connect error too; say what would fix it.
    let message = tls::explain(message);
    if error.is_connect() {
        ImageError::Connect(message)
    } else {
        ImageError::Io(format!("{during} failed: {message}"))
    }
}

/// Runs blocking file work on tokio's blocking pool. Once started it runs to the end
/// even if the task awaiting it is cancelled, so an atomic write is never cut in half.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ImageError> + Send + 'static,
) -> Result<T, ImageError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ImageError::Io(format!("file work failed: {e}")))?
}
