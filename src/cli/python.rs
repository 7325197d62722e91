//! `workbench python`: what the Python programs in `python/` need from the Rust side.
//!
//! - `setup` makes the virtual environment they run in (see
//!   [`report::python::Venv`](crate::report::python::Venv)).
//! - `stage` prepares a ready-made workload for one Python run: the very corpus, and the
//!   very embedded store, that the Rust chapters use, so the two languages read the
//!   same bytes from the same server. It prints one JSON line saying where to read and
//!   write, then serves until its standard input closes: the Python program holds that
//!   pipe, so when it exits, however it exits, the store stops too.

use std::io::{Read as _, Write as _};

use serde::Serialize;

use super::flags::StoreFlags;
use super::setup::corpus_folder;
use crate::contract::SetupError;
use crate::harness::store::RunningStore;
use crate::harness::workload::Workload;

/// Where a staged Python run reads and writes.
#[derive(Debug, Serialize)]
struct Staged {
    /// A folder, or the embedded store's listing URL.
    source: String,
    /// The PUT prefix on `mixed`; `null` when the program picks its own folder.
    out: Option<String>,
}

/// Prepares `workload` for the Python program `chapter`, prints where it is, and serves
/// until standard input closes.
pub fn stage(
    chapter: &str,
    workload: Workload,
    count: usize,
    knobs: &StoreFlags,
) -> Result<(), SetupError> {
    let corpus = corpus_folder(&workload.corpus(count))?;
    let mut store = None;
    let staged = if workload == Workload::Cpu {
        Staged {
            source: corpus.display().to_string(),
            out: None,
        }
    } else {
        let running = RunningStore::start(knobs.config(&corpus))
            .map_err(|e| SetupError::Other(format!("cannot start the embedded store: {e}")))?;
        let url = running.url().to_string();
        store = Some(running);
        Staged {
            out: (workload == Workload::Mixed).then(|| format!("{url}thumbs/{chapter}/")),
            source: url,
        }
    };
    let line = serde_json::to_string(&staged).map_err(|e| SetupError::Other(e.to_string()))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .map_err(|e| SetupError::Other(format!("cannot print where the workload is: {e}")))?;
    // Whatever arrives is ignored: only the end of the input matters.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(store);
    Ok(())
}
