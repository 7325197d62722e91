//! Lesson test of one thread per image at scale (ch01, ch02): thousands of images must
//! not abort the run. A thread that has ended keeps its stack mapped until it is joined,
//! so a chapter that joined only after starting every thread would hold one stack (and
//! its guard page: two memory mappings) per image, and abort at about 32,000 images when
//! the kernel's map count runs out. The chapters join ended threads as they go; the test
//! proves it from the process's mappings, counted from outside while it runs, with
//! thousands of tiny images (a 4x4 PNG each) so that the run is quick.
//!
//! And when the system refuses a thread, that image fails alone, with the cause, and the
//! summary says what happened.

use std::path::Path;
use std::process::{Command, Stdio};

use workbench::chapters;

/// Images in the batch: a few thousand, far more than a run holds threads at once.
const IMAGES: usize = 4000;

/// A folder of `count` copies of one 4x4 PNG, named `t00000.png`, ...
fn tiny_images(folder: &Path, count: usize) {
    let pixels = image::RgbImage::from_pixel(4, 4, image::Rgb([10, 200, 30]));
    let mut png = Vec::new();
    pixels
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    for number in 0..count {
        std::fs::write(folder.join(format!("t{number:05}.png")), &png).unwrap();
    }
}

/// The number of memory mappings of process `pid` (lines of `/proc/PID/maps`), or 0
/// once it has ended.
fn mappings(pid: u32) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/maps")).map_or(0, |maps| maps.lines().count())
}

/// Runs `chapter` on `source` with `env`, and returns its exit code, its `--json`
/// summary and the most memory mappings it ever had (sampled while it ran).
fn run_counting_mappings(
    chapter: &str,
    source: &Path,
    env: &[(&str, &str)],
) -> (i32, serde_json::Value, usize) {
    let out = tempfile::tempdir().unwrap();
    let mut child = Command::new(chapters::binary_path(chapter).unwrap())
        .args(["--json", "--quiet", "--sizes", "32", "--source"])
        .arg(source)
        .arg("--out")
        .arg(out.path())
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut most = 0;
    while child.try_wait().unwrap().is_none() {
        most = most.max(mappings(child.id()));
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{chapter}: no summary ({e}): {stdout}"));
    (output.status.code().unwrap_or(-1), summary, most)
}

#[test]
fn thousands_of_images_get_their_threads_joined_as_they_go() {
    let source = tempfile::tempdir().unwrap();
    tiny_images(source.path(), IMAGES);
    for chapter in ["ch01-threads", "ch02-join-handles"] {
        let (code, summary, most) = run_counting_mappings(chapter, source.path(), &[]);
        assert_eq!(code, 0, "{chapter}: {summary}");
        assert_eq!(summary["thumbnails"], IMAGES, "{chapter}: {summary}");
        // Unjoined, the ended threads alone would hold two mappings per image.
        assert!(
            most < IMAGES,
            "{chapter}: {most} memory mappings at once for {IMAGES} images: \
             ended threads are not joined as the run goes"
        );
    }
}

#[test]
fn an_image_the_system_gives_no_thread_fails_alone_and_the_run_says_why() {
    let source = tempfile::tempdir().unwrap();
    tiny_images(source.path(), 3);
    // A stack of a terabyte: every thread the chapter asks for is refused.
    let huge_stacks = [("RUST_MIN_STACK", "1000000000000")];
    for chapter in ["ch01-threads", "ch02-join-handles"] {
        let (code, summary, _) = run_counting_mappings(chapter, source.path(), &huge_stacks);
        assert_eq!(code, 1, "{chapter}: {summary}");
        let failed = summary["failed"].as_array().unwrap();
        assert_eq!(failed.len(), 3, "{chapter}: {summary}");
        for failure in failed {
            let error = failure["error"].as_str().unwrap();
            assert!(
                error.starts_with("cannot start a thread: "),
                "{chapter}: {error}"
            );
        }
        let notes = summary["notes"].to_string();
        assert!(
            notes.contains("3 images got no thread"),
            "{chapter}: {notes}"
        );
    }
}
