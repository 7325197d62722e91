//! The blocking HTTP client of the thread-based chapters.

use crate::contract::{HttpConfig, ImageError, Location};

use super::destination::Destination;
use super::file::{read_limited, write_thumbnail};
use super::{redirect, tls};

/// A blocking HTTP client with timeouts and a body limit, cheap to clone and safe to
/// share between threads (its connection pool is behind an `Arc`).
#[derive(Clone)]
pub struct HttpClient {
    agent: ureq::Agent,
    config: HttpConfig,
}

impl HttpClient {
    /// A client with `config`'s timeouts and limit.
    pub fn new(config: &HttpConfig) -> HttpClient {
        let timeout = Some(config.timeout);
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(timeout)
            .timeout_recv_response(timeout)
            .timeout_per_read(timeout)
            .timeout_per_write(timeout)
            // Redirects follow the policy all three clients share (see `redirect`),
            // so ureq hands every 3xx back instead of following it itself.
            .max_redirects(0)
            .tls_config(tls_config())
            .build()
            .new_agent();
        HttpClient {
            agent,
            config: *config,
        }
    }

    /// The bytes at `location`: a file read, or an HTTP GET.
    pub fn fetch(&self, location: &Location) -> Result<Vec<u8>, ImageError> {
        match location {
            Location::File(path) => read_limited(path, self.config.max_bytes),
            Location::Url(url) => self.get(url),
        }
    }

    /// GET `url`: the body of a 2xx answer, or the error that names the cause.
    pub fn get(&self, url: &str) -> Result<Vec<u8>, ImageError> {
        let mut response = self.send("GET", url, None)?;
        check_status(response.status().as_u16(), url)?;
        response
            .body_mut()
            .with_config()
            .limit(self.config.max_bytes)
            .read_to_vec()
            .map_err(|e| self.error(e, "reading the body"))
    }

    /// GET `url` and return the status and body whatever the status (for answers whose
    /// error body matters, such as S3's error codes).
    pub fn get_any_status(&self, url: &str) -> Result<(u16, Vec<u8>), ImageError> {
        let mut response = self.send("GET", url, None)?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(self.config.max_bytes)
            .read_to_vec()
            .map_err(|e| self.error(e, "reading the body"))?;
        Ok((status, body))
    }

    /// HEAD `url`: whether the server answers at all (any status will do).
    pub fn answers(&self, url: &str) -> Result<(), ImageError> {
        match self.agent.head(url).call() {
            Ok(_) => Ok(()),
            Err(e) => Err(self.error(e, "HEAD")),
        }
    }

    /// Carries out one thumbnail's [`Destination`]: an atomic file write, or a PUT.
    pub fn store(&self, destination: &Destination, bytes: &[u8]) -> Result<(), ImageError> {
        match destination {
            Destination::File(path) => write_thumbnail(path, bytes),
            Destination::Put { url, content_type } => self.put(url, bytes, content_type),
        }
    }

    /// PUT `bytes` to `url` with `content_type`.
    pub fn put(&self, url: &str, bytes: &[u8], content_type: &str) -> Result<(), ImageError> {
        let response = self.send("PUT", url, Some((bytes, content_type)))?;
        check_status(response.status().as_u16(), url)
    }

    /// Sends one GET (no `body`) or PUT, following redirects as [`redirect`] allows.
    fn send(
        &self,
        method: &'static str,
        url: &str,
        body: Option<(&[u8], &str)>,
    ) -> Result<ureq::http::Response<ureq::Body>, ImageError> {
        let mut url = url.to_string();
        for hops in 0.. {
            let sent = match body {
                None => self.agent.get(&url).call(),
                Some((bytes, content_type)) => self
                    .agent
                    .put(&url)
                    .header("Content-Type", content_type)
                    .send(bytes),
            };
            let response = sent.map_err(|e| self.error(e, method))?;
            let location = response
                .headers()
                .get("location")
                .and_then(|value| value.to_str().ok());
            match redirect::next_hop(method, &url, response.status().as_u16(), location, hops)? {
                Some(next) => url = next,
                None => return Ok(response),
            }
        }
        unreachable!("the redirect policy ends the loop after a few hops")
    }

    fn error(&self, error: ureq::Error, during: &str) -> ImageError {
        match error {
            ureq::Error::Timeout(which) => ImageError::Timeout {
                millis: self.config.timeout.as_millis() as u64,
                during: format!("{during}: {which}"),
            },
            ureq::Error::BodyExceedsLimit(limit) => ImageError::TooLarge { limit },
            ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
                ImageError::Connect(error.to_string())
            }
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                ImageError::Connect(io.to_string())
            }
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                ImageError::Timeout {
                    millis: self.config.timeout.as_millis() as u64,
                    during: during.to_string(),
                }
            }
            other => ImageError::Io(tls::explain(format!("{during} failed: {other}"))),
        }
    }
}

/// HTTPS as every client speaks it: rustls on ring, trusting what [`tls`] trusts.
fn tls_config() -> ureq::tls::TlsConfig {
    let roots: Vec<ureq::tls::Certificate<'static>> = tls::trusted_certificates()
        .iter()
        .map(|der| ureq::tls::Certificate::from_der(der).to_owned())
        .collect();
    ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .root_certs(ureq::tls::RootCerts::new_with_certs(&roots))
        .unversioned_rustls_crypto_provider(tls::provider())
        .build()
}

fn check_status(status: u16, url: &str) -> Result<(), ImageError> {
    if (200..300).contains(&status) {
        Ok(())
    } else {
        // Without the query: a presigned URL's signature does not belong in a report.
        let url = url.split('?').next().unwrap_or(url);
        Err(ImageError::Status {
            status,
            url: url.to_string(),
        })
    }
}
