//! The library's folders import downward only, as `src/lib.rs` draws them: a folder may
//! use the folders on the floors below it and its own, never one beside or above it. So
//! the lessons in `patterns/` never lean on the stage in `harness/`, and the contract at
//! the bottom never depends on what is built on it.

use std::fs;
use std::path::{Path, PathBuf};

/// Each top-level module of `src/` and its floor, from the bottom up.
const FLOORS: &[(&str, u32)] = &[
    ("contract", 0),
    ("platform", 0),
    ("chapters", 0),
    ("trace", 1),
    ("kernel", 1),
    ("io", 1),
    ("job", 2),
    ("patterns", 3),
    ("harness", 3),
    ("report", 4),
    ("cli", 5),
    ("exercises", 5),
];

fn floor(module: &str) -> Option<u32> {
    FLOORS
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, floor)| *floor)
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The top-level modules a file's code names with `crate::` (comments left out).
fn modules_used(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .flat_map(|line| {
            line.match_indices("crate::")
                .map(move |(at, _)| &line[at + 7..])
        })
        .map(|rest| {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            rest[..end].to_string()
        })
        .collect()
}

#[test]
fn every_module_is_on_a_floor() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in fs::read_dir(&src).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let module = name.trim_end_matches(".rs");
        if module != "lib" && module != "main" {
            assert!(
                floor(module).is_some(),
                "src/{name} is on no floor of FLOORS"
            );
        }
    }
}

#[test]
fn folders_import_downward_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut upward = Vec::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_string_lossy().trim_end_matches(".rs").to_string();
        let Some(own) = floor(&module) else {
            continue; // lib.rs and main.rs stand above every floor
        };
        for used in modules_used(&fs::read_to_string(&file).unwrap()) {
            let Some(theirs) = floor(&used) else {
                continue;
            };
            if used != module && theirs >= own {
                upward.push(format!(
                    "src/{} (floor {own}) uses crate::{used} (floor {theirs})",
                    relative.display()
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that do not go down:\n{}",
        upward.join("\n")
    );
}
