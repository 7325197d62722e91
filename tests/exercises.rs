//! The classroom: every exercise is complete (a binary, a pristine copy, a solution,
//! hints, at least two per chapter), the classroom's memory works (hints, done marks,
//! reset), and the checks judge behaviour: they pass a chapter that does the thing
//! right and fail the same chapter with its bug switch on.
//!
//! That every untouched starter fails its check and every solution passes it is proved
//! by `exercises/both-directions`, which CI runs (it builds every exercise program twice).

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use workbench::chapters;
use workbench::exercises::workspace::Workspace;
use workbench::exercises::{self, ALL, Exercise, Stage, trial};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn exercise(name: &str) -> &'static Exercise {
    exercises::find(name).unwrap_or_else(|| panic!("no exercise {name}"))
}

#[test]
fn there_are_at_least_24_exercises_and_two_for_every_chapter() {
    assert!(ALL.len() >= 24, "only {} exercises", ALL.len());
    for chapter in chapters::ALL {
        let count = ALL.iter().filter(|e| e.chapter == chapter.name).count();
        assert!(count >= 2, "{} has {count} exercises, not 2", chapter.name);
    }
    for exercise in ALL {
        assert!(
            chapters::find(exercise.chapter).is_some(),
            "{} belongs to no chapter",
            exercise.name
        );
    }
    let names: BTreeSet<&str> = ALL.iter().map(|e| e.name).collect();
    assert_eq!(names.len(), ALL.len(), "two exercises share a name");
}

#[test]
fn every_exercise_has_its_binary_its_starter_its_pristine_copy_and_its_solution() {
    let manifest = fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let workspace = Workspace::new(root());
    for exercise in ALL {
        let entry = format!(
            "name = \"{}\"\npath = \"exercises/{}\"",
            exercise.name, exercise.file
        );
        assert!(
            manifest.contains(&entry),
            "Cargo.toml lacks the [[bin]] {entry}"
        );
        let starter = fs::read_to_string(workspace.starter(exercise)).unwrap();
        let pristine = fs::read_to_string(workspace.pristine(exercise)).unwrap();
        let solution = fs::read_to_string(workspace.solution(exercise)).unwrap();
        assert_eq!(
            starter, pristine,
            "{} is not as it started (`workbench exercises reset {}` puts it back)",
            exercise.file, exercise.name
        );
        assert_ne!(
            starter, solution,
            "{}: the solution is the starter",
            exercise.name
        );
        assert!(
            starter.contains(&format!("exercises check {}", exercise.name)),
            "{}'s brief does not say how to check it",
            exercise.file
        );
        assert!(
            (1..=3).contains(&exercise.hints.len()),
            "{} has {} hints",
            exercise.name,
            exercise.hints.len()
        );
    }
    // And no exercise binary is missing from the list.
    for line in manifest.lines() {
        if let Some(name) = line.strip_prefix("name = \"ex") {
            let name = format!("ex{}", name.trim_end_matches('"'));
            assert!(
                exercises::find(&name).is_some(),
                "{name} is in no list entry"
            );
        }
    }
}

/// A copy of one exercise's files in a scratch project, to edit freely.
fn scratch_classroom(exercise: &Exercise) -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    let real = Workspace::new(root());
    let scratch = Workspace::new(dir.path());
    for (from, to) in [
        (real.pristine(exercise), scratch.pristine(exercise)),
        (real.starter(exercise), scratch.starter(exercise)),
    ] {
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(from, to).unwrap();
    }
    (dir, scratch)
}

#[test]
fn hints_come_one_at_a_time_and_then_run_out() {
    let exercise = exercise("ex04-cancel-after-failures");
    let (_dir, classroom) = scratch_classroom(exercise);
    for number in 1..=exercise.hints.len() {
        let (shown, text) = classroom.next_hint(exercise).unwrap().unwrap();
        assert_eq!((shown, text), (number, exercise.hints[number - 1]));
    }
    assert_eq!(classroom.next_hint(exercise).unwrap(), None);
}

#[test]
fn a_done_mark_holds_for_the_file_as_it_passed_and_reset_brings_the_starter_back() {
    let exercise = exercise("ex00-loop");
    let (_dir, classroom) = scratch_classroom(exercise);
    assert!(!classroom.is_done(exercise));
    classroom.mark(exercise, true).unwrap();
    assert!(classroom.is_done(exercise));

    // An edit after the pass: the mark no longer holds.
    fs::write(classroom.starter(exercise), "fn main() {}\n").unwrap();
    assert!(!classroom.is_done(exercise));

    classroom.next_hint(exercise).unwrap();
    classroom.reset(exercise).unwrap();
    let pristine = fs::read(classroom.pristine(exercise)).unwrap();
    assert_eq!(fs::read(classroom.starter(exercise)).unwrap(), pristine);
    assert!(!classroom.is_done(exercise));
    let (first, _) = classroom.next_hint(exercise).unwrap().unwrap();
    assert_eq!(first, 1, "reset forgets the hints shown");
}

/// Runs chapter `chapter` with `flags` under `name`'s check; the verdict's findings.
fn judge_chapter(name: &str, chapter: &str, flags: &'static [&'static str]) -> exercises::Verdict {
    let exercise = exercise(name);
    let stage = Stage {
        flags,
        ..exercise.stage.clone()
    };
    let program = chapters::binary_path(chapter).unwrap();
    let work = tempfile::tempdir().unwrap();
    let trial = trial::run(&program, &stage, &work.path().join("run")).unwrap();
    (exercise.check)(&trial)
}

fn says(verdict: &exercises::Verdict) -> String {
    let lines: Vec<String> = verdict
        .findings
        .iter()
        .map(|f| format!("{} {}", if f.held { "ok " } else { "NOT" }, f.says))
        .collect();
    lines.join("\n")
}

#[test]
fn checks_pass_the_chapters_that_do_it_right() {
    for (name, chapter, flags) in [
        ("ex00-loop", "ch00-sequential", &[][..]),
        ("ex00-keep-going", "ch00-sequential", &[][..]),
        ("ex01-join-after-start", "ch01-threads", &[][..]),
        (
            "ex01-limit-downloads",
            "ch01-threads",
            &["--limit", "2"][..],
        ),
        ("ex07-await-in-loop", "ch07-async", &[][..]),
    ] {
        let verdict = judge_chapter(name, chapter, flags);
        assert!(
            verdict.passed(),
            "{chapter} {flags:?} under {name}:\n{}",
            says(&verdict)
        );
    }
}

#[test]
fn checks_fail_the_chapters_with_their_bug_switch_on() {
    for (name, chapter, flag, finding) in [
        (
            "ex01-join-after-start",
            "ch01-threads",
            "--join-in-loop",
            "in flight",
        ),
        (
            "ex07-await-in-loop",
            "ch07-async",
            "--await-in-loop",
            "in flight",
        ),
        (
            "ex04-hold-lock",
            "ch04-thread-pool",
            "--hold-lock",
            "in flight",
        ),
        (
            "ex01-limit-downloads",
            "ch01-threads",
            "--join-in-loop",
            "in flight",
        ),
    ] {
        let flags: &'static [&'static str] = Box::leak(Box::new([flag]));
        let verdict = judge_chapter(name, chapter, flags);
        assert!(!verdict.passed(), "{chapter} {flag} passed {name}");
        assert!(
            verdict.headline().contains(finding),
            "{chapter} {flag} under {name} failed for another reason:\n{}",
            says(&verdict)
        );
    }
}

#[test]
fn a_program_that_never_ends_is_stopped_and_named_so() {
    let exercise = exercise("ex01-daemon-reporter");
    let stage = Stage {
        time_limit: std::time::Duration::from_secs(1),
        // The store stalls: the chapter's download waits past the time limit.
        latency: std::time::Duration::from_secs(30),
        ..exercise.stage.clone()
    };
    let program = chapters::binary_path("ch00-sequential").unwrap();
    let work = tempfile::tempdir().unwrap();
    let trial = trial::run(&program, &stage, &work.path().join("run")).unwrap();
    assert_eq!(trial.code, None);
    let verdict = (exercise.check)(&trial);
    assert!(
        verdict.headline().contains("did not end within 1 s"),
        "{}",
        says(&verdict)
    );
}
