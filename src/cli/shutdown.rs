//! Ctrl-C and SIGTERM as a flag, the same for every chapter. The driver calls [`listen`]
//! with the job's stop flag just before it hands the job to the chapter. The first signal
//! raises the flag; from then on every image that has not started yet is cancelled at its
//! first step (`Job::download` checks the flag), the images in flight finish, and the
//! driver prints the summary and exits with 128 + the signal's number (130 for Ctrl-C,
//! 143 for SIGTERM), as a shell does. A second signal ends the process at once.
//!
//! Why a flag rather than the default (the process dies where it stands): a thumbnail
//! written to a folder is already atomic (temporary file, then rename), but an image whose
//! three thumbnails were half uploaded would be left with one or two of them, and the run
//! would end with no summary. Stopping between images keeps every image all-or-nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use tokio::signal::unix::{Signal, SignalKind, signal};

/// The number of the first stop signal received (0 while none has come). Signals are
/// delivered to the whole process, so one value for the process is the truth.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Raises `stop` at the first SIGINT (Ctrl-C) or SIGTERM, and ends the process at the
/// second one.
///
/// The handlers are in place when this returns (so a signal from then on is never
/// lost); the signals are then awaited on a small thread of its own, named `signals`
/// (tokio's signal handling, on a one-thread runtime), so the chapter's threads never see
/// them: they only read the flag. If the signals cannot be listened for, the flag never
/// rises and they keep their default effect.
pub fn listen(stop: Arc<AtomicBool>) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let signals = {
        let _inside = runtime.enter(); // tokio registers a handler within a runtime
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        )
    };
    let (Ok(interrupt), Ok(terminate)) = signals else {
        return;
    };
    let listener = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || runtime.block_on(stop_at_signals(interrupt, terminate, &stop)));
    // Without the thread the flag never rises, and a second signal would not end the
    // process; with no better way to stop, the run then simply goes on to its end.
    drop(listener);
}

/// Waits for the first signal, raises the flag, then waits for a second one and exits.
async fn stop_at_signals(mut interrupt: Signal, mut terminate: Signal, stop: &AtomicBool) {
    let first = tokio::select! {
        _ = interrupt.recv() => libc::SIGINT,
        _ = terminate.recv() => libc::SIGTERM,
    };
    RECEIVED.store(first, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    eprintln!(
        "\nstopping ({}): no new image starts, the images in flight finish \
         (Ctrl-C again to quit now)",
        name(first)
    );
    let second = tokio::select! {
        _ = interrupt.recv() => libc::SIGINT,
        _ = terminate.recv() => libc::SIGTERM,
    };
    std::process::exit(128 + second);
}

/// The signal that stopped the run, by name (`SIGINT`, `SIGTERM`), if one did.
pub fn received() -> Option<&'static str> {
    match RECEIVED.load(Ordering::Relaxed) {
        0 => None,
        number => Some(name(number)),
    }
}

/// The exit code of a run stopped by a signal: 128 + its number, the shell's convention.
pub fn exit_code() -> Option<u8> {
    match RECEIVED.load(Ordering::Relaxed) {
        0 => None,
        number => u8::try_from(128 + number).ok(),
    }
}

/// A stop signal's name.
fn name(number: i32) -> &'static str {
    if number == libc::SIGTERM {
        "SIGTERM"
    } else {
        "SIGINT"
    }
}

/// Whether `flag` has been raised.
pub fn requested(flag: &AtomicBool) -> bool {
    flag.load(Ordering::Relaxed)
}
