//! The chapters, in reading order: the one list the tour, the bench, the report and the
//! tests go through. A new chapter adds one line here and one `[[bin]]` in `Cargo.toml`
//! (a test checks that the two agree).

use std::path::PathBuf;

/// One chapter: a binary in `chapters/` that runs the thumbnail job with one pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chapter {
    /// The binary's name, e.g. `ch00-sequential`.
    pub name: &'static str,
    /// The pattern it teaches, in a few words.
    pub pattern: &'static str,
    /// What the Python course uses for the same idea.
    pub python: &'static str,
    /// The flag that sets how many workers the chapter uses (e.g. `--workers`), which
    /// the bench sweeps over [`SWEEP_WORKERS`]; `None` when the chapter has no worker
    /// count to turn.
    pub sweep: Option<&'static str>,
}

/// The worker counts the bench's sweep tries, for every chapter with a `sweep` flag.
pub const SWEEP_WORKERS: &[usize] = &[1, 2, 4, 8, 16];

/// Every chapter, in order.
pub const ALL: &[Chapter] = &[
    Chapter {
        name: "ch00-sequential",
        pattern: "one loop, one image at a time: the baseline",
        python: "a plain for loop",
        sweep: None,
    },
    Chapter {
        name: "ch01-threads",
        pattern: "a named thread per image, started then joined; a semaphore; a detached thread",
        python: "Thread(target, args), start, join, daemon, Semaphore",
        sweep: None,
    },
    Chapter {
        name: "ch02-join-handles",
        pattern: "results and panics through JoinHandle, is_finished polling, scoped threads",
        python: "join, is_alive",
        sweep: None,
    },
    Chapter {
        name: "ch03-worker-structs",
        pattern: "a Worker struct with run(&mut self) behind a Thread-like wrapper",
        python: "subclassing Thread and overriding run",
        sweep: Some("--workers"),
    },
    Chapter {
        name: "ch04-thread-pool",
        pattern: "a hand-built thread pool with futures: submit, map, as_completed",
        python: "concurrent.futures.ThreadPoolExecutor",
        sweep: Some("--download-workers"),
    },
    Chapter {
        name: "ch05-process-pool",
        pattern: "worker processes fed tasks as data: spawn, fork, forkserver",
        python: "multiprocessing, ProcessPoolExecutor",
        sweep: Some("--workers"),
    },
    Chapter {
        name: "ch06-shared-state",
        pattern: "workers sharing state: atomics, locks, a semaphore, channels, a simulated GIL",
        python: "threading.Lock, Semaphore, multiprocessing.Value, queue.Queue, the GIL",
        sweep: None,
    },
    Chapter {
        name: "ch07-async",
        pattern: "one tokio task per image, bounded by a semaphore, CPU work off the runtime",
        python: "asyncio with aiohttp, asyncio.Semaphore, run_in_executor",
        sweep: Some("--concurrency"),
    },
    Chapter {
        name: "ch08-event-loop",
        pattern: "an event loop built by hand on mio: callbacks, timers, futures, protocols",
        python: "asyncio's loop: call_soon, call_later, Future, Protocol and Transport",
        sweep: None,
    },
    Chapter {
        name: "ch09-pipeline",
        pattern: "download, bounded channel, resize on every core, upload: stages that overlap",
        python: "queue.Queue(maxsize) between thread and process pools",
        sweep: Some("--upload-workers"),
    },
    Chapter {
        name: "ch10-distributed",
        pattern: "a durable work queue in NATS JetStream, worker processes anywhere, ack and redelivery",
        python: "Celery on Redis or RabbitMQ",
        sweep: None,
    },
];

/// Programs a chapter needs besides this package: (chapter, program, how to install it).
pub const NEEDS: &[(&str, &str, &str)] = &[(
    "ch10-distributed",
    "nats-server",
    "apt-get install nats-server",
)];

/// Why `chapter` cannot run here, naming the install command: a program it needs is not
/// on the `PATH`. `None` when it can run. (ch10 can also use a running broker named by
/// `NATS_URL`, so with that variable set nothing is missing.)
pub fn missing_program(chapter: &str) -> Option<String> {
    if std::env::var_os("NATS_URL").is_some() {
        return None;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    NEEDS
        .iter()
        .filter(|(name, _, _)| *name == chapter)
        .find(|(_, program, _)| {
            !std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
        })
        .map(|(_, program, install)| format!("{program} not found: install it with `{install}`"))
}

/// The chapter called `name`.
pub fn find(name: &str) -> Option<&'static Chapter> {
    ALL.iter().find(|chapter| chapter.name == name)
}

/// The path of a chapter's binary: beside the running executable (the `workbench`
/// binary), or one folder up when the running executable is a test or a bench in
/// `target/<profile>/deps/`.
pub fn binary_path(name: &str) -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let mut dir = exe
        .parent()
        .map(PathBuf::from)
        .ok_or_else(|| std::io::Error::other("the running executable has no folder"))?;
    if dir.ends_with("deps") {
        dir.pop();
    }
    Ok(dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
}
