//! The messages between the parent and a worker process, and the frames that carry
//! them over a pipe: a length, then that many bytes of JSON.

use std::io::{self, Read, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::contract::{Image, ImageError};
use crate::job::JobSpec;
use crate::trace::Span;

// ANCHOR: messages
/// What the parent sends to a worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// The first message: the job as data.
    Hello {
        /// Sizes, output, HTTP settings: everything needed to process an image. (Boxed:
        /// it is far larger than a task, and sent once.)
        spec: Box<JobSpec>,
        /// Abort (as if the worker crashed) on the image with this stem: for lessons.
        crash_on: Option<String>,
    },
    /// Process one image: download, thumbnail, store.
    Task(Image),
}

/// What a worker sends back for one task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reply {
    /// The thumbnails' names, or why there are none.
    pub result: Result<Vec<String>, ImageError>,
    /// The spans the worker recorded for this task, labelled `pid N`.
    pub spans: Vec<Span>,
    /// The worker's peak resident memory so far, in MiB.
    pub peak_rss_mb: f64,
}
// ANCHOR_END: messages

/// Frames larger than this are refused (a garbled length must not allocate gigabytes).
const MAX_FRAME: usize = 256 << 20;

// ANCHOR: frames
/// Writes `message` as one frame: 4 bytes of length, then the JSON.
pub fn write_frame(output: &mut impl Write, message: &impl Serialize) -> io::Result<()> {
    let body = serde_json::to_vec(message).map_err(io::Error::other)?;
    let length = u32::try_from(body.len()).map_err(io::Error::other)?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&length.to_le_bytes());
    frame.extend_from_slice(&body);
    output.write_all(&frame)?;
    output.flush()
}

/// Reads one frame; `None` when the other side closed the stream between frames.
pub fn read_frame<T: DeserializeOwned>(input: &mut impl Read) -> io::Result<Option<T>> {
    let mut length = [0u8; 4];
    match input.read_exact(&mut length) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let length = u32::from_le_bytes(length) as usize;
    if length > MAX_FRAME {
        return Err(io::Error::other(format!("a frame of {length} bytes")));
    }
    let mut body = vec![0u8; length];
    input.read_exact(&mut body)?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(io::Error::other)
}
// ANCHOR_END: frames
