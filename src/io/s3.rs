//! S3-compatible object storage as a source (`--source s3://bucket/prefix/`) and a
//! destination (`--out s3://bucket/prefix/`), for every chapter.
//!
//! **Why presigned URLs.** Every chapter already has an HTTP client of its own kind: the
//! blocking one of the thread chapters, the async one on tokio, the hand-built protocol of
//! the event loop. A request to S3 must carry a SigV4 signature; rather than teach each
//! of those clients to sign, this module signs *URLs* (with `rusty-s3`, which signs and
//! builds requests but sends nothing itself). A presigned GET or PUT is a plain HTTP
//! request with the signature in its query string, so every chapter's client sends it
//! unchanged, and the chapters never learn that S3 is involved. Listing (ListObjectsV2)
//! and the bucket check are presigned the same way, and sent by the blocking client once,
//! before the batch starts.
//!
//! Credentials and the endpoint come from the standard variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL`), which
//! the `--s3-*` flags override, and then from the profile `$AWS_PROFILE` of the AWS
//! tools' shared files, `~/.aws/credentials` and `~/.aws/config` ([`aws_profile`]). A custom endpoint is addressed path-style
//! (`http://host/bucket/key`), which every S3-compatible server understands. Plain HTTP is
//! refused unless the endpoint is on this machine's loopback or `--s3-allow-http` says so:
//! a presigned URL sent in the clear can be replayed until it expires.

use std::net::IpAddr;
use std::time::Duration;

use rusty_s3::actions::{ListObjectsV2, S3Action};
use rusty_s3::{Bucket, Credentials, UrlStyle};
use serde::{Deserialize, Serialize};

use super::aws_profile::{self, Profile, Vars};
use super::blocking::HttpClient;
use crate::contract::SetupError;

/// How long a presigned URL stays valid. Long enough for a large batch; S3 accepts up to
/// seven days.
const URL_LIFETIME: Duration = Duration::from_secs(6 * 3600);

/// The flags that override the `AWS_*` variables.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct S3Flags {
    /// S3 endpoint [default: $AWS_ENDPOINT_URL, else AWS's endpoint for the region].
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// S3 region [default: $AWS_REGION, else us-east-1].
    #[arg(long, value_name = "REGION")]
    pub s3_region: Option<String>,
    /// S3 access key id [default: $AWS_ACCESS_KEY_ID].
    #[arg(long, value_name = "ID")]
    pub s3_access_key: Option<String>,
    /// S3 secret key [default: $AWS_SECRET_ACCESS_KEY].
    #[arg(long, value_name = "SECRET")]
    pub s3_secret_key: Option<String>,
    /// Allow a plain-HTTP endpoint that is not on loopback.
    #[arg(long)]
    pub s3_allow_http: bool,
}

/// One place in a bucket (`s3://bucket/prefix/`) and what it takes to sign requests there.
/// It is plain data so that it can travel to worker processes with the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Place {
    /// The endpoint, e.g. `https://s3.eu-west-1.amazonaws.com` or `http://127.0.0.1:9000`.
    pub endpoint: String,
    /// The region the signature names.
    pub region: String,
    /// The bucket.
    pub bucket: String,
    /// The key prefix, empty or ending in `/`.
    pub prefix: String,
    access_key: String,
    secret_key: String,
    session_token: Option<String>,
}

impl S3Place {
    /// Reads `s3://bucket/prefix` with the credentials from the flags, the environment
    /// and the AWS tools' shared files (see [`S3Place::parse_with`]).
    pub fn parse(text: &str, flags: &S3Flags) -> Result<S3Place, SetupError> {
        let process_env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        S3Place::parse_with(text, flags, &process_env)
    }

    /// [`S3Place::parse`] with the environment variables looked up by `vars`.
    ///
    /// Credentials and region are found as the AWS tools find them, first found wins:
    /// the `--s3-*` flags; the variables `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN` and `AWS_REGION` (or `AWS_DEFAULT_REGION`); then the profile
    /// `$AWS_PROFILE` (else `default`) of the shared files (see [`aws_profile`]). The
    /// region falls back to `us-east-1`.
    pub fn parse_with(text: &str, flags: &S3Flags, vars: Vars) -> Result<S3Place, SetupError> {
        let setup = |cause: String| SetupError::Other(format!("{text}: {cause}"));
        let rest = text
            .strip_prefix("s3://")
            .ok_or_else(|| setup("an S3 place starts with s3://".into()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(setup("the bucket name is missing".into()));
        }
        let prefix = match prefix {
            "" => String::new(),
            p if p.ends_with('/') => p.to_string(),
            p => format!("{p}/"),
        };
        let region = flags
            .s3_region
            .clone()
            .or_else(|| vars("AWS_REGION"))
            .or_else(|| vars("AWS_DEFAULT_REGION"));
        let keys = keys_given(flags, vars);
        // The shared files are read only for what the flags and variables left open, so
        // that a broken profile cannot stand in the way of keys given outright.
        let profile = match (&region, &keys) {
            (Some(_), Some(_)) => Profile::default(),
            _ => aws_profile::profile(vars).map_err(setup)?,
        };
        let region = region
            .or_else(|| profile.region.clone())
            .unwrap_or_else(|| "us-east-1".into());
        let endpoint = flags
            .s3_endpoint
            .clone()
            .or_else(|| vars("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
        let (access_key, secret_key, session_token) = match keys {
            Some(keys) => keys,
            None => profile_keys(&profile).map_err(setup)?,
        };
        let place = S3Place {
            endpoint,
            region,
            bucket: bucket.to_string(),
            prefix,
            access_key,
            secret_key,
            session_token,
        };
        place.check_endpoint(flags.s3_allow_http).map_err(setup)?;
        Ok(place)
    }

    /// Plain HTTP only to loopback, unless allowed.
    fn check_endpoint(&self, allow_http: bool) -> Result<(), String> {
        let url = url::Url::parse(&self.endpoint)
            .map_err(|e| format!("the endpoint '{}' is not a URL: {e}", self.endpoint))?;
        let loopback = match url.host() {
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
            None => false,
        };
        match url.scheme() {
            "https" => Ok(()),
            "http" if loopback || allow_http => Ok(()),
            "http" => Err(format!(
                "the endpoint {} is plain HTTP and not on this machine: use https, or --s3-allow-http if you mean it",
                self.endpoint
            )),
            other => Err(format!(
                "the endpoint's scheme '{other}' is neither http nor https"
            )),
        }
    }

    /// The place as a person writes it: `s3://bucket/prefix/`.
    pub fn name(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    fn bucket_and_credentials(&self) -> Result<(Bucket, Credentials), String> {
        let endpoint = url::Url::parse(&self.endpoint).map_err(|e| e.to_string())?;
        let bucket = Bucket::new(
            endpoint,
            UrlStyle::Path,
            self.bucket.clone(),
            self.region.clone(),
        )
        .map_err(|e| format!("bad bucket or endpoint: {e}"))?;
        let credentials = match &self.session_token {
            Some(token) => Credentials::new_with_token(&self.access_key, &self.secret_key, token),
            None => Credentials::new(&self.access_key, &self.secret_key),
        };
        Ok((bucket, credentials))
    }

    /// A presigned GET of the object `key` (a full key, prefix included).
    pub fn get_url(&self, key: &str) -> Result<String, String> {
        let (bucket, credentials) = self.bucket_and_credentials()?;
        Ok(bucket
            .get_object(Some(&credentials), key)
            .sign(URL_LIFETIME)
            .to_string())
    }

    /// A presigned PUT of `name` under the prefix.
    pub fn put_url(&self, name: &str) -> Result<String, String> {
        let (bucket, credentials) = self.bucket_and_credentials()?;
        let key = format!("{}{name}", self.prefix);
        Ok(bucket
            .put_object(Some(&credentials), &key)
            .sign(URL_LIFETIME)
            .to_string())
    }

    /// Every key under the prefix (not below a further `/`) with its size in bytes,
    /// following continuation tokens past the service's page size (1,000 keys on AWS).
    pub fn list(&self, client: &HttpClient) -> Result<Vec<(String, Option<u64>)>, SetupError> {
        self.list_in_pages(client, None)
    }

    /// [`S3Place::list`] with a chosen page size (tests use small pages).
    pub fn list_in_pages(
        &self,
        client: &HttpClient,
        page_size: Option<usize>,
    ) -> Result<Vec<(String, Option<u64>)>, SetupError> {
        let (bucket, credentials) = self.bucket_and_credentials().map_err(|e| self.failed(e))?;
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut action = bucket.list_objects_v2(Some(&credentials));
            action.with_prefix(self.prefix.as_str());
            action.with_delimiter("/");
            if let Some(size) = page_size {
                action.with_max_keys(size);
            }
            if let Some(token) = &token {
                action.with_continuation_token(token.as_str());
            }
            let body = self.send(client, action.sign(URL_LIFETIME).as_str())?;
            let text = String::from_utf8_lossy(&body);
            let page = ListObjectsV2::parse_response(&text)
                .map_err(|e| self.failed(format!("the listing is not ListObjectsV2 XML: {e}")))?;
            let objects = page.contents.into_iter();
            keys.extend(objects.map(|object| (object.key, object.size)));
            match page.next_continuation_token {
                Some(next) => token = Some(next),
                None => return Ok(keys),
            }
        }
    }

    /// Checks, before any work, that the bucket exists and the credentials are accepted.
    pub fn check(&self, client: &HttpClient) -> Result<(), SetupError> {
        let (bucket, credentials) = self.bucket_and_credentials().map_err(|e| self.failed(e))?;
        // A one-key listing: unlike HEAD, its error answer has a body with the service's code.
        let mut action = bucket.list_objects_v2(Some(&credentials));
        action.with_max_keys(1);
        self.send(client, action.sign(URL_LIFETIME).as_str())
            .map(|_| ())
    }

    /// GETs a presigned URL; an error answer becomes a setup error with the service's code.
    fn send(&self, client: &HttpClient, url: &str) -> Result<Vec<u8>, SetupError> {
        let (status, body) = client
            .get_any_status(url)
            .map_err(|e| self.failed(e.to_string()))?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        let text = String::from_utf8_lossy(&body);
        let code = xml_field(&text, "Code").unwrap_or("no error code");
        let message = xml_field(&text, "Message").unwrap_or("");
        let hint = match code {
            "SignatureDoesNotMatch" => " (is the secret key right?)",
            "InvalidAccessKeyId" => " (is the access key id right?)",
            "NoSuchBucket" => " (does the bucket exist?)",
            _ => "",
        };
        Err(self.failed(format!("HTTP {status} {code}{hint}: {message}")))
    }

    fn failed(&self, cause: String) -> SetupError {
        SetupError::Other(format!("S3 {}: {cause}", self.name()))
    }
}

/// An access key, its secret and a session token.
type Keys = (String, String, Option<String>);

/// The keys given by the flags and the variables (a flag wins over its variable), when
/// they give both the access key and the secret.
fn keys_given(flags: &S3Flags, vars: Vars) -> Option<Keys> {
    let access_key = flags
        .s3_access_key
        .clone()
        .or_else(|| vars("AWS_ACCESS_KEY_ID"))?;
    let secret_key = flags
        .s3_secret_key
        .clone()
        .or_else(|| vars("AWS_SECRET_ACCESS_KEY"))?;
    Some((access_key, secret_key, vars("AWS_SESSION_TOKEN")))
}

/// The keys of the profile, or why there are none.
fn profile_keys(profile: &Profile) -> Result<Keys, String> {
    let (access_key, secret_key) = profile.keys().ok_or_else(|| {
        format!(
            "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, give --s3-access-key and --s3-secret-key, or write them in a profile ({})",
            profile.why_no_keys()
        )
    })?;
    Ok((access_key, secret_key, profile.session_token.clone()))
}

/// The text of the first `<field>...</field>` in an S3 error document (enough for its
/// flat `<Error><Code>..</Code><Message>..</Message></Error>` shape).
fn xml_field<'a>(xml: &'a str, field: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{field}>"))? + field.len() + 2;
    let end = xml[start..].find(&format!("</{field}>"))? + start;
    Some(&xml[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags() -> S3Flags {
        S3Flags {
            s3_endpoint: Some("http://127.0.0.1:9000".into()),
            s3_region: Some("eu-west-1".into()),
            s3_access_key: Some("AKID".into()),
            s3_secret_key: Some("SECRET".into()),
            s3_allow_http: false,
        }
    }

    #[test]
    fn places_parse_with_a_normalised_prefix() {
        let place = S3Place::parse("s3://photos/2026/june", &flags()).unwrap();
        assert_eq!(
            (place.bucket.as_str(), place.prefix.as_str()),
            ("photos", "2026/june/")
        );
        assert_eq!(place.name(), "s3://photos/2026/june/");
        let root = S3Place::parse("s3://photos", &flags()).unwrap();
        assert_eq!(root.prefix, "");
        assert!(S3Place::parse("s3:///x", &flags()).is_err());
    }

    #[test]
    fn plain_http_is_only_for_loopback_unless_allowed() {
        let mut remote = flags();
        remote.s3_endpoint = Some("http://storage.example:9000".into());
        assert!(S3Place::parse("s3://b/", &remote).is_err());
        remote.s3_allow_http = true;
        assert!(S3Place::parse("s3://b/", &remote).is_ok());
        let mut tls = flags();
        tls.s3_endpoint = Some("https://storage.example".into());
        assert!(S3Place::parse("s3://b/", &tls).is_ok());
    }

    #[test]
    fn presigned_urls_are_path_style_and_signed() {
        let place = S3Place::parse("s3://photos/in/", &flags()).unwrap();
        let get = place.get_url("in/cat.jpg").unwrap();
        assert!(
            get.starts_with("http://127.0.0.1:9000/photos/in/cat.jpg?"),
            "{get}"
        );
        assert!(get.contains("X-Amz-Signature="));
        let put = place.put_url("cat_32.jpg").unwrap();
        assert!(
            put.starts_with("http://127.0.0.1:9000/photos/in/cat_32.jpg?"),
            "{put}"
        );
    }

    #[test]
    fn error_codes_are_read_from_the_answer() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>gone</Message></Error>";
        assert_eq!(xml_field(xml, "Code"), Some("NoSuchBucket"));
        assert_eq!(xml_field(xml, "Message"), Some("gone"));
        assert_eq!(xml_field(xml, "Resource"), None);
    }
}
