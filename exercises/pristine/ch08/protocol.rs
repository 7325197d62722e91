//! # Exercise `ex08-protocol` (chapter 8, guided)
//!
//! **Do.** Download each image with a protocol of your own: `Fetch` below is the object
//! the loop calls back as its connection lives. Write its three callbacks:
//! `connection_made` (send the request), `data_received` (keep the bytes; once
//! `complete_body` finds the whole answer, hand it over and close), and
//! `connection_lost` (if no answer was handed over, hand over the error). The store
//! refuses some images with a 503: those must fail, named, and the batch go on.
//!
//! **Concept.** A protocol: a connection as callbacks the loop calls when something
//! happens, and a transport the protocol calls to write and close. The protocol never
//! reads a socket or waits: bytes are pushed to it as they arrive, in pieces of any size.
//!
//! **Python counterpart.** `asyncio.Protocol` with `connection_made(transport)`,
//! `data_received(data)` and `connection_lost(exc)`, started by
//! `loop.create_connection(lambda: Fetch(...), host, port)`.
//!
//! **Check it.** `cargo run -- exercises check ex08-protocol`: every image the store
//! serves done, every refused image failed with its HTTP 503, downloads in flight
//! together, and the program ends.

use std::cell::RefCell;
use std::io;
use std::net::ToSocketAddrs;
use std::process::ExitCode;
use std::rc::Rc;

use bytes::Bytes;
use workbench::cli::{self, NoFlags};
use workbench::contract::{Image, ImageError, Location, Outcome, Thumbnail};
use workbench::job::Job;
use workbench::patterns::event_loop::{EventLoop, LoopFuture, Protocol, Transport, steps};
use workbench::trace::Phase;

/// One GET as callbacks: the loop calls these as the connection lives.
struct Fetch {
    /// The request to send, whole.
    request: Vec<u8>,
    url: String,
    /// Everything that has arrived so far.
    received: Vec<u8>,
    /// Kept from `connection_made`, to close the connection once the answer is in.
    transport: Option<Transport>,
    /// Where the body goes (or the error): the download's future.
    answer: LoopFuture<Bytes, ImageError>,
}

impl Protocol for Fetch {
    fn connection_made(&mut self, transport: &Transport) {
        let _ = (transport, &self.request, &self.transport);
        todo!("write the request, and keep a clone of the transport")
    }

    fn data_received(&mut self, data: &[u8]) {
        let _ = (data, &self.received, &self.url, complete_body);
        todo!("keep the bytes; on a whole body: set the answer, close; on an error: abort")
    }

    fn connection_lost(&mut self, error: Option<io::Error>) {
        let _ = (error, &self.answer);
        todo!("drop the transport; if the answer is not in yet, set it to an error")
    }
}

/// The body, once the whole answer is in `received`; `None` while more is to come. An
/// answer that is not a success is an error naming its status.
fn complete_body(received: &[u8], url: &str) -> Result<Option<Bytes>, ImageError> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let bad = |why: String| ImageError::Io(format!("{url}: {why}"));
    let httparse::Status::Complete(body_start) =
        response.parse(received).map_err(|e| bad(e.to_string()))?
    else {
        return Ok(None);
    };
    let status = response.code.unwrap_or(0);
    if !(200..300).contains(&status) {
        let url = url.to_string();
        return Err(ImageError::Status { status, url });
    }
    let header = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"));
    let length = header
        .and_then(|h| {
            String::from_utf8_lossy(h.value)
                .trim()
                .parse::<usize>()
                .ok()
        })
        .ok_or_else(|| bad("the answer has no Content-Length".into()))?;
    let body = &received[body_start..];
    Ok((body.len() >= length).then(|| Bytes::copy_from_slice(&body[..length])))
}

/// Starts a GET of `url` driven by a `Fetch`, and returns the future of its body.
fn fetch(event_loop: &EventLoop, url: &str) -> LoopFuture<Bytes, ImageError> {
    let answer = LoopFuture::new(event_loop);
    let parsed = url::Url::parse(url).ok();
    let host = parsed.as_ref().and_then(|u| u.host_str());
    let port = parsed.as_ref().and_then(|u| u.port_or_known_default());
    let address = host
        .zip(port)
        .and_then(|at| at.to_socket_addrs().ok()?.next());
    let (Some(parsed), Some(address)) = (&parsed, address) else {
        let why = format!("{url}: not an address to connect to");
        answer.set_exception(ImageError::Io(why));
        return answer;
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n",
        parsed.path()
    );
    let protocol = Fetch {
        request: request.into_bytes(),
        url: url.to_string(),
        received: Vec::new(),
        transport: None,
        answer: answer.clone(),
    };
    event_loop.create_connection(address, protocol);
    answer
}

/// What every callback shares (one thread: `Rc` and `RefCell` are enough).
struct Batch {
    event_loop: EventLoop,
    resize_pool: rayon::ThreadPool,
    job: Job,
    outcomes: RefCell<Vec<Outcome>>,
    /// Done when every image has its outcome.
    all_done: LoopFuture<(), ImageError>,
}

/// Starts one image: its download (through `Fetch` for a URL), then the rest.
fn start(batch: &Rc<Batch>, image: Image) {
    let (event_loop, pool, job) = (&batch.event_loop, &batch.resize_pool, &batch.job);
    let download = match &image.location {
        Location::Url(url) => steps::traced(job, &image, Phase::Download, fetch(event_loop, url)),
        Location::File(_) => steps::download(event_loop, pool, job, &image),
    };
    let batch = batch.clone();
    download.add_done_callback(move |bytes| match bytes {
        Ok(bytes) => resize(&batch, image, bytes),
        Err(error) => finish(&batch, image, Err(error)),
    });
}

/// The download is in: resize on the pool, and come back to the loop when done.
fn resize(batch: &Rc<Batch>, image: Image, bytes: Bytes) {
    let (job, on_pool) = (batch.job.clone(), image.clone());
    let thumbs = batch
        .event_loop
        .run_in_pool(&batch.resize_pool, move || job.thumbnail(&on_pool, &bytes));
    let batch = batch.clone();
    thumbs.add_done_callback(move |thumbs| match thumbs {
        Ok(thumbs) => upload(&batch, image, thumbs),
        Err(error) => finish(&batch, image, Err(error)),
    });
}

/// The thumbnails are made: store them.
fn upload(batch: &Rc<Batch>, image: Image, thumbs: Vec<Thumbnail>) {
    let (event_loop, pool, job) = (&batch.event_loop, &batch.resize_pool, &batch.job);
    let stored = steps::upload(event_loop, pool, job, &image, thumbs);
    let batch = batch.clone();
    stored.add_done_callback(move |names| finish(&batch, image, names));
}

/// One image is done; the last one ends the batch.
fn finish(batch: &Rc<Batch>, image: Image, result: Result<Vec<String>, ImageError>) {
    let mut outcomes = batch.outcomes.borrow_mut();
    outcomes.push(batch.job.finish(&image, result));
    if outcomes.len() == batch.job.images().len() {
        batch.all_done.set_result(());
    }
}

/// Starts every image, then turns the loop until the last one is done.
fn with_event_loop(job: &Job) -> io::Result<Vec<Outcome>> {
    if job.images().is_empty() {
        return Ok(Vec::new());
    }
    let event_loop = EventLoop::new()?;
    let resize_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .thread_name(|i| format!("resize-{}", i + 1))
        .build()
        .map_err(io::Error::other)?;
    let batch = Rc::new(Batch {
        all_done: LoopFuture::new(&event_loop),
        event_loop: event_loop.clone(),
        resize_pool,
        job: job.clone(),
        outcomes: RefCell::new(Vec::new()),
    });
    for image in job.images() {
        start(&batch, image.clone());
    }
    let _every_image_done = event_loop.run_until_complete(&batch.all_done)?;
    Ok(batch.outcomes.take())
}

fn thumbnail_all(job: &Job, _flags: &NoFlags) -> Vec<Outcome> {
    with_event_loop(job).unwrap_or_else(|error| {
        let why = ImageError::Io(format!("the event loop failed: {error}"));
        let fail = |image| job.finish(image, Err(why.clone()));
        job.images().iter().map(fail).collect()
    })
}

fn main() -> ExitCode {
    cli::run("ex08-protocol", thumbnail_all)
}
