//! Where an exercise's files are, and what the classroom remembers between commands:
//! building a student's program, the mark of a passed check, the hints shown, and the
//! pristine starter that `reset` puts back (a copy kept in the project, so a reset never
//! depends on version control).

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::Exercise;

/// The project's folders, as the classroom sees them.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The project's root (where `Cargo.toml` is).
    pub root: PathBuf,
}

/// Why a program could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot run cargo: {0}")]
    Cargo(std::io::Error),
    #[error("it does not compile yet:\n{0}")]
    Compile(String),
    #[error("cargo built no executable named {0}")]
    NoExecutable(String),
}

impl Workspace {
    /// The classroom of the project at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Workspace {
        Workspace { root: root.into() }
    }

    /// The file the student edits.
    pub fn starter(&self, exercise: &Exercise) -> PathBuf {
        self.root.join("exercises").join(exercise.file)
    }

    /// The untouched starter, for `reset`.
    pub fn pristine(&self, exercise: &Exercise) -> PathBuf {
        self.root.join("exercises/pristine").join(exercise.file)
    }

    /// The solution.
    pub fn solution(&self, exercise: &Exercise) -> PathBuf {
        self.root.join("exercises/solutions").join(exercise.file)
    }

    /// `path` as the student sees it: relative to the project's root.
    pub fn shown(&self, path: &std::path::Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    /// Where the classroom keeps its notes and its runs (inside `target/`, never
    /// committed).
    pub fn notes(&self, exercise: &Exercise) -> PathBuf {
        self.root.join("target/exercises").join(exercise.name)
    }

    /// Builds the exercise's binary with cargo and returns its path. Compiler messages
    /// are kept and returned when the build fails.
    pub fn build(&self, exercise: &Exercise) -> Result<PathBuf, BuildError> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut child = Command::new(cargo)
            .current_dir(&self.root)
            .args([
                "build",
                "--quiet",
                "--message-format=json-render-diagnostics",
            ])
            .args(["--bin", exercise.name])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(BuildError::Cargo)?;
        let diagnostics = child.stderr.take().map(|pipe| {
            std::thread::spawn(move || std::io::read_to_string(pipe).unwrap_or_default())
        });
        let mut executable = None;
        if let Some(stdout) = child.stdout.take() {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                executable = executable.or_else(|| executable_of(&line, exercise.name));
            }
        }
        let status = child.wait().map_err(BuildError::Cargo)?;
        let diagnostics = diagnostics
            .and_then(|thread| thread.join().ok())
            .unwrap_or_default();
        if !status.success() {
            return Err(BuildError::Compile(diagnostics));
        }
        executable.ok_or_else(|| BuildError::NoExecutable(exercise.name.into()))
    }

    /// True when the check passed on the starter exactly as it is now.
    pub fn is_done(&self, exercise: &Exercise) -> bool {
        let mark = fs::read_to_string(self.notes(exercise).join("passed")).unwrap_or_default();
        self.fingerprint(exercise)
            .is_some_and(|now| mark.trim() == now)
    }

    /// Marks the exercise done (or not) for the starter as it is now.
    pub fn mark(&self, exercise: &Exercise, passed: bool) -> std::io::Result<()> {
        let mark = self.notes(exercise).join("passed");
        match self.fingerprint(exercise) {
            Some(now) if passed => {
                fs::create_dir_all(self.notes(exercise))?;
                crate::platform::write_atomically(&mark, now.as_bytes())
            }
            _ => match fs::remove_file(mark) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
                _ => Ok(()),
            },
        }
    }

    /// The next hint, and how many there are; `None` once every hint was shown.
    pub fn next_hint(&self, exercise: &Exercise) -> std::io::Result<Option<(usize, &'static str)>> {
        let count_file = self.notes(exercise).join("hints-shown");
        let shown: usize = fs::read_to_string(&count_file)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0);
        let Some(hint) = exercise.hints.get(shown) else {
            return Ok(None);
        };
        fs::create_dir_all(self.notes(exercise))?;
        crate::platform::write_atomically(&count_file, (shown + 1).to_string().as_bytes())?;
        Ok(Some((shown + 1, hint)))
    }

    /// Puts the pristine starter back and forgets the hints shown and the done mark.
    pub fn reset(&self, exercise: &Exercise) -> std::io::Result<()> {
        let pristine = fs::read(self.pristine(exercise))?;
        crate::platform::write_atomically(&self.starter(exercise), &pristine)?;
        let notes = self.notes(exercise);
        if notes.exists() {
            fs::remove_dir_all(notes)?;
        }
        Ok(())
    }

    /// A fingerprint of the starter's text as it is now.
    fn fingerprint(&self, exercise: &Exercise) -> Option<String> {
        let text = fs::read(self.starter(exercise)).ok()?;
        let mut hasher = std::hash::DefaultHasher::new();
        text.hash(&mut hasher);
        Some(format!("{:016x}", hasher.finish()))
    }
}

/// The executable's path in one line of cargo's JSON messages, if it is the artefact
/// of binary `name`.
fn executable_of(line: &str, name: &str) -> Option<PathBuf> {
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    if message["reason"] != "compiler-artifact" || message["target"]["name"] != name {
        return None;
    }
    message["executable"].as_str().map(PathBuf::from)
}
