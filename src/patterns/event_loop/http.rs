//! HTTP/1.1 on the hand-built loop: one request per connection, as a [`Protocol`], with
//! the answer parsed by `httparse`; a timer watches every exchange.

use std::cell::Cell;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::time::Instant;

use bytes::Bytes;

use super::{EventLoop, LoopFuture, Protocol, Transport};
use crate::contract::{HttpConfig, ImageError};
use crate::io::redirect;
use crate::io::tls::explain;

/// How the end of a body is known.
#[derive(Debug, Clone, Copy)]
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// The answer's status line and headers, once parsed.
#[derive(Debug, Clone, Copy)]
struct Head {
    body_start: usize,
    framing: Framing,
}

// ANCHOR: exchange
/// One request and its answer, as callbacks. The answer goes into `answer`.
struct HttpExchange {
    request: Vec<u8>,
    /// The request as asked, to send again when the answer is a redirect.
    spec: Rc<RequestSpec>,
    /// Redirects followed before this exchange.
    hops: usize,
    /// Set once this answer redirected: the rest of this connection is ignored.
    redirected: bool,
    event_loop: EventLoop,
    method: &'static str,
    url: String,
    limit: u64,
    received: Vec<u8>,
    head: Option<Head>,
    connected: bool,
    transport: Option<Transport>,
    /// When a byte last moved: the watchdog timer reads it.
    activity: Rc<Cell<Instant>>,
    answer: LoopFuture<Bytes, ImageError>,
}

impl Protocol for HttpExchange {
    fn connection_made(&mut self, transport: &Transport) {
        self.connected = true;
        self.activity.set(Instant::now());
        transport.write(&self.request);
        self.transport = Some(transport.clone());
    }

    fn data_received(&mut self, data: &[u8]) {
        self.activity.set(Instant::now());
        if self.redirected {
            return;
        }
        self.received.extend_from_slice(data);
        if let Err(error) = self.advance() {
            self.fail(error);
        }
    }

    fn eof_received(&mut self) {
        if self.redirected {
            return;
        }
        let complete = match self.head {
            Some(Head {
                body_start,
                framing: Framing::UntilClose,
                ..
            }) => Ok(Bytes::copy_from_slice(&self.received[body_start..])),
            Some(_) => Err(ImageError::Io(format!(
                "{}: the answer was cut short",
                self.url
            ))),
            None => Err(ImageError::Io(format!(
                "{}: the server closed the connection without answering",
                self.url
            ))),
        };
        match complete {
            Ok(body) => self.succeed(body),
            Err(error) => self.fail(error),
        }
    }

    fn connection_lost(&mut self, error: Option<io::Error>) {
        self.transport = None; // No cycle left behind.
        if self.redirected {
            return; // The next exchange answers.
        }
        let error = match error {
            Some(e) if !self.connected => ImageError::Connect(explain(e.to_string())),
            Some(e) => ImageError::Io(explain(format!("{} failed: {e}", self.method))),
            None => ImageError::Io(format!("{}: the connection closed early", self.url)),
        };
        self.answer.set_exception(error); // Ignored if the answer is already in.
    }
}
// ANCHOR_END: exchange

impl HttpExchange {
    /// Parses what has arrived: the head once, then the body until its end.
    fn advance(&mut self) -> Result<(), ImageError> {
        if self.head.is_none() {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut response = httparse::Response::new(&mut headers);
            let parsed = response
                .parse(&self.received)
                .map_err(|e| ImageError::Io(format!("{}: a bad answer: {e}", self.url)))?;
            let httparse::Status::Complete(body_start) = parsed else {
                return Ok(()); // The head is not all here yet.
            };
            let status = response.code.unwrap_or(0);
            let location = response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("location"))
                .map(|h| String::from_utf8_lossy(h.value).trim().to_string());
            let hop = redirect::next_hop(
                self.method,
                &self.url,
                status,
                location.as_deref(),
                self.hops,
            )?;
            if let Some(next) = hop {
                self.follow(next);
                return Ok(());
            }
            if !(200..300).contains(&status) {
                return Err(ImageError::Status {
                    status,
                    url: self.url.clone(),
                });
            }
            let header = |name: &str| {
                response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case(name))
                    .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
            };
            let framing = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
                Framing::Chunked
            } else if let Some(length) = header("content-length") {
                let length: u64 = length
                    .parse()
                    .map_err(|_| ImageError::Io(format!("{}: a bad Content-Length", self.url)))?;
                if length > self.limit {
                    return Err(ImageError::TooLarge { limit: self.limit });
                }
                Framing::Length(length as usize)
            } else {
                Framing::UntilClose
            };
            self.head = Some(Head {
                body_start,
                framing,
            });
        }
        let Some(head) = self.head else {
            return Ok(());
        };
        let body = &self.received[head.body_start..];
        if body.len() as u64 > self.limit + 64 {
            return Err(ImageError::TooLarge { limit: self.limit });
        }
        let complete = match head.framing {
            Framing::Length(length) if body.len() >= length => Some(body[..length].to_vec()),
            Framing::Chunked => decode_chunked(body)
                .map_err(|why| ImageError::Io(format!("{}: {why}", self.url)))?,
            _ => None,
        };
        if let Some(body) = complete {
            if body.len() as u64 > self.limit {
                return Err(ImageError::TooLarge { limit: self.limit });
            }
            self.succeed(Bytes::from(body));
        }
        Ok(())
    }

    /// A redirect: this connection is dropped, and the same request goes to `next`,
    /// answering the same future.
    fn follow(&mut self, next: String) {
        self.redirected = true;
        if let Some(transport) = &self.transport {
            transport.abort();
        }
        send(
            &self.event_loop,
            Rc::clone(&self.spec),
            &next,
            self.hops + 1,
            Rc::clone(&self.activity),
            self.answer.clone(),
        );
    }

    fn succeed(&mut self, body: Bytes) {
        self.answer.set_result(body);
        if let Some(transport) = &self.transport {
            transport.close();
        }
    }

    fn fail(&mut self, error: ImageError) {
        self.answer.set_exception(error);
        if let Some(transport) = &self.transport {
            transport.abort();
        }
    }
}

/// The body of a chunked answer, once its last chunk has arrived.
fn decode_chunked(mut data: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    loop {
        match httparse::parse_chunk_size(data) {
            Ok(httparse::Status::Complete((_, 0))) => return Ok(Some(body)),
            Ok(httparse::Status::Complete((start, size))) => {
                let end = start + size as usize;
                if data.len() < end + 2 {
                    return Ok(None);
                }
                body.extend_from_slice(&data[start..end]);
                data = &data[end + 2..];
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err("a bad chunk in the answer".into()),
        }
    }
}

/// A request as the caller asked for it, whatever URL it ends up at.
struct RequestSpec {
    method: &'static str,
    body: Bytes,
    content_type: Option<String>,
    config: HttpConfig,
}

/// Starts a request and returns the future of its answer's body. A timer fails the
/// exchange when no byte has moved for `config.timeout` (connecting included).
/// Redirects are followed as [`redirect`] allows.
pub fn request(
    event_loop: &EventLoop,
    method: &'static str,
    url: &str,
    body: &[u8],
    content_type: Option<&str>,
    config: &HttpConfig,
) -> LoopFuture<Bytes, ImageError> {
    let answer = LoopFuture::new(event_loop);
    let spec = RequestSpec {
        method,
        body: Bytes::copy_from_slice(body),
        content_type: content_type.map(str::to_string),
        config: *config,
    };
    let activity = Rc::new(Cell::new(Instant::now()));
    send(event_loop, Rc::new(spec), url, 0, activity, answer.clone());
    answer
}

/// Sends `spec` to `url` on a new connection; the answer goes into `answer`.
/// `activity` is shared by every hop of one request, so that its watchdogs see one
/// request that is moving.
fn send(
    event_loop: &EventLoop,
    spec: Rc<RequestSpec>,
    url: &str,
    hops: usize,
    activity: Rc<Cell<Instant>>,
    answer: LoopFuture<Bytes, ImageError>,
) {
    let (address, place, target) = match locate(url) {
        Ok(parts) => parts,
        Err(error) => {
            answer.set_exception(error);
            return;
        }
    };
    let method = spec.method;
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        place.host_header()
    );
    if method != "GET" {
        request.push_str(&format!("Content-Length: {}\r\n", spec.body.len()));
    }
    if let Some(content_type) = &spec.content_type {
        request.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    request.push_str("\r\n");
    let mut request = request.into_bytes();
    request.extend_from_slice(&spec.body);
    activity.set(Instant::now());
    let config = spec.config;
    let exchange = HttpExchange {
        request,
        spec,
        hops,
        redirected: false,
        event_loop: event_loop.clone(),
        method,
        url: url.to_string(),
        limit: config.max_bytes,
        received: Vec::new(),
        head: None,
        connected: false,
        transport: None,
        activity: activity.clone(),
        answer: answer.clone(),
    };
    let transport = match place.tls_name {
        Some(name) => event_loop.create_tls_connection(address, &name, exchange),
        None => event_loop.create_connection(address, exchange),
    };
    watch(event_loop, config, method, activity, answer, transport);
}

// ANCHOR: watchdog
/// A timer that fails the exchange once nothing has moved for the timeout. When bytes
/// did move, it sets itself again for the new deadline.
fn watch(
    event_loop: &EventLoop,
    config: HttpConfig,
    method: &'static str,
    activity: Rc<Cell<Instant>>,
    answer: LoopFuture<Bytes, ImageError>,
    transport: Transport,
) {
    let deadline = activity.get() + config.timeout;
    let again = event_loop.clone();
    event_loop.call_at(deadline, move || {
        if answer.done() {
            return;
        }
        if activity.get() + config.timeout > again.time() {
            return watch(&again, config, method, activity, answer, transport);
        }
        answer.set_exception(ImageError::Timeout {
            millis: config.timeout.as_millis() as u64,
            during: method.to_string(),
        });
        transport.abort();
    });
}
// ANCHOR_END: watchdog

/// Where a request goes, as the connection and the `Host` header need it.
struct Place {
    host: String,
    port: u16,
    /// For `https`: the name the server's certificate must carry.
    tls_name: Option<String>,
}

impl Place {
    fn host_header(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// The address to connect to, where it is, and the request target of `url`.
fn locate(url: &str) -> Result<(SocketAddr, Place, String), ImageError> {
    let bad = |why: String| ImageError::Io(format!("{url}: {why}"));
    let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
    let encrypted = match parsed.scheme() {
        "http" => false,
        "https" => true,
        other => {
            return Err(bad(format!(
                "the scheme '{other}' is neither http nor https"
            )));
        }
    };
    let host = parsed.host_str().ok_or_else(|| bad("no host".into()))?;
    let port = parsed.port_or_known_default().unwrap_or(80);
    // Name lookup blocks; on loopback and with IP addresses it is immediate.
    let address = (host, port)
        .to_socket_addrs()
        .map_err(|e| ImageError::Connect(e.to_string()))?
        .next()
        .ok_or_else(|| ImageError::Connect(format!("{host} has no address")))?;
    let mut target = parsed.path().to_string();
    if let Some(query) = parsed.query() {
        target = format!("{target}?{query}");
    }
    // An IPv6 literal is `[::1]` in the URL but `::1` in a certificate.
    let name = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let place = Place {
        host: host.to_string(),
        port,
        tls_name: encrypted.then_some(name),
    };
    Ok((address, place, target))
}
