//! HTTP/1.1 on the hand-built loop: one request per connection, as a [`Protocol`], with
//! the answer parsed by `httparse` and a chunked body decoded as it arrives; a timer
//! watches every exchange (the idle timeout and the transfer's deadline), and a failed
//! exchange that may pass is tried again after a timer, never a sleep, as the retry
//! policy of [`crate::io::retry`] says.

use std::cell::Cell;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{EventLoop, LoopFuture, Protocol, Transport};
use crate::contract::{HttpConfig, ImageError};
use crate::io::retry::{self, Failure, Retrying};
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

// ANCHOR: exchange
/// One request and its answer, as callbacks. The answer goes into `answer`.
struct HttpExchange {
    request: Vec<u8>,
    method: &'static str,
    url: String,
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
        self.received.extend_from_slice(data);
        if let Err(error) = self.advance() {
            self.fail(error);
        }
    }

    fn eof_received(&mut self) {
        let complete = match self.head {
            Some(Head {
                body_start,
                framing: Framing::UntilClose,
                ..
            }) => Ok(Bytes::copy_from_slice(&self.received[body_start..])),
            // Both may pass on another try: a server restarting, a connection dropped.
            Some(_) => Err(Failure::transient(ImageError::Io(format!(
                "{}: the answer was cut short",
                self.url
            )))),
            None => Err(Failure::transient(ImageError::Io(format!(
                "{}: the server closed the connection without answering",
                self.url
            )))),
        };
        match complete {
            Ok(body) => self.succeed(body),
            Err(error) => self.fail(error),
        }
    }

    fn connection_lost(&mut self, error: Option<io::Error>) {
        self.transport = None; // No cycle left behind.
        let error = match error {
            Some(e) if !self.connected => ImageError::Connect(e.to_string()),
            Some(e) => ImageError::Io(format!("{} failed: {e}", self.method)),
            None => ImageError::Io(format!("{}: the connection closed early", self.url)),
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
                Some(head) => self.head = Some(head),
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
                Failure::permanent(ImageError::Io(format!("{}: {why}", self.url)))
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

    /// The answer's head, once it has all arrived: its status checked, its framing read.
    fn parse_head(&self) -> Result<Option<Head>, Failure> {
        let bad = |why: String| Failure::permanent(ImageError::Io(format!("{}: {why}", self.url)));
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
        if !(200..300).contains(&status) {
            let retry_after = header("retry-after");
            return Err(Failure::status(status, &self.url, retry_after.as_deref()));
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
        Ok(Some(Head {
            body_start,
            framing,
        }))
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
    /// The request's head and body, as they go on the wire.
    bytes: Vec<u8>,
}

impl Outgoing {
    fn new(
        method: &'static str,
        url: &str,
        body: &[u8],
        content_type: Option<&str>,
    ) -> Result<Outgoing, ImageError> {
        let (address, host, target) = locate(url)?;
        let mut head =
            format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        if method != "GET" {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        if let Some(content_type) = content_type {
            head.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        Ok(Outgoing {
            method,
            url: url.to_string(),
            address,
            bytes,
        })
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

/// One try: connects, sends, and reads the answer, watched by a timer that ends it
/// when no byte has moved for `config.timeout` (connecting included), or when `left`
/// (the time before the transfer's deadline) is over.
fn exchange(
    event_loop: &EventLoop,
    outgoing: &Outgoing,
    config: &HttpConfig,
    left: Duration,
) -> LoopFuture<Bytes, Failure> {
    let answer = LoopFuture::new(event_loop);
    let activity = Rc::new(Cell::new(Instant::now()));
    let exchange = HttpExchange {
        request: outgoing.bytes.clone(),
        method: outgoing.method,
        url: outgoing.url.clone(),
        limit: config.max_bytes,
        received: Vec::new(),
        head: None,
        chunks: ChunkedBody::default(),
        connected: false,
        transport: None,
        activity: activity.clone(),
        answer: answer.clone(),
    };
    let transport = event_loop.create_connection(outgoing.address, exchange);
    let watchdog = Watchdog {
        config: *config,
        method: outgoing.method,
        ends: event_loop.time() + left,
        activity,
        answer: answer.clone(),
        transport,
    };
    watchdog.watch(event_loop);
    answer
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

/// The address to connect to, the `Host` header and the request target of `url`.
fn locate(url: &str) -> Result<(SocketAddr, String, String), ImageError> {
    let bad = |why: String| ImageError::Io(format!("{url}: {why}"));
    let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
    if parsed.scheme() != "http" {
        return Err(bad(
            "only plain http is spoken by the hand-built loop".into()
        ));
    }
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
    Ok((address, format!("{host}:{port}"), target))
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
