//! S3 credentials and region from the shared files of the AWS tools, found as the AWS
//! command line and SDKs find them, so that a machine already set up for them needs no
//! flag here.
//!
//! The profile is `$AWS_PROFILE`, else `default`. It is read from two files:
//! `~/.aws/credentials` (or `$AWS_SHARED_CREDENTIALS_FILE`), whose sections are named
//! `[NAME]`, and `~/.aws/config` (or `$AWS_CONFIG_FILE`), whose sections are named
//! `[profile NAME]`, except `[default]`. A key in the credentials file wins over the same
//! key in the config file. The environment variables and the `--s3-*` flags come before
//! both files; that order is [`S3Place::parse_with`](super::s3::S3Place::parse_with)'s.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// How the settings are looked up: one environment variable by name. The process's own
/// environment in a run, a fixed map in a test.
pub type Vars<'a> = &'a dyn Fn(&str) -> Option<String>;

/// What the chosen profile holds (each field only if one of the two files sets it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// The profile's name, for messages.
    pub name: String,
    /// `aws_access_key_id`.
    pub access_key: Option<String>,
    /// `aws_secret_access_key`.
    pub secret_key: Option<String>,
    /// `aws_session_token`, for temporary credentials.
    pub session_token: Option<String>,
    /// `region`.
    pub region: Option<String>,
    /// Where the profile was looked for, for messages.
    pub files: Vec<PathBuf>,
    /// Whether the profile has a role, SSO or a credential process instead of keys: the
    /// AWS tools can use those, this workbench cannot.
    pub indirect: bool,
}

impl Profile {
    /// The access key and secret key, when the profile holds both.
    pub fn keys(&self) -> Option<(String, String)> {
        Some((self.access_key.clone()?, self.secret_key.clone()?))
    }

    /// Why the profile gave no keys, for the "no credentials" message.
    pub fn why_no_keys(&self) -> String {
        let files = self
            .files
            .iter()
            .map(|file| file.display().to_string())
            .collect::<Vec<_>>()
            .join(" and ");
        if self.indirect {
            format!(
                "the profile '{}' in {files} names a role, SSO or a credential process, which this program cannot use: export its keys (aws configure export-credentials --format env)",
                self.name
            )
        } else {
            format!(
                "no aws_access_key_id and aws_secret_access_key for the profile '{}' in {files}",
                self.name
            )
        }
    }
}

/// Reads the profile `$AWS_PROFILE` (else `default`) from the shared files. A missing
/// file is no error (most machines have none); a profile named by `AWS_PROFILE` that
/// neither file holds is, since it is surely a typo.
pub fn profile(vars: Vars) -> Result<Profile, String> {
    let chosen = vars("AWS_PROFILE");
    let name = chosen.clone().unwrap_or_else(|| "default".into());
    let credentials_file = shared_file(vars, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let config_file = shared_file(vars, "AWS_CONFIG_FILE", "config");
    // The config file names its sections `[profile NAME]`; the default profile may be
    // `[default]` or `[profile default]` there.
    let profile_name = format!("profile {name}");
    let mut config_names = vec![profile_name.as_str()];
    if name == "default" {
        config_names.push("default");
    }
    let mut found = false;
    let mut settings = HashMap::new();
    // The config file first, so that the credentials file's keys replace its own.
    for (file, names) in [
        (&config_file, config_names),
        (&credentials_file, vec![name.as_str()]),
    ] {
        let Some(file) = file else { continue };
        if let Some(keys) = read_section(file, &names)? {
            found = true;
            settings.extend(keys);
        }
    }
    let files: Vec<PathBuf> = [credentials_file, config_file]
        .into_iter()
        .flatten()
        .collect();
    if !found && chosen.is_some() {
        return Err(not_found(&name, &files));
    }
    let indirect = [
        "role_arn",
        "sso_session",
        "sso_start_url",
        "credential_process",
    ]
    .iter()
    .any(|key| settings.contains_key(*key));
    let mut take = |key: &str| settings.remove(key).filter(|value| !value.is_empty());
    Ok(Profile {
        name,
        access_key: take("aws_access_key_id"),
        secret_key: take("aws_secret_access_key"),
        session_token: take("aws_session_token"),
        region: take("region"),
        files,
        indirect,
    })
}

/// Why the profile `name`, chosen by `AWS_PROFILE`, was not found in `files`.
fn not_found(name: &str, files: &[PathBuf]) -> String {
    if files.is_empty() {
        return format!(
            "the profile '{name}' (AWS_PROFILE) cannot be looked for: HOME is not set, nor AWS_SHARED_CREDENTIALS_FILE or AWS_CONFIG_FILE"
        );
    }
    let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    format!(
        "the profile '{name}' (AWS_PROFILE) is in neither {}",
        files.join(" nor ")
    )
}

/// The path of a shared file: the variable `override_var` if set, else `~/.aws/NAME`
/// (none when there is no home folder either).
fn shared_file(vars: Vars, override_var: &str, name: &str) -> Option<PathBuf> {
    vars(override_var)
        .map(PathBuf::from)
        .or_else(|| vars("HOME").map(|home| PathBuf::from(home).join(".aws").join(name)))
}

/// The keys of the section named by one of `names` in the INI file `path`: `None` if
/// the file or the section does not exist.
fn read_section(path: &Path, names: &[&str]) -> Result<Option<HashMap<String, String>>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(section_of(&text, names)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// The `key = value` lines of the section named by one of `names` in an INI text.
/// Comments start with `#` or `;`; an indented line continues the key above it (the
/// files' nested settings, such as `s3 =` followed by an indented
/// `addressing_style = path`) and is not a key of its own. Sections of those names that
/// appear more than once give the keys of all, the last one winning.
fn section_of(text: &str, names: &[&str]) -> Option<HashMap<String, String>> {
    let mut keys: Option<HashMap<String, String>> = None;
    let mut inside = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        if let Some(header) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            let header = header.split_whitespace().collect::<Vec<_>>().join(" ");
            inside = names.contains(&header.as_str());
            if inside {
                keys.get_or_insert_with(HashMap::new);
            }
            continue;
        }
        if !inside || line.starts_with([' ', '\t']) {
            continue;
        }
        if let (Some(keys), Some((key, value))) = (keys.as_mut(), trimmed.split_once('=')) {
            keys.insert(key.trim().to_string(), value.trim().to_string());
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREDENTIALS: &str = "\
# a comment
[default]
aws_access_key_id = DEFAULTKEY
aws_secret_access_key = default-secret

[work]
aws_access_key_id=WORKKEY
aws_secret_access_key=work-secret
aws_session_token = work-token
";

    const CONFIG: &str = "\
[default]
region = eu-west-1

[profile work]
region = eu-central-1
s3 =
  region = not-this-one

[work]
region = ignored-without-the-word-profile
";

    #[test]
    fn sections_are_read_with_their_keys() {
        let work = section_of(CREDENTIALS, &["work"]).unwrap();
        assert_eq!(work["aws_access_key_id"], "WORKKEY");
        assert_eq!(work["aws_session_token"], "work-token");
        assert!(section_of(CREDENTIALS, &["missing"]).is_none());
    }

    #[test]
    fn nested_settings_do_not_replace_the_profiles_own() {
        let work = section_of(CONFIG, &["profile work"]).unwrap();
        assert_eq!(work["region"], "eu-central-1");
    }

    #[test]
    fn the_default_profile_may_be_written_profile_default_in_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::write(&config, "[profile default]\nregion = eu-south-1\n").unwrap();
        let config = config.to_str().unwrap().to_string();
        let vars = |name: &str| (name == "AWS_CONFIG_FILE").then(|| config.clone());
        assert_eq!(
            profile(&vars).unwrap().region.as_deref(),
            Some("eu-south-1")
        );
    }

    #[test]
    fn a_chosen_profile_without_a_home_says_so() {
        let vars = |name: &str| (name == "AWS_PROFILE").then(|| "work".to_string());
        assert!(profile(&vars).unwrap_err().contains("HOME is not set"));
    }
}
