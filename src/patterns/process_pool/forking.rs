//! Forking: with the allocator's setting in `platform`, the only `unsafe` code in the
//! workbench.
#![allow(unsafe_code)]

use std::io::{self, Read, Write};
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::time::{Duration, Instant};

use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

use super::worker::serve_socket;
use super::worker_process::{Reap, WorkerProcess, socket_worker};
use crate::platform::{die_with_parent, leave_stop_signals_to_parent, thread_count};

/// Ends a forked child at once with `code`. `_exit`, not `exit`: the child must not run
/// the parent's exit handlers, nor flush copies of the parent's output buffers a
/// second time.
fn exit_child(code: i32) -> ! {
    // SAFETY: `_exit` takes no pointers and cannot fail; it ends the process on the
    // spot, which is exactly what we want (nothing of the child is left to clean up).
    unsafe { libc::_exit(code) }
}

/// `fork()` copies only the thread that calls it. If another thread held a lock at that
/// moment (the allocator's, stdout's, a channel's), the child's copy of that lock stays
/// locked forever, and the child deadlocks the first time it allocates or prints. So
/// we fork only while this process has exactly one thread, and check it.
fn ensure_single_threaded() -> io::Result<()> {
    let Some(threads) = thread_count() else {
        return Err(io::Error::other(
            "refusing to fork: this system does not tell how many threads the process has \
             (use --start spawn)",
        ));
    };
    if threads == 1 {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "refusing to fork: this process has {threads} threads, and a forked child \
             of a multithreaded process may deadlock (use --start spawn or forkserver)"
        )))
    }
}

// ANCHOR: fork
/// Forks one worker that serves over a socket. `earlier` are the workers forked
/// before it: the child closes its copies of their sockets, so that each worker
/// sees end-of-file as soon as the parent closes (or loses) its end.
pub(super) fn fork_worker(earlier: &mut Vec<WorkerProcess>) -> io::Result<WorkerProcess> {
    ensure_single_threaded()?;
    let (parent_end, child_end) = UnixStream::pair()?;
    // SAFETY: fork() is unsafe because the child gets a copy of the whole memory but
    // only of the calling thread. We just checked that this process has a single
    // thread, so no lock can be held by a thread that does not exist in the child:
    // the child may allocate, print and run any Rust code, like a normal program.
    match unsafe { fork() }.map_err(io::Error::from)? {
        ForkResult::Child => {
            drop(parent_end);
            earlier.clear(); // closes our copies of the other workers' sockets
            exit_child(serve_socket(child_end))
        }
        ForkResult::Parent { child } => {
            drop(child_end);
            socket_worker(child.as_raw() as u32, parent_end, Reap::Forked(child))
        }
    }
}
// ANCHOR_END: fork

/// A fork server: a small process forked while the program was single-threaded. It
/// stays single-threaded, so it may fork at any time, even once the parent has many
/// threads and must not fork itself.
pub(super) struct Forkserver {
    /// Requests go here (one byte: "fork a worker"); the worker's pid comes back.
    control: UnixStream,
    /// New workers connect here (an abstract Unix socket: a name, no file).
    listener: UnixListener,
    /// The server's pid, to wait for it.
    pid: Pid,
}

impl Forkserver {
    // ANCHOR: forkserver
    /// Forks the server. Call it before the program starts any thread.
    pub(super) fn start() -> io::Result<Forkserver> {
        ensure_single_threaded()?;
        let address = rendezvous()?;
        let (parent_end, server_end) = UnixStream::pair()?;
        // SAFETY: as in `fork_worker`, this process has a single thread (checked just
        // above), so the child is a complete copy and may run any code.
        match unsafe { fork() }.map_err(io::Error::from)? {
            ForkResult::Child => {
                drop(parent_end);
                exit_child(serve_forks(server_end, &address))
            }
            ForkResult::Parent { child } => {
                drop(server_end);
                let listener = UnixListener::bind_addr(&address)?;
                listener.set_nonblocking(true)?;
                Ok(Forkserver {
                    control: parent_end,
                    listener,
                    pid: child,
                })
            }
        }
    }

    /// Asks the server for a worker, then takes the worker's connection.
    pub(super) fn fork_worker(&mut self) -> io::Result<WorkerProcess> {
        self.control.write_all(&[1])?;
        let mut pid = [0u8; 4];
        self.control.read_exact(&mut pid)?;
        let pid = u32::from_le_bytes(pid);
        if pid == 0 {
            return Err(io::Error::other("the fork server could not fork"));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false)?;
                    return socket_worker(pid, stream, Reap::ByForkserver);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => return Err(e),
            }
        }
    }
    // ANCHOR_END: forkserver
}

impl Drop for Forkserver {
    fn drop(&mut self) {
        // Closing the control socket ends the server's loop; then wait for it.
        let _ = self.control.shutdown(std::net::Shutdown::Both);
        let _ = waitpid(self.pid, None);
        // A socket file (where there are no abstract sockets) is removed with it.
        let address = self.listener.local_addr();
        if let Some(path) = address.as_ref().ok().and_then(SocketAddr::as_pathname) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The fork server's loop, in its own single-threaded process: one byte in, one
/// worker forked, its pid out; until the parent closes the socket (or dies).
fn serve_forks(mut control: UnixStream, address: &SocketAddr) -> i32 {
    die_with_parent();
    leave_stop_signals_to_parent();
    let mut request = [0u8; 1];
    while control.read_exact(&mut request).is_ok() {
        // Wait for workers that have exited, so they do not linger as zombies.
        while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            if status.pid().is_none() {
                break;
            }
        }
        // SAFETY: the server never starts a thread, so it is still single-threaded
        // and its child may run any code.
        let pid = match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                drop(control);
                let code = match UnixStream::connect_addr(address) {
                    Ok(stream) => serve_socket(stream),
                    Err(_) => 1,
                };
                exit_child(code)
            }
            Ok(ForkResult::Parent { child }) => child.as_raw() as u32,
            Err(_) => 0,
        };
        if control.write_all(&pid.to_le_bytes()).is_err() {
            break;
        }
    }
    0
}

/// The address new workers connect to, unique to this run: on Linux an abstract socket
/// (a name, no file); elsewhere a socket file in the temporary folder.
fn rendezvous() -> io::Result<SocketAddr> {
    let name = format!(
        "thumbnail-workbench-forkserver-{}-{}",
        std::process::id(),
        crate::trace::now_us()
    );
    #[cfg(target_os = "linux")]
    {
        use std::os::linux::net::SocketAddrExt;
        SocketAddr::from_abstract_name(name)
    }
    #[cfg(not(target_os = "linux"))]
    {
        SocketAddr::from_pathname(std::env::temp_dir().join(name))
    }
}
