//! The Python side: the virtual environment the programs in `python/` run in.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The project's folder, where `python/` is.
pub fn project_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The folder of the Python programs.
pub fn programs_folder() -> PathBuf {
    project_folder().join("python")
}

/// What to type when the environment is missing.
pub const HOW_TO_SET_UP: &str =
    "run `cargo run -- python setup` (it needs python3 with pip, and PyPI once) to create it";

/// Why the environment could not be made.
#[derive(Debug, thiserror::Error)]
pub enum VenvError {
    /// A command could not start, or failed.
    #[error("`{command}` failed: {cause}")]
    Command {
        /// The command, as typed.
        command: String,
        /// What went wrong.
        cause: String,
    },
    /// The pinned requirements could not be read or recorded.
    #[error("{path}: {cause}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        cause: std::io::Error,
    },
}

/// A Python virtual environment with the pinned `python/requirements.txt` installed:
/// `python-venv` in the cargo target folder, so `cargo clean` removes it with the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Venv {
    /// The environment's folder.
    pub dir: PathBuf,
}

impl Venv {
    /// The environment of this build: `python-venv` in the target folder the running
    /// binary was built into, else `target/python-venv`.
    pub fn of_this_build() -> Venv {
        let exe = std::env::current_exe().unwrap_or_default();
        let target = exe
            .ancestors()
            .find(|dir| dir.join("CACHEDIR.TAG").is_file())
            .map_or_else(|| project_folder().join("target"), Path::to_path_buf);
        Venv {
            dir: target.join("python-venv"),
        }
    }

    /// The environment's interpreter.
    pub fn python(&self) -> PathBuf {
        self.dir.join("bin").join("python")
    }

    /// The requirements the environment was made from, kept inside it: when they equal
    /// the pinned ones, the environment is ready.
    fn installed_record(&self) -> PathBuf {
        self.dir.join("requirements.installed")
    }

    /// Whether the environment exists with the pinned requirements installed.
    pub fn is_ready(&self) -> bool {
        let pinned = std::fs::read(requirements());
        let installed = std::fs::read(self.installed_record());
        self.python().is_file() && matches!((pinned, installed), (Ok(p), Ok(i)) if p == i)
    }

    /// Makes the environment with `python3 -m venv` and installs the pinned
    /// requirements with its pip; does nothing when it is already ready.
    pub fn create(&self) -> Result<(), VenvError> {
        if self.is_ready() {
            return Ok(());
        }
        let system_python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        run(Command::new(&system_python)
            .args(["-m", "venv"])
            .arg(&self.dir))?;
        run(Command::new(self.python())
            .args(["-m", "pip", "install", "--quiet", "-r"])
            .arg(requirements()))?;
        let pinned = std::fs::read(requirements()).map_err(|cause| VenvError::File {
            path: requirements(),
            cause,
        })?;
        std::fs::write(self.installed_record(), pinned).map_err(|cause| VenvError::File {
            path: self.installed_record(),
            cause,
        })
    }
}

/// `python/requirements.txt`.
fn requirements() -> PathBuf {
    programs_folder().join("requirements.txt")
}

/// Runs `command` to its end; an error unless it succeeded.
fn run(command: &mut Command) -> Result<(), VenvError> {
    let shown = format!("{command:?}");
    let status = command.status().map_err(|e| VenvError::Command {
        command: shown.clone(),
        cause: e.to_string(),
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(VenvError::Command {
            command: shown,
            cause: status.to_string(),
        })
    }
}
