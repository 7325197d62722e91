//! The classroom: exercises a student edits, and checks that judge what the edited
//! program *did*.
//!
//! An exercise is a small binary of this crate, `exercises/chNN/NAME.rs`, that imports
//! the library like a chapter does and leaves one part of a pattern for the student to
//! write (a `todo!()`) or to fix (a classic bug, as the chapter's switch shows it). Its
//! check builds that binary, runs it on a small [`Stage`] (a generated corpus served by
//! the embedded store, with latency), and makes [`claims`] about the trace, the summary,
//! the thumbnails and the lines it printed. A check never reads the source: any program
//! that behaves right passes.
//!
//! - [`catalogue`]: every exercise, its chapter, hints and check (one entry each).
//! - [`command`]: `workbench exercises` (list, check, hint, reset, watch).
//! - [`trial`]: one run of a student's program on a stage.
//! - [`claims`]: what a check can say about a run.
//! - [`workspace`]: where the files are, building, done marks, hints shown, reset.

pub mod catalogue;
pub mod claims;
pub mod command;
pub mod trial;
pub mod workspace;

pub use catalogue::{ALL, find};
pub use claims::{Finding, Verdict};
pub use trial::{Stage, Trial};

/// One exercise.
#[derive(Debug, Clone)]
pub struct Exercise {
    /// Its binary's name, which is also what `workbench exercises check` takes.
    pub name: &'static str,
    /// The chapter it belongs to (a name of [`crate::chapters::ALL`]).
    pub chapter: &'static str,
    /// Its file under `exercises/` (the pristine copy and the solution have the same
    /// path under `exercises/pristine/` and `exercises/solutions/`).
    pub file: &'static str,
    /// The idea it practises, in a few words.
    pub concept: &'static str,
    /// One to three hints, each a little more telling than the one before.
    pub hints: &'static [&'static str],
    /// What its run stands on.
    pub stage: Stage,
    /// Judges a run.
    pub check: fn(&Trial) -> Verdict,
}
