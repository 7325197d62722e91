//! HTTPS end to end on loopback, with a self-signed certificate trusted through
//! `--ca-cert`: every chapter from and to the embedded store, S3 over HTTPS and nginx;
//! a self-signed server refused without `--ca-cert`; and one redirect policy in all
//! three clients (blocking in ch00, async in ch07, the hand-built loop in ch08); and
//! `workbench cert` with `workbench serve --tls-cert --tls-key`.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::s3_server::{S3Server, SECRET_KEY};
use common::{TestCorpus, run_chapter, runnable_chapters};
use tempfile::TempDir;
use workbench::harness::store::{RunningStore, StoreConfig, TlsFiles, write_self_signed};

/// The three HTTP clients, each in the first chapter that uses it.
const ONE_CHAPTER_PER_CLIENT: [&str; 3] = ["ch00-sequential", "ch07-async", "ch08-event-loop"];

/// A self-signed certificate and key for 127.0.0.1, in a folder of their own.
struct Certificate {
    files: TlsFiles,
    _dir: TempDir,
}

impl Certificate {
    fn new() -> Certificate {
        let dir = tempfile::tempdir().unwrap();
        let files = write_self_signed(dir.path()).unwrap();
        Certificate { files, _dir: dir }
    }

    /// The flag that makes a chapter trust it.
    fn trusted(&self) -> Vec<String> {
        vec!["--ca-cert".into(), self.files.cert.display().to_string()]
    }
}

/// A folder holding the test corpus under `in/`, for a server to serve.
fn served_root(corpus: &TestCorpus) -> TempDir {
    let root = tempfile::tempdir().unwrap();
    copy_corpus(corpus, &root.path().join("in"));
    root
}

fn copy_corpus(corpus: &TestCorpus, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for file in &corpus.files {
        fs::copy(file, to.join(file.file_name().unwrap())).unwrap();
    }
}

fn https_store(root: &Path, certificate: &Certificate) -> RunningStore {
    RunningStore::start(StoreConfig {
        latency: Duration::ZERO,
        tls: Some(certificate.files.clone()),
        ..StoreConfig::new(root)
    })
    .unwrap()
}

fn read_all(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, fs::read(e.path()).unwrap())
        })
        .collect()
}

/// The thumbnails of a folder run of ch00: what every other run must equal.
fn folder_thumbnails(corpus: &TestCorpus) -> BTreeMap<String, Vec<u8>> {
    let run = run_chapter("ch00-sequential", corpus.dir.path().to_str().unwrap(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    read_all(run.out())
}

/// The `error` of every failed image in a run's summary.
fn errors(summary: &serde_json::Value) -> Vec<String> {
    summary["failed"]
        .as_array()
        .map(|failed| {
            failed
                .iter()
                .map(|f| f["error"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A file of URLs, one per line, in `dir`.
fn url_list(dir: &Path, urls: &[String]) -> PathBuf {
    let path = dir.join("urls.txt");
    fs::write(&path, urls.join("\n") + "\n").unwrap();
    path
}

fn corpus_names(corpus: &TestCorpus) -> Vec<String> {
    corpus
        .files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// Every chapter reads `{base}in/` and PUTs to `{base}out/CHAPTER/` (served from
/// `root`), trusting `certificate`: its thumbnails must be `expected`, byte for byte.
fn every_chapter_round_trips(
    base: &str,
    root: &Path,
    certificate: &Certificate,
    expected: &BTreeMap<String, Vec<u8>>,
) {
    for chapter in runnable_chapters() {
        let mut flags = certificate.trusted();
        flags.extend(["--out".into(), format!("{base}out/{}/", chapter.name)]);
        let run = run_chapter(chapter.name, &format!("{base}in/"), &flags);
        let what = format!("{}: {}{}", chapter.name, run.stdout, run.stderr);
        assert_eq!(run.code, 0, "{what}");
        let written = read_all(&root.join("out").join(chapter.name));
        assert!(written == *expected, "{}: thumbnails differ", chapter.name);
    }
}

#[test]
fn every_chapter_reads_and_writes_the_https_store_byte_identical_to_folders() {
    let corpus = TestCorpus::new();
    let expected = folder_thumbnails(&corpus);
    let certificate = Certificate::new();
    let root = served_root(&corpus);
    let store = https_store(root.path(), &certificate);
    assert!(store.url().starts_with("https://"), "{}", store.url());
    every_chapter_round_trips(store.url(), root.path(), &certificate, &expected);
}

#[test]
fn without_ca_cert_every_client_refuses_a_self_signed_server_and_says_why() {
    let corpus = TestCorpus::new();
    let certificate = Certificate::new();
    let root = served_root(&corpus);
    let store = https_store(root.path(), &certificate);

    // The listing (read at setup) is refused: a setup error, exit 2.
    let listed = run_chapter("ch00-sequential", &format!("{}in/", store.url()), &[]);
    assert_eq!(listed.code, 2, "{}", listed.stderr);
    assert!(listed.stderr.contains("--ca-cert"), "{}", listed.stderr);

    // Each client refuses each image, naming the cause and the fix.
    let urls: Vec<String> = corpus_names(&corpus)
        .iter()
        .map(|name| format!("{}in/{name}", store.url()))
        .collect();
    let list = url_list(root.path(), &urls);
    for chapter in ONE_CHAPTER_PER_CLIENT {
        let run = run_chapter(chapter, list.to_str().unwrap(), &[]);
        assert_eq!(run.code, 1, "{chapter}: {}{}", run.stdout, run.stderr);
        let errors = errors(&run.summary);
        assert_eq!(errors.len(), urls.len(), "{chapter}: {errors:?}");
        for error in errors {
            assert!(
                error.contains("UnknownIssuer") && error.contains("--ca-cert"),
                "{chapter}: {error}"
            );
        }
    }
}

#[test]
fn s3_over_https_is_byte_identical_to_folders() {
    let corpus = TestCorpus::new();
    let expected = folder_thumbnails(&corpus);
    let certificate = Certificate::new();
    let server = S3Server::start_tls(tls_acceptor(&certificate.files));
    copy_corpus(&corpus, &server.bucket("photos").join("in"));
    let thumbs = server.bucket("thumbs");
    for chapter in runnable_chapters().iter().map(|c| c.name) {
        let mut flags = server.flags(SECRET_KEY);
        flags.extend(certificate.trusted());
        flags.extend(["--out".into(), format!("s3://thumbs/{chapter}/")]);
        let run = run_chapter(chapter, "s3://photos/in/", &flags);
        assert_eq!(run.code, 0, "{chapter}: {}{}", run.stdout, run.stderr);
        let written = read_all(&thumbs.join(chapter));
        assert!(written == expected, "{chapter}: thumbnails differ");
    }
}

#[test]
fn every_client_follows_redirects_alike_and_refuses_bad_ones_with_the_reason() {
    let corpus = TestCorpus::new();
    let expected = folder_thumbnails(&corpus);
    let certificate = Certificate::new();
    let root = served_root(&corpus);
    let store = https_store(root.path(), &certificate);
    let redirector = redirector(store.url().to_string());

    // Plain HTTP redirected to HTTPS (a relative and an absolute hop), to a file, and
    // around in a loop.
    let names = corpus_names(&corpus);
    let urls = [
        format!("{redirector}twice/{}", names[0]),
        format!("{redirector}to-store/{}", names[1]),
        format!("{redirector}to-file/{}", names[2]),
        format!("{redirector}loop/{}", names[3]),
    ];
    let list = url_list(root.path(), &urls);
    for chapter in ONE_CHAPTER_PER_CLIENT {
        let run = run_chapter(chapter, list.to_str().unwrap(), &certificate.trusted());
        assert_eq!(run.code, 1, "{chapter}: {}{}", run.stdout, run.stderr);
        let errors = errors(&run.summary);
        assert_eq!(errors.len(), 2, "{chapter}: {errors:?}");
        assert!(
            errors.iter().any(|e| e.contains("only http and https")),
            "{chapter}: {errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.contains("too many redirects")),
            "{chapter}: {errors:?}"
        );
        let written = read_all(run.out());
        assert_eq!(written.len(), 6, "{chapter}: {:?}", written.keys());
        for (name, bytes) in written {
            assert!(
                expected.get(&name) == Some(&bytes),
                "{chapter}: {name} differs"
            );
        }
    }
}

#[test]
fn every_chapter_reads_and_writes_https_nginx_byte_identical_to_folders() {
    let Some(nginx) = nginx_program() else {
        return;
    };
    let corpus = TestCorpus::new();
    let expected = folder_thumbnails(&corpus);
    let certificate = Certificate::new();
    let root = served_root(&corpus);
    fs::create_dir_all(root.path().join("out")).unwrap();
    let server = Nginx::start(&nginx, root.path(), &certificate);
    every_chapter_round_trips(&server.url, root.path(), &certificate, &expected);
}

#[test]
fn workbench_cert_and_serve_give_an_https_store() {
    let dir = tempfile::tempdir().unwrap();
    let workbench = env!("CARGO_BIN_EXE_workbench");
    let made = Command::new(workbench)
        .arg("cert")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let corpus = TestCorpus::new();
    let mut serve = Command::new(workbench)
        .args(["serve", "--latency", "0ms", "--root"])
        .arg(corpus.dir.path())
        .arg("--tls-cert")
        .arg(dir.path().join("cert.pem"))
        .arg("--tls-key")
        .arg(dir.path().join("key.pem"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(serve.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(url.starts_with("https://127.0.0.1:"), "{line}");

    // This test process trusts the certificate, as `--ca-cert` makes a chapter do.
    workbench::io::tls::trust_also(&dir.path().join("cert.pem")).unwrap();
    let client = workbench::io::HttpClient::new(&workbench::contract::HttpConfig::default());
    let name = corpus_names(&corpus)[0].clone();
    let fetched = client.get(&format!("{url}{name}"));
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(
        fetched.unwrap(),
        fs::read(corpus.dir.path().join(name)).unwrap()
    );
}

/// A plain-HTTP server that only redirects, on a thread of its own:
/// `/to-store/NAME` to the store's `in/NAME`, `/twice/NAME` to `/to-store/NAME`,
/// `/to-file/NAME` to a local file, `/loop/NAME` to itself. Returns its base URL.
fn redirector(store: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            // The head ends with an empty line; a PUT's body is never read.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request_line.split(' ').nth(1).unwrap_or("/");
            let name = path.rsplit('/').next().unwrap_or_default();
            let location = match path.split('/').nth(1).unwrap_or_default() {
                "to-store" => format!("{store}in/{name}"),
                "twice" => format!("/to-store/{name}"),
                "to-file" => "file:///etc/hostname".to_string(),
                _ => path.to_string(),
            };
            let _ = write!(
                &stream,
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    base
}

fn tls_acceptor(files: &TlsFiles) -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&files.key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(workbench::io::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// nginx, if installed; without it the test is skipped with a line saying how to
/// install it, except in CI (`WORKBENCH_CI` set), where a missing nginx fails.
fn nginx_program() -> Option<PathBuf> {
    let found = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file());
    if found.is_none() {
        let why = "nginx is not installed (apt-get install nginx-light)";
        if std::env::var_os("WORKBENCH_CI").is_some() {
            panic!("{why} (CI must install it)");
        }
        let _ = writeln!(std::io::stderr(), "skipped the nginx test: {why}");
    }
    found
}

/// nginx over HTTPS as the current user, on a loopback port, serving `root` with its
/// JSON index and DAV PUT; stopped when dropped.
struct Nginx {
    url: String,
    child: Child,
    _dir: TempDir,
}

impl Nginx {
    fn start(program: &Path, root: &Path, certificate: &Certificate) -> Nginx {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let dir = tempfile::tempdir_in(target).unwrap();
        let port = free_port();
        let config = dir.path().join("nginx.conf");
        fs::write(&config, nginx_conf(dir.path(), root, port, certificate)).unwrap();
        let child = Command::new(program)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&config)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .spawn()
            .unwrap();
        let server = Nginx {
            url: format!("https://127.0.0.1:{port}/"),
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One master process in the foreground, every file under `dir`; run as root, its
/// worker stays root too, so that it may write into `root`.
fn nginx_conf(dir: &Path, root: &Path, port: u16, certificate: &Certificate) -> String {
    let user = if running_as_root() {
        "user root root;"
    } else {
        ""
    };
    format!(
        "{user}
daemon off;
master_process off;
pid {dir}/nginx.pid;
events {{}}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        root {root};
        client_max_body_size 64m;
        location / {{
            autoindex on;
            autoindex_format json;
            dav_methods PUT;
            create_full_put_path on;
        }}
    }}
}}
",
        dir = dir.display(),
        root = root.display(),
        cert = certificate.files.cert.display(),
        key = certificate.files.key.display(),
    )
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}
