//! The conformance test: every chapter binary in `workbench::chapters::ALL` does the same
//! job. Over the same small corpus each one must write the same file names with
//! byte-identical contents as ch00, at the right sizes; and for each kind of bad input it
//! must report that one image with its cause, finish every good image, exit with code 1,
//! and leave no partial or temporary file behind.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::{Case, Run, TestCorpus, run_chapter};
use workbench::chapters;
use workbench::harness::corpus::{self, Sample};
use workbench::harness::store::{RunningStore, StoreConfig};
use workbench::harness::{bombs, samples};
use workbench::kernel::target_size;

/// Every file of a folder, by name.
fn read_all(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            (name, fs::read(entry.path()).unwrap())
        })
        .collect()
}

#[test]
fn every_chapter_writes_the_same_thumbnails_as_ch00() {
    let corpus = TestCorpus::new();
    let store = corpus.store();
    let mut reference: Option<BTreeMap<String, Vec<u8>>> = None;
    for chapter in common::runnable_chapters() {
        for source in [corpus.dir.path().to_str().unwrap(), store.url()] {
            let run = run_chapter(chapter.name, source, &[]);
            assert_eq!(run.code, 0, "{} on {source}: {}", chapter.name, run.stderr);
            assert!(run.summary["failed"].as_array().unwrap().is_empty());
            let files = read_all(run.out());
            assert_eq!(
                files.len(),
                corpus.files.len() * 3,
                "{}: {:?}",
                chapter.name,
                files.keys()
            );
            match &reference {
                None => reference = Some(files),
                Some(expected) => {
                    let names: Vec<&String> = files.keys().collect();
                    assert_eq!(
                        names,
                        expected.keys().collect::<Vec<_>>(),
                        "{}: file names differ",
                        chapter.name
                    );
                    for (name, bytes) in &files {
                        assert!(
                            bytes == &expected[name],
                            "{}: {name} differs from ch00's",
                            chapter.name
                        );
                    }
                }
            }
        }
    }
}

/// The photos people have, beside the corpus: a phone photo on its side, a Display P3
/// photo, WebP (opaque and transparent), a GIF, and a text file that is no image.
#[test]
fn a_folder_of_jpeg_png_webp_and_gif_gives_the_same_set_from_every_chapter() {
    let corpus = TestCorpus::new();
    let photos = [
        (Sample::Turned(6), "turned-6", "jpg"),
        (Sample::DisplayP3, "display-p3", "jpg"),
        (Sample::Webp, "lossless", "jpg"),
        (Sample::WebpTransparent, "transparent", "png"),
        (Sample::Gif, "first-frame", "jpg"),
    ];
    for (sample, _, _) in photos {
        let bytes = corpus::sample_bytes(&common::spec(), 1, sample).unwrap();
        fs::write(corpus.dir.path().join(sample.file_name()), bytes).unwrap();
    }
    fs::write(corpus.dir.path().join("notes.txt"), "not an image").unwrap();
    let store = corpus.store();
    let mut reference: Option<BTreeMap<String, Vec<u8>>> = None;
    for chapter in chapters::ALL {
        for source in [corpus.dir.path().to_str().unwrap(), store.url()] {
            let run = run_chapter(chapter.name, source, &[]);
            let what = format!("{} on {source}", chapter.name);
            assert_eq!(run.code, 0, "{what}: {}", run.stderr);
            assert!(
                run.summary["failed"].as_array().unwrap().is_empty(),
                "{what}"
            );
            let skipped = run.summary["skipped"].as_array().unwrap();
            assert_eq!(skipped.len(), 1, "{what}: {skipped:?}");
            assert!(
                skipped[0]["source"]
                    .as_str()
                    .unwrap()
                    .ends_with("notes.txt")
            );
            assert!(
                skipped[0]["reason"]
                    .as_str()
                    .unwrap()
                    .contains("not an image name")
            );
            let files = read_all(run.out());
            assert_eq!(
                files.len(),
                (corpus.files.len() + photos.len()) * 3,
                "{what}"
            );
            for (_, stem, extension) in photos {
                for width in [32, 64, 200] {
                    let name = format!("{stem}_{width}.{extension}");
                    assert!(files.contains_key(&name), "{what}: no {name}");
                }
            }
            // 480x320 stored, shown 320x480: the thumbnail is a portrait.
            let turned = image::load_from_memory(&files["turned-6_200.jpg"]).unwrap();
            assert_eq!((turned.width(), turned.height()), (200, 300), "{what}");
            match &reference {
                None => reference = Some(files),
                Some(expected) => {
                    assert_eq!(
                        files.keys().collect::<Vec<_>>(),
                        expected.keys().collect::<Vec<_>>()
                    );
                    for (name, bytes) in &files {
                        assert!(
                            bytes == &expected[name],
                            "{what}: {name} differs from ch00's"
                        );
                    }
                }
            }
        }
    }
}

/// `--format` reaches the kernel in every chapter: in worker threads, in worker
/// processes (inside the job's spec), and through the simulated GIL.
#[test]
fn a_chosen_format_is_the_same_from_every_chapter() {
    let corpus = TestCorpus::new();
    let gif = corpus::sample_bytes(&common::spec(), 2, Sample::Gif).unwrap();
    fs::write(corpus.dir.path().join("anim.gif"), gif).unwrap();
    let flags = ["--format".to_string(), "webp".to_string()];
    let mut reference: Option<BTreeMap<String, Vec<u8>>> = None;
    for chapter in chapters::ALL {
        let run = run_chapter(chapter.name, corpus.dir.path().to_str().unwrap(), &flags);
        assert_eq!(run.code, 0, "{}: {}", chapter.name, run.stderr);
        let files = read_all(run.out());
        assert_eq!(
            files.len(),
            (corpus.files.len() + 1) * 3,
            "{}",
            chapter.name
        );
        assert!(
            files.keys().all(|name| name.ends_with(".webp")),
            "{:?}",
            files.keys()
        );
        match &reference {
            None => reference = Some(files),
            Some(expected) => assert!(&files == expected, "{}: differs from ch00", chapter.name),
        }
    }
}

#[test]
fn thumbnails_have_the_contract_sizes_and_formats() {
    let corpus = TestCorpus::new();
    let run = run_chapter(
        chapters::ALL[0].name,
        corpus.dir.path().to_str().unwrap(),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.summary["images"], corpus.files.len());
    assert_eq!(run.summary["thumbnails"], corpus.files.len() * 3);
    for file in &corpus.files {
        let name = file.file_name().unwrap().to_str().unwrap();
        let (stem, extension) = name.rsplit_once('.').unwrap();
        let source = image::open(file).unwrap();
        for width in [32, 64, 200] {
            let thumb = run.out().join(format!("{stem}_{width}.{extension}"));
            let made = image::open(&thumb).unwrap_or_else(|e| panic!("{}: {e}", thumb.display()));
            let expected = target_size(source.width(), source.height(), width);
            assert_eq!(
                (made.width(), made.height()),
                expected,
                "{}",
                thumb.display()
            );
        }
    }
}

#[test]
fn the_summary_has_every_json_field() {
    let corpus = TestCorpus::new();
    let run = run_chapter(
        chapters::ALL[0].name,
        corpus.dir.path().to_str().unwrap(),
        &[],
    );
    for field in [
        "chapter",
        "images",
        "thumbnails",
        "failed",
        "wall_s",
        "download_s",
        "resize_s",
        "upload_s",
        "overlap",
        "peak_rss_mb",
    ] {
        assert!(
            run.summary.get(field).is_some(),
            "missing {field}: {}",
            run.summary
        );
    }
}

/// Runs `case` with every chapter: exit code 1, exactly the bad image failed with the
/// expected words in its error, every good image done, nothing partial left behind.
fn check_bad_input(case: Case) {
    for chapter in common::runnable_chapters() {
        let run = run_chapter(chapter.name, case.source(), &case.flags);
        assert_eq!(
            run.code, 1,
            "{} on {}: {}{}",
            chapter.name, case.name, run.stdout, run.stderr
        );
        let failed = run.summary["failed"].as_array().unwrap();
        assert_eq!(
            failed.len(),
            1,
            "{} on {}: {failed:?}",
            chapter.name,
            case.name
        );
        let (source, error) = (
            failed[0]["source"].as_str().unwrap(),
            failed[0]["error"].as_str().unwrap(),
        );
        assert!(
            source.contains(&case.bad_name),
            "{}: the failure names {source}",
            case.name
        );
        assert!(
            error.contains(case.expected_error),
            "{} on {}: error '{error}'",
            chapter.name,
            case.name
        );
        assert_eq!(
            run.summary["thumbnails"],
            case.good_images * 3,
            "{} on {}",
            chapter.name,
            case.name
        );
        assert_no_partial_files(&run, &case);
    }
}

fn assert_no_partial_files(run: &Run, case: &Case) {
    for name in read_all(run.out()).keys() {
        assert!(
            !name.starts_with('.'),
            "{}: temporary file {name} left behind",
            case.name
        );
        assert!(
            !name.starts_with("bad"),
            "{}: a thumbnail of the bad image: {name}",
            case.name
        );
    }
}

#[test]
fn a_corrupt_jpeg_fails_alone() {
    let good = TestCorpus::first_jpeg();
    check_bad_input(Case::file(
        "bad-corrupt.jpg",
        samples::corrupt(&good, 20),
        "corrupt image",
    ));
}

#[test]
fn a_truncated_jpeg_fails_alone() {
    let good = TestCorpus::first_jpeg();
    let keep = good.len() / 2;
    check_bad_input(Case::file(
        "bad-truncated.jpg",
        samples::truncated(&good, keep),
        "corrupt image",
    ));
}

#[test]
fn an_empty_file_fails_alone() {
    check_bad_input(Case::file(
        "bad-empty.jpg",
        Vec::new(),
        "not an image: the file is empty",
    ));
}

#[test]
fn text_named_jpg_fails_alone() {
    check_bad_input(Case::file("bad-text.jpg", samples::text(), "not an image"));
}

#[test]
fn a_format_that_is_not_read_is_named() {
    // The start of an iPhone's HEIC file, saved under a JPEG name.
    check_bad_input(Case::file(
        "bad-heic.jpg",
        b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec(),
        "unsupported format: HEIC",
    ));
}

#[test]
fn a_png_header_claiming_ten_gigapixels_is_refused() {
    let bomb = samples::huge_png_header(100_000, 100_000);
    check_bad_input(Case::file(
        "bad-bomb.png",
        bomb,
        "too many pixels: 100000x100000",
    ));
}

// The image bombs (workbench::harness::bombs): each one costs its image a clear error
// in every chapter, before a decoder spends the minutes or the gigabytes it asks for.

#[test]
fn a_progressive_jpeg_of_a_thousand_scans_is_refused() {
    check_bad_input(Case::file(
        "bad-scans.jpg",
        bombs::progressive_scans(2000, 2000, 1000),
        "too many scans",
    ));
}

#[test]
fn a_sixteen_bit_png_of_800_mb_decoded_is_refused() {
    check_bad_input(Case::file(
        "bad-deep.png",
        bombs::png_of_zeros(10_000, 10_000),
        "too much memory to decode: 10000x10000 needs 763 MiB",
    ));
}

#[test]
fn the_decoded_bytes_budget_is_carried_to_every_worker() {
    // 1000x1000 RGBA at 16 bits: 7.6 MiB, over a budget of 4.
    let mut case = Case::file(
        "bad-deep.png",
        bombs::png_of_zeros(1000, 1000),
        "over the budget of 4 MiB",
    );
    case.flags = vec!["--max-decoded-mb".into(), "4".into()];
    check_bad_input(case);
}

#[test]
fn a_692_byte_jpeg_declaring_ten_thousand_squared_is_refused() {
    check_bad_input(Case::file(
        "bad-tiny-huge.jpg",
        bombs::cut_short(10_000, 10_000, 692),
        "truncated",
    ));
}

#[test]
fn a_photo_cut_short_with_its_end_marker_put_back_is_refused() {
    let good = TestCorpus::first_jpeg();
    check_bad_input(Case::file(
        "bad-cut.jpg",
        bombs::cut_with_end_marker(&good, good.len() * 6 / 10),
        "truncated",
    ));
}

#[test]
fn a_jpeg_taller_than_the_decoder_counts_is_refused() {
    check_bad_input(Case::file(
        "bad-tall.jpg",
        bombs::tall(65_535),
        "beyond the decoder's limits",
    ));
}

#[test]
fn http_404_fails_alone() {
    check_bad_input(Case::url(
        "bad-missing.jpg",
        |store| format!("{}bad-missing.jpg", store.url()),
        "HTTP 404",
    ));
}

#[test]
fn http_503_fails_alone() {
    let failing = TestCorpus::new();
    fs::write(
        failing.dir.path().join("bad-503.jpg"),
        TestCorpus::first_jpeg(),
    )
    .unwrap();
    let mut config = StoreConfig::new(failing.dir.path());
    config.latency = std::time::Duration::ZERO;
    config.fail_rate = 1.0;
    let failing_store = RunningStore::start(config).unwrap();
    let url = format!("{}bad-503.jpg", failing_store.url());
    let case = Case::url("bad-503.jpg", move |_| url.clone(), "HTTP 503");
    check_bad_input(case);
    drop(failing_store);
}

#[test]
fn a_refused_connection_fails_alone() {
    // Bind a port, then close it: nothing listens there any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let case = Case::url(
        "bad-refused.jpg",
        move |_| format!("http://127.0.0.1:{port}/bad-refused.jpg"),
        "cannot connect",
    );
    check_bad_input(case);
}

#[test]
fn a_stalling_server_times_out() {
    let stalled_root = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(stalled_root.path());
    config.stall = true;
    let stalled = RunningStore::start(config).unwrap();
    let url = format!("{}bad-stall.jpg", stalled.url());
    let mut case = Case::url("bad-stall.jpg", move |_| url.clone(), "timed out");
    case.flags = vec!["--timeout".into(), "500ms".into()];
    check_bad_input(case);
}

#[test]
fn a_url_that_tries_to_leave_the_output_is_refused() {
    for trick in [
        "..%2F..%2Fbad-escape.jpg",
        "%2Ftmp%2Fbad-escape.jpg",
        "..%5Cbad-escape.jpg",
    ] {
        let case = Case::url(
            "bad-escape.jpg",
            move |store| format!("{}{trick}", store.url()),
            "unsafe name",
        );
        check_bad_input(case);
    }
}

#[test]
fn two_urls_with_the_same_file_name_keep_both() {
    let corpus = TestCorpus::new();
    let store = corpus.store();
    let name = corpus.files[0]
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let list = corpus.dir.path().join("urls.txt");
    // The same object twice under two URLs: the same file name.
    fs::write(&list, format!("{0}{name}\n{0}{name}?copy=2\n", store.url())).unwrap();
    for chapter in common::runnable_chapters() {
        let run = run_chapter(chapter.name, list.to_str().unwrap(), &[]);
        assert_eq!(run.code, 0, "{}: {}", chapter.name, run.stderr);
        let files = read_all(run.out());
        let stem = name.rsplit_once('.').unwrap().0;
        assert!(
            files.contains_key(&format!("{stem}_32.jpg")),
            "{:?}",
            files.keys()
        );
        assert!(
            files.contains_key(&format!("{stem}-2_32.jpg")),
            "{:?}",
            files.keys()
        );
        assert_eq!(files.len(), 6);
    }
}

#[test]
fn setup_errors_exit_with_code_2() {
    let empty = tempfile::tempdir().unwrap();
    for chapter in common::runnable_chapters() {
        let run = run_chapter(chapter.name, empty.path().to_str().unwrap(), &[]);
        assert_eq!(
            run.code, 2,
            "{}: empty source: {}",
            chapter.name, run.stderr
        );
        assert!(run.stderr.contains("has no images"), "{}", run.stderr);
        let missing = run_chapter(chapter.name, "/no/such/folder", &[]);
        assert_eq!(missing.code, 2, "{}: missing source", chapter.name);
        let bad_flag = run_chapter(
            chapter.name,
            empty.path().to_str().unwrap(),
            &["--sizes".into(), "0".into()],
        );
        assert_eq!(bad_flag.code, 2, "{}: bad flag", chapter.name);
    }
    let corpus = TestCorpus::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nowhere = vec![
        "--out".to_string(),
        format!("http://127.0.0.1:{port}/thumbs/"),
    ];
    for chapter in common::runnable_chapters() {
        let run = run_chapter(chapter.name, corpus.dir.path().to_str().unwrap(), &nowhere);
        assert_eq!(
            run.code, 2,
            "{}: unreachable output: {}",
            chapter.name, run.stderr
        );
        assert!(
            run.stderr.contains("cannot write to the output"),
            "{}",
            run.stderr
        );
    }
}
