//! HTTP/1.1 on the hand-built loop: one request per connection, as a [`Protocol`], with
//! the answer parsed by `httparse` and a chunked body decoded as it arrives; a timer
//! watches every exchange (the idle timeout and the transfer's deadline), and a failed
//! exchange that may pass is tried again after a timer, never a sleep, as the retry
//! policy of [`crate::io::retry`] says. An `https://` URL is the same exchange over a
//! TLS transport, and a redirect starts the same request again at its target, as
//! [`crate::io::redirect`] allows.

use std::cell::Cell;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{EventLoop, LoopFuture, Protocol, Transport};
use crate::contract::{HttpConfig, ImageError};
use crate::io::redirect;
use crate::io::retry::{self, Failure, Retrying};
use crate::io::tls::explain;
use crate::trace::now_us;

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

/// What an answer's head says to do: read the body, or ask again elsewhere.
enum Next {
    Body(Head),
    Redirect(String),
}

// ANCHOR: exchange
/// One request and its answer, as callbacks. The answer goes into `answer`.
struct HttpExchange {
    outgoing: Rc<Outgoing>,
    limit: u64,
    received: Vec<u8>,
    head: Option<Head>,
    /// The body decoded so far, when it comes in chunks.
    chunks: ChunkedBody,
    connected: bool,
    transport: Option<Transport>,
    /// When a byte last moved: the watchdog timer reads it.
    activity: Rc<Cell<Instant>>,
    answer: LoopFuture<Bytes, Failure>,
    /// Redirects followed before this exchange, and whether this one's answer was one
    /// (then the rest of this connection is ignored: the next exchange answers).
    hops: usize,
    redirected: bool,
    /// What the next exchange needs, after a redirect.
    event_loop: EventLoop,
    config: HttpConfig,
    ends: Instant,
}

impl Protocol for HttpExchange {
    fn connection_made(&mut self, transport: &Transport) {
        self.connected = true;
        self.activity.set(Instant::now());
        transport.write(&self.outgoing.bytes);
        self.transport = Some(transport.clone());
    }

    fn data_received(&mut self, data: &[u8]) {
        if self.redirected {
            return;
        }
        self.activity.set(Instant::now());
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
            // Both may pass on another try: a server restarting, a connection dropped.
            Some(_) => Err(Failure::transient(ImageError::Io(format!(
                "{}: the answer was cut short",
                self.outgoing.url
            )))),
            None => Err(Failure::transient(ImageError::Io(format!(
                "{}: the server closed the connection without answering",
                self.outgoing.url
            )))),
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
        let method = self.outgoing.method;
        let error = match error {
            Some(e) if !self.connected => ImageError::Connect(explain(e.to_string())),
            Some(e) => ImageError::Io(explain(format!("{method} failed: {e}"))),
            None => ImageError::Io(format!(
                "{}: the connection closed early",
                self.outgoing.url
            )),
        };
        // Refused, reset or closed: the connection failed, not the request.
        self.answer.set_exception(Failure::transient(error)); // Ignored if already in.
    }
}
// ANCHOR_END: exchange

impl HttpExchange {
    /// Parses what has arrived: the head once, then the body until its end.
    fn advance(&mut self) -> Result<(), Failure> {
        if self.head.is_none() {
            match self.parse_head()? {
                Some(Next::Body(head)) => self.head = Some(head),
                Some(Next::Redirect(url)) => return self.follow(&url),
                None => return Ok(()), // The head is not all here yet.
            }
        }
        let Some(head) = self.head else {
            return Ok(());
        };
        let body = &self.received[head.body_start..];
        let too_large = || Failure::permanent(ImageError::TooLarge { limit: self.limit });
        if body.len() as u64 > self.limit + 64 {
            return Err(too_large());
        }
        let complete = match head.framing {
            Framing::Length(length) if body.len() >= length => Some(body[..length].to_vec()),
            Framing::Chunked => self.chunks.decode(body).map_err(|why| {
                Failure::permanent(ImageError::Io(format!("{}: {why}", self.outgoing.url)))
            })?,
            _ => None,
        };
        if let Some(body) = complete {
            if body.len() as u64 > self.limit {
                return Err(too_large());
            }
            self.succeed(Bytes::from(body));
        }
        Ok(())
    }

    /// The answer's head, once it has all arrived: a redirect to follow, or its status
    /// checked and its framing read.
    fn parse_head(&self) -> Result<Option<Next>, Failure> {
        let bad = |why: String| {
            Failure::permanent(ImageError::Io(format!("{}: {why}", self.outgoing.url)))
        };
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        let parsed = response
            .parse(&self.received)
            .map_err(|e| bad(format!("a bad answer: {e}")))?;
        let httparse::Status::Complete(body_start) = parsed else {
            return Ok(None);
        };
        let header = |name: &str| {
            response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
        };
        let status = response.code.unwrap_or(0);
        let (method, url, hops) = (self.outgoing.method, &self.outgoing.url, self.hops);
        let location = header_as_sent(&response, "location");
        match redirect::next_hop(method, url, status, location.as_deref(), hops) {
            Ok(Some(next)) => return Ok(Some(Next::Redirect(next))),
            Ok(None) => {}
            Err(refused) => return Err(Failure::permanent(refused)),
        }
        if !(200..300).contains(&status) {
            let retry_after = header("retry-after");
            return Err(Failure::status(
                status,
                &self.outgoing.url,
                retry_after.as_deref(),
            ));
        }
        let framing = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            Framing::Chunked
        } else if let Some(length) = header("content-length") {
            let length: u64 = length
                .parse()
                .map_err(|_| bad("a bad Content-Length".into()))?;
            if length > self.limit {
                return Err(Failure::permanent(ImageError::TooLarge {
                    limit: self.limit,
                }));
            }
            Framing::Length(length as usize)
        } else {
            Framing::UntilClose
        };
        Ok(Some(Next::Body(Head {
            body_start,
            framing,
        })))
    }

    /// A redirect: this connection is dropped, and the same request goes to `url` on a
    /// new one, answering the same future.
    fn follow(&mut self, url: &str) -> Result<(), Failure> {
        let outgoing = self.outgoing.sent_to(url).map_err(Failure::permanent)?;
        self.redirected = true;
        if let Some(transport) = &self.transport {
            transport.abort();
        }
        let next = Hop {
            outgoing: Rc::new(outgoing),
            hops: self.hops + 1,
            activity: Rc::clone(&self.activity),
            answer: self.answer.clone(),
        };
        next.start(&self.event_loop, &self.config, self.ends);
        Ok(())
    }

    fn succeed(&mut self, body: Bytes) {
        self.answer.set_result(body);
        if let Some(transport) = &self.transport {
            transport.close();
        }
    }

    fn fail(&mut self, error: Failure) {
        self.answer.set_exception(error);
        if let Some(transport) = &self.transport {
            transport.abort();
        }
    }
}

// ANCHOR: chunked
/// A chunked body, decoded as it arrives. Each call goes on from where the last one
/// stopped, so every byte is looked at about once however the body is cut: decoding
/// from the start at every arrival would look at a body of a million one-byte chunks
/// half a million million times, and hold the loop's only thread for minutes.
#[derive(Debug, Default)]
struct ChunkedBody {
    /// How much of the raw body is decoded: the next chunk's size line starts here.
    decoded_up_to: usize,
    /// The chunks' data so far.
    body: Vec<u8>,
    /// Raw bytes looked at, in all calls: what the tests count to check the above.
    examined: usize,
}

impl ChunkedBody {
    /// Decodes what `raw` (the whole raw body so far) adds; the body once the last chunk
    /// (size 0) has arrived.
    fn decode(&mut self, raw: &[u8]) -> Result<Option<Vec<u8>>, String> {
        loop {
            let rest = &raw[self.decoded_up_to..];
            match httparse::parse_chunk_size(rest) {
                Ok(httparse::Status::Complete((_, 0))) => {
                    return Ok(Some(std::mem::take(&mut self.body)));
                }
                Ok(httparse::Status::Complete((start, size))) => {
                    let size = usize::try_from(size).map_err(|_| "a chunk too large")?;
                    let end = start.saturating_add(size);
                    if rest.len() < end.saturating_add(2) {
                        self.examined += start;
                        return Ok(None); // The chunk's data is not all here yet.
                    }
                    if &rest[end..end + 2] != b"\r\n" {
                        return Err("a chunk without its line end".into());
                    }
                    self.body.extend_from_slice(&rest[start..end]);
                    self.examined += end + 2;
                    self.decoded_up_to += end + 2;
                }
                Ok(httparse::Status::Partial) => {
                    self.examined += rest.len();
                    return Ok(None);
                }
                Err(_) => return Err("a bad chunk in the answer".into()),
            }
        }
    }
}
// ANCHOR_END: chunked

/// What one request sends, worked out once and sent again at every try.
struct Outgoing {
    method: &'static str,
    url: String,
    address: SocketAddr,
    /// For `https`: the name the server's certificate must carry.
    tls_name: Option<String>,
    body: Bytes,
    content_type: Option<String>,
    /// The request's head and body, as they go on the wire.
    bytes: Vec<u8>,
}

impl Outgoing {
    fn new(
        method: &'static str,
        url: &str,
        body: Bytes,
        content_type: Option<String>,
    ) -> Result<Outgoing, ImageError> {
        let (address, place, target) = locate(url)?;
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            place.host_header()
        );
        if method != "GET" {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        if let Some(content_type) = &content_type {
            head.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&body);
        Ok(Outgoing {
            method,
            url: url.to_string(),
            address,
            tls_name: place.tls_name,
            body,
            content_type,
            bytes,
        })
    }

    /// The same request, sent to `url` instead (where a redirect points).
    fn sent_to(&self, url: &str) -> Result<Outgoing, ImageError> {
        Outgoing::new(
            self.method,
            url,
            self.body.clone(),
            self.content_type.clone(),
        )
    }
}

// ANCHOR: retry
/// Starts a request and returns the future of its answer's body. A failure that may
/// pass is tried again after a timer (the loop goes on meanwhile), and `waited` is told
/// each wait's start and end, in microseconds (a job records it as a `retry_wait` span).
pub fn request(
    event_loop: &EventLoop,
    method: &'static str,
    url: &str,
    body: &[u8],
    content_type: Option<&str>,
    config: &HttpConfig,
    waited: impl Fn(u64, u64) + 'static,
) -> LoopFuture<Bytes, ImageError> {
    let answer = LoopFuture::new(event_loop);
    let (body, content_type) = (Bytes::copy_from_slice(body), content_type.map(String::from));
    match Outgoing::new(method, url, body, content_type) {
        Ok(outgoing) => {
            let retrying = Retrying::start(config, method);
            let tries = Tries {
                outgoing: Rc::new(outgoing),
                config: *config,
                waited: Rc::new(waited),
                answer: answer.clone(),
            };
            tries.next(event_loop, retrying);
        }
        Err(error) => {
            answer.set_exception(error);
        }
    }
    answer
}

/// The tries of one request, and where its answer goes.
struct Tries {
    outgoing: Rc<Outgoing>,
    config: HttpConfig,
    waited: Rc<dyn Fn(u64, u64)>,
    answer: LoopFuture<Bytes, ImageError>,
}

impl Tries {
    /// Makes the next try; when it fails, waits as `retrying` says (a timer) and tries
    /// again, or gives up with the error.
    fn next(self, event_loop: &EventLoop, mut retrying: Retrying) {
        let left = match retrying.time_left() {
            Ok(left) => left,
            Err(error) => {
                self.answer.set_exception(error);
                return;
            }
        };
        let attempt = exchange(event_loop, &self.outgoing, &self.config, left);
        let again = event_loop.clone();
        attempt.add_done_callback(move |result| match result {
            Ok(body) => {
                self.answer.set_result(body);
            }
            Err(failure) => match retrying.after(failure) {
                Ok(pause) => {
                    let start_us = now_us();
                    let timer_loop = again.clone();
                    again.call_later(pause, move || {
                        (self.waited)(start_us, now_us());
                        self.next(&timer_loop, retrying);
                    });
                }
                Err(error) => {
                    self.answer.set_exception(error);
                }
            },
        });
    }
}
// ANCHOR_END: retry

/// One try: connects, sends, and reads the answer (following redirects), watched by a
/// timer that ends it when no byte has moved for `config.timeout` (connecting
/// included), or when `left` (the time before the transfer's deadline) is over.
fn exchange(
    event_loop: &EventLoop,
    outgoing: &Rc<Outgoing>,
    config: &HttpConfig,
    left: Duration,
) -> LoopFuture<Bytes, Failure> {
    let answer = LoopFuture::new(event_loop);
    let first = Hop {
        outgoing: Rc::clone(outgoing),
        hops: 0,
        activity: Rc::new(Cell::new(Instant::now())),
        answer: answer.clone(),
    };
    first.start(event_loop, config, event_loop.time() + left);
    answer
}

/// One connection of a try: the first, or one a redirect led to. Every hop of a try
/// shares its answer, and its `activity`, so that the watchdogs see one transfer.
struct Hop {
    outgoing: Rc<Outgoing>,
    hops: usize,
    activity: Rc<Cell<Instant>>,
    answer: LoopFuture<Bytes, Failure>,
}

impl Hop {
    /// Connects (over TLS for `https`), sends, and sets the watchdog.
    fn start(self, event_loop: &EventLoop, config: &HttpConfig, ends: Instant) {
        self.activity.set(Instant::now());
        let (address, method) = (self.outgoing.address, self.outgoing.method);
        let tls_name = self.outgoing.tls_name.clone();
        let exchange = HttpExchange {
            outgoing: self.outgoing,
            limit: config.max_bytes,
            received: Vec::new(),
            head: None,
            chunks: ChunkedBody::default(),
            connected: false,
            transport: None,
            activity: Rc::clone(&self.activity),
            answer: self.answer.clone(),
            hops: self.hops,
            redirected: false,
            event_loop: event_loop.clone(),
            config: *config,
            ends,
        };
        let transport = match tls_name {
            Some(name) => event_loop.create_tls_connection(address, &name, exchange),
            None => event_loop.create_connection(address, exchange),
        };
        let watchdog = Watchdog {
            config: *config,
            method,
            ends,
            activity: self.activity,
            answer: self.answer,
            transport,
        };
        watchdog.watch(event_loop);
    }
}

// ANCHOR: watchdog
/// A timer on one try: it fails the try once nothing has moved for the timeout (worth
/// another try), or once the transfer's deadline has come (not worth one: a server that
/// drips its answer a byte at a time would only drip it again).
struct Watchdog {
    config: HttpConfig,
    method: &'static str,
    /// When the transfer's deadline comes.
    ends: Instant,
    activity: Rc<Cell<Instant>>,
    answer: LoopFuture<Bytes, Failure>,
    transport: Transport,
}

impl Watchdog {
    /// Sets the timer for the sooner of the idle timeout and the deadline. When bytes did
    /// move since, it sets itself again for the new idle timeout.
    fn watch(self, event_loop: &EventLoop) {
        let idle_until = self.activity.get() + self.config.timeout;
        let again = event_loop.clone();
        event_loop.call_at(idle_until.min(self.ends), move || {
            if self.answer.done() {
                return;
            }
            let now = again.time();
            let failure = if now >= self.ends {
                Failure::permanent(retry::past_deadline(&self.config, self.method))
            } else if self.activity.get() + self.config.timeout > now {
                return self.watch(&again);
            } else {
                Failure::transient(ImageError::Timeout {
                    millis: self.config.timeout.as_millis() as u64,
                    during: self.method.to_string(),
                })
            };
            self.answer.set_exception(failure);
            self.transport.abort();
        });
    }
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

/// A header of a parsed answer as the server sent it (trimmed, case kept: a redirect's
/// target is a URL, whose path may need its capitals).
fn header_as_sent(response: &httparse::Response, name: &str) -> Option<String> {
    response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::ChunkedBody;

    /// A body of `count` one-byte chunks, as a server that flushes every byte sends it.
    fn one_byte_chunks(count: usize) -> (Vec<u8>, Vec<u8>) {
        let body: Vec<u8> = (0..count).map(|i| b'a' + (i % 26) as u8).collect();
        let mut raw = Vec::new();
        for byte in &body {
            raw.extend_from_slice(b"1\r\n");
            raw.push(*byte);
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"0\r\n\r\n");
        (body, raw)
    }

    /// Feeds `raw` to a decoder one byte at a time (the worst a network can do) and
    /// returns the body and how many bytes the decoder looked at in all.
    fn decode_byte_by_byte(raw: &[u8]) -> (Option<Vec<u8>>, usize) {
        let mut chunks = ChunkedBody::default();
        for end in 1..=raw.len() {
            if let Some(body) = chunks.decode(&raw[..end]).unwrap() {
                return (Some(body), chunks.examined);
            }
        }
        (None, chunks.examined)
    }

    #[test]
    fn a_body_cut_in_one_byte_chunks_decodes_whole() {
        let (body, raw) = one_byte_chunks(1_000);
        assert_eq!(decode_byte_by_byte(&raw).0, Some(body));
    }

    #[test]
    fn decoding_looks_at_each_byte_a_bounded_number_of_times() {
        // Linear: ten times the chunks, about ten times the bytes looked at. Decoding
        // from the start at every arrival would look at a hundred times as many.
        let (_, small) = one_byte_chunks(1_000);
        let (_, large) = one_byte_chunks(10_000);
        let (_, small_work) = decode_byte_by_byte(&small);
        let (_, large_work) = decode_byte_by_byte(&large);
        assert!(
            large_work <= 3 * large.len(),
            "{large_work} for {}",
            large.len()
        );
        assert!(
            large_work < 11 * small_work,
            "{small_work} then {large_work}"
        );
    }

    #[test]
    fn a_chunk_without_its_line_end_is_refused() {
        let mut chunks = ChunkedBody::default();
        assert!(chunks.decode(b"3\r\nabcXY0\r\n\r\n").is_err());
    }
}
