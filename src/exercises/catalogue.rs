//! Every exercise, chapter by chapter, graded from guided (fill one gap) to open (fix a
//! bug you have to find). Adding one is a file under `exercises/` (with its pristine
//! copy and its solution), a `[[bin]]` in `Cargo.toml`, and one entry here.

use std::time::Duration;

use super::claims::{
    Verdict, every_image_done, exit_code, failed_exactly, in_flight, lanes, later_deliveries,
    printed, thumbnails_identical,
};
use super::{Exercise, Stage, Trial};
use crate::trace::{Phase, Span};

/// Every exercise, in reading order.
pub const ALL: &[Exercise] = &[
    // Chapter 0: one loop.
    Exercise {
        name: "ex00-loop",
        chapter: "ch00-sequential",
        file: "ch00/loop.rs",
        concept: "the sequential baseline: download, thumbnail, upload, then the next",
        hints: &[
            "Go through `job.images()` in order and push one outcome per image.",
            "`thumbnail_one(job, image)` already does the three steps of one image.",
        ],
        stage: Stage::new(),
        check: one_at_a_time,
    },
    Exercise {
        name: "ex00-keep-going",
        chapter: "ch00-sequential",
        file: "ch00/keep_going.rs",
        concept: "one bad image never stops the batch",
        hints: &[
            "Look at what the loop does when an image fails.",
            "A failure is an outcome like any other: keep it and go on with the next image.",
        ],
        stage: Stage {
            broken: true,
            ..Stage::new()
        },
        check: broken_image_named,
    },
    // Chapter 1: threads.
    Exercise {
        name: "ex01-join-after-start",
        chapter: "ch01-threads",
        file: "ch01/join_after_start.rs",
        concept: "start every thread before joining any (the --join-in-loop bug)",
        hints: &[
            "Where does `main` wait for a thread, and what has started by then?",
            "Keep the handles in a Vec; join them in a second loop, after every start.",
        ],
        stage: Stage::new(),
        check: downloads_overlap,
    },
    Exercise {
        name: "ex01-limit-downloads",
        chapter: "ch01-threads",
        file: "ch01/limit_downloads.rs",
        concept: "a counting semaphore: at most 2 downloads in flight, one thread per image",
        hints: &[
            "`workbench::patterns::semaphore::Semaphore::new(2)`, shared through an `Arc`.",
            "Hold a permit (`semaphore.acquire()`) for the download only, then drop it.",
        ],
        stage: Stage::new(),
        check: two_downloads_at_most,
    },
    Exercise {
        name: "ex01-daemon-reporter",
        chapter: "ch01-threads",
        file: "ch01/daemon_reporter.rs",
        concept: "a daemon thread: a reporter the program does not wait for",
        hints: &[
            "The reporter loops forever. What happens to a `join` on it?",
            "Python's daemon thread is a thread nobody joins: drop its handle instead.",
        ],
        stage: Stage {
            time_limit: Duration::from_secs(15),
            ..Stage::new()
        },
        check: ends_with_reporter_running,
    },
    // Chapter 2: join handles.
    Exercise {
        name: "ex02-panic-is-a-failure",
        chapter: "ch02-join-handles",
        file: "ch02/panic_is_a_failure.rs",
        concept: "a panic comes back through join: report it as that image's failure",
        hints: &[
            "`JoinHandle::join` returns `Err(payload)` when the thread panicked.",
            "`workbench::patterns::panic_message::panic_message(&payload)` gives its text.",
            "`job.finish(image, Err(ImageError::Panicked(message)))` reports it.",
        ],
        stage: Stage::new(),
        check: panic_reported,
    },
    Exercise {
        name: "ex02-is-alive",
        chapter: "ch02-join-handles",
        file: "ch02/is_alive.rs",
        concept: "poll is_finished (Python's is_alive) to notice threads as they end",
        hints: &[
            "Joining in input order waits for img-000, the slow one, first.",
            "Loop over the handles still running; `is_finished()` says which are done.",
            "Join (and print) a finished one at once; sleep a few ms between rounds.",
        ],
        stage: Stage::new(),
        check: finished_in_completion_order,
    },
    // Chapter 3: worker structs.
    Exercise {
        name: "ex03-worker-run",
        chapter: "ch03-worker-structs",
        file: "ch03/worker_run.rs",
        concept: "a Worker struct whose run(&mut self) does its share (subclassing Thread)",
        hints: &[
            "`self.images` is this worker's share; `self.job.process(image)` does one.",
            "Push each outcome into `self.outcomes`: `main` reads them after the join.",
        ],
        stage: Stage {
            flags: &["--workers", "2"],
            ..Stage::new()
        },
        check: two_worker_lanes,
    },
    Exercise {
        name: "ex03-thread-names",
        chapter: "ch03-worker-structs",
        file: "ch03/thread_names.rs",
        concept: "Thread(target, kwargs) and Python's default names Thread-1, Thread-2, ...",
        hints: &[
            "A thread made without a name gets `Thread-N`, N counting from 1 per process.",
            "A static `AtomicUsize` counts; `fetch_add(1, Ordering::Relaxed)` takes a number.",
        ],
        stage: Stage::new(),
        check: python_thread_names,
    },
    // Chapter 4: a thread pool.
    Exercise {
        name: "ex04-hold-lock",
        chapter: "ch04-thread-pool",
        file: "ch04/hold_lock.rs",
        concept: "a worker loop that keeps the queue's lock runs one task at a time",
        hints: &[
            "How long does each worker keep the guard of `queue.lock()`?",
            "Lock, take one task, let the guard go, then run the task.",
        ],
        stage: Stage::new(),
        check: pool_of_three_overlaps,
    },
    Exercise {
        name: "ex04-as-completed",
        chapter: "ch04-thread-pool",
        file: "ch04/as_completed.rs",
        concept: "as_completed: handle each download as soon as it is done",
        hints: &[
            "Waiting on the futures in input order waits for img-000, the slow one, first.",
            "`workbench::patterns::task_future::as_completed(downloads)` yields in finish order.",
        ],
        stage: Stage::new(),
        check: resizes_start_before_last_download,
    },
    Exercise {
        name: "ex04-cancel-after-failures",
        chapter: "ch04-thread-pool",
        file: "ch04/cancel_after_failures.rs",
        concept: "cancel the futures still queued after the 2nd failed download",
        hints: &[
            "Count the failed downloads as their futures complete.",
            "At the 2nd failure, call `cancel()` on every future not yet looked at.",
            "A cancelled future's `result()` is `Err(TaskError::Cancelled)`: report it as \
             `ImageError::Cancelled` for that image.",
        ],
        stage: Stage {
            images: 10,
            fail_rate: 0.3,
            fail_seed: CANCEL_SEED,
            ..Stage::new()
        },
        check: nothing_started_after_second_failure,
    },
    // Chapter 5: worker processes.
    Exercise {
        name: "ex05-worker-processes",
        chapter: "ch05-process-pool",
        file: "ch05/worker_processes.rs",
        concept: "a pool of worker processes fed tasks as data",
        hints: &[
            "`ProcessPool::new(starter, workers, job, None)` starts the workers.",
            "`pool.map(images)` gives one result per image, in input order.",
        ],
        stage: Stage {
            flags: &["--workers", "2"],
            ..Stage::new()
        },
        check: two_processes,
    },
    Exercise {
        name: "ex05-crashed-worker",
        chapter: "ch05-process-pool",
        file: "ch05/crashed_worker.rs",
        concept: "a worker killed mid-task: its image fails, the batch goes on",
        hints: &[
            "A task's result is `Result<TaskResult, TaskError>`: two ways to fail.",
            "`TaskResult` is already the image's own `Result`; turn a `TaskError` into one.",
        ],
        stage: Stage {
            flags: &["--workers", "2", "--crash-on", "img-002"],
            ..Stage::new()
        },
        check: crash_reported,
    },
    // Chapter 6: shared state.
    Exercise {
        name: "ex06-race",
        chapter: "ch06-shared-state",
        file: "ch06/race.rs",
        concept: "a lost update: read, pause, write back; fix it with an atomic add",
        hints: &[
            "Two threads that read the same value both write back that value plus theirs.",
            "`AtomicUsize::fetch_add` reads and writes in one step nobody can cut in two.",
        ],
        stage: Stage::new(),
        check: every_thumbnail_counted,
    },
    Exercise {
        name: "ex06-deadlock",
        chapter: "ch06-shared-state",
        file: "ch06/deadlock.rs",
        concept: "two locks taken in opposite orders: a deadlock; one order for everyone",
        hints: &[
            "Which lock does each kind of worker take first?",
            "Take `ledger` then `log` everywhere: a single order cannot make a cycle.",
        ],
        stage: Stage {
            time_limit: Duration::from_secs(15),
            ..Stage::new()
        },
        check: ends_and_completes,
    },
    Exercise {
        name: "ex06-channel",
        chapter: "ch06-shared-state",
        file: "ch06/channel.rs",
        concept: "share by sending: workers send outcomes through a channel (queue.Queue)",
        hints: &[
            "Each worker owns a clone of the `Sender`; `main` keeps the `Receiver`.",
            "Drop `main`'s own sender, then `for outcome in receiver` ends with the workers.",
        ],
        stage: Stage::new(),
        check: three_workers_send,
    },
    // Chapter 7: async.
    Exercise {
        name: "ex07-await-in-loop",
        chapter: "ch07-async",
        file: "ch07/await_in_loop.rs",
        concept: "awaiting in the loop runs one task at a time (the --await-in-loop bug)",
        hints: &[
            "An `.await` inside the loop waits before the next image is even started.",
            "Spawn every image on a `tokio::task::JoinSet` first, then await them all.",
        ],
        stage: Stage::new(),
        check: downloads_overlap,
    },
    Exercise {
        name: "ex07-block-in-async",
        chapter: "ch07-async",
        file: "ch07/block_in_async.rs",
        concept: "CPU work blocks the runtime's thread (the --block-in-async bug)",
        hints: &[
            "The runtime has one thread, `main`: while it resizes, no task moves.",
            "`tokio::task::spawn_blocking` runs the resize on a thread of its own.",
        ],
        stage: Stage::new(),
        check: resizes_off_the_runtime,
    },
    Exercise {
        name: "ex07-bounded",
        chapter: "ch07-async",
        file: "ch07/bounded.rs",
        concept: "bounded concurrency: at most 2 downloads with tokio's Semaphore",
        hints: &[
            "`tokio::sync::Semaphore::new(2)` in an `Arc`, one clone per task.",
            "`acquire().await` before the download; drop the permit after it.",
        ],
        stage: Stage::new(),
        check: two_downloads_at_most,
    },
    Exercise {
        name: "ex07-retry",
        chapter: "ch07-async",
        file: "ch07/retry.rs",
        concept: "retries with backoff and full jitter against a busy store",
        hints: &[
            "A `loop` around `job.download(image).await`: return on success, on a failure that \
             cannot pass, or when `retry == RETRIES`.",
            "The wait before retry n: `(FIRST_WAIT * 2_u32.pow(n)).mul_f64(fastrand::f64())`, \
             awaited through `job.retry_wait(image, pause)`.",
        ],
        stage: Stage {
            flaky_rate: 0.3,
            fail_seed: RETRY_SEED,
            flags: &["--retries", "0"],
            ..Stage::new()
        },
        check: retries_wait_between_tries,
    },
    // Chapter 8: the event loop.
    Exercise {
        name: "ex08-callbacks",
        chapter: "ch08-event-loop",
        file: "ch08/callbacks.rs",
        concept: "a chain of done callbacks: download, resize on a pool, upload",
        hints: &[
            "`event_loop.run_in_pool(&pool, move || job.thumbnail(&image, &bytes))` gives a future.",
            "`add_done_callback` on it: upload on `Ok`, finish with the error on `Err`.",
        ],
        stage: Stage::new(),
        check: callbacks_overlap,
    },
    Exercise {
        name: "ex08-call-later",
        chapter: "ch08-event-loop",
        file: "ch08/call_later.rs",
        concept: "call_later: start image i's download i x 50 ms after the first",
        hints: &[
            "`event_loop.call_later(delay, callback)` runs `callback` on the loop after `delay`.",
            "Schedule every start at once, each with its own delay; do not sleep.",
        ],
        stage: Stage::new(),
        check: starts_staggered,
    },
    Exercise {
        name: "ex08-protocol",
        chapter: "ch08-event-loop",
        file: "ch08/protocol.rs",
        concept: "a protocol: a connection as callbacks, and a transport to write to",
        hints: &[
            "`connection_made` gets the transport: `transport.write(&self.request)`, and keep \
             `transport.clone()` in `self.transport`.",
            "In `data_received`, call `complete_body` on everything received so far: `Ok(None)` \
             means wait for more; `set_result` then `close()`, or `set_exception` then `abort()`.",
            "`connection_lost` always comes last: set an error only if `!self.answer.done()`.",
        ],
        stage: Stage {
            fail_rate: 0.3,
            fail_seed: PROTOCOL_SEED,
            ..Stage::new()
        },
        check: refused_images_fail_alone,
    },
    // Chapter 9: the pipeline.
    Exercise {
        name: "ex09-unbounded",
        chapter: "ch09-pipeline",
        file: "ch09/unbounded.rs",
        concept: "backpressure: a bounded channel holds the downloader back",
        hints: &[
            "How many downloaded images can pile up in an unbounded channel?",
            "`crossbeam_channel::bounded(1)`: `send` waits while the channel is full.",
        ],
        stage: Stage {
            images: 12,
            latency: Duration::ZERO,
            ..Stage::new()
        },
        check: little_waits_between_stages,
    },
    Exercise {
        name: "ex09-input-order",
        chapter: "ch09-pipeline",
        file: "ch09/input_order.rs",
        concept: "results in input order from stages that finish out of order",
        hints: &[
            "Results arrive tagged with their index; img-000 arrives last.",
            "Keep early arrivals in a `BTreeMap` and print while the next index is there.",
        ],
        stage: Stage::new(),
        check: stored_in_input_order,
    },
    // Chapter 10: workers through a broker.
    Exercise {
        name: "ex10-ack-on-receipt",
        chapter: "ch10-distributed",
        file: "ch10/ack_on_receipt.rs",
        concept: "at-least-once: ack a job after its result is published, not on receipt",
        hints: &[
            "A killed worker sends nothing. What has the broker already heard about its job?",
            "An acknowledged job is deleted from the queue: nobody can be handed it again.",
            "Ack (`message.double_ack()`) only once `publish_result` returned `Ok`.",
        ],
        stage: Stage {
            flags: &[
                "--workers",
                "2",
                "--slots",
                "1",
                "--ack-wait",
                "1s",
                "--kill-one-worker-after",
                "2",
            ],
            time_limit: Duration::from_secs(30),
            ..Stage::new()
        },
        check: killed_workers_job_redelivered,
    },
    Exercise {
        name: "ex10-keep-the-lease",
        chapter: "ch10-distributed",
        file: "ch10/keep_the_lease.rs",
        concept: "a long job renews its lease with \"in progress\" acks",
        hints: &[
            "The broker takes a job back when it hears nothing for the ack wait.",
            "`tokio::time::interval(lease.ack_wait / 3)`; `tokio::select!` between the \
             work and the next tick (pin the work first).",
            "On each tick, `message.ack_with(AckKind::Progress)`; return when the work ends.",
        ],
        // Every job is longer than its 1 s lease, and the PNG, paced by the bandwidth,
        // about three times longer than a JPEG. Eight slots for six jobs leave some idle:
        // a job the broker takes back goes to one of them while it still runs, and a
        // JPEG's second run ends while the PNG's first still holds the batch open.
        stage: Stage {
            latency: Duration::from_millis(1500),
            bandwidth: Some(LEASE_BANDWIDTH),
            flags: &["--workers", "2", "--slots", "4", "--ack-wait", "1s"],
            ..Stage::new()
        },
        check: every_job_delivered_once,
    },
];

/// The store's seed for `ex04-cancel-after-failures`: of its ten images it fails img-000,
/// img-006 and img-007, so that the last images can be cancelled after the second failure.
const CANCEL_SEED: u64 = 3;

/// The seed with which the busy store of `ex07-retry` lets the listing through and
/// fails some of the downloads after it.
const RETRY_SEED: u64 = 2;

/// The seed with which the store refuses some, not all, of `ex08-protocol`'s images.
const PROTOCOL_SEED: u64 = 1;

/// The store's bytes per second for `ex10-keep-the-lease`: a JPEG of its corpus (about
/// 18 kB) takes 0.5 s more than the latency, the PNG (about 145 kB) 3.7 s more.
const LEASE_BANDWIDTH: u64 = 40_000;

/// The exercise called `name`.
pub fn find(name: &str) -> Option<&'static Exercise> {
    ALL.iter().find(|exercise| exercise.name == name)
}

fn one_at_a_time(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    in_flight(&mut verdict, trial, Phase::Download, 1, 1);
    in_flight(&mut verdict, trial, Phase::Resize, 1, 1);
    verdict
}

fn broken_image_named(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    failed_exactly(&mut verdict, trial, &["broken"], "not an image");
    verdict
}

fn downloads_overlap(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    in_flight(&mut verdict, trial, Phase::Download, 2, usize::MAX);
    verdict
}

fn two_downloads_at_most(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    in_flight(&mut verdict, trial, Phase::Download, 2, 2);
    verdict
}

fn ends_with_reporter_running(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    let reports = printed(trial, "progress:");
    verdict.claim(
        !reports.is_empty(),
        format!(
            "the reporter printed progress lines ({} seen)",
            reports.len()
        ),
    );
    verdict
}

fn panic_reported(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    failed_exactly(&mut verdict, trial, &["img-002"], "panicked");
    verdict
}

fn finished_in_completion_order(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    let finished = printed(trial, "finished");
    let mut seen = finished.clone();
    seen.sort();
    verdict.claim(
        seen == trial.stems(),
        format!(
            "every image is reported finished once (seen: {})",
            finished.join(", ")
        ),
    );
    verdict.claim(
        finished.last().is_some_and(|last| last == "img-000"),
        "img-000, the slow one, is reported last: the others were noticed as they ended",
    );
    verdict
}

fn two_worker_lanes(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    let workers = lanes(&trial.spans(), Phase::Download);
    let wanted = ["worker-1", "worker-2"];
    verdict.claim(
        workers.iter().eq(wanted.iter()),
        format!("the downloads ran on worker-1 and worker-2 (lanes: {workers:?})"),
    );
    in_flight(&mut verdict, trial, Phase::Download, 2, 2);
    verdict
}

fn python_thread_names(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    let names = lanes(&trial.spans(), Phase::Download);
    let wanted: std::collections::BTreeSet<String> = (1..=trial.stems().len())
        .map(|n| format!("Thread-{n}"))
        .collect();
    verdict.claim(
        names == wanted,
        format!(
            "the threads are named Thread-1 to Thread-{} (lanes: {names:?})",
            wanted.len()
        ),
    );
    verdict
}

fn pool_of_three_overlaps(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    in_flight(&mut verdict, trial, Phase::Download, 2, 3);
    verdict
}

fn resizes_start_before_last_download(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    let spans = trial.spans();
    let first_resize = spans
        .iter()
        .filter(|s| s.phase == Phase::Resize)
        .map(|s| s.start_us)
        .min();
    let last_download = spans
        .iter()
        .filter(|s| s.phase == Phase::Download)
        .map(|s| s.end_us)
        .max();
    verdict.claim(
        matches!((first_resize, last_download), (Some(r), Some(d)) if r < d),
        "a resize started while the slow download was still in flight",
    );
    verdict
}

fn nothing_started_after_second_failure(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    exit_code(&mut verdict, trial, 1);
    let failures = trial.failures();
    let http: Vec<&String> = failures
        .iter()
        .filter(|(_, error)| error.contains("HTTP 503"))
        .map(|(stem, _)| stem)
        .collect();
    let spans = trial.spans();
    let mut failed_ends: Vec<u64> = spans
        .iter()
        .filter(|s| s.phase == Phase::Download && http.contains(&&s.image))
        .map(|s| s.end_us)
        .collect();
    failed_ends.sort();
    let Some(&second) = failed_ends.get(1) else {
        verdict.claim(false, "the trace shows two failed downloads");
        return verdict;
    };
    let late = spans
        .iter()
        .filter(|s| s.phase == Phase::Download && s.start_us > second)
        .count();
    // The one worker may have taken the next task before the failure was seen.
    verdict.claim(
        late <= 1,
        format!(
            "at most one download (the one already taken) started after the 2nd failure \
             ({late} did)"
        ),
    );
    // An image with no download span never started: it must be reported as cancelled.
    let never_started: Vec<String> = trial
        .stems()
        .into_iter()
        .filter(|stem| {
            !spans
                .iter()
                .any(|s| s.phase == Phase::Download && &s.image == stem)
        })
        .collect();
    let not_cancelled: Vec<&str> = never_started
        .iter()
        .map(String::as_str)
        .filter(|stem| {
            !failures
                .iter()
                .any(|(failed, error)| failed == stem && error.contains("cancelled"))
        })
        .collect();
    verdict.claim(
        !never_started.is_empty() && not_cancelled.is_empty(),
        format!(
            "the images never downloaded ({}) are reported as cancelled{}",
            never_started.len(),
            if not_cancelled.is_empty() {
                String::new()
            } else {
                format!(" (not: {})", not_cancelled.join(", "))
            }
        ),
    );
    let failing: Vec<&str> = failures.iter().map(|(stem, _)| stem.as_str()).collect();
    thumbnails_identical(&mut verdict, trial, &failing);
    verdict
}

fn two_processes(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    let processes = lanes(&trial.spans(), Phase::Resize)
        .into_iter()
        .filter(|lane| lane.starts_with("pid "))
        .count();
    verdict.claim(
        processes == 2,
        format!("the resizes ran in 2 worker processes ({processes} seen)"),
    );
    in_flight(&mut verdict, trial, Phase::Download, 2, 2);
    verdict
}

fn crash_reported(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    failed_exactly(&mut verdict, trial, &["img-002"], "was killed");
    verdict
}

fn every_thumbnail_counted(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    let made = trial.summary.as_ref().map_or(0, |s| s.thumbnails);
    let counted = printed(trial, "thumbnails counted:");
    verdict.claim(
        counted.len() == 1 && counted[0] == made.to_string(),
        format!(
            "the shared counter says {made} thumbnails, as many as were made (it says {})",
            counted.first().map_or("nothing", String::as_str)
        ),
    );
    verdict
}

fn ends_and_completes(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    verdict
}

fn three_workers_send(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    let workers = lanes(&trial.spans(), Phase::Download);
    verdict.claim(
        workers.iter().all(|w| w.starts_with("worker-")) && workers.len() == 3,
        format!("three workers did the downloads (lanes: {workers:?})"),
    );
    in_flight(&mut verdict, trial, Phase::Download, 2, 3);
    verdict
}

fn resizes_off_the_runtime(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    let resizers = lanes(&trial.spans(), Phase::Resize);
    verdict.claim(
        !resizers.is_empty() && !resizers.contains("main"),
        format!("no resize ran on the runtime's thread, main (resize lanes: {resizers:?})"),
    );
    in_flight(&mut verdict, trial, Phase::Download, 2, usize::MAX);
    verdict
}

fn callbacks_overlap(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    let resizers = lanes(&trial.spans(), Phase::Resize);
    verdict.claim(
        !resizers.is_empty() && resizers.iter().all(|lane| lane.starts_with("resize-")),
        format!("every resize ran on the pool, not on the loop (lanes: {resizers:?})"),
    );
    in_flight(&mut verdict, trial, Phase::Download, 2, usize::MAX);
    verdict
}

fn starts_staggered(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    let spans = trial.spans();
    let start_of = |stem: &str| {
        spans
            .iter()
            .find(|s| s.phase == Phase::Download && s.image == stem)
            .map(|s| s.start_us)
    };
    let starts: Vec<Option<u64>> = trial.stems().iter().map(|stem| start_of(stem)).collect();
    let first = starts.first().copied().flatten().unwrap_or(0);
    // A timer never fires early: image i cannot start before i x 50 ms.
    let early: Vec<String> = starts
        .iter()
        .enumerate()
        .filter(|(i, start)| start.is_none_or(|s| s < first + *i as u64 * 50_000))
        .map(|(i, _)| format!("img-{i:03}"))
        .collect();
    verdict.claim(
        early.is_empty(),
        format!(
            "image i's download started no sooner than i x 50 ms after img-000's{}",
            if early.is_empty() {
                String::new()
            } else {
                format!(" (too soon: {})", early.join(", "))
            }
        ),
    );
    in_flight(&mut verdict, trial, Phase::Download, 2, usize::MAX);
    verdict
}

fn retries_wait_between_tries(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    let spans = trial.spans();
    let of = |stem: &str, phase| {
        let mut found: Vec<&Span> = spans
            .iter()
            .filter(|s| s.image == stem && s.phase == phase)
            .collect();
        found.sort_by_key(|s| s.start_us);
        found
    };
    let (mut retried, mut hurried, mut most) = (0, Vec::new(), 0);
    for stem in trial.stems() {
        let (tries, waits) = (of(&stem, Phase::Download), of(&stem, Phase::RetryWait));
        most = most.max(tries.len());
        retried += usize::from(tries.len() > 1);
        // Between each two tries, a wait that began after the first and ended before
        // the second: no try follows a failure at once.
        let waited = |pair: &[&Span]| {
            waits
                .iter()
                .any(|w| pair[0].end_us <= w.start_us && w.end_us <= pair[1].start_us)
        };
        if !tries.windows(2).all(waited) {
            hurried.push(stem);
        }
    }
    verdict.claim(
        retried > 0,
        format!(
            "the busy store's failures were tried again (images that needed more than one try: {retried})"
        ),
    );
    verdict.claim(
        hurried.is_empty(),
        format!(
            "a retry_wait span lies between every two tries of an image{}",
            if hurried.is_empty() {
                String::new()
            } else {
                format!(" (not for {})", hurried.join(", "))
            }
        ),
    );
    verdict.claim(
        most <= 7,
        format!("no image was tried more than 7 times, RETRIES + 1 (the most was {most})"),
    );
    verdict
}

fn refused_images_fail_alone(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    let failures = trial.failures();
    let refused: Vec<&str> = failures
        .iter()
        .filter(|(_, error)| error.contains("HTTP 503"))
        .map(|(stem, _)| stem.as_str())
        .collect();
    verdict.claim(
        !refused.is_empty() && refused.len() == failures.len(),
        format!(
            "the images the store refused, and only they, failed with their HTTP 503 \
             ({} of {} failures)",
            refused.len(),
            failures.len()
        ),
    );
    exit_code(&mut verdict, trial, 1);
    thumbnails_identical(&mut verdict, trial, &refused);
    in_flight(&mut verdict, trial, Phase::Download, 2, usize::MAX);
    verdict
}

fn little_waits_between_stages(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    let waiting = trial
        .trace
        .as_ref()
        .map_or(usize::MAX, |t| t.most_images_waiting());
    verdict.claim(
        waiting <= 3,
        format!(
            "at most 3 downloaded images waited for the resizer at once (the trace shows {})",
            if waiting == usize::MAX {
                "nothing".to_string()
            } else {
                waiting.to_string()
            }
        ),
    );
    verdict
}

fn stored_in_input_order(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    let stored = printed(trial, "stored");
    verdict.claim(
        stored == trial.stems(),
        format!(
            "the results were printed in input order (printed: {})",
            stored.join(", ")
        ),
    );
    verdict
}

fn killed_workers_job_redelivered(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    let killed = printed(trial, "ch10-distributed: killed");
    verdict.claim(
        !killed.is_empty(),
        "a worker was killed with SIGKILL while it held a job",
    );
    every_image_done(&mut verdict, trial);
    let later = later_deliveries(&trial.spans());
    verdict.claim(
        !later.is_empty(),
        format!(
            "the killed worker's job was done on a later delivery, `(delivery 2)` in the \
             trace (seen: {})",
            if later.is_empty() {
                "none".to_string()
            } else {
                later.into_iter().collect::<Vec<_>>().join(", ")
            }
        ),
    );
    verdict
}

fn every_job_delivered_once(trial: &Trial) -> Verdict {
    let mut verdict = Verdict::default();
    every_image_done(&mut verdict, trial);
    let later = later_deliveries(&trial.spans());
    verdict.claim(
        later.is_empty(),
        format!(
            "every job was done on its first delivery, no `(delivery 2)` in the trace{}",
            if later.is_empty() {
                String::new()
            } else {
                format!(
                    " (seen: {})",
                    later.into_iter().collect::<Vec<_>>().join(", ")
                )
            }
        ),
    );
    let twice: Vec<&str> = trial
        .stderr
        .lines()
        .filter(|line| line.contains("came twice"))
        .collect();
    verdict.claim(
        twice.is_empty(),
        format!(
            "no job ran twice: no result came twice{}",
            twice
                .first()
                .map_or(String::new(), |line| format!(" (\"{line}\")"))
        ),
    );
    verdict
}
