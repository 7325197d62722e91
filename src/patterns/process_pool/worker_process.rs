//! A worker process as the parent sees it: its pipes (or socket), and how to wait for
//! it once it exits.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Child;

use super::frames::{Reply, Request, read_frame, write_frame};

/// A worker process, seen from the parent.
pub(super) struct WorkerProcess {
    /// Its process id, for labels and messages.
    pub(super) pid: u32,
    /// Requests go here (its stdin, or our end of a socket).
    pub(super) to_worker: Box<dyn Write + Send>,
    /// Replies come from here (its stdout, or our end of the socket).
    pub(super) from_worker: Box<dyn Read + Send>,
    /// How to wait for it once it exits.
    pub(super) reap: Reap,
}

/// Who waits for a worker's exit (a process that exits stays a zombie until its
/// parent waits for it).
pub(super) enum Reap {
    /// We spawned it: `Child::wait`.
    Spawned(Child),
    /// We forked it: `waitpid`.
    Forked(nix::unistd::Pid),
    /// The fork server is its parent and waits for it.
    ByForkserver,
}

impl WorkerProcess {
    /// Sends one task and waits for its reply. An error means the worker is gone (or
    /// garbled): the caller discards it.
    pub(super) fn run(&mut self, request: &Request) -> io::Result<Reply> {
        write_frame(&mut self.to_worker, request)?;
        read_frame(&mut self.from_worker)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "no reply"))
    }

    /// Normal end: closing its input tells it to exit; then wait for it.
    pub(super) fn stop(self) {
        let WorkerProcess {
            to_worker,
            from_worker,
            reap,
            ..
        } = self;
        // Both halves: with a socket, the worker sees end-of-file only once every handle
        // on our end is closed.
        drop((to_worker, from_worker));
        let _ = wait(reap);
    }

    /// Abnormal end: make sure it is dead, wait for it, and say how it ended.
    pub(super) fn discard(self) -> String {
        let WorkerProcess { pid, reap, .. } = self;
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        format!("worker process {pid} {}", wait(reap))
    }
}

/// Waits for a worker's exit; how it ended, in words.
fn wait(reap: Reap) -> String {
    use nix::sys::wait::{WaitStatus, waitpid};
    use std::os::unix::process::ExitStatusExt;
    match reap {
        Reap::Spawned(mut child) => match child.wait() {
            Ok(status) => match status.signal() {
                Some(signal) => died_of(signal),
                None => format!("exited with {status}"),
            },
            Err(error) => format!("cannot be waited for: {error}"),
        },
        Reap::Forked(pid) => match waitpid(pid, None) {
            Ok(WaitStatus::Signaled(_, signal, _)) => died_of(signal as i32),
            Ok(WaitStatus::Exited(_, code)) => format!("exited with code {code}"),
            Ok(other) => format!("ended: {other:?}"),
            Err(error) => format!("cannot be waited for: {error}"),
        },
        Reap::ByForkserver => "ended (its parent, the fork server, saw how)".to_string(),
    }
}

/// "was killed by SIGKILL".
fn died_of(signal: i32) -> String {
    match nix::sys::signal::Signal::try_from(signal) {
        Ok(signal) => format!("was killed by {signal}"),
        Err(_) => format!("was killed by signal {signal}"),
    }
}

/// A worker connected over a Unix socket (forked, or made by the fork server).
pub(super) fn socket_worker(pid: u32, stream: UnixStream, reap: Reap) -> io::Result<WorkerProcess> {
    Ok(WorkerProcess {
        pid,
        to_worker: Box::new(stream.try_clone()?),
        from_worker: Box::new(stream),
        reap,
    })
}
