//! Any static server as a source: `python3 -m http.server` lists a folder as an HTML
//! index, and every chapter reads it and makes the same thumbnails as from the folder.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{TestCorpus, run_chapter, runnable_chapters};

/// `python3 -m http.server` serving a folder on a free port of 127.0.0.1, stopped when
/// dropped.
struct PythonServer {
    child: Child,
    url: String,
}

impl PythonServer {
    fn start(root: &Path) -> PythonServer {
        let mut child = Command::new("python3")
            .args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1"])
            .arg("--directory")
            .arg(root)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        // "Serving HTTP on 127.0.0.1 port 43117 (http://127.0.0.1:43117/) ..."
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let port = line
            .split_whitespace()
            .skip_while(|word| *word != "port")
            .nth(1)
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        let url = format!("http://127.0.0.1:{port}/");
        PythonServer { child, url }
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file of a folder, by name, with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect()
}

#[test]
fn every_chapter_reads_python_http_servers_html_index() {
    let corpus = TestCorpus::new();
    let folder_run = run_chapter("ch00-sequential", corpus.dir.path().to_str().unwrap(), &[]);
    assert_eq!(folder_run.code, 0, "{}", folder_run.stderr);
    let expected = files(folder_run.out());
    assert_eq!(expected.len(), 15);

    let server = PythonServer::start(corpus.dir.path());
    for chapter in runnable_chapters() {
        // Its backlog is 5 connections: a chapter that asks for more at once relies on
        // its retries to get every image.
        let run = run_chapter(chapter.name, &server.url, &[]);
        assert_eq!(
            run.code, 0,
            "{}: {}\n{}",
            chapter.name, run.stdout, run.stderr
        );
        assert_eq!(run.summary["images"], 5, "{}", chapter.name);
        assert!(
            files(run.out()) == expected,
            "{}: thumbnails differ",
            chapter.name
        );
    }
}

#[test]
fn a_json_array_of_names_is_a_listing_too() {
    // python3 -m http.server answers a folder with its index.html when there is one: here
    // the index is a JSON array naming two of the five images.
    let corpus = TestCorpus::new();
    let names: Vec<String> = corpus.files[..2]
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let index = serde_json::to_string(&names).unwrap();
    std::fs::write(corpus.dir.path().join("index.html"), index).unwrap();
    let server = PythonServer::start(corpus.dir.path());
    let run = run_chapter("ch00-sequential", &server.url, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.summary["images"], 2);
    assert_eq!(run.summary["thumbnails"], 6);
}

#[test]
fn a_page_that_lists_nothing_says_what_it_found_and_what_would_work() {
    let corpus = TestCorpus::new();
    let page = "<html><body><p>Nothing to see here.</p></body></html>";
    std::fs::write(corpus.dir.path().join("index.html"), page).unwrap();
    let server = PythonServer::start(corpus.dir.path());
    let run = run_chapter("ch00-sequential", &server.url, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    for words in [
        "an HTML page with no link",
        "a JSON array of names",
        "<a href>",
    ] {
        assert!(run.stderr.contains(words), "{}", run.stderr);
    }
}
