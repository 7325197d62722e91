//! Ctrl-C as a flag. The first Ctrl-C sets the flag, and a chapter that checks it between
//! images stops taking new ones while the images in flight finish, so nothing is left
//! half-done; a second Ctrl-C ends the process at once.
//!
//! Why a flag rather than the default (the process dies where it stands): a thumbnail
//! written to a folder is already atomic (temporary file, then rename), but an image whose
//! three thumbnails were half uploaded would be left with one or two of them. Stopping
//! between images keeps every image all-or-nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A flag that becomes `true` at the first Ctrl-C.
///
/// The signal is awaited on a small thread of its own (tokio's signal handling, on a
/// one-thread runtime), so the caller's threads never see it: they only read the flag.
/// If the signal cannot be listened for, the flag simply never rises and Ctrl-C keeps its
/// default effect.
pub fn ctrl_c_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let listener = std::thread::Builder::new()
        .name("ctrl-c".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
                flag.store(true, Ordering::Relaxed);
                eprintln!("\nstopping: finishing the images in flight (Ctrl-C again to quit now)");
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            });
        });
    // Without the thread there is no flag to raise; Ctrl-C then ends the process as usual.
    drop(listener);
    stop
}

/// Whether `flag` has been raised.
pub fn requested(flag: &AtomicBool) -> bool {
    flag.load(Ordering::Relaxed)
}
