//! How worker processes are made: `spawn`, `fork` or `forkserver`.

use std::io;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::forking;
use super::worker::WORKER_FLAG;
use super::worker_process::{Reap, WorkerProcess};
use crate::io::tls;

/// How worker processes are started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Start {
    /// Re-execute this program as a worker (Python's default on macOS and Windows).
    #[default]
    Spawn,
    /// Fork this process before it starts any thread (Python's old default on Linux).
    Fork,
    /// Fork a server early; it forks the workers on request (Python's default on Linux
    /// since 3.14).
    Forkserver,
}

/// Makes worker processes, the way the run asked for.
pub struct Starter {
    /// How new workers are made.
    method: Start,
    /// The program re-executed by `spawn` (and to replace a crashed worker under `fork`).
    program: PathBuf,
    /// `fork`: workers forked at start-up, waiting for a pool to take them.
    forked: Vec<WorkerProcess>,
    /// `forkserver`: the server that forks workers for us.
    forkserver: Option<forking::Forkserver>,
    /// A change in how workers are made that the run has not been told about yet.
    change: Option<String>,
}

impl Starter {
    /// Prepares to start workers with `method`. Under `fork` it forks `workers` workers
    /// now, and under `forkserver` it forks the server now: call it before the program
    /// starts any thread (it refuses otherwise).
    pub fn new(method: Start, workers: usize) -> io::Result<Starter> {
        let mut starter = Starter::spawning(std::env::current_exe()?);
        starter.method = method;
        match method {
            Start::Spawn => {}
            Start::Fork => {
                for _ in 0..workers.max(1) {
                    let worker = forking::fork_worker(&mut starter.forked)?;
                    starter.forked.push(worker);
                }
            }
            Start::Forkserver => starter.forkserver = Some(forking::Forkserver::start()?),
        }
        Ok(starter)
    }

    /// Starts workers by running `program` with [`WORKER_FLAG`] (benches and tests name
    /// a chapter binary here, since they are not one).
    pub fn spawning(program: PathBuf) -> Starter {
        Starter {
            method: Start::Spawn,
            program,
            forked: Vec::new(),
            forkserver: None,
            change: None,
        }
    }

    /// How this starter makes workers.
    pub fn method(&self) -> Start {
        self.method
    }

    /// A new worker, not yet greeted. Under `fork`, a pre-forked one while they last;
    /// after that (a crashed worker's replacement, when the parent has threads and must
    /// not fork) a spawned one.
    pub(super) fn start(&mut self) -> io::Result<WorkerProcess> {
        if let Some(worker) = self.forked.pop() {
            return Ok(worker);
        }
        let Some(server) = &mut self.forkserver else {
            return self.spawn();
        };
        match server.fork_worker() {
            Ok(worker) => Ok(worker),
            Err(error) => self.spawn_instead_of_forkserver(&error),
        }
    }

    // ANCHOR: forkserver_death
    /// The fork server could not fork a worker: it died (killed, or out of memory), or
    /// it cannot fork any more. A new fork server cannot be made now (this process has
    /// threads, and must not fork), so every later worker is spawned, and the run is
    /// told so (a line on stderr and in the summary) rather than failing every image.
    fn spawn_instead_of_forkserver(&mut self, error: &io::Error) -> io::Result<WorkerProcess> {
        self.forkserver = None; // dropping it reaps the dead server
        self.change = Some(format!(
            "the fork server is gone ({error}): starting workers with spawn from now on"
        ));
        self.spawn()
    }
    // ANCHOR_END: forkserver_death

    /// A change in how workers are made since the last call (the fork server's death),
    /// to tell the run about, once.
    pub(super) fn take_change(&mut self) -> Option<String> {
        self.change.take()
    }

    /// `spawn`: this program again, as a worker, with pipes for stdin and stdout.
    fn spawn(&self) -> io::Result<WorkerProcess> {
        let mut child = Command::new(&self.program)
            .arg(WORKER_FLAG)
            // A fresh program knows nothing of `--ca-cert`: it inherits the files here.
            .env(tls::INHERITED_CA_FILES, tls::for_workers())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(io::Error::other("the worker has no pipes"));
        };
        Ok(WorkerProcess {
            pid: child.id(),
            to_worker: Box::new(stdin),
            from_worker: Box::new(stdout),
            reap: Reap::Spawned(child),
        })
    }
}

impl Drop for Starter {
    fn drop(&mut self) {
        for worker in self.forked.drain(..) {
            worker.stop();
        }
    }
}
