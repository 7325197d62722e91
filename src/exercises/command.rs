//! `workbench exercises`: list, check, hint, reset and watch, as a student and an
//! instructor use them.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::workspace::Workspace;
use super::{ALL, Exercise, Verdict, find, trial};

/// What `workbench exercises` can do.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Every exercise, its chapter, and whether it is done.
    List,
    /// Build an exercise, run it on a small corpus, and say what passed and what did not
    /// (exit 0 only when it passed).
    Check {
        /// The exercise (see `list`).
        #[arg(required_unless_present = "all")]
        name: Option<String>,
        /// Check every exercise.
        #[arg(long, conflicts_with = "name")]
        all: bool,
        /// One JSON line per exercise: name, chapter, passed, message.
        #[arg(long)]
        json: bool,
    },
    /// Show the exercise's next hint.
    Hint {
        /// The exercise.
        name: String,
    },
    /// Put the exercise's starter back as it was, and forget its hints and its mark.
    Reset {
        /// The exercise.
        name: String,
    },
    /// Check the exercise again every time its file is saved (Ctrl-C to stop).
    Watch {
        /// The exercise.
        name: String,
    },
}

/// One line of `check --all --json`, for an instructor's grading script.
#[derive(Debug, Serialize)]
struct Grade<'a> {
    name: &'a str,
    chapter: &'a str,
    passed: bool,
    message: String,
}

/// Runs a command; the exit code says how it went (2: no such exercise, or a failure of
/// the classroom itself).
pub fn run(command: Command, workspace: &Workspace) -> ExitCode {
    let result = match command {
        Command::List => list(workspace),
        Command::Check {
            all: true, json, ..
        } => check_all(workspace, json),
        Command::Check {
            name: Some(name),
            json,
            ..
        } => named(&name).map(|e| check_one(workspace, e, json)),
        Command::Check { name: None, .. } => Err("name an exercise, or give --all".into()),
        Command::Hint { name } => named(&name).and_then(|e| hint(workspace, e)),
        Command::Reset { name } => named(&name).and_then(|e| reset(workspace, e)),
        Command::Watch { name } => named(&name).map(|e| watch(workspace, e)),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("workbench exercises: {error}");
            ExitCode::from(2)
        }
    }
}

fn named(name: &str) -> Result<&'static Exercise, String> {
    find(name).ok_or_else(|| {
        format!("no exercise is called '{name}' (`workbench exercises list` shows them)")
    })
}

fn list(workspace: &Workspace) -> Result<bool, String> {
    let done = ALL.iter().filter(|e| workspace.is_done(e)).count();
    for exercise in ALL {
        let mark = if workspace.is_done(exercise) {
            "done"
        } else {
            "    "
        };
        println!(
            "{mark}  {:<28} {:<20} {}",
            exercise.name, exercise.chapter, exercise.concept
        );
    }
    println!("{done} of {} done", ALL.len());
    Ok(true)
}

/// Builds, runs and judges one exercise, and records the result.
fn judge(workspace: &Workspace, exercise: &Exercise) -> Verdict {
    let mut verdict = Verdict::default();
    let program = match workspace.build(exercise) {
        Ok(program) => program,
        Err(error) => {
            verdict.claim(false, format!("{}: {error}", exercise.name));
            return verdict;
        }
    };
    match trial::run(
        &program,
        &exercise.stage,
        &workspace.notes(exercise).join("run"),
    ) {
        Ok(trial) => verdict = (exercise.check)(&trial),
        Err(error) => verdict.claim(false, format!("the check could not run: {error}")),
    }
    if let Err(error) = workspace.mark(exercise, verdict.passed()) {
        eprintln!("workbench exercises: cannot record the result: {error}");
    }
    verdict
}

fn check_one(workspace: &Workspace, exercise: &Exercise, json: bool) -> bool {
    if !json {
        println!(
            "checking {} ({})",
            exercise.name,
            workspace.shown(&workspace.starter(exercise))
        );
    }
    let verdict = judge(workspace, exercise);
    if json {
        print_grade(exercise, &verdict);
    } else {
        for finding in &verdict.findings {
            let mark = if finding.held { "  ok " } else { "  NOT" };
            println!("{mark} {}", finding.says);
        }
        if verdict.passed() {
            println!("passed: {} is done", exercise.name);
        } else {
            println!(
                "not passed yet (`workbench exercises hint {}` for a hint)",
                exercise.name
            );
        }
    }
    verdict.passed()
}

fn check_all(workspace: &Workspace, json: bool) -> Result<bool, String> {
    let mut all_passed = true;
    for exercise in ALL {
        let verdict = judge(workspace, exercise);
        all_passed &= verdict.passed();
        if json {
            print_grade(exercise, &verdict);
        } else {
            let mark = if verdict.passed() {
                "passed"
            } else {
                "NOT passed"
            };
            println!("{:<28} {mark}: {}", exercise.name, verdict.headline());
        }
    }
    Ok(all_passed)
}

fn print_grade(exercise: &Exercise, verdict: &Verdict) {
    let grade = Grade {
        name: exercise.name,
        chapter: exercise.chapter,
        passed: verdict.passed(),
        message: verdict.headline(),
    };
    println!("{}", serde_json::to_string(&grade).unwrap_or_default());
}

fn hint(workspace: &Workspace, exercise: &Exercise) -> Result<bool, String> {
    match workspace.next_hint(exercise) {
        Ok(Some((number, text))) => {
            println!("hint {number} of {}: {text}", exercise.hints.len());
            Ok(true)
        }
        Ok(None) => {
            println!(
                "no more hints; the discussion is in the book's answers page, the solution in {}",
                workspace.shown(&workspace.solution(exercise))
            );
            Ok(true)
        }
        Err(error) => Err(format!("cannot record the hint: {error}")),
    }
}

fn reset(workspace: &Workspace, exercise: &Exercise) -> Result<bool, String> {
    workspace
        .reset(exercise)
        .map_err(|error| format!("cannot reset {}: {error}", exercise.name))?;
    println!(
        "{} is back as it started",
        workspace.shown(&workspace.starter(exercise))
    );
    Ok(true)
}

/// Checks now, then again whenever the starter's modification time changes.
fn watch(workspace: &Workspace, exercise: &Exercise) -> bool {
    let modified = || {
        std::fs::metadata(workspace.starter(exercise))
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH)
    };
    let mut seen = modified();
    check_one(workspace, exercise, false);
    println!(
        "watching {}: save it to check again",
        workspace.shown(&workspace.starter(exercise))
    );
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = modified();
        if now != seen {
            seen = now;
            check_one(workspace, exercise, false);
        }
    }
}
