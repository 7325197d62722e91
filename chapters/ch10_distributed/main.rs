//! # Chapter 10: workers on many machines, through a broker
//!
//! **The idea.** Every chapter so far ends at one machine. The next step is the one
//! every real system takes: a **durable work queue** in a broker (NATS JetStream here),
//! workers on as many machines as you like pulling jobs from it, and thumbnails in an
//! object store. The broker delivers each job **at least once**: a worker acknowledges a
//! job only after its thumbnails are stored and its result is published; a worker that
//! dies acknowledges nothing, and after the *ack wait* the broker hands the job to
//! another worker (its **delivery count** goes up). A job may therefore run twice, which
//! is harmless because the outputs are **idempotent**: the same bytes under the same
//! name. A transient failure (a 503) is *nak*ed and tried again later; a **delivery
//! limit** stops a job that kills every worker it meets; a long job sends "in progress"
//! to keep its lease. Each worker pulls one job per free slot, never more: the pull size
//! is the **backpressure**. It is chapter 5's crash-proof pool and chapter 9's bounded
//! pipeline, at the scale of a cluster.
//!
//! Three roles: `enqueue` (publish one job per image, collect the results, print the
//! summary), `worker --nats URL` (pull, thumbnail, answer), and, with no role, the whole
//! thing on one machine: a `nats-server` of its own, N worker processes, the enqueuer.
//!
//! **Python counterpart.** Celery on Redis or RabbitMQ: `@app.task` is the job, `delay()`
//! is the enqueue, `celery worker --concurrency N` the worker and its slots,
//! `acks_late=True` the ack after the work, and `task_reject_on_worker_lost` the
//! redelivery of a dead worker's task.
//!
//! **In `src/`.** The three steps are the job's (`src/job/mod.rs`), as in every chapter,
//! so the thumbnails are byte-identical to chapter 0's; a worker process dies with the
//! run that started it (`src/platform/parent.rs`). The broker's side is in this folder:
//! `queue.rs` (streams, consumer, messages), `enqueue.rs`, `worker.rs` (its slots),
//! `answer.rs` (what it answers the broker), `job_work.rs` (the work it answers about),
//! `local.rs`.
//!
//! **Run it.**
//!
//! ```text
//! cargo run --release --bin ch10-distributed -- --workload io --trace out/ch10.json
//! cargo run --release --bin ch10-distributed -- --workload mixed --kill-one-worker-after 10
//! nats-server -js -a 127.0.0.1 -p 4222 -sd /tmp/js &           # on another machine, for real
//! cargo run --release --bin ch10-distributed -- worker --nats nats://127.0.0.1:4222 &
//! cargo run --release --bin ch10-distributed -- enqueue --nats nats://127.0.0.1:4222 --source photos --out thumbs
//! ```
//!
//! **What to look for.** One lane per worker slot (`worker-2 slot 1`), on the one clock
//! every process shares. With `--kill-one-worker-after N`, the killed worker's lanes stop
//! mid-batch; about one ack wait later (3 s) the job it held appears on another worker's
//! lane as `photo-0007 (delivery 2)`, and the run still ends with every image done once.

mod answer;
mod enqueue;
mod job_work;
mod local;
mod queue;
mod worker;

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use workbench::cli::{self, parse_duration};
use workbench::contract::{ImageError, Outcome};
use workbench::job::Job;

use crate::enqueue::Deliveries;
use crate::local::{LocalBroker, Workers};
use crate::queue::{Lease, Queue, Started};

/// The chapter's name.
const NAME: &str = "ch10-distributed";

/// This chapter's flags (for the run with no role, and for `enqueue`).
#[derive(Debug, Clone, Args)]
struct Flags {
    /// A running broker to use [default: $NATS_URL; else the run with no role starts a
    /// nats-server of its own, and `enqueue` uses nats://127.0.0.1:4222].
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
    /// Worker processes to start (the run with no role).
    #[arg(long, default_value_t = 3)]
    workers: usize,
    /// Jobs each worker works on at once (the run with no role) [default: one per core].
    #[arg(long)]
    slots: Option<usize>,
    /// The lesson: once this many results are in, SIGKILL the next worker that takes a
    /// job (the run with no role).
    #[arg(long, value_name = "N")]
    kill_one_worker_after: Option<usize>,
    /// A job not acknowledged in this time goes to another worker (when this run
    /// creates the queue).
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    ack_wait: Duration,
    /// The delivery limit (when this run creates the queue).
    #[arg(long, default_value_t = 3)]
    max_deliveries: i64,
}

impl Flags {
    fn lease(&self) -> Lease {
        Lease {
            ack_wait: self.ack_wait,
            max_deliveries: self.max_deliveries.max(1),
        }
    }
}

/// What the enqueuer runs on: the async runtime, the broker, and the workers this run
/// started (none for the `enqueue` role).
struct Cluster {
    runtime: tokio::runtime::Runtime,
    queue: Queue,
    workers: Option<Workers>,
}

// ANCHOR: all
/// The pattern: every image becomes a job in the broker; workers, wherever they are,
/// do the jobs; results come back through the broker. With `--kill-one-worker-after`,
/// one worker is killed mid-batch and the broker hands its job to another.
fn thumbnail_all(job: &Job, flags: &Flags, cluster: &mut Cluster) -> Vec<Outcome> {
    let Cluster {
        runtime,
        queue,
        workers,
    } = cluster;
    let mut kill_after = flags.kill_one_worker_after;
    let taken = |results: usize, started: &Started| {
        if let (Some(after), Some(workers)) = (kill_after, workers.as_mut())
            && results >= after
            && kill_while_it_holds_a_job(workers, started)
        {
            kill_after = None;
        }
    };
    match runtime.block_on(enqueue::enqueue_and_collect(job, queue, taken)) {
        Ok((outcomes, deliveries)) => {
            report(&deliveries);
            outcomes
        }
        Err(error) => {
            let why = ImageError::Io(format!("the broker: {error}"));
            let fail = |image| job.finish(image, Err(why.clone()));
            job.images().iter().map(fail).collect()
        }
    }
}
// ANCHOR_END: all

// ANCHOR: kill
/// Kills (SIGKILL: no goodbye, no ack) the worker that has just taken a job, if it is
/// one of ours. It surely holds that job: it took it a moment ago.
fn kill_while_it_holds_a_job(workers: &mut Workers, started: &Started) -> bool {
    let Some(name) = workers.kill(started.pid) else {
        return false;
    };
    eprintln!(
        "{NAME}: killed {name} (pid {}) with SIGKILL while it held {}: the broker will \
         hand that job to another worker after the ack wait",
        started.pid, started.stem
    );
    true
}
// ANCHOR_END: kill

/// Says which images were done on a later delivery, and how many answers came twice.
fn report(deliveries: &Deliveries) {
    let mut redelivered = deliveries.redelivered.clone();
    redelivered.sort();
    for (stem, delivery, worker) in redelivered {
        eprintln!("{NAME}: {stem} was done on delivery {delivery}, by {worker}");
    }
    if deliveries.repeated > 0 {
        eprintln!(
            "{NAME}: {} results came twice (a job that ran again); the first was kept",
            deliveries.repeated
        );
    }
}

// ANCHOR: main
fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    match args.get(1).and_then(|role| role.to_str()) {
        Some("worker") => {
            let rest = args.split_off(2);
            worker::main(std::iter::once(OsString::from("ch10-distributed worker")).chain(rest))
        }
        Some("enqueue") => {
            args.remove(1);
            let (common, flags) = cli::parse_from::<Flags>(NAME, args);
            let url = flags.nats.clone().unwrap_or_else(worker::default_broker);
            run_on_cluster(&common, &flags, &url, None)
        }
        _ => {
            let (common, flags) = cli::parse_from::<Flags>(NAME, args);
            // A broker of our own, unless we were given one; stopped when dropped.
            let given = flags
                .nats
                .clone()
                .or_else(|| std::env::var("NATS_URL").ok());
            let (url, _broker) = match given {
                Some(url) => (url, None),
                None => match LocalBroker::start() {
                    Ok(broker) => (broker.url().to_string(), Some(broker)),
                    Err(error) => return setup_failed(&error),
                },
            };
            let quiet = common.quiet || common.json;
            run_on_cluster(&common, &flags, &url, Some(quiet))
        }
    }
}
// ANCHOR_END: main

/// Connects to the broker at `url`, starts the workers when `local_quiet` says this run
/// has its own (quiet or not), and runs the chapter through the shared driver.
fn run_on_cluster(
    common: &cli::Common,
    flags: &Flags,
    url: &str,
    local_quiet: Option<bool>,
) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => return setup_failed(&format!("cannot start the async runtime: {error}")),
    };
    // The queue is made before the workers start, so that it has this run's lease.
    let queue = match runtime.block_on(Queue::open(url, flags.lease())) {
        Ok(queue) => queue,
        Err(error) => return setup_failed(&error),
    };
    // The workers start before the driver reads `--ca-cert`: trust it now, so that
    // they inherit it.
    if let Some(Err(error)) = common
        .ca_cert
        .as_deref()
        .map(workbench::io::tls::trust_also)
    {
        return setup_failed(&error);
    }
    let workers = match local_quiet
        .map(|quiet| Workers::start(flags.workers, flags.slots, url, quiet, &common.s3))
    {
        Some(Ok(workers)) => Some(workers),
        Some(Err(error)) => return setup_failed(&error),
        None => None,
    };
    let mut cluster = Cluster {
        runtime,
        queue,
        workers,
    };
    let code = cli::run_with(NAME, common, |job| thumbnail_all(job, flags, &mut cluster));
    if let Some(workers) = cluster.workers.take() {
        workers.stop();
    }
    code
}

/// Exit code 2, with the reason.
fn setup_failed(error: &str) -> ExitCode {
    eprintln!("{NAME}: {error}");
    ExitCode::from(2)
}
