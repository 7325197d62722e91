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
}

/// Every chapter, in order.
pub const ALL: &[Chapter] = &[
    Chapter {
        name: "ch00-sequential",
        pattern: "one loop, one image at a time: the baseline",
        python: "a plain for loop",
    },
    Chapter {
        name: "ch07-async",
        pattern: "one tokio task per image, bounded by a semaphore, CPU work off the runtime",
        python: "asyncio with aiohttp, asyncio.Semaphore, run_in_executor",
    },
    Chapter {
        name: "ch08-event-loop",
        pattern: "an event loop built by hand on mio: callbacks, timers, futures, protocols",
        python: "asyncio's loop: call_soon, call_later, Future, Protocol and Transport",
    },
];

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
