//! Faults in the places thumbnails go, and in the embedded store, as an attacker or a
//! bad day would make them: links planted at temporary names, one thumbnail name taken,
//! an output folder nobody can write, readers that stall, clients that send headers a
//! byte at a time. After any of them an output folder holds only complete sets.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestCorpus, run_chapter, runnable_chapters};
use workbench::harness::store::{RunningStore, StoreConfig};
use workbench::platform::write_atomically;

/// The first JPEG of the test corpus (its thumbnails are `img-000_{width}.jpg`).
const FIRST: &str = "img-000";

/// Every name in `dir`, hidden ones included.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The thumbnails in `dir` by image stem, checking that each stem has all three widths
/// and that nothing else (a temporary file, a stray width) is there, apart from `except`.
fn complete_sets(dir: &Path, except: &[&str]) -> BTreeMap<String, usize> {
    let mut sets = BTreeMap::new();
    for name in names_in(dir)
        .iter()
        .filter(|n| !except.contains(&n.as_str()))
    {
        let stem = name.rsplit_once('_').map(|(stem, _)| stem);
        let stem = stem.unwrap_or_else(|| panic!("{name} is no thumbnail"));
        *sets.entry(stem.to_string()).or_insert(0) += 1;
    }
    for (stem, count) in &sets {
        assert_eq!(
            *count, 3,
            "{stem} has {count} of its 3 thumbnails: {sets:?}"
        );
    }
    sets
}

/// The error the summary gives for the image whose source ends with `name`.
fn error_of(summary: &serde_json::Value, name: &str) -> String {
    let failed = summary["failed"].as_array().expect("a summary");
    let entry = failed
        .iter()
        .find(|f| f["source"].as_str().unwrap_or("").ends_with(name))
        .unwrap_or_else(|| panic!("{name} did not fail: {summary}"));
    entry["error"].as_str().unwrap().to_string()
}

// Item 1: temporary files never follow a link.

#[test]
fn links_planted_at_temporary_names_never_reach_the_victim() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim.txt");
    fs::write(&victim, b"precious").unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    let target = out.join("cat_32.jpg");
    // Every name the old scheme would pick (`.{name}.{pid}-{n}.tmp`) for the next
    // writes of this process, and the names beside the final one.
    let pid = std::process::id();
    let mut planted: Vec<PathBuf> = (0..64)
        .map(|n| out.join(format!(".cat_32.jpg.{pid}-{n}.tmp")))
        .collect();
    planted.extend(
        [
            "cat_32.jpg.tmp",
            ".cat_32.jpg.tmp",
            ".cat_32.jpg",
            "cat_32.jpg~",
        ]
        .map(|n| out.join(n)),
    );
    for link in &planted {
        std::os::unix::fs::symlink(&victim, link).unwrap();
    }

    for round in 0..10 {
        write_atomically(&target, format!("thumbnail {round}").as_bytes()).unwrap();
    }

    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    assert_eq!(fs::read(&target).unwrap(), b"thumbnail 9");
    for link in &planted {
        assert!(
            fs::symlink_metadata(link).unwrap().is_symlink(),
            "{}",
            link.display()
        );
    }
    // Only the links and the thumbnail: no temporary file left behind.
    assert_eq!(names_in(&out).len(), planted.len() + 1);
}

#[test]
fn a_link_where_a_thumbnail_goes_is_replaced_and_the_victim_kept() {
    let corpus = TestCorpus::new();
    let out = tempfile::tempdir().unwrap();
    let victim = out
        .path()
        .join("..")
        .join(format!("victim-{}", std::process::id()));
    fs::write(&victim, b"precious").unwrap();
    std::os::unix::fs::symlink(&victim, out.path().join(format!("{FIRST}_32.jpg"))).unwrap();

    let flags = [
        "--out".to_string(),
        out.path().to_str().unwrap().to_string(),
    ];
    let run = run_chapter(
        "ch00-sequential",
        corpus.dir.path().to_str().unwrap(),
        &flags,
    );

    let kept = fs::read(&victim).unwrap();
    fs::remove_file(&victim).unwrap();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(kept, b"precious");
    let thumbnail = out.path().join(format!("{FIRST}_32.jpg"));
    assert!(!fs::symlink_metadata(&thumbnail).unwrap().is_symlink());
    assert_eq!(complete_sets(out.path(), &[]).len(), corpus.files.len());
}

// Item 6: an image's thumbnails are all or nothing.

#[test]
fn in_a_folder_a_failed_image_leaves_none_of_its_thumbnails() {
    let corpus = TestCorpus::new();
    for chapter in runnable_chapters() {
        let out = tempfile::tempdir().unwrap();
        // The largest thumbnail's name is taken by a folder: the rename onto it fails
        // after the two smaller ones were written.
        let taken = format!("{FIRST}_200.jpg");
        fs::create_dir(out.path().join(&taken)).unwrap();
        let flags = [
            "--out".to_string(),
            out.path().to_str().unwrap().to_string(),
        ];
        let run = run_chapter(chapter.name, corpus.dir.path().to_str().unwrap(), &flags);

        assert_eq!(run.code, 1, "{}: {}", chapter.name, run.stderr);
        let error = error_of(&run.summary, &format!("{FIRST}.jpg"));
        assert!(error.contains(&taken), "{}: {error}", chapter.name);
        let sets = complete_sets(out.path(), &[&taken]);
        assert!(!sets.contains_key(FIRST), "{}: {sets:?}", chapter.name);
        assert_eq!(sets.len(), corpus.files.len() - 1, "{}", chapter.name);
    }
}

#[test]
fn on_a_server_a_failed_image_says_which_thumbnails_were_stored() {
    let corpus = TestCorpus::new();
    let served = tempfile::tempdir().unwrap();
    // The store refuses (409) to put an object where a folder is.
    fs::create_dir_all(
        served
            .path()
            .join("thumbs")
            .join(format!("{FIRST}_200.jpg")),
    )
    .unwrap();
    let store = common::serve(served.path(), Duration::ZERO);
    let out = format!("{}thumbs/", store.url());

    for chapter in runnable_chapters() {
        let flags = ["--out".to_string(), out.clone()];
        let run = run_chapter(chapter.name, corpus.dir.path().to_str().unwrap(), &flags);

        assert_eq!(run.code, 1, "{}: {}", chapter.name, run.stderr);
        let error = error_of(&run.summary, &format!("{FIRST}.jpg"));
        assert!(error.starts_with("HTTP 409"), "{}: {error}", chapter.name);
        assert!(
            error.ends_with(&format!(
                "(stored before the failure, still on the server: {FIRST}_32.jpg, {FIRST}_64.jpg)"
            )),
            "{}: {error}",
            chapter.name
        );
    }
}

// Item 8: an output nobody can write is a setup error, before any work.

/// Runs ch00 on the corpus into `out`, and checks that it stopped at setup (exit 2, no
/// summary) with an error naming the output.
fn assert_refused_at_setup(corpus: &TestCorpus, out: &Path) {
    let flags = ["--out".to_string(), out.to_str().unwrap().to_string()];
    let run = run_chapter(
        "ch00-sequential",
        corpus.dir.path().to_str().unwrap(),
        &flags,
    );
    assert_eq!(run.code, 2, "{}: {}", out.display(), run.stderr);
    assert!(
        run.stdout.is_empty(),
        "no image was processed: {}",
        run.stdout
    );
    let expected = format!("cannot write to the output {}", out.display());
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
}

#[test]
fn an_output_folder_that_takes_no_file_is_refused_at_setup() {
    let corpus = TestCorpus::new();
    // A folder where nobody, root included, may create a file.
    assert_refused_at_setup(&corpus, Path::new("/proc"));
    // A file where the folder should be, and a folder that would have to be in a file.
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("a-file");
    fs::write(&file, b"not a folder").unwrap();
    assert_refused_at_setup(&corpus, &file);
    assert_refused_at_setup(&corpus, &file.join("out"));
}

#[test]
fn a_read_only_output_folder_is_refused_at_setup() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let scratch = tempfile::tempdir().unwrap();
    // A folder this process made is owned by its user: uid 0 is root.
    if fs::metadata(scratch.path()).unwrap().uid() == 0 {
        // Root writes into a read-only folder regardless: this case cannot be made for
        // root, and the test above covers a folder that even root cannot write.
        eprintln!("skipped: running as root, which ignores a folder's permissions");
        return;
    }
    let corpus = TestCorpus::new();
    let out = scratch.path().join("read-only");
    fs::create_dir(&out).unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o555)).unwrap();
    assert_refused_at_setup(&corpus, &out);
    fs::set_permissions(&out, fs::Permissions::from_mode(0o755)).unwrap();
}

// Item 9: the embedded store streams objects and times out slow headers.

/// `workbench serve` over `root` in its own process, so that its memory is its own.
struct ServeProcess {
    child: Child,
    addr: String,
}

impl ServeProcess {
    fn start(root: &Path) -> ServeProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_workbench"))
            .args(["serve", "--latency", "0ms", "--root"])
            .arg(root)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "serving ROOT at http://127.0.0.1:PORT/"
        let addr = line
            .trim()
            .rsplit_once("http://")
            .map(|(_, rest)| rest.trim_end_matches('/').to_string())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        ServeProcess { child, addr }
    }

    /// The process's peak resident memory in MiB: `VmHWM`, the figure every summary's
    /// `peak_rss_mb` reports for a chapter.
    fn peak_rss_mb(&self) -> f64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| {
                value
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .unwrap();
        kib / 1024.0
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn stalled_readers_of_a_big_object_keep_the_store_small() {
    const OBJECT_MIB: u64 = 200;
    // Under the build folder, and sparse: 200 MiB to read, hardly any on disk.
    let root = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let big = fs::File::create(root.path().join("big.bin")).unwrap();
    big.set_len(OBJECT_MIB << 20).unwrap();
    let store = ServeProcess::start(root.path());
    let before = store.peak_rss_mb();

    // Eight readers ask for the object, read its first bytes, then stop reading.
    let readers: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut stream = TcpStream::connect(&store.addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            write!(stream, "GET /big.bin HTTP/1.1\r\nHost: store\r\n\r\n").unwrap();
            let mut first = [0; 1024];
            stream.read_exact(&mut first).unwrap();
            assert!(first.starts_with(b"HTTP/1.1 200"));
            stream
        })
        .collect();
    // Time for the store to send what the sockets' buffers take, and stop.
    std::thread::sleep(Duration::from_secs(1));
    let during = store.peak_rss_mb();
    drop(readers);

    // Whole objects in memory would be 8 x 200 MiB; slices are a few MiB at most.
    assert!(
        during - before < OBJECT_MIB as f64 / 4.0,
        "the store grew from {before:.0} MiB to {during:.0} MiB with 8 stalled readers"
    );
}

#[test]
fn a_client_slow_to_send_headers_holds_a_slot_only_until_the_header_timeout() {
    let root = tempfile::tempdir().unwrap();
    fs::write(root.path().join("a.jpg"), b"jpeg").unwrap();
    let mut config = StoreConfig::new(root.path());
    config.latency = Duration::ZERO;
    config.max_conns = Some(1);
    let store = RunningStore::start(config).unwrap();

    // The slow client takes the only slot and sends its headers a byte a second.
    let slow = TcpStream::connect(store.addr()).unwrap();
    let trickle = std::thread::spawn(move || {
        for byte in b"GET /a.jpg HTTP/1.1\r\nHost: store\r\n\r\n" {
            if (&slow).write_all(&[*byte]).is_err() {
                return; // closed by the store: what this test expects
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    std::thread::sleep(Duration::from_millis(200));

    // A normal client queues behind it and is served once the slow one is cut off,
    // after the header timeout (5 s), not the half minute its headers would take.
    let normal = TcpStream::connect(store.addr()).unwrap();
    (&normal)
        .write_all(b"GET /a.jpg HTTP/1.1\r\nHost: store\r\nConnection: close\r\n\r\n")
        .unwrap();
    normal
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let started = Instant::now();
    let mut answer = String::new();
    let read = (&normal).read_to_string(&mut answer);
    let waited = started.elapsed();
    assert!(read.is_ok(), "no answer in {waited:?}: {read:?}");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("jpeg"), "{answer}");
    trickle.join().unwrap();
}

#[test]
fn an_upload_that_pauses_is_given_longer_than_headers_are() {
    let root = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(root.path());
    config.latency = Duration::ZERO;
    let store = RunningStore::start(config).unwrap();

    // Whole headers, then three of the ten body bytes announced, then nothing.
    let client = TcpStream::connect(store.addr()).unwrap();
    (&client)
        .write_all(b"PUT /a.jpg HTTP/1.1\r\nHost: store\r\nContent-Length: 10\r\n\r\nabc")
        .unwrap();

    // Past the header timeout (5 s) the upload is still waited for...
    client
        .set_read_timeout(Some(Duration::from_secs(8)))
        .unwrap();
    let mut byte = [0; 1];
    let early = (&client).read(&mut byte);
    assert!(early.is_err(), "answered within 8 s: {early:?}");

    // ...and refused once the body timeout (30 s) is over, with nothing stored.
    client
        .set_read_timeout(Some(Duration::from_secs(40)))
        .unwrap();
    let mut answer = String::new();
    let _ = (&client).read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("stalled"), "{answer}");
    assert!(names_in(root.path()).is_empty());
}
