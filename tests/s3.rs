//! S3 as source and destination, against a real S3 implementation (s3s-fs, which checks
//! SigV4 signatures) served in-process on 127.0.0.1: listing across pages, download,
//! upload, every chapter byte-identical to its folder run, and the setup errors.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use common::s3_server::{ACCESS_KEY, S3Server, SECRET_KEY};
use common::{TestCorpus, run_chapter};
use workbench::chapters;
use workbench::contract::HttpConfig;
use workbench::io::HttpClient;

fn read_all(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn copy_corpus(corpus: &TestCorpus, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for file in &corpus.files {
        fs::copy(file, to.join(file.file_name().unwrap())).unwrap();
    }
}

#[test]
fn listing_follows_continuation_tokens_past_a_thousand_keys() {
    let server = S3Server::start();
    let many = server.bucket("listing").join("many");
    fs::create_dir_all(&many).unwrap();
    for i in 0..1005 {
        fs::write(many.join(format!("k-{i:04}.jpg")), b"x").unwrap();
    }
    fs::write(server.bucket("listing").join("outside.jpg"), b"x").unwrap();
    let client = HttpClient::new(&HttpConfig::default());
    let place = server.place("s3://listing/many/");
    let keys = place.list(&client).unwrap();
    assert_eq!(keys.len(), 1005);
    assert_eq!(keys[0], ("many/k-0000.jpg".to_string(), Some(1)));
    let small_pages = place.list_in_pages(&client, Some(7)).unwrap();
    assert_eq!(small_pages, keys, "pages of 7 keys give the same listing");
}

#[test]
fn every_chapter_reads_and_writes_s3_byte_identical_to_folders() {
    let server = S3Server::start();
    let corpus = TestCorpus::new();
    copy_corpus(&corpus, &server.bucket("photos").join("in"));
    let bucket = server.bucket("thumbs");
    for chapter in common::runnable_chapters() {
        let folder_run = run_chapter(chapter.name, corpus.dir.path().to_str().unwrap(), &[]);
        assert_eq!(
            folder_run.code, 0,
            "{}: {}",
            chapter.name, folder_run.stderr
        );
        let mut flags = server.flags(SECRET_KEY);
        flags.extend(["--out".into(), format!("s3://thumbs/{}/", chapter.name)]);
        let s3_run = run_chapter(chapter.name, "s3://photos/in/", &flags);
        assert_eq!(
            s3_run.code, 0,
            "{}: {}{}",
            chapter.name, s3_run.stdout, s3_run.stderr
        );
        assert_eq!(s3_run.summary["thumbnails"], corpus.files.len() * 3);
        let uploaded = read_all(&bucket.join(chapter.name));
        assert_eq!(
            uploaded,
            read_all(folder_run.out()),
            "{}: S3 thumbnails differ",
            chapter.name
        );
    }
}

#[test]
fn uploads_carry_their_content_type() {
    let server = S3Server::start();
    let corpus = TestCorpus::new();
    copy_corpus(&corpus, &server.bucket("typed").join("in"));
    let mut flags = server.flags(SECRET_KEY);
    flags.extend(["--out".into(), "s3://typed/out/".into()]);
    let run = run_chapter("ch00-sequential", "s3://typed/in/", &flags);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let client = HttpClient::new(&HttpConfig::default());
    let place = server.place("s3://typed/out/");
    let agent = ureq::Agent::new_with_defaults();
    for (name, mime) in [
        ("img-000_32.jpg", "image/jpeg"),
        ("img-004_32.png", "image/png"),
    ] {
        let url = place.get_url(&format!("out/{name}")).unwrap();
        let response = agent.get(&url).call().unwrap();
        assert_eq!(response.headers()["content-type"], mime, "{name}");
    }
    assert!(
        client
            .get(&place.get_url("out/img-000_64.jpg").unwrap())
            .is_ok()
    );
}

#[test]
fn credentials_and_endpoint_come_from_the_environment() {
    let server = S3Server::start();
    let corpus = TestCorpus::new();
    copy_corpus(&corpus, &server.bucket("env").join("in"));
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(chapters::binary_path("ch00-sequential").unwrap())
        .args(["--source", "s3://env/in/", "--json", "--quiet", "--out"])
        .arg(out.path())
        .env("AWS_ENDPOINT_URL", &server.endpoint)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(read_all(out.path()).len(), corpus.files.len() * 3);
}

#[test]
fn a_wrong_secret_is_one_clear_setup_error() {
    let server = S3Server::start();
    let corpus = TestCorpus::new();
    copy_corpus(&corpus, &server.bucket("secret").join("in"));
    for chapter in common::runnable_chapters() {
        let run = run_chapter(
            chapter.name,
            "s3://secret/in/",
            &server.flags("not-the-secret"),
        );
        assert_eq!(run.code, 2, "{}: {}", chapter.name, run.stderr);
        assert!(
            run.stderr.contains("403") && run.stderr.contains("SignatureDoesNotMatch"),
            "{}",
            run.stderr
        );
        assert_eq!(
            run.stderr.lines().count(),
            1,
            "one message, not one per image: {}",
            run.stderr
        );
    }
}

#[test]
fn a_missing_bucket_is_a_setup_error_for_source_and_output() {
    let server = S3Server::start();
    let corpus = TestCorpus::new();
    let run = run_chapter(
        "ch00-sequential",
        "s3://no-such-bucket/in/",
        &server.flags(SECRET_KEY),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("NoSuchBucket"), "{}", run.stderr);
    let mut flags = server.flags(SECRET_KEY);
    flags.extend(["--out".into(), "s3://no-such-bucket/thumbs/".into()]);
    let run = run_chapter(
        "ch00-sequential",
        corpus.dir.path().to_str().unwrap(),
        &flags,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("NoSuchBucket"), "{}", run.stderr);
}

#[test]
fn a_missing_object_is_that_images_failure() {
    let server = S3Server::start();
    let corpus = TestCorpus::new();
    copy_corpus(&corpus, &server.bucket("partial").join("in"));
    let place = server.place("s3://partial/in/");
    let mut urls: Vec<String> = corpus
        .files
        .iter()
        .map(|f| {
            place
                .get_url(&format!("in/{}", f.file_name().unwrap().to_str().unwrap()))
                .unwrap()
        })
        .collect();
    urls.push(place.get_url("in/gone.jpg").unwrap());
    let list = corpus.dir.path().join("urls.txt");
    fs::write(&list, urls.join("\n")).unwrap();
    for chapter in common::runnable_chapters() {
        let run = run_chapter(chapter.name, list.to_str().unwrap(), &[]);
        assert_eq!(run.code, 1, "{}: {}", chapter.name, run.stderr);
        let failed = run.summary["failed"].as_array().unwrap();
        assert_eq!(failed.len(), 1);
        assert!(
            failed[0]["error"].as_str().unwrap().contains("HTTP 404"),
            "{failed:?}"
        );
        assert_eq!(run.summary["thumbnails"], corpus.files.len() * 3);
    }
}

#[test]
fn plain_http_to_a_remote_endpoint_is_refused() {
    let flags: Vec<String> = [
        "--s3-endpoint",
        "http://198.51.100.7:9000",
        "--s3-access-key",
        "a",
        "--s3-secret-key",
        "b",
    ]
    .map(String::from)
    .to_vec();
    let run = run_chapter("ch00-sequential", "s3://photos/in/", &flags);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("plain HTTP"), "{}", run.stderr);
}

#[test]
fn a_failed_image_says_which_of_its_thumbnails_are_in_the_bucket() {
    let server = S3Server::start();
    let corpus = TestCorpus::new();
    // s3s-fs keeps an object as a file: a folder at the largest thumbnail's key makes
    // its PUT fail after the two smaller ones were stored.
    fs::create_dir_all(server.bucket("partial").join("out/img-000_200.jpg")).unwrap();
    let mut flags = server.flags(SECRET_KEY);
    flags.extend(["--out".into(), "s3://partial/out/".into()]);
    let run = run_chapter(
        "ch00-sequential",
        corpus.dir.path().to_str().unwrap(),
        &flags,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let failed = run.summary["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    let error = failed[0]["error"].as_str().unwrap();
    assert!(error.starts_with("HTTP "), "{error}");
    assert!(
        error.ends_with(
            "(stored before the failure, still on the server: img-000_32.jpg, img-000_64.jpg)"
        ),
        "{error}"
    );
}
