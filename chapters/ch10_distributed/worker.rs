//! The worker role: `ch10-distributed worker --nats URL`. Start it on as many machines as
//! you like; it shares nothing with the others but the broker's URL (and the store the
//! jobs name).
//!
//! A worker runs one *slot* per core. A slot asks the broker for **one** job, works on it,
//! answers, and only then asks for the next: the pull size is the backpressure. A worker
//! never holds more jobs than it can work on, so a slow worker takes fewer and a dead one
//! holds at most a slot's worth, which the broker hands to someone else.
//!
//! What a slot answers the broker for each job is the lesson, and stands in its own
//! file, `answer.rs`; the work it answers about (the job's steps, publishing its result)
//! is in `job_work.rs`, which both files use.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use futures_util::StreamExt;
use tokio::sync::watch;
use workbench::io::s3::S3Flags;
use workbench::platform::die_with_parent;

use crate::answer::handle;
use crate::job_work::Identity;
use crate::queue::{Lease, Queue};

/// How long one pull waits for a job before asking again (and checking for a stop).
const PULL_WAIT: Duration = Duration::from_secs(1);

/// The worker's flags.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "ch10-distributed worker",
    about = "Pulls thumbnail jobs from the broker",
    version = workbench::cli::version::VERSION,
    long_version = workbench::cli::version::LONG_VERSION
)]
pub struct WorkerFlags {
    /// The broker [default: $NATS_URL, else nats://127.0.0.1:4222].
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
    /// The worker's name in traces and messages [default: worker-PID].
    #[arg(long)]
    name: Option<String>,
    /// Jobs worked on at once [default: one per core].
    #[arg(long)]
    slots: Option<usize>,
    /// Only errors on stderr.
    #[arg(long)]
    quiet: bool,
    /// End when the process that started this worker ends (set by the local run).
    #[arg(long, hide = true)]
    die_with_parent: bool,
    /// Credentials and endpoint for `s3://` outputs and sources: the worker's own.
    #[command(flatten)]
    s3: S3Flags,
}

/// Runs the worker until it is told to stop (SIGTERM or Ctrl-C): it then finishes the
/// jobs it holds and exits. Exit code 2 when the broker cannot be reached.
pub fn main(args: impl IntoIterator<Item = std::ffi::OsString>) -> std::process::ExitCode {
    let flags = WorkerFlags::parse_from(args);
    if flags.die_with_parent {
        die_with_parent();
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => return fail(format!("cannot start the async runtime: {error}")),
    };
    match runtime.block_on(work(flags)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => fail(error),
    }
}

fn fail(error: String) -> std::process::ExitCode {
    eprintln!("ch10-distributed worker: {error}");
    std::process::ExitCode::from(2)
}

/// Connects, starts the slots, and waits for them to end.
async fn work(flags: WorkerFlags) -> Result<(), String> {
    let url = flags.nats.unwrap_or_else(default_broker);
    let queue = Queue::open(&url, Lease::default()).await?;
    let pid = std::process::id();
    let identity = Arc::new(Identity {
        name: flags.name.unwrap_or_else(|| format!("worker-{pid}")),
        pid,
        s3: flags.s3,
        quiet: flags.quiet,
    });
    let slots = flags
        .slots
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    if !identity.quiet {
        eprintln!("{} (pid {pid}): {slots} slots on {}", identity.name, url);
    }
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_stop().await;
        let _ = stop.send(true);
    });
    let mut running = tokio::task::JoinSet::new();
    for slot in 0..slots {
        let (queue, identity, stopped) = (queue.clone(), identity.clone(), stopped.clone());
        running.spawn(run_slot(queue, identity, slot, stopped));
    }
    while let Some(ended) = running.join_next().await {
        if let Ok(Err(error)) = ended {
            eprintln!("{}: {error}", identity.name);
        }
    }
    queue.client.flush().await.map_err(|e| e.to_string())
}

/// The broker when no `--nats` is given: `$NATS_URL`, else the usual local port.
pub fn default_broker() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn wait_for_stop() {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(terminate) => terminate,
            Err(_) => return std::future::pending().await, // no handler: Ctrl-C only
        };
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

// ANCHOR: slot
/// One slot: pull one job, handle it, pull the next, until told to stop.
async fn run_slot(
    queue: Queue,
    identity: Arc<Identity>,
    slot: usize,
    mut stopped: watch::Receiver<bool>,
) -> Result<(), String> {
    let lane = format!("{} slot {slot}", identity.name);
    while !*stopped.borrow() {
        // Ask for one job; the broker answers with one, or nothing after PULL_WAIT.
        let mut pull = queue
            .jobs
            .batch()
            .max_messages(1)
            .expires(PULL_WAIT)
            .messages()
            .await
            .map_err(|e| format!("cannot pull a job: {e}"))?;
        let next = tokio::select! {
            next = pull.next() => next,
            _ = stopped.changed() => None,
        };
        if let Some(Ok(message)) = next {
            handle(&queue, &identity, &lane, message).await;
        }
    }
    Ok(())
}
// ANCHOR_END: slot
