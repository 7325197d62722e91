//! Spans: who did what to which image, from when to when. A timeline is drawn from them,
//! and the summary's figures (time per phase, overlap) are computed from the same spans,
//! so the numbers and the picture can never disagree.
//!
//! Times are microseconds of the system clock since the Unix epoch. Unlike `Instant`,
//! that clock is one and the same for every process on the machine, so worker processes
//! (the process-pool chapter) record spans that line up with their parent's.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

mod chrome;

pub use chrome::{CHAPTER_PID, ChromeTrace, Event};

/// What a worker was doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Fetching an image (IO).
    Download,
    /// Decoding, resizing, encoding (CPU).
    Resize,
    /// Storing thumbnails (IO).
    Upload,
    /// Waiting for a turn: in a queue, for a lock, for a permit.
    QueueWait,
    /// A thread that is *new*: made by its parent, not yet running its first instruction.
    Starting,
    /// A thread that is *dead* but not collected: its function has returned, and its end
    /// waits for a `join`.
    Unjoined,
    /// Waiting before a failed request is tried again (backoff).
    RetryWait,
}

impl Phase {
    /// Every phase, in timeline order.
    pub const ALL: [Phase; 7] = [
        Phase::Download,
        Phase::Resize,
        Phase::Upload,
        Phase::QueueWait,
        Phase::Starting,
        Phase::Unjoined,
        Phase::RetryWait,
    ];

    /// Download, resize and upload are work; waiting, and a thread's birth and death, are
    /// not. (A retry's wait also lies inside its download or upload span: counting it
    /// would count it twice.)
    pub fn is_work(self) -> bool {
        matches!(self, Phase::Download | Phase::Resize | Phase::Upload)
    }

    /// The phases every run has; the others (a thread's birth and death, a retry's
    /// wait) appear only when a run records them.
    pub fn is_step(self) -> bool {
        self.is_work() || self == Phase::QueueWait
    }

    /// The phase's name as written in traces.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Download => "download",
            Phase::Resize => "resize",
            Phase::Upload => "upload",
            Phase::QueueWait => "queue_wait",
            Phase::Starting => "starting",
            Phase::Unjoined => "unjoined",
            Phase::RetryWait => "retry_wait",
        }
    }
}

/// One stretch of one worker's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// The worker: a thread's name, or `pid N` and a thread name for worker processes.
    pub worker: String,
    /// The image's label (its stem).
    pub image: String,
    /// What the worker was doing.
    pub phase: Phase,
    /// Start, in microseconds since the Unix epoch.
    pub start_us: u64,
    /// End, in microseconds since the Unix epoch.
    pub end_us: u64,
}

impl Span {
    /// The span's length in seconds.
    pub fn seconds(&self) -> f64 {
        self.end_us.saturating_sub(self.start_us) as f64 / 1e6
    }
}

/// Microseconds since the Unix epoch, on the clock every process shares.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

thread_local! {
    static LABEL: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Names the current thread in traces, overriding its thread name (worker processes use
/// it to add their pid).
pub fn set_worker_label(label: impl Into<String>) {
    LABEL.with(|cell| *cell.borrow_mut() = Some(label.into()));
}

/// The current worker's label: the label set with [`set_worker_label`], else the thread's
/// name (`main`, `download-07`, ...), else `thread-N` in order of first use.
pub fn worker_label() -> String {
    static UNNAMED: AtomicUsize = AtomicUsize::new(1);
    LABEL.with(|cell| {
        let mut label = cell.borrow_mut();
        label
            .get_or_insert_with(|| match std::thread::current().name() {
                Some(name) => name.to_string(),
                None => format!("thread-{}", UNNAMED.fetch_add(1, Ordering::Relaxed)),
            })
            .clone()
    })
}

/// Collects spans from every worker of a run.
///
/// A `Mutex<Vec>` is enough: a span is pushed once per phase of an image (a few hundred
/// per run), so the lock is taken rarely and held for a push.
#[derive(Debug, Default)]
pub struct Tracer {
    spans: Mutex<Vec<Span>>,
}

impl Tracer {
    /// An empty tracer.
    pub fn new() -> Tracer {
        Tracer::default()
    }

    /// Runs `work`, recording it as a span of `phase` for `image` on the current worker.
    pub fn record<T>(&self, image: &str, phase: Phase, work: impl FnOnce() -> T) -> T {
        let start_us = now_us();
        let result = work();
        self.push(Span {
            worker: worker_label(),
            image: image.to_string(),
            phase,
            start_us,
            end_us: now_us(),
        });
        result
    }

    /// Adds a span measured elsewhere (in another process, or by hand).
    pub fn push(&self, span: Span) {
        self.spans
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(span);
    }

    /// The spans so far, in the order they ended.
    pub fn spans(&self) -> Vec<Span> {
        self.spans
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// A whole run's trace, as written by `--trace FILE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// The chapter that ran.
    pub chapter: String,
    /// When the batch started (microseconds since the Unix epoch).
    pub start_us: u64,
    /// When the batch ended.
    pub end_us: u64,
    /// Every span of every worker.
    pub spans: Vec<Span>,
}

impl Trace {
    /// Writes the trace as JSON.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        crate::platform::write_atomically(path, &json)
    }

    /// Reads a trace written by [`Trace::write`].
    pub fn read(path: &Path) -> std::io::Result<Trace> {
        let bytes = std::fs::read(path)?;
        serde_json::from_slice(&bytes).map_err(std::io::Error::other)
    }

    /// The most images that were, at one moment, downloaded and not yet being resized:
    /// what a pipeline holds in memory between its stages. Counted from the spans, +1
    /// when a download ends and -1 when a resize starts (at equal times the start counts
    /// first), never timed.
    pub fn most_images_waiting(&self) -> usize {
        let mut events: Vec<(u64, i64)> = Vec::new();
        for span in &self.spans {
            match span.phase {
                Phase::Download => events.push((span.end_us, 1)),
                Phase::Resize => events.push((span.start_us, -1)),
                _ => {}
            }
        }
        events.sort();
        let mut waiting: i64 = 0;
        let mut most = 0;
        for (_, change) in events {
            waiting += change;
            most = most.max(waiting);
        }
        most.max(0) as usize
    }

    /// The figures derived from the spans.
    pub fn figures(&self) -> Figures {
        let wall_s = self.end_us.saturating_sub(self.start_us) as f64 / 1e6;
        let mut per_phase = BTreeMap::new();
        let mut per_worker: BTreeMap<String, f64> = BTreeMap::new();
        for span in &self.spans {
            *per_phase.entry(span.phase).or_insert(0.0) += span.seconds();
            if span.phase.is_work() {
                *per_worker.entry(span.worker.clone()).or_insert(0.0) += span.seconds();
            }
        }
        let work_s: f64 = per_worker.values().sum();
        let phase = |p| per_phase.get(&p).copied().unwrap_or(0.0);
        Figures {
            wall_s,
            download_s: phase(Phase::Download),
            resize_s: phase(Phase::Resize),
            upload_s: phase(Phase::Upload),
            queue_wait_s: phase(Phase::QueueWait),
            overlap: if wall_s > 0.0 { work_s / wall_s } else { 0.0 },
            busy_per_worker: per_worker,
        }
    }
}

/// What a trace says about a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// Wall-clock time of the batch.
    pub wall_s: f64,
    /// Download time, summed over workers.
    pub download_s: f64,
    /// Resize time, summed over workers.
    pub resize_s: f64,
    /// Upload time, summed over workers.
    pub upload_s: f64,
    /// Waiting time, summed over workers.
    pub queue_wait_s: f64,
    /// **Overlap**: work time (download + resize + upload) over wall time. Sequential code
    /// has at most 1; ten downloads waiting at the same moment make it about 10.
    pub overlap: f64,
    /// Work time of each worker; divided by the wall time, its utilisation.
    pub busy_per_worker: BTreeMap<String, f64>,
}

/// The workers of a trace in lane order: `main` first, then grouped by kind
/// ([`worker_kind`]) with numbers in numeric order (`resize-2` before `resize-10`).
pub fn lanes(trace: &Trace) -> Vec<String> {
    let mut workers: Vec<String> = trace.spans.iter().map(|s| s.worker.clone()).collect();
    workers.sort_by_key(|w| lane_key(w));
    workers.dedup();
    workers
}

/// What kind of worker a label names: the label without its number (`download-07` and
/// `download-12` are both `download`, `pid 4242` is `pid`, `task-img-003` is
/// `task-img`). A timeline groups lanes of one kind together.
pub fn worker_kind(worker: &str) -> &str {
    let digits_at = worker
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    let stem = worker[..digits_at].trim_end_matches(['-', '_', ' ', '#']);
    if stem.is_empty() { worker } else { stem }
}

fn lane_key(worker: &str) -> (bool, String, u64, String) {
    let digits_at = worker
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    (
        worker != "main",
        worker_kind(worker).to_string(),
        worker[digits_at..].parse().unwrap_or(0),
        worker.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(worker: &str, phase: Phase, start_us: u64, end_us: u64) -> Span {
        Span {
            worker: worker.into(),
            image: "img".into(),
            phase,
            start_us,
            end_us,
        }
    }

    #[test]
    fn images_waiting_are_counted_between_download_end_and_resize_start() {
        let trace = Trace {
            chapter: "test".into(),
            start_us: 0,
            end_us: 100,
            spans: vec![
                // Three downloads end at 10, 20 and 30; resizes start at 20, 40 and 50.
                span("d", Phase::Download, 0, 10),
                span("d", Phase::Download, 10, 20),
                span("d", Phase::Download, 20, 30),
                span("r", Phase::Resize, 20, 40),
                span("r", Phase::Resize, 40, 50),
                span("r", Phase::Resize, 50, 60),
                span("u", Phase::Upload, 0, 100),
            ],
        };
        // At 10: one waits; at 20 one more arrives as one is taken (the start counts
        // first); at 30: two wait.
        assert_eq!(trace.most_images_waiting(), 2);
    }

    #[test]
    fn overlap_is_work_time_over_wall_time() {
        let trace = Trace {
            chapter: "test".into(),
            start_us: 0,
            end_us: 2_000_000,
            spans: vec![
                span("a", Phase::Download, 0, 2_000_000),
                span("b", Phase::Download, 0, 1_000_000),
                span("b", Phase::Resize, 1_000_000, 2_000_000),
                span("c", Phase::QueueWait, 0, 2_000_000),
            ],
        };
        let figures = trace.figures();
        assert_eq!(figures.wall_s, 2.0);
        assert_eq!(figures.download_s, 3.0);
        assert_eq!(figures.resize_s, 1.0);
        assert_eq!(figures.queue_wait_s, 2.0);
        assert_eq!(figures.overlap, 2.0);
        assert_eq!(figures.busy_per_worker.get("b"), Some(&2.0));
        assert_eq!(figures.busy_per_worker.get("c"), None);
    }

    #[test]
    fn lanes_put_main_first_and_group_workers_by_kind() {
        let trace = Trace {
            chapter: "t".into(),
            start_us: 0,
            end_us: 1,
            spans: ["resize-10", "resize-2", "main", "download-01", "resize-2"]
                .map(|w| span(w, Phase::Resize, 0, 1))
                .to_vec(),
        };
        assert_eq!(
            lanes(&trace),
            ["main", "download-01", "resize-2", "resize-10"]
        );
        assert_eq!(worker_kind("download-07"), "download");
        assert_eq!(worker_kind("pid 4242"), "pid");
        assert_eq!(worker_kind("task-img-003"), "task-img");
        assert_eq!(worker_kind("main"), "main");
        assert_eq!(worker_kind("42"), "42");
    }

    #[test]
    fn spans_name_their_worker() {
        let tracer = Tracer::new();
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("download-07".into())
                .spawn_scoped(s, || tracer.record("cat", Phase::Download, || ()))
                .unwrap();
        });
        let spans = tracer.spans();
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].worker, "download-07");
        assert_eq!(spans[0].image, "cat");
        assert!(spans[0].end_us >= spans[0].start_us);
    }
}
