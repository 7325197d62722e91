//! The book teaches from the code, so it must never drift from it. Without needing mdBook,
//! these tests check that every chapter has its page in the table of contents, that every
//! `{{#include}}` points at a real file and a real anchor, that every link inside the book
//! lands on a page (and heading) that exists, and that every command a page tells the
//! reader to run is accepted by the program it names.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use workbench::chapters;

/// The sections of a chapter page, in order. "The bug switch" is optional and not listed.
const CHAPTER_SECTIONS: &[&str] = &[
    "The idea",
    "In Python",
    "The code",
    "Run it",
    "What the timeline shows",
    "Exercises",
    "Notes for the instructor",
];

/// Pages that other pages may link to before they are written: such a link may dangle.
/// Once the page exists it is checked like any other.
const PAGES_WRITTEN_ELSEWHERE: &[&str] = &["results.md"];

/// How long one command from the book may run on the tiny corpus before it counts as hung.
const COMMAND_DEADLINE: Duration = Duration::from_secs(120);

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every Markdown page under `book/src`, by its path relative to it, with its text.
fn pages() -> BTreeMap<String, String> {
    let mut pages = BTreeMap::new();
    let mut folders = vec![book_src()];
    while let Some(folder) = folders.pop() {
        for entry in fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                let name = path.strip_prefix(book_src()).unwrap();
                pages.insert(name.to_string_lossy().into_owned(), read(&path));
            }
        }
    }
    pages
}

/// `text` without its HTML comments.
fn without_comments(text: &str) -> String {
    let mut kept = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        kept.push_str(&rest[..start]);
        rest = rest[start..]
            .find("-->")
            .map_or("", |end| &rest[start + end + 3..]);
    }
    kept.push_str(rest);
    kept
}

/// The targets of the Markdown links `[text](target)` in `text`.
fn link_targets(text: &str) -> Vec<String> {
    text.match_indices("](")
        .filter_map(|(at, _)| {
            let rest = &text[at + 2..];
            rest.find(')').map(|end| rest[..end].trim().to_string())
        })
        .collect()
}

/// The pages SUMMARY.md lists (draft chapters, with an empty link, are skipped).
fn summary_pages() -> Vec<String> {
    let summary = without_comments(&read(&book_src().join("SUMMARY.md")));
    link_targets(&summary)
        .into_iter()
        .filter(|target| !target.is_empty())
        .collect()
}

#[test]
fn every_page_in_the_summary_exists() {
    for page in summary_pages() {
        assert!(
            book_src().join(&page).is_file(),
            "SUMMARY.md lists {page}, which does not exist"
        );
    }
}

#[test]
fn every_chapter_has_its_page_and_every_chapter_page_its_chapter() {
    let listed: BTreeSet<String> = summary_pages().into_iter().collect();
    for chapter in chapters::ALL {
        let page = format!("{}.md", chapter.name);
        assert!(
            book_src().join(&page).is_file(),
            "{} has no page: write book/src/{page}",
            chapter.name
        );
        assert!(
            listed.contains(&page),
            "{page} is not listed in book/src/SUMMARY.md"
        );
    }
    for page in pages().keys() {
        if page.starts_with("ch") && page.as_bytes().get(2).is_some_and(u8::is_ascii_digit) {
            let name = page.trim_end_matches(".md");
            assert!(
                chapters::find(name).is_some(),
                "{page} is a chapter page, but there is no chapter {name} in chapters::ALL"
            );
        }
    }
}

#[test]
fn every_chapter_page_follows_the_template_and_has_its_answers() {
    let answers = read(&book_src().join("answers.md"));
    for (number, chapter) in chapters::ALL.iter().enumerate() {
        let page = format!("{}.md", chapter.name);
        let text = read(&book_src().join(&page));
        let title = text
            .lines()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("");
        assert!(
            title.starts_with(&format!("# Chapter {number}:")),
            "{page} must open with `# Chapter {number}: Title`, not `{title}`"
        );
        // A section starts on a heading line or a line in bold.
        let starts: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|line| line.starts_with("##") || line.starts_with("**"))
            .map(|line| line.trim_start_matches(['#', '*', ' ']).to_lowercase())
            .collect();
        let mut from = 0;
        for section in CHAPTER_SECTIONS {
            let wanted = section.to_lowercase();
            match starts[from..].iter().position(|s| s.starts_with(&wanted)) {
                Some(offset) => from += offset + 1,
                None => panic!("{page}: no section `{section}` (after the ones before it)"),
            }
        }
        assert!(
            answers
                .lines()
                .any(|line| line.trim() == format!("## {}", chapter.name)),
            "answers.md has no section `## {}`",
            chapter.name
        );
    }
}

/// One `{{#include ...}}` (or `{{#rustdoc_include ...}}`) in a page: the file, and the
/// anchor or line range after it.
struct Include {
    page: String,
    file: PathBuf,
    selector: Option<String>,
}

fn includes() -> Vec<Include> {
    let mut found = Vec::new();
    for (page, text) in pages() {
        let folder = book_src().join(&page).parent().unwrap().to_path_buf();
        for (at, _) in text.match_indices("{{#") {
            if text[..at].ends_with('\\') {
                continue; // an escaped include, shown as text
            }
            let rest = &text[at + 3..];
            let Some(end) = rest.find("}}") else {
                panic!("{page}: an unclosed {{{{# ...");
            };
            let mut words = rest[..end].split_whitespace();
            let kind = words.next().unwrap_or("");
            if kind != "include" && kind != "rustdoc_include" {
                continue;
            }
            let argument = words.next().unwrap_or("");
            let (path, selector) = match argument.split_once(':') {
                Some((path, selector)) => (path, Some(selector.to_string())),
                None => (argument, None),
            };
            found.push(Include {
                page: page.clone(),
                file: folder.join(path),
                selector,
            });
        }
    }
    found
}

/// Whether `line` marks the start (`ANCHOR`) or end (`ANCHOR_END`) of anchor `name`.
fn marks(line: &str, mark: &str, name: &str) -> bool {
    line.split_once(&format!("{mark}:"))
        .is_some_and(|(_, rest)| rest.split_whitespace().next() == Some(name))
}

#[test]
fn every_include_points_at_a_file_and_an_anchor_that_exist() {
    let includes = includes();
    assert!(
        !includes.is_empty(),
        "no page includes code: the chapter pages must"
    );
    for include in includes {
        let Include {
            page,
            file,
            selector,
        } = include;
        assert!(
            file.is_file(),
            "{page} includes {}, which does not exist",
            file.display()
        );
        let source = read(&file);
        let Some(selector) = selector else { continue };
        let first = selector.split(':').next().unwrap_or("");
        let is_line_range = selector.chars().all(|c| c.is_ascii_digit() || c == ':');
        if is_line_range {
            let lines = source.lines().count();
            for number in selector.split(':').filter(|n| !n.is_empty()) {
                let number: usize = number.parse().unwrap();
                assert!(
                    number <= lines,
                    "{page} includes line {number} of {}, which has {lines} lines",
                    file.display()
                );
            }
            continue;
        }
        let lines: Vec<&str> = source.lines().collect();
        let start = lines.iter().position(|l| marks(l, "ANCHOR", first));
        let end = lines.iter().position(|l| marks(l, "ANCHOR_END", first));
        match (start, end) {
            (Some(start), Some(end)) => assert!(
                start + 1 < end,
                "{page}: anchor `{first}` in {} is empty or ends before it starts",
                file.display()
            ),
            _ => panic!(
                "{page} includes anchor `{first}` of {}, which has no `ANCHOR: {first}` \
                 and `ANCHOR_END: {first}` pair",
                file.display()
            ),
        }
    }
}

/// mdBook's id for a heading: lower case, spaces to `-`, other punctuation dropped.
fn heading_id(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_ascii_lowercase())
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

fn heading_ids(text: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut ids = BTreeSet::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            ids.insert(heading_id(line.trim_start_matches('#').trim()));
        }
    }
    ids
}

#[test]
fn every_link_inside_the_book_lands_on_a_page_and_heading_that_exist() {
    let pages = pages();
    for (page, text) in &pages {
        let folder = Path::new(page).parent().unwrap_or(Path::new(""));
        for target in link_targets(&without_comments(text)) {
            let target = target.split_whitespace().next().unwrap_or("");
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = match target.split_once('#') {
                Some((file, fragment)) => (file, Some(fragment)),
                None => (target, None),
            };
            let linked = if file.is_empty() {
                page.clone()
            } else {
                folder.join(file).to_string_lossy().into_owned()
            };
            if PAGES_WRITTEN_ELSEWHERE.contains(&linked.as_str())
                && !book_src().join(&linked).exists()
            {
                continue;
            }
            assert!(
                book_src().join(&linked).exists(),
                "{page} links to {target}, which does not exist"
            );
            if let (Some(fragment), Some(linked_text)) = (fragment, pages.get(&linked)) {
                assert!(
                    heading_ids(linked_text).contains(fragment),
                    "{page} links to {target}, but {linked} has no heading with that id"
                );
            }
        }
    }
}

/// One command a page tells the reader to run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct BookCommand {
    page: String,
    line: String,
    /// The binary `cargo run` would run: a chapter, or `workbench` with no `--bin`.
    binary: String,
    /// The arguments after `--`.
    args: Vec<String>,
}

/// Every `$ cargo run ...` line of every ```` ```console ```` block (continued lines
/// joined, and anything after a pipe or redirection cut off).
fn book_commands() -> Vec<BookCommand> {
    let mut commands = BTreeSet::new();
    for (page, text) in pages() {
        let mut in_console = false;
        let mut pending = String::new();
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with("```") {
                in_console = !in_console && trimmed.trim_start_matches('`') == "console";
                continue;
            }
            if !in_console {
                continue;
            }
            if pending.is_empty() && !trimmed.starts_with("$ ") {
                continue; // output
            }
            pending.push_str(trimmed.trim_end_matches('\\'));
            pending.push(' ');
            if trimmed.ends_with('\\') {
                continue;
            }
            let line = std::mem::take(&mut pending);
            let line = line.trim_start_matches("$ ").trim().to_string();
            if let Some(command) = parse_cargo_run(&page, &line) {
                commands.insert(command);
            }
        }
    }
    commands.into_iter().collect()
}

fn parse_cargo_run(page: &str, line: &str) -> Option<BookCommand> {
    let command = line.split(['|', '>', ';', '&']).next().unwrap_or("").trim();
    let words: Vec<String> = command
        .split_whitespace()
        .map(|w| w.trim_matches(['"', '\'']).to_string())
        .collect();
    if words.len() < 2 || words[0] != "cargo" || words[1] != "run" {
        return None;
    }
    let (cargo_args, args) = match words.iter().position(|w| w == "--") {
        Some(at) => (&words[2..at], words[at + 1..].to_vec()),
        None => (&words[2..], Vec::new()),
    };
    let binary = cargo_args
        .iter()
        .position(|w| w == "--bin")
        .map(|at| {
            cargo_args
                .get(at + 1)
                .cloned()
                .unwrap_or_else(|| panic!("{page}: `{line}` has --bin and no name"))
        })
        .unwrap_or_else(|| "workbench".to_string());
    Some(BookCommand {
        page: page.to_string(),
        line: line.to_string(),
        binary,
        args,
    })
}

/// `args` without the flags the test sets itself (and their values).
fn without_flags(args: &[String], flags_with_value: &[&str], bare_flags: &[&str]) -> Vec<String> {
    let mut kept = Vec::new();
    let mut skip_value = false;
    for arg in args {
        if std::mem::take(&mut skip_value) {
            continue;
        }
        let name = arg.split('=').next().unwrap_or("");
        if flags_with_value.contains(&name) {
            skip_value = !arg.contains('=');
        } else if !bare_flags.contains(&arg.as_str()) {
            kept.push(arg.clone());
        }
    }
    kept
}

/// `args` with a `--count` above [`MOST_IMAGES`] brought down to it: a page may show a run
/// of 10,000 images, whose lines have the same shape as a run of a few hundred (numbers
/// are compared as `#`), which a debug build makes in a fraction of the time.
fn at_most_images(args: &[String]) -> Vec<String> {
    let mut args = args.to_vec();
    let at = args.iter().position(|a| a == "--count").map(|at| at + 1);
    if let Some((at, count)) = at.and_then(|at| Some((at, args.get(at)?.parse::<usize>().ok()?))) {
        args[at] = count.min(MOST_IMAGES).to_string();
    }
    args
}

/// See [`at_most_images`].
const MOST_IMAGES: usize = 300;

/// Runs `command` to its end, or kills it at the deadline; its exit code and stderr.
fn run_to_end(mut command: Command, scratch: &Path) -> (Option<i32>, String) {
    let stderr_path = scratch.join("stderr.txt");
    let stderr = fs::File::create(&stderr_path).unwrap();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > COMMAND_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = fs::read_to_string(&stderr_path).unwrap_or_default();
    match status {
        Some(status) => (status.code(), stderr),
        None => (
            None,
            format!("still running after {COMMAND_DEADLINE:?}\n{stderr}"),
        ),
    }
}

#[test]
fn every_command_in_the_book_runs() {
    let commands = book_commands();
    assert!(
        commands.iter().any(|c| c.binary.starts_with("ch")),
        "no page shows a chapter command in a ```console block"
    );
    let corpus = common::TestCorpus::new();
    let store = corpus.store();
    let mut problems = Vec::new();
    for command in commands {
        let scratch = tempfile::tempdir().unwrap();
        let BookCommand {
            page,
            line,
            binary,
            args,
        } = &command;
        let program = if binary == "workbench" {
            PathBuf::from(env!("CARGO_BIN_EXE_workbench"))
        } else if chapters::find(binary).is_some() {
            chapters::binary_path(binary).unwrap()
        } else {
            problems.push(format!(
                "{page}: `{line}`: there is no chapter called {binary}"
            ));
            continue;
        };
        let mut process = Command::new(&program);
        let expected: &[i32] = if binary == "workbench" {
            // The tools parse their flags and stop at --help: the store would run forever
            // and the tour takes minutes, but a flag they do not know still fails here.
            if args.is_empty() {
                continue; // the bare tour: nothing to parse
            }
            process.args(args).arg("--help");
            &[0]
        } else {
            // Chapters run for real, on the tiny corpus, writing into a scratch folder.
            let had_trace = args.iter().any(|a| a.split('=').next() == Some("--trace"));
            let args = without_flags(
                args,
                &["--source", "--out", "--trace"],
                &["--json", "--quiet"],
            );
            process
                .args(&args)
                .args(["--source", store.url(), "--json", "--quiet", "--out"])
                .arg(scratch.path().join("out"));
            if had_trace {
                process
                    .arg("--trace")
                    .arg(scratch.path().join("trace.json"));
            }
            // 1 is a run where some image failed: a bug switch may do that on purpose.
            // 3 is ch06's detected deadlock, which `--deadlock` asks for.
            if args.iter().any(|arg| arg == "--deadlock") {
                &[3]
            } else {
                &[0, 1]
            }
        };
        let (code, stderr) = run_to_end(process, scratch.path());
        if !code.is_some_and(|code| expected.contains(&code)) {
            problems.push(format!(
                "{page}: `{line}` ended with {code:?} (expected one of {expected:?}): {stderr}"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "commands in the book that do not work:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_command_parser_reads_what_pages_write() {
    let command = parse_cargo_run(
        "page.md",
        "cargo run --release --bin ch00-sequential -- --workload io --trace out/t.json | head",
    )
    .unwrap();
    assert_eq!(command.binary, "ch00-sequential");
    assert_eq!(command.args, ["--workload", "io", "--trace", "out/t.json"]);
    let tour = parse_cargo_run("page.md", "cargo run --release").unwrap();
    assert_eq!(tour.binary, "workbench");
    assert!(tour.args.is_empty());
    assert!(parse_cargo_run("page.md", "mdbook serve book").is_none());

    let args: Vec<String> = ["--out", "x", "--trace=t.json", "--json", "--sizes", "64"]
        .map(String::from)
        .to_vec();
    assert_eq!(
        without_flags(&args, &["--out", "--trace"], &["--json"]),
        ["--sizes", "64"]
    );
    assert_eq!(
        heading_id("The GIL, and why Rust has none"),
        "the-gil-and-why-rust-has-none"
    );
    assert_eq!(without_comments("a<!-- b -->c"), "ac");
}

/// A line of output with what changes from run to run taken out: numbers become `#`,
/// paths and URLs `<where>`, durations' units are kept; a JSON line becomes its keys.
/// Two lines of the same shape are the same line of the program, printed another time.
fn shape(line: &str) -> String {
    let line = line.trim();
    if let Ok(serde_json::Value::Object(fields)) = serde_json::from_str(line) {
        let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
        return format!("json {}", keys.join(","));
    }
    let mut words = Vec::new();
    for word in line.split_whitespace() {
        if word.contains('/') {
            words.push("<where>".to_string());
            continue;
        }
        let mut shaped = String::new();
        let mut in_number = false;
        for c in word.chars() {
            let numeric = c.is_ascii_digit() || (in_number && c == '.');
            if numeric && !in_number {
                shaped.push('#');
            } else if !numeric {
                shaped.push(c);
            }
            in_number = numeric;
        }
        words.push(shaped);
    }
    // A list is the same line whatever its length: `img-#, img-#, img-#` is `img-#,`.
    words.dedup();
    words.join(" ")
}

/// Every chapter command of a ```` ```console ```` block with the lines shown under it.
fn book_examples() -> Vec<(BookCommand, Vec<String>)> {
    let mut examples: Vec<(BookCommand, Vec<String>)> = Vec::new();
    for (page, text) in pages() {
        let mut in_console = false;
        let mut pending = String::new();
        let mut current: Option<usize> = None;
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with("```") {
                in_console = !in_console && trimmed.trim_start_matches('`') == "console";
                current = None;
                continue;
            }
            if !in_console {
                continue;
            }
            if pending.is_empty() && !trimmed.starts_with("$ ") {
                if let (Some(at), false) = (current, trimmed.is_empty()) {
                    examples[at].1.push(trimmed.to_string());
                }
                continue;
            }
            pending.push_str(trimmed.trim_end_matches('\\'));
            pending.push(' ');
            if trimmed.ends_with('\\') {
                continue;
            }
            let line = std::mem::take(&mut pending);
            let line = line.trim_start_matches("$ ").trim().to_string();
            current = parse_cargo_run(&page, &line)
                .filter(|command| chapters::find(&command.binary).is_some())
                .map(|command| {
                    examples.push((command, Vec::new()));
                    examples.len() - 1
                });
        }
    }
    examples
}

/// The book's example outputs are what the programs print: every line shown under a
/// chapter's command must have the shape of a line that command prints today. The
/// command runs as the page writes it (its own store, its own corpus, its own knobs),
/// only with `--out` and `--trace` moved to a scratch folder. Numbers, paths, URLs and
/// the length of a list may differ; a line the program no longer prints fails. To
/// refresh the outputs, run `book/regenerate`.
#[test]
fn every_line_of_example_output_is_one_the_program_prints() {
    let examples = book_examples();
    assert!(
        examples.iter().any(|(_, output)| !output.is_empty()),
        "no page shows a chapter's output"
    );
    let mut problems = Vec::new();
    for (command, shown) in examples.iter().filter(|(_, shown)| !shown.is_empty()) {
        // A line printed "now and then" (a status line every 250 ms) may not show in a
        // fast run: if a line is missing, the command runs again on a slower store, and a
        // line counts if either run printed it.
        let mut printed = shapes_printed_by(command, &[]);
        let slower = ["--latency".to_string(), "400ms".to_string()];
        let missing = shown.iter().any(|line| !printed.contains(&shape(line)));
        if missing && !command.args.iter().any(|arg| arg.starts_with("--latency")) {
            printed.extend(shapes_printed_by(command, &slower));
        }
        for line in shown.iter().filter(|line| !printed.contains(&shape(line))) {
            problems.push(format!(
                "{}: `{}` shows `{line}`",
                command.page, command.line
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "example output the programs no longer print (refresh it with book/regenerate):\n{}",
        problems.join("\n")
    );
}

/// The shapes of the lines `command` prints (stdout and stderr), run as the page
/// writes it (plus `more`) but with `--out` and `--trace` in a scratch folder.
fn shapes_printed_by(command: &BookCommand, more: &[String]) -> BTreeSet<String> {
    let scratch = tempfile::tempdir().unwrap();
    let args = at_most_images(&without_flags(&command.args, &["--out", "--trace"], &[]));
    let output = Command::new(chapters::binary_path(&command.binary).unwrap())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(&args)
        .args(more)
        .arg("--out")
        .arg(scratch.path().join("out"))
        .arg("--trace")
        .arg(scratch.path().join("trace.json"))
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&output.stderr).lines())
        .map(shape)
        .collect()
}

#[test]
fn a_line_keeps_its_shape_when_its_numbers_and_places_change() {
    assert_eq!(
        shape("ch00-sequential: 48 images, 144 thumbnails, 0 failed in 2.85 s (16.9 images/s)"),
        shape("ch00-sequential: 5 images, 15 thumbnails, 0 failed in 0.1 s (50 images/s)")
    );
    assert_eq!(
        shape("  thumbnails in http://127.0.0.1:38947/thumbs/ch00-sequential/"),
        shape("thumbnails in /tmp/x/out")
    );
    assert_ne!(shape("paint 2.61358ms"), shape("resize 2.61358ms"));
    assert_eq!(
        shape(r#"{"chapter":"ch00","images":5}"#),
        "json chapter,images"
    );
}
