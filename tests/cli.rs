//! The command-line conventions every binary keeps (hyperfine and ripgrep are the
//! model): `--version` with the licence notice, an unknown URL scheme refused before the
//! run, `--help` with the chapter's own flags first and the shared ones under headings;
//! S3 credentials found where the AWS tools find them; and a declared `rust-version` no
//! dependency outgrows.

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::TestCorpus;
use common::s3_server::{ACCESS_KEY, S3Server, SECRET_KEY};
use workbench::chapters;
use workbench::cli::version::IJG_NOTICE;
use workbench::io::s3::{S3Flags, S3Place};

/// `cargo metadata` of this package and everything it resolves, dev-dependencies included.
fn metadata() -> serde_json::Value {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// This package's entry in the metadata.
fn this_package(metadata: &serde_json::Value) -> &serde_json::Value {
    let packages = metadata["packages"].as_array().unwrap();
    packages
        .iter()
        .find(|p| p["name"] == env!("CARGO_PKG_NAME"))
        .unwrap()
}

/// Runs the binary `name` with `args`, with no AWS variable of the tester's leaking in.
fn run(name: &str, args: &[&str]) -> Output {
    let binary = chapters::binary_path(name).unwrap();
    let mut command = Command::new(&binary);
    command.args(args);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            command.env_remove(key);
        }
    }
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_binary_prints_its_version_and_the_jpeg_notice() {
    let metadata = metadata();
    let package = this_package(&metadata);
    let version = package["version"].as_str().unwrap();
    let binaries: Vec<&str> = package["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|target| target["kind"][0] == "bin")
        .map(|target| target["name"].as_str().unwrap())
        .collect();
    assert!(binaries.contains(&"workbench") && binaries.len() > chapters::ALL.len());
    for name in binaries {
        let output = run(name, &["--version"]);
        let stdout = text(&output.stdout);
        assert!(output.status.success(), "{name}: {}", text(&output.stderr));
        // A program names itself; ex10's exercises run ch10's command line, under its name.
        let first = stdout.lines().next().unwrap_or_default();
        let named = first.strip_suffix(&format!(" {version}"));
        assert!(
            named.is_some_and(|n| n == name || chapters::find(n).is_some()),
            "{name}: {first}"
        );
        assert!(stdout.contains(IJG_NOTICE), "{name}: {stdout}");
        let short = text(&run(name, &["-V"]).stdout);
        assert_eq!(short.trim(), first, "{name}");
    }
    // ch10's workers are started as `ch10-distributed worker`: a command of their own.
    let worker = run("ch10-distributed", &["worker", "--version"]);
    assert!(text(&worker.stdout).contains(IJG_NOTICE));
}

#[test]
fn the_notice_file_carries_the_sentence_the_jpeg_licence_asks_for() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let notice = fs::read_to_string(root.join("NOTICE")).unwrap();
    assert!(notice.contains(IJG_NOTICE));
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains(IJG_NOTICE));
    for licence in ["LICENSE-MIT", "LICENSE-APACHE"] {
        assert!(root.join(licence).is_file(), "{licence} is missing");
    }
}

#[test]
fn an_unknown_scheme_is_a_usage_error_naming_the_schemes_that_work() {
    for chapter in chapters::ALL {
        for (flag, value, scheme) in [
            ("--source", "htp://127.0.0.1:8080/photos/", "htp"),
            ("--source", "ftp://example.org/photos/", "ftp"),
            ("--out", "s4://bucket/thumbs/", "s4"),
        ] {
            // In an empty folder, to see that nothing called `htp:` was made there.
            let cwd = tempfile::tempdir().unwrap();
            let output = Command::new(chapters::binary_path(chapter.name).unwrap())
                .args([flag, value, "--quiet"])
                .current_dir(cwd.path())
                .output()
                .unwrap();
            let stderr = text(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{}: {stderr}", chapter.name);
            assert!(
                stderr.contains(&format!("unknown scheme '{scheme}://'"))
                    && stderr.contains("http://, https://, s3://"),
                "{}: {stderr}",
                chapter.name
            );
            assert_eq!(fs::read_dir(cwd.path()).unwrap().count(), 0, "{value}");
        }
    }
}

/// The long flags `--help` lists, in order: the first word of a line, or the second
/// after a short flag (`-h, --help`).
fn long_flags(help: &str) -> Vec<String> {
    help.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let first = words.next()?;
            let flag = if first.len() == 3 && first.starts_with('-') && first.ends_with(',') {
                words.next()?
            } else {
                first
            };
            flag.starts_with("--").then(|| flag.to_string())
        })
        .collect()
}

#[test]
fn help_shows_the_chapters_own_flags_first_then_the_shared_ones_under_headings() {
    // ch00 has no flag of its own: whatever another chapter lists beyond ch00's is its own.
    let shared = long_flags(&text(&run("ch00-sequential", &["--help"]).stdout));
    assert!(shared.contains(&"--source".to_string()));
    for chapter in chapters::ALL {
        for help_flag in ["-h", "--help"] {
            let help = text(&run(chapter.name, &[help_flag]).stdout);
            let at = |needle: &str| {
                help.find(needle).unwrap_or_else(|| {
                    panic!("{} {help_flag}: no {needle:?}\n{help}", chapter.name)
                })
            };
            let headings = [
                "Options:",
                "Job:",
                "Corpus and embedded store (when no --source is given):",
                "S3 (for s3:// sources and outputs):",
                "Examples:",
                "Exit codes:",
            ]
            .map(at);
            assert!(
                headings.is_sorted(),
                "{} {help_flag}:\n{help}",
                chapter.name
            );
            let job = at("Job:");
            for own in long_flags(&help).iter().filter(|f| !shared.contains(f)) {
                assert!(at(own) < job, "{}: {own} is not listed first", chapter.name);
            }
            assert!(at(&format!("\n  {} --source ", chapter.name)) > at("Examples:"));
            assert!(at("\n  2 ") > at("Exit codes:"));
        }
    }
}

/// A home folder with the AWS tools' shared files, and the variables a run would see.
struct Home {
    dir: tempfile::TempDir,
    vars: HashMap<String, String>,
}

impl Home {
    /// `credentials` and `config` written under `.aws/` of a new home folder.
    fn new(credentials: &str, config: &str) -> Home {
        let dir = tempfile::tempdir().unwrap();
        let aws = dir.path().join(".aws");
        fs::create_dir_all(&aws).unwrap();
        fs::write(aws.join("credentials"), credentials).unwrap();
        fs::write(aws.join("config"), config).unwrap();
        let home = dir.path().to_str().unwrap().to_string();
        let vars = HashMap::from([("HOME".to_string(), home)]);
        Home { dir, vars }
    }

    fn with(mut self, name: &str, value: &str) -> Home {
        self.vars.insert(name.into(), value.into());
        self
    }

    fn place(&self, flags: &S3Flags) -> Result<S3Place, String> {
        let vars = |name: &str| self.vars.get(name).cloned();
        S3Place::parse_with("s3://photos/", flags, &vars).map_err(|e| e.to_string())
    }

    /// The key id, region and session token a presigned URL of this place is signed with.
    fn signed_as(&self, flags: &S3Flags) -> (String, String, Option<String>) {
        let place = self.place(flags).unwrap();
        let url = url::Url::parse(&place.get_url("cat.jpg").unwrap()).unwrap();
        let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
        let scope: Vec<&str> = query["X-Amz-Credential"].split('/').collect();
        let token = query.get("X-Amz-Security-Token").cloned();
        (scope[0].to_string(), scope[2].to_string(), token)
    }
}

const CREDENTIALS: &str = "\
[default]
aws_access_key_id = FILEKEY
aws_secret_access_key = file-secret

[work]
aws_access_key_id = WORKKEY
aws_secret_access_key = work-secret
aws_session_token = work-token
";

const CONFIG: &str = "\
[default]
region = eu-west-1
aws_access_key_id = CONFIGKEY
aws_secret_access_key = config-secret

[profile work]
region = eu-central-1

[profile from-config]
aws_access_key_id = CONFIGONLYKEY
aws_secret_access_key = config-only-secret
region = ap-south-1

[profile admin]
role_arn = arn:aws:iam::123456789012:role/admin
source_profile = default
";

fn endpoint() -> S3Flags {
    S3Flags {
        s3_endpoint: Some("http://127.0.0.1:9000".into()),
        ..S3Flags::default()
    }
}

fn signed(key: &str, region: &str, token: Option<&str>) -> (String, String, Option<String>) {
    (key.into(), region.into(), token.map(String::from))
}

#[test]
fn credentials_come_from_flags_then_variables_then_the_profile() {
    let home = || Home::new(CREDENTIALS, CONFIG);
    // Nothing set: the default profile, its keys from `credentials` (they win over the
    // same keys in `config`), its region from `config`.
    assert_eq!(
        home().signed_as(&endpoint()),
        signed("FILEKEY", "eu-west-1", None)
    );
    // AWS_PROFILE picks `[work]` in `credentials` and `[profile work]` in `config`.
    let work = home().with("AWS_PROFILE", "work");
    assert_eq!(
        work.signed_as(&endpoint()),
        signed("WORKKEY", "eu-central-1", Some("work-token"))
    );
    // A profile only `config` holds.
    let config_only = home().with("AWS_PROFILE", "from-config");
    assert_eq!(
        config_only.signed_as(&endpoint()),
        signed("CONFIGONLYKEY", "ap-south-1", None)
    );
    // The variables come before any profile...
    let variables = home()
        .with("AWS_PROFILE", "work")
        .with("AWS_ACCESS_KEY_ID", "ENVKEY")
        .with("AWS_SECRET_ACCESS_KEY", "env-secret")
        .with("AWS_REGION", "us-west-2");
    assert_eq!(
        variables.signed_as(&endpoint()),
        signed("ENVKEY", "us-west-2", None)
    );
    // ...AWS_DEFAULT_REGION too, when AWS_REGION is not set...
    let default_region = home().with("AWS_DEFAULT_REGION", "sa-east-1");
    assert_eq!(default_region.signed_as(&endpoint()).1, "sa-east-1");
    // ...and the flags before the variables.
    let flags = S3Flags {
        s3_access_key: Some("FLAGKEY".into()),
        s3_secret_key: Some("flag-secret".into()),
        s3_region: Some("eu-north-1".into()),
        ..endpoint()
    };
    assert_eq!(
        variables.signed_as(&flags),
        signed("FLAGKEY", "eu-north-1", None)
    );
}

#[test]
fn the_shared_files_can_be_moved_by_their_variables() {
    let elsewhere = tempfile::tempdir().unwrap();
    let credentials = elsewhere.path().join("team-credentials");
    let config = elsewhere.path().join("team-config");
    fs::write(
        &credentials,
        "[default]\naws_access_key_id = TEAMKEY\naws_secret_access_key = s\n",
    )
    .unwrap();
    fs::write(&config, "[default]\nregion = ca-central-1\n").unwrap();
    let home = Home::new(CREDENTIALS, CONFIG)
        .with("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap())
        .with("AWS_CONFIG_FILE", config.to_str().unwrap());
    assert_eq!(
        home.signed_as(&endpoint()),
        signed("TEAMKEY", "ca-central-1", None)
    );
}

#[test]
fn a_missing_or_unusable_profile_is_named() {
    let typo = Home::new(CREDENTIALS, CONFIG).with("AWS_PROFILE", "wrok");
    let error = typo.place(&endpoint()).unwrap_err();
    assert!(
        error.contains("the profile 'wrok' (AWS_PROFILE) is in neither"),
        "{error}"
    );
    let role = Home::new(CREDENTIALS, CONFIG).with("AWS_PROFILE", "admin");
    let error = role.place(&endpoint()).unwrap_err();
    assert!(
        error.contains("names a role, SSO or a credential process"),
        "{error}"
    );
    // No keys anywhere: the message says every place that was looked at.
    let empty = Home::new("", "");
    let error = empty.place(&endpoint()).unwrap_err();
    let looked_in = empty.dir.path().join(".aws").join("credentials");
    assert!(error.contains("AWS_ACCESS_KEY_ID") && error.contains("--s3-access-key"));
    assert!(error.contains("profile 'default'"), "{error}");
    assert!(error.contains(looked_in.to_str().unwrap()), "{error}");
    // But keys given outright need no profile, even a broken one.
    let given = typo
        .with("AWS_ACCESS_KEY_ID", "ENVKEY")
        .with("AWS_SECRET_ACCESS_KEY", "env-secret")
        .with("AWS_REGION", "us-east-2");
    assert_eq!(given.signed_as(&endpoint()).0, "ENVKEY");
}

#[test]
fn a_chapter_reads_a_bucket_with_the_keys_of_a_profile_in_its_home() {
    let server = S3Server::start();
    let corpus = TestCorpus::new();
    let bucket = server.bucket("profiles").join("in");
    fs::create_dir_all(&bucket).unwrap();
    for file in &corpus.files {
        fs::copy(file, bucket.join(file.file_name().unwrap())).unwrap();
    }
    let credentials = format!(
        "[default]\naws_access_key_id = WRONG\naws_secret_access_key = wrong\n\n\
         [tests]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    );
    let home = Home::new(&credentials, "[profile tests]\nregion = us-east-1\n");
    let out = tempfile::tempdir().unwrap();
    let chapter = |profile: &str| {
        Command::new(chapters::binary_path("ch00-sequential").unwrap())
            .args([
                "--source",
                "s3://profiles/in/",
                "--quiet",
                "--json",
                "--out",
            ])
            .arg(out.path())
            .args(["--s3-endpoint", &server.endpoint])
            .env_clear()
            .env("HOME", home.dir.path())
            .env("AWS_PROFILE", profile)
            .output()
            .unwrap()
    };
    let good = chapter("tests");
    assert!(good.status.success(), "{}", text(&good.stderr));
    assert_eq!(
        fs::read_dir(out.path()).unwrap().count(),
        corpus.files.len() * 3
    );
    // The default profile's keys are refused by the server: proof they were the ones used.
    let wrong = chapter("default");
    assert_eq!(wrong.status.code(), Some(2));
    // (Amazon answers InvalidAccessKeyId; the test server, NotSignedUp.)
    assert!(
        text(&wrong.stderr).contains("HTTP 403"),
        "{}",
        text(&wrong.stderr)
    );
}

/// A `rust-version` as numbers, `1.92` as `[1, 92, 0]`.
fn version_numbers(text: &str) -> Vec<u32> {
    let mut numbers: Vec<u32> = text.split('.').map(|n| n.parse().unwrap()).collect();
    numbers.resize(3, 0);
    numbers
}

#[test]
fn no_dependency_needs_a_newer_compiler_than_the_declared_rust_version() {
    let metadata = metadata();
    let declared = this_package(&metadata)["rust_version"]
        .as_str()
        .expect("Cargo.toml declares no rust-version");
    let resolved: Vec<&serde_json::Value> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| &node["id"])
        .collect();
    let (newest, needs) = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| resolved.contains(&&p["id"]))
        .filter_map(|p| Some((p["name"].as_str()?, p["rust_version"].as_str()?)))
        .max_by_key(|(_, needs)| version_numbers(needs))
        .unwrap();
    assert!(
        version_numbers(needs) <= version_numbers(declared),
        "{newest} needs rust {needs}, but Cargo.toml declares rust-version = {declared}: raise it"
    );
}
