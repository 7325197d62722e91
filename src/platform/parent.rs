//! A worker process that must not outlive its parent.

/// Asks the kernel to kill this process when its parent dies, where the system can
/// (Linux: `PR_SET_PDEATHSIG`). Elsewhere it does nothing: a worker still ends when its
/// parent dies, because its input pipe reaches end-of-file (see the process pool), but
/// only once it next reads.
pub fn die_with_parent() {
    #[cfg(target_os = "linux")]
    {
        let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    }
}
