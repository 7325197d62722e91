//! The worker's side: a process that reads the job, then one task after another, and
//! answers each.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

use super::frames::{Reply, Request, read_frame, write_frame};
use crate::job::Job;
use crate::platform::{die_with_parent, leave_stop_signals_to_parent, peak_rss_mb};
use crate::trace;

/// The hidden first argument that makes a chapter binary a worker process.
pub const WORKER_FLAG: &str = "--process-pool-worker";

/// If this process was started as a worker (`spawn`), serves tasks on stdin/stdout and
/// returns its exit code; otherwise `None`. Call it first thing in `main`.
pub fn run_as_worker_if_asked() -> Option<ExitCode> {
    if std::env::args().nth(1).as_deref() != Some(WORKER_FLAG) {
        return None;
    }
    Some(match serve(io::stdin().lock(), io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("worker process {}: {error}", std::process::id());
            ExitCode::FAILURE
        }
    })
}

// ANCHOR: serve
/// A worker's whole life: read the job, then one task after another until the input
/// ends, answering each with its result, spans and memory.
pub fn serve(mut input: impl Read, mut output: impl Write) -> io::Result<()> {
    die_with_parent();
    leave_stop_signals_to_parent(); // the parent stops the run; we finish our task
    trace::set_worker_label(format!("pid {}", std::process::id()));
    let Some(Request::Hello { spec, crash_on }) = read_frame(&mut input)? else {
        return Err(io::Error::other("the first message must be Hello"));
    };
    let job = Job::new(*spec, Vec::new(), indicatif::ProgressBar::hidden());
    let mut spans_sent = 0;
    while let Some(request) = read_frame::<Request>(&mut input)? {
        let Request::Task(image) = request else {
            return Err(io::Error::other("a second Hello"));
        };
        if crash_on.as_deref() == Some(image.stem.as_str()) {
            std::process::abort(); // the lesson's crash: no reply, no clean-up
        }
        let outcome = job.process(&image);
        let spans = job.tracer().spans();
        let reply = Reply {
            result: outcome.result,
            spans: spans[spans_sent..].to_vec(),
            peak_rss_mb: peak_rss_mb(),
        };
        spans_sent = spans.len();
        write_frame(&mut output, &reply)?;
    }
    Ok(()) // end of input: the parent is done with us (or gone)
}
// ANCHOR_END: serve

/// What the worker's side of a socket serves (the worker half of `fork`/`forkserver`).
pub(super) fn serve_socket(stream: UnixStream) -> i32 {
    let result = stream.try_clone().and_then(|input| serve(input, stream));
    match result {
        Ok(()) => 0,
        Err(_) => 1,
    }
}
