//! A thread's life in its five states, measured: *new* (made, not yet running), then
//! *running* and *runnable* (on a core, or ready and waiting for one) and *waiting*
//! (blocked on the network, a lock, a sleep), then *dead* (its function returned) until a
//! `join` collects it.
//!
//! The parent notes when it asks for the thread and when `join` comes back; the thread
//! notes its first and last instruction and asks the scheduler how long it ran and how
//! long it waited for a core ([`SchedulerTimes`]). Whatever is left of its life was
//! spent waiting. The *new* and *dead* stretches become `starting` and `unjoined` spans,
//! so the timeline draws them at the two ends of each lane.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::poison::lock;
use crate::job::Job;
use crate::platform::SchedulerTimes;
use crate::trace::{Phase, Span, Tracer, now_us};

/// What was measured of one thread, in microseconds since the Unix epoch.
#[derive(Debug, Clone, Default)]
struct Life {
    /// The image the thread works on.
    image: String,
    /// The parent asked for the thread.
    made_us: u64,
    /// The thread ran its first instruction.
    started_us: u64,
    /// The thread's function returned.
    ended_us: u64,
    /// `join` came back in the parent.
    joined_us: u64,
    /// What the scheduler did with the thread while it lived.
    scheduler: Option<SchedulerTimes>,
}

/// The lives of a run's threads, by thread name; records nothing unless `enabled`.
#[derive(Clone)]
pub struct ThreadLives {
    enabled: bool,
    lives: Arc<Mutex<BTreeMap<String, Life>>>,
}

impl ThreadLives {
    /// A record of the threads to come; an empty one when `enabled` is false.
    pub fn new(enabled: bool) -> ThreadLives {
        ThreadLives {
            enabled,
            lives: Arc::default(),
        }
    }

    /// Wraps the function thread `name` is about to run for `image`, so that its life is
    /// measured from now (the moment of asking) to its last instruction.
    pub fn watch(
        &self,
        name: &str,
        image: &str,
        work: impl FnOnce() + Send + 'static,
    ) -> impl FnOnce() + Send + 'static {
        let lives = self.clone();
        let (name, image) = (name.to_string(), image.to_string());
        let made_us = now_us();
        move || {
            if !lives.enabled {
                return work();
            }
            let started_us = now_us();
            let before = SchedulerTimes::of_this_thread();
            work();
            let after = SchedulerTimes::of_this_thread();
            let mut all = lock(&lives.lives);
            let life = all.entry(name).or_default();
            life.image = image;
            life.made_us = made_us;
            life.started_us = started_us;
            life.ended_us = now_us();
            life.scheduler = after.zip(before).map(|(after, before)| after.since(before));
        }
    }

    /// `join` has collected thread `name`: its life is over.
    pub fn joined(&self, name: &str) {
        if self.enabled {
            lock(&self.lives)
                .entry(name.to_string())
                .or_default()
                .joined_us = now_us();
        }
    }

    /// Adds every thread's *new* and *dead* stretches to the job's trace, and tells the
    /// reader how long each thread spent in each state.
    pub fn finish(&self, job: &Job) {
        let table = self.record(job.tracer());
        if !table.is_empty() {
            job.say(table.trim_end());
        }
    }

    /// Adds every thread's *new* and *dead* stretches to `tracer`, and returns a table of
    /// the time each thread spent in each state (empty when nothing was recorded).
    fn record(&self, tracer: &Tracer) -> String {
        let lives = lock(&self.lives);
        let mut table = String::new();
        if lives.is_empty() {
            return table;
        }
        let _ = writeln!(
            table,
            "{:<12} {:>8} {:>8} {:>9} {:>8} {:>8}   (ms; running and runnable from the scheduler)",
            "thread", "new", "running", "runnable", "waiting", "dead"
        );
        for (name, life) in lives.iter().filter(|(_, life)| life.joined_us > 0) {
            for (phase, start_us, end_us) in [
                (Phase::Starting, life.made_us, life.started_us),
                (Phase::Unjoined, life.ended_us, life.joined_us),
            ] {
                tracer.push(Span {
                    worker: name.clone(),
                    image: life.image.clone(),
                    phase,
                    start_us,
                    end_us: end_us.max(start_us),
                });
            }
            let _ = writeln!(table, "{}", row(name, life));
        }
        table
    }
}

/// One thread's line of the table: how long it spent in each state, in milliseconds.
fn row(name: &str, life: &Life) -> String {
    let ms = |us: u64| us as f64 / 1e3;
    let alive = Duration::from_micros(life.ended_us.saturating_sub(life.started_us));
    let scheduler = life.scheduler.unwrap_or_default();
    let waiting = alive.saturating_sub(scheduler.on_cpu + scheduler.runnable);
    format!(
        "{name:<12} {:>8.2} {:>8.2} {:>9.2} {:>8.2} {:>8.2}",
        ms(life.started_us.saturating_sub(life.made_us)),
        scheduler.on_cpu.as_secs_f64() * 1e3,
        scheduler.runnable.as_secs_f64() * 1e3,
        waiting.as_secs_f64() * 1e3,
        ms(life.joined_us.saturating_sub(life.ended_us)),
    )
}

/// Tells the run (stderr and the summary) that some images got no thread, and why: the
/// limit of one thread per image, met (chapters 1 and 2).
pub fn tell_threads_refused(job: &Job, refused: &[std::io::Error]) {
    let Some(first) = refused.first() else {
        return;
    };
    job.note(format!(
        "{} images got no thread ({first}): one thread per image does not scale; \
         a pool of a few threads does (chapter 4)",
        refused.len()
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn a_thread_is_new_then_alive_then_dead_until_joined() {
        let lives = ThreadLives::new(true);
        let (go_on, wait) = std::sync::mpsc::channel::<()>();
        let work = lives.watch("image-00", "img-000", move || {
            let _ = wait.recv(); // Waiting: blocked on a channel.
        });
        let thread = thread::Builder::new()
            .name("image-00".into())
            .spawn(work)
            .unwrap();
        go_on.send(()).unwrap();
        while !thread.is_finished() {
            thread::yield_now();
        }
        let _ = thread.join();
        lives.joined("image-00");
        let tracer = Tracer::new();
        let table = lives.record(&tracer);
        let spans = tracer.spans();
        let span = |phase| spans.iter().find(|s| s.phase == phase).unwrap().clone();
        let (new, dead) = (span(Phase::Starting), span(Phase::Unjoined));
        // In this order: made, started, (alive), ended, joined.
        assert!(new.start_us <= new.end_us && new.end_us <= dead.start_us);
        assert!(dead.start_us <= dead.end_us);
        assert_eq!(
            (new.worker.as_str(), new.image.as_str()),
            ("image-00", "img-000")
        );
        assert!(
            table.lines().nth(1).unwrap().starts_with("image-00"),
            "{table}"
        );
    }

    #[test]
    fn nothing_is_recorded_when_not_enabled() {
        let lives = ThreadLives::new(false);
        let work = lives.watch("image-00", "img-000", || {});
        thread::spawn(work).join().unwrap();
        lives.joined("image-00");
        let tracer = Tracer::new();
        assert_eq!(lives.record(&tracer), "");
        assert!(tracer.spans().is_empty());
    }
}
