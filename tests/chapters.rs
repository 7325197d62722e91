//! The chapter list, the `[[bin]]` entries and the files in `chapters/` agree: a chapter
//! cannot be added to one and forgotten in another (and so skip the conformance test).

use std::collections::BTreeSet;
use std::fs;

use workbench::chapters;

/// The names of the `[[bin]]` targets in Cargo.toml whose path is in `chapters/`.
fn chapter_bins() -> BTreeSet<(String, String)> {
    let manifest = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let mut bins = BTreeSet::new();
    for block in manifest.split("[[bin]]").skip(1) {
        let value = |key: &str| {
            block.lines().find_map(|line| {
                line.trim()
                    .strip_prefix(key)?
                    .trim()
                    .strip_prefix('=')?
                    .trim()
                    .strip_prefix('"')?
                    .split('"')
                    .next()
                    .map(String::from)
            })
        };
        if let (Some(name), Some(path)) = (value("name"), value("path"))
            && path.starts_with("chapters/")
        {
            bins.insert((name, path));
        }
    }
    bins
}

#[test]
fn every_chapter_is_listed_built_and_has_a_file() {
    let listed: BTreeSet<String> = chapters::ALL.iter().map(|c| c.name.to_string()).collect();
    let bins = chapter_bins();
    let bin_names: BTreeSet<String> = bins.iter().map(|(name, _)| name.clone()).collect();
    assert_eq!(
        listed, bin_names,
        "chapters::ALL and the [[bin]] entries differ"
    );

    // A chapter is a file, `chapters/chNN_name.rs`, or a folder whose `main.rs` is the
    // chapter and whose other files are its side lessons.
    let files: BTreeSet<String> = fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/chapters"))
        .unwrap()
        .map(|e| e.unwrap())
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() {
                format!("chapters/{name}/main.rs")
            } else {
                format!("chapters/{name}")
            }
        })
        .filter(|path| path.ends_with(".rs"))
        .collect();
    let bin_paths: BTreeSet<String> = bins.into_iter().map(|(_, path)| path).collect();
    assert_eq!(
        files, bin_paths,
        "a file in chapters/ has no [[bin]], or a [[bin]] has no file"
    );

    for chapter in chapters::ALL {
        assert!(
            chapters::binary_path(chapter.name).unwrap().exists(),
            "{} is not built",
            chapter.name
        );
    }
}

#[test]
fn chapters_are_in_order_and_each_file_opens_with_its_lesson() {
    // Chapter numbers rise in list order.
    let mut previous = None;
    for chapter in chapters::ALL {
        let number: Option<u32> = chapter
            .name
            .strip_prefix("ch")
            .and_then(|rest| rest.get(..2))
            .and_then(|digits| digits.parse().ok());
        assert!(
            number.is_some() && number > previous && chapter.name.get(4..5) == Some("-"),
            "{} is out of order",
            chapter.name
        );
        previous = number;
        let file = chapter_file(chapter.name);
        let text = fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("//! # Chapter"),
            "{file} must open with its lesson header"
        );
        for section in [
            "**The idea.**",
            "**Python counterpart.**",
            "**In `src/`.**",
            "**Run it.**",
            "**What to look for.**",
        ] {
            assert!(text.contains(section), "{file} lacks {section}");
        }
    }
}

/// Every chapter has the same skeleton, so that a diff between two chapters shows their
/// concurrency and little else: `Flags`, `thumbnail_all` and `main`.
#[test]
fn every_chapter_has_the_skeleton() {
    for chapter in chapters::ALL {
        let file = chapter_file(chapter.name);
        let text = fs::read_to_string(&file).unwrap();
        for item in ["struct Flags", "fn thumbnail_all(", "fn main()"] {
            let found =
                text.contains(item) || (item == "struct Flags" && text.contains("type Flags"));
            assert!(found, "{file} has no `{item}`");
        }
    }
}

/// Every `src/...` path a chapter's header names exists: the header is how a reader finds
/// the machinery, so it must not point at a file that has moved.
#[test]
fn the_src_files_a_header_names_exist() {
    for chapter in chapters::ALL {
        let file = chapter_file(chapter.name);
        let text = fs::read_to_string(&file).unwrap();
        let header: String = text
            .lines()
            .take_while(|line| line.starts_with("//!"))
            .collect::<Vec<_>>()
            .join(" ");
        let named: Vec<&str> = header
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|quoted| quoted.starts_with("src/") && quoted.len() > 4)
            .collect();
        assert!(!named.is_empty(), "{file}: the header names no src/ file");
        for path in named {
            let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
            assert!(
                fs::metadata(&full).is_ok(),
                "{file}: the header names {path}, which does not exist"
            );
        }
    }
}

/// The file that holds `chapter`'s `main`: `chapters/chNN_name.rs` or
/// `chapters/chNN_name/main.rs`.
fn chapter_file(chapter: &str) -> String {
    let stem = format!(
        "{}/chapters/{}",
        env!("CARGO_MANIFEST_DIR"),
        chapter.replace('-', "_")
    );
    let single = format!("{stem}.rs");
    if fs::metadata(&single).is_ok() {
        single
    } else {
        format!("{stem}/main.rs")
    }
}
