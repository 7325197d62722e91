//! The same spans in the Trace Event Format, the JSON that ui.perfetto.dev and
//! chrome://tracing open: one *complete event* (`"ph": "X"`) per span, with its start
//! (`ts`) and length (`dur`) in microseconds, and *metadata events* (`"ph": "M"`) that
//! name each process and thread, so the viewer shows `resize-1` rather than a number.
//!
//! A worker process of the process-pool chapter (labelled `pid N`) becomes process `N`
//! in the viewer; every other worker is a thread of the chapter's own process, given
//! [`CHAPTER_PID`]. Times start at 0 when the batch starts, as in the SVG timeline.

use serde::Serialize;

use super::{Trace, lanes};

/// The process id the viewer shows for the chapter's own process. The trace does not
/// record the chapter's real pid, and 1 cannot collide with a worker process's.
pub const CHAPTER_PID: u32 = 1;

/// One event of the Trace Event Format. Only the fields this export uses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// The span's name: its phase and image (`resize img-003`), or the metadata kind.
    pub name: String,
    /// The category: the phase, so the viewer can filter by it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cat: String,
    /// `X` for a complete event, `M` for metadata.
    pub ph: &'static str,
    /// Start in microseconds since the batch started.
    pub ts: u64,
    /// Length in microseconds (complete events only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dur: Option<u64>,
    /// The process.
    pub pid: u32,
    /// The thread.
    pub tid: u32,
    /// For a span, its image and phase; for metadata, the name given.
    pub args: serde_json::Value,
}

/// A whole file of the Trace Event Format (its object form).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChromeTrace {
    /// Every event: the metadata first, then one complete event per span.
    pub trace_events: Vec<Event>,
    /// The unit the viewer shows times in.
    pub display_time_unit: &'static str,
}

/// Where a worker lives in the viewer: its process and its thread.
fn place(worker: &str, lane: usize) -> (u32, u32) {
    match worker.strip_prefix("pid ").and_then(|pid| pid.parse().ok()) {
        // A worker process: a process of its own, with one thread.
        Some(pid) => (pid, pid),
        // Thread ids start at 1 in lane order, so the viewer lists them as the SVG does.
        None => (CHAPTER_PID, lane as u32 + 1),
    }
}

fn metadata(kind: &str, pid: u32, tid: u32, name: &str) -> Event {
    Event {
        name: kind.to_string(),
        cat: String::new(),
        ph: "M",
        ts: 0,
        dur: None,
        pid,
        tid,
        args: serde_json::json!({ "name": name }),
    }
}

impl Trace {
    /// The trace in the Trace Event Format.
    pub fn to_chrome(&self) -> ChromeTrace {
        let workers = lanes(self);
        let mut events = vec![metadata("process_name", CHAPTER_PID, 0, &self.chapter)];
        for (lane, worker) in workers.iter().enumerate() {
            let (pid, tid) = place(worker, lane);
            if pid != CHAPTER_PID {
                let process = format!("{} worker {worker}", self.chapter);
                events.push(metadata("process_name", pid, tid, &process));
            }
            events.push(metadata("thread_name", pid, tid, worker));
        }
        for span in &self.spans {
            let lane = workers.iter().position(|w| *w == span.worker).unwrap_or(0);
            let (pid, tid) = place(&span.worker, lane);
            events.push(Event {
                name: format!("{} {}", span.phase.name(), span.image),
                cat: span.phase.name().to_string(),
                ph: "X",
                ts: span.start_us.saturating_sub(self.start_us),
                dur: Some(span.end_us.saturating_sub(span.start_us)),
                pid,
                tid,
                args: serde_json::json!({ "image": span.image, "phase": span.phase.name() }),
            });
        }
        ChromeTrace {
            trace_events: events,
            display_time_unit: "ms",
        }
    }

    /// Writes the trace in the Trace Event Format (see [`Trace::to_chrome`]).
    pub fn write_chrome(&self, path: &std::path::Path) -> std::io::Result<()> {
        let json = serde_json::to_vec(&self.to_chrome()).map_err(std::io::Error::other)?;
        crate::platform::write_atomically(path, &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Phase, Span};

    #[test]
    fn every_span_is_one_complete_event_and_every_worker_is_named() {
        let span = |worker: &str, phase, start_us, end_us| Span {
            worker: worker.into(),
            image: "cat".into(),
            phase,
            start_us,
            end_us,
        };
        let trace = Trace {
            chapter: "ch05".into(),
            start_us: 1_000,
            end_us: 5_000,
            spans: vec![
                span("main", Phase::Download, 1_000, 2_000),
                span("pid 4242", Phase::Resize, 2_000, 4_500),
            ],
        };
        let chrome = trace.to_chrome();
        let complete: Vec<&Event> = chrome.trace_events.iter().filter(|e| e.ph == "X").collect();
        assert_eq!(complete.len(), 2);
        assert_eq!((complete[0].ts, complete[0].dur), (0, Some(1_000)));
        assert_eq!((complete[1].pid, complete[1].ts), (4242, 1_000));
        let named: Vec<&str> = chrome
            .trace_events
            .iter()
            .filter(|e| e.name == "thread_name")
            .filter_map(|e| e.args["name"].as_str())
            .collect();
        assert_eq!(named, ["main", "pid 4242"]);
    }
}
