//! ch09-pipeline's lesson: the bounded channel is backpressure. Counted from the trace,
//! never timed: at any moment, the images downloaded but not yet being resized are at
//! most the channel's capacity, plus one per downloader (holding an image while it waits
//! for room) and one per resizer (just taken, not yet started).

mod common;

use std::time::Duration;

use common::serve;
use workbench::harness::corpus::{self, CorpusSpec};
use workbench::trace::{Phase, Trace};

const IMAGES: usize = 24;
const DOWNLOADERS: usize = 3;
const RESIZERS: usize = 1;
const QUEUE: usize = 1;

/// Runs ch09 on a corpus of `IMAGES` images served with no latency (downloads are quick,
/// the single resizer is the slow stage), with `extra` flags, and returns its trace. The
/// widest thumbnail, 640 of 960, needs the whole image decoded (not the quick 1/8 scale
/// the default widths allow), so that a resize stays many times longer than a download
/// over loopback, however the machine is loaded.
fn traced_run(extra: &[&str]) -> Trace {
    let dir = tempfile::tempdir().unwrap();
    let spec = CorpusSpec {
        count: IMAGES,
        png: 0,
        seed: 9,
        width: 960,
        height: 640,
    };
    corpus::generate(&spec, dir.path()).unwrap();
    let store = serve(dir.path(), Duration::ZERO);
    let trace_file = tempfile::NamedTempFile::new().unwrap();
    let mut flags: Vec<String> = vec![
        "--trace".into(),
        trace_file.path().to_str().unwrap().into(),
        "--download-workers".into(),
        DOWNLOADERS.to_string(),
        "--resize-workers".into(),
        RESIZERS.to_string(),
        "--queue".into(),
        QUEUE.to_string(),
        "--sizes".into(),
        "320,480,640".into(),
    ];
    flags.extend(extra.iter().map(|f| f.to_string()));
    let run = common::run_chapter("ch09-pipeline", store.url(), &flags);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.summary["thumbnails"], IMAGES * 3);
    Trace::read(trace_file.path()).unwrap()
}

#[test]
fn a_bounded_channel_caps_the_images_waiting_in_memory() {
    let trace = traced_run(&[]);
    let bound = QUEUE + DOWNLOADERS + RESIZERS;
    let most = trace.most_images_waiting();
    assert!(
        most <= bound,
        "{most} images waited at once; the channel allows at most {bound}"
    );
    // Every image went through all three stages, each on its own kind of thread (and
    // each thumbnail is uploaded on its own).
    for (phase, prefix, count) in [
        (Phase::Download, "download-", IMAGES),
        (Phase::Resize, "resize-", IMAGES),
        (Phase::Upload, "upload-", IMAGES * 3),
    ] {
        let spans: Vec<_> = trace.spans.iter().filter(|s| s.phase == phase).collect();
        assert_eq!(spans.len(), count, "{phase:?}");
        assert!(
            spans.iter().all(|s| s.worker.starts_with(prefix)),
            "{phase:?}"
        );
    }
}

#[test]
fn without_the_bound_downloads_race_ahead_of_the_resizer() {
    let trace = traced_run(&["--unbounded"]);
    let most = trace.most_images_waiting();
    // Downloads over loopback are several times quicker than a resize of a 960x640
    // image, so with nothing to stop them the three downloaders finish far ahead.
    assert!(
        most > QUEUE + DOWNLOADERS + RESIZERS,
        "only {most} images waited at once without the bound"
    );
}

#[test]
fn the_biggest_images_are_handed_out_first() {
    // Two PNGs among JPEGs: named last, but several times the bytes (and the work).
    let dir = tempfile::tempdir().unwrap();
    let spec = CorpusSpec {
        count: 8,
        png: 2,
        seed: 3,
        width: 320,
        height: 240,
    };
    corpus::generate(&spec, dir.path()).unwrap();
    let mut files: Vec<(u64, String)> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
        .map(|entry| {
            let size = entry.metadata().unwrap().len();
            (size, entry.file_name().to_string_lossy().into_owned())
        })
        .collect();
    files.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    assert!(files[..2].iter().all(|(_, name)| name.ends_with(".png")));
    let stem = |name: &str| name.rsplit_once('.').unwrap().0.to_string();
    let biggest_first: Vec<String> = files.iter().map(|(_, name)| stem(name)).collect();

    // One downloader takes the work list in its order: the trace shows the order.
    let trace_file = tempfile::NamedTempFile::new().unwrap();
    let flags = [
        "--trace",
        trace_file.path().to_str().unwrap(),
        "--download-workers",
        "1",
    ]
    .map(String::from);
    let run = common::run_chapter("ch09-pipeline", dir.path().to_str().unwrap(), &flags);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut downloads: Vec<_> = Trace::read(trace_file.path())
        .unwrap()
        .spans
        .into_iter()
        .filter(|span| span.phase == Phase::Download)
        .collect();
    downloads.sort_by_key(|span| span.start_us);
    let order: Vec<String> = downloads.into_iter().map(|span| span.image).collect();
    assert_eq!(order, biggest_first);
}
