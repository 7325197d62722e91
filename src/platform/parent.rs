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

/// Leaves Ctrl-C and SIGTERM to the parent: this process blocks both, so they stay
/// pending and never end it. Ctrl-C in a terminal reaches every process of the
/// foreground group, workers included; if each worker died of it, every one would be
/// reported as a crash, mid-image, while the parent is trying to stop cleanly. Blocked,
/// the worker finishes its task, and exits when the parent closes its input. (A parent
/// that dies still takes its workers with it: the parent-death signal is SIGKILL, which
/// cannot be blocked.) The mask is per thread: call it while the process has one.
pub fn leave_stop_signals_to_parent() {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
    let mut stop_signals = SigSet::empty();
    stop_signals.add(Signal::SIGINT);
    stop_signals.add(Signal::SIGTERM);
    let _ = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&stop_signals), None);
}
