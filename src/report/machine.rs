//! The machine the numbers come from, how busy it was, and the build that made them:
//! what a reader needs to judge whether two reports can be compared at all.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::platform::{kernel_release, load_average, machine_memory_gib, processor_model};

/// The machine the numbers come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Cores available to this process.
    pub cores: usize,
    /// The processor's model name.
    pub model: String,
    /// The operating system and architecture.
    pub os: String,
    /// The kernel's release, or `unknown`.
    #[serde(default)]
    pub kernel: String,
    /// Installed memory in GiB (0 when unknown).
    pub memory_gib: f64,
    /// The load average (1, 5, 15 minutes) when the measuring began, where known.
    #[serde(default)]
    pub load_before: Option<[f64; 3]>,
}

impl Machine {
    /// This machine, now: call it before measuring, so that `load_before` is the load
    /// the runs started in.
    pub fn this() -> Machine {
        Machine {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            model: processor_model().unwrap_or_else(|| "unknown".to_string()),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            kernel: kernel_release().unwrap_or_else(|| "unknown".to_string()),
            memory_gib: machine_memory_gib().unwrap_or(0.0),
            load_before: load_average(),
        }
    }

    /// Why the machine was too busy for its timings to be trusted, if it was: more
    /// threads ready to run than half its cores, in the minute before or after the runs
    /// (the runs themselves load it; before them it should be nearly idle).
    pub fn busy(&self, load_after: Option<[f64; 3]>) -> Option<String> {
        let limit = self.cores as f64 / 2.0;
        let before = self.load_before.map(|l| l[0]).unwrap_or(0.0);
        // After the runs, the chapters' own threads are still in the 1-minute average:
        // only a load above the cores, not half of them, says that something else ran.
        let after = load_after.map(|l| l[0]).unwrap_or(0.0);
        if before > limit || after > self.cores as f64 * 1.5 {
            Some(format!(
                "the machine was busy: load average {before:.1} before the runs and \
                 {after:.1} after, on {} cores. Other programs shared the cores, so these \
                 timings are slower and noisier than this machine can do, and ratios \
                 between chapters may be distorted. Run again on an idle machine before \
                 drawing conclusions.",
                self.cores
            ))
        } else {
            None
        }
    }
}

/// The build that made the numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Build {
    /// `rustc --version` of the compiler that built this binary.
    pub rustc: String,
    /// The cargo profile (`release`, `debug`).
    pub profile: String,
    /// The project's git commit, with `-dirty` if files were changed, or
    /// `not a git checkout`.
    pub commit: String,
    /// The versions of the crates the speed depends on, as built, by name.
    pub crates: BTreeMap<String, String>,
}

impl Build {
    /// This binary's build: the compiler and the crate versions recorded by `build.rs`
    /// when it was compiled, and the commit of the source folder it was built from.
    pub fn this() -> Build {
        Build {
            rustc: env!("WORKBENCH_RUSTC_VERSION").to_string(),
            profile: env!("WORKBENCH_PROFILE").to_string(),
            commit: git_commit(Path::new(env!("CARGO_MANIFEST_DIR"))),
            crates: crate_versions().into_iter().collect(),
        }
    }
}

/// The commit checked out in `folder`, `-dirty` when tracked files differ from it.
///
/// Asked when the report is written: `cargo run` rebuilds whatever changed first, so the
/// checkout is what was built. A binary installed elsewhere has no checkout beside it and
/// says so, rather than naming a commit it cannot vouch for.
pub fn git_commit(folder: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(folder)
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(commit) if !commit.is_empty() => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|changes| !changes.is_empty());
            if dirty {
                format!("{commit}-dirty")
            } else {
                commit
            }
        }
        _ => "not a git checkout".to_string(),
    }
}

/// The versions of the crates whose speed the numbers depend on, as this binary was
/// built with them (recorded by `build.rs` from the lock file of that build).
pub fn crate_versions() -> Vec<(String, String)> {
    env!("WORKBENCH_CRATE_VERSIONS")
        .split(',')
        .filter_map(|entry| {
            let (name, version) = entry.split_once(' ')?;
            Some((name.to_string(), version.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_names_its_compiler_and_crates() {
        let build = Build::this();
        assert!(build.rustc.starts_with("rustc "), "{}", build.rustc);
        assert!(build.crates.contains_key("rayon"));
        let elsewhere = tempfile::tempdir().unwrap();
        assert_eq!(git_commit(elsewhere.path()), "not a git checkout");
    }

    #[test]
    fn a_loaded_machine_is_called_busy() {
        let mut machine = Machine::this();
        machine.cores = 2;
        machine.load_before = Some([0.2, 0.2, 0.2]);
        assert_eq!(machine.busy(Some([1.5, 1.0, 1.0])), None);
        machine.load_before = Some([67.0, 60.0, 50.0]);
        let warning = machine.busy(Some([67.0, 60.0, 50.0])).unwrap();
        assert!(warning.contains("67.0"), "{warning}");
    }
}
