//! The blocking HTTP client of the thread-based chapters. Every request is retried as
//! [`retry`](super::retry) says, bounded by the transfer's deadline, speaks HTTPS as
//! [`tls`](super::tls) trusts, and follows redirects as [`redirect`](super::redirect)
//! allows.

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::contract::{HttpConfig, ImageError, Location};

use super::destination::Destination;
use super::file::{read_limited, write_thumbnail};
use super::retry::{self, Failure};
use super::{redirect, tls};

/// Open connections kept for later requests: as many as the busiest chapter's threads
/// use at once by default (the pipeline's 24 downloaders and 64 uploaders on two cores).
const IDLE_CONNECTIONS: usize = 128;

/// The bytes a connection reads into at a time (and the largest response head it holds).
const INPUT_BUFFER: usize = 64 * 1024;

/// The bytes a connection gathers before a write: a request's head, a piece of its body.
const OUTPUT_BUFFER: usize = 16 * 1024;

/// A blocking HTTP client with timeouts and a body limit, cheap to clone and safe to
/// share between threads (its connection pool is behind an `Arc`).
#[derive(Clone)]
pub struct HttpClient {
    /// For `http://` URLs, which need no certificates.
    plain: ureq::Agent,
    /// For `https://` URLs, made on the first one: reading the system's certificates
    /// takes milliseconds that a run without HTTPS (most runs) need not pay.
    secure: Arc<OnceLock<ureq::Agent>>,
    config: HttpConfig,
}

impl HttpClient {
    /// A client with `config`'s timeouts and limit.
    pub fn new(config: &HttpConfig) -> HttpClient {
        HttpClient {
            plain: agent(config, no_certificates()),
            secure: Arc::new(OnceLock::new()),
            config: *config,
        }
    }

    /// The agent that speaks to `url`'s scheme.
    fn agent(&self, url: &str) -> &ureq::Agent {
        if tls::is_https(url) {
            self.secure
                .get_or_init(|| agent(&self.config, trusted_certificates()))
        } else {
            &self.plain
        }
    }

    /// The bytes at `location`: a file read, or an HTTP GET (retried as
    /// [`retry`](super::retry) says, sleeping between tries).
    pub fn fetch(&self, location: &Location) -> Result<Vec<u8>, ImageError> {
        self.fetch_waiting(location, std::thread::sleep)
    }

    /// [`fetch`](Self::fetch), calling `wait` for each wait between two tries (a job
    /// sleeps there and records the wait in its trace).
    pub fn fetch_waiting(
        &self,
        location: &Location,
        wait: impl FnMut(Duration),
    ) -> Result<Vec<u8>, ImageError> {
        match location {
            Location::File(path) => read_limited(path, self.config.max_bytes),
            Location::Url(url) => {
                retry::blocking(&self.config, "GET", |left| self.get_once(url, left), wait)
            }
        }
    }

    /// GET `url`: the body of a 2xx answer, or the error that names the cause.
    pub fn get(&self, url: &str) -> Result<Vec<u8>, ImageError> {
        self.fetch(&Location::Url(url.to_string()))
    }

    /// One try of a GET, which must be over in `left`.
    fn get_once(&self, url: &str, left: Duration) -> Result<Vec<u8>, Failure> {
        let mut response = self.send("GET", url, None, left)?;
        check_status(&response, url)?;
        self.read_body(&mut response)
    }

    /// The whole body of `response`, up to the client's limit. The buffer is made once
    /// at the size the server announces (within the limit): grown step by step from
    /// nothing, a 500 KB photo would pass through seven buffers of doubling size, each
    /// copied into the next, and the process would touch twice the memory it keeps.
    fn read_body(
        &self,
        response: &mut ureq::http::Response<ureq::Body>,
    ) -> Result<Vec<u8>, Failure> {
        let announced = response.body().content_length().unwrap_or(0);
        let capacity = announced.min(self.config.max_bytes);
        let mut bytes = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
        response
            .body_mut()
            .with_config()
            .limit(self.config.max_bytes)
            .reader()
            .read_to_end(&mut bytes)
            .map_err(|e| self.failure(ureq::Error::from(e), "reading the body"))?;
        Ok(bytes)
    }

    /// GET `url` and return the status and body whatever the status (for answers whose
    /// error body matters, such as S3's error codes). Only failures to get an answer at
    /// all are retried: the caller reads the status.
    pub fn get_any_status(&self, url: &str) -> Result<(u16, Vec<u8>), ImageError> {
        let attempt = |left| {
            let mut response = self.send("GET", url, None, left)?;
            let status = response.status().as_u16();
            Ok((status, self.read_body(&mut response)?))
        };
        retry::blocking(&self.config, "GET", attempt, std::thread::sleep)
    }

    /// HEAD `url`: whether the server answers at all (any status will do).
    pub fn answers(&self, url: &str) -> Result<(), ImageError> {
        let attempt = |left| match self
            .agent(url)
            .head(url)
            .config()
            .timeout_global(Some(left))
            .build()
            .call()
        {
            Ok(_) => Ok(()),
            Err(e) => Err(self.failure(e, "HEAD")),
        };
        retry::blocking(&self.config, "HEAD", attempt, std::thread::sleep)
    }

    /// Carries out one thumbnail's [`Destination`]: an atomic file write, or a PUT.
    pub fn store(&self, destination: &Destination, bytes: &[u8]) -> Result<(), ImageError> {
        self.store_waiting(destination, bytes, std::thread::sleep)
    }

    /// [`store`](Self::store), calling `wait` for each wait between two tries of a PUT.
    /// A thumbnail's bytes are the same at every try, so a PUT may be repeated.
    pub fn store_waiting(
        &self,
        destination: &Destination,
        bytes: &[u8],
        wait: impl FnMut(Duration),
    ) -> Result<(), ImageError> {
        match destination {
            Destination::File(path) => write_thumbnail(path, bytes),
            Destination::Put { url, content_type } => retry::blocking(
                &self.config,
                "PUT",
                |left| self.put_once(url, bytes, content_type, left),
                wait,
            ),
        }
    }

    /// PUT `bytes` to `url` with `content_type`.
    pub fn put(&self, url: &str, bytes: &[u8], content_type: &str) -> Result<(), ImageError> {
        let attempt = |left| self.put_once(url, bytes, content_type, left);
        retry::blocking(&self.config, "PUT", attempt, std::thread::sleep)
    }

    /// One try of a PUT, which must be over in `left`.
    fn put_once(
        &self,
        url: &str,
        bytes: &[u8],
        content_type: &str,
        left: Duration,
    ) -> Result<(), Failure> {
        let response = self.send("PUT", url, Some((bytes, content_type)), left)?;
        check_status(&response, url)
    }

    /// One try of a GET (no `body`) or a PUT, following redirects as [`redirect`]
    /// allows, all of it over in `left`.
    fn send(
        &self,
        method: &'static str,
        url: &str,
        body: Option<(&[u8], &str)>,
        left: Duration,
    ) -> Result<ureq::http::Response<ureq::Body>, Failure> {
        let started = std::time::Instant::now();
        let mut url = url.to_string();
        for hops in 0.. {
            let left = Some(left.saturating_sub(started.elapsed()));
            let sent = match body {
                None => self
                    .agent(&url)
                    .get(&url)
                    .config()
                    .timeout_global(left)
                    .build()
                    .call(),
                Some((bytes, content_type)) => self
                    .agent(&url)
                    .put(&url)
                    .config()
                    .timeout_global(left)
                    .build()
                    .header("Content-Type", content_type)
                    .send(bytes),
            };
            let response = sent.map_err(|e| self.failure(e, method))?;
            let location = response
                .headers()
                .get("location")
                .and_then(|value| value.to_str().ok());
            let status = response.status().as_u16();
            match redirect::next_hop(method, &url, status, location, hops) {
                Ok(Some(next)) => url = next,
                Ok(None) => return Ok(response),
                Err(refused) => return Err(Failure::permanent(refused)),
            }
        }
        unreachable!("the redirect policy ends the loop after a few hops")
    }

    /// A failed try, and whether it is worth another: a refused, reset or silent
    /// connection may work next time; a name that does not resolve or a body over the
    /// limit will not, and neither will a transfer whose deadline has passed.
    fn failure(&self, error: ureq::Error, during: &str) -> Failure {
        let timeout = |during: String| ImageError::Timeout {
            millis: self.config.timeout.as_millis() as u64,
            during,
        };
        match error {
            ureq::Error::Timeout(ureq::Timeout::Global) => {
                Failure::permanent(retry::past_deadline(&self.config, during))
            }
            ureq::Error::Timeout(which) => {
                Failure::transient(timeout(format!("{during}: {which}")))
            }
            ureq::Error::BodyExceedsLimit(limit) => {
                Failure::permanent(ImageError::TooLarge { limit })
            }
            ureq::Error::HostNotFound => Failure::permanent(ImageError::Connect(error.to_string())),
            ureq::Error::ConnectionFailed => {
                Failure::transient(ImageError::Connect(error.to_string()))
            }
            ureq::Error::Io(io) => match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    Failure::transient(ImageError::Connect(io.to_string()))
                }
                std::io::ErrorKind::TimedOut => Failure::transient(timeout(during.to_string())),
                // Reset, closed early, broken pipe: the connection, not the request.
                // (A TLS handshake's failure comes this way too: the hint says the fix.)
                _ => Failure::transient(ImageError::Io(tls::explain(format!(
                    "{during} failed: {io}"
                )))),
            },
            other => Failure::permanent(ImageError::Io(tls::explain(format!(
                "{during} failed: {other}"
            )))),
        }
    }
}

/// A 2xx answer passes; any other is a failure, transient or not as its status says.
fn check_status<B>(response: &ureq::http::Response<B>, url: &str) -> Result<(), Failure> {
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok());
    Err(Failure::status(status, url, retry_after))
}

/// A ureq agent with `config`'s timeouts, speaking HTTPS as every client does (rustls
/// on ring) and trusting `roots`.
fn agent(config: &HttpConfig, roots: ureq::tls::RootCerts) -> ureq::Agent {
    let timeout = Some(config.timeout);
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .root_certs(roots)
        .unversioned_rustls_crypto_provider(tls::provider())
        .build();
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(timeout)
        .timeout_recv_response(timeout)
        .timeout_per_read(timeout)
        .timeout_per_write(timeout)
        // Redirects follow the policy all three clients share (see `redirect`), so
        // ureq hands every 3xx back instead of following it itself.
        .max_redirects(0)
        // A connection left open after its answer is kept for the next request to the
        // same store. ureq keeps three per host by default; the chapters' dozens of
        // threads would then open a new connection (and a new pair of buffers) for
        // most requests.
        .max_idle_connections(IDLE_CONNECTIONS)
        .max_idle_connections_per_host(IDLE_CONNECTIONS)
        // Each connection has an input and an output buffer, 128 KiB each by default,
        // zeroed when it opens: 20 MB of fresh memory for a run's 80 connections. A
        // response's head fits in the input buffer (ureq refuses heads over 64 KiB),
        // and a body larger than a buffer passes through it in pieces either way.
        .input_buffer_size(INPUT_BUFFER)
        .output_buffer_size(OUTPUT_BUFFER)
        .tls_config(tls)
        .build();
    ureq::Agent::with_parts(
        config,
        DefaultConnector::default(),
        AddressResolver::default(),
    )
}

/// Finds the address of a URL's host: at once when the host is an address already (a
/// store on this machine is `127.0.0.1`), through the system otherwise. ureq's own
/// resolver asks the system on every request, and on a thread of its own when the
/// request has a timeout: a thread started and ended for each of a run's hundreds of
/// requests, most of which then take a pooled connection anyway.
#[derive(Debug, Default)]
struct AddressResolver(DefaultResolver);

impl Resolver for AddressResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let address = uri.host().and_then(|host| {
            // An IPv6 address stands in brackets in a URL: `http://[::1]:8080/`.
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            bare.parse::<IpAddr>().ok()
        });
        let port = uri.port_u16().or(match uri.scheme_str() {
            Some("http") => Some(80),
            Some("https") => Some(443),
            _ => None,
        });
        match address.zip(port) {
            Some((ip, port)) => {
                let mut found = self.empty();
                found.push(SocketAddr::new(ip, port));
                Ok(found)
            }
            None => self.0.resolve(uri, config, timeout),
        }
    }
}

/// The roots of the agent for `http://`, which never meets a certificate.
fn no_certificates() -> ureq::tls::RootCerts {
    ureq::tls::RootCerts::new_with_certs(&[])
}

/// Every certificate the workbench trusts, as ureq takes them.
fn trusted_certificates() -> ureq::tls::RootCerts {
    let roots: Vec<ureq::tls::Certificate<'static>> = tls::trusted_certificates()
        .iter()
        .map(|der| ureq::tls::Certificate::from_der(der).to_owned())
        .collect();
    ureq::tls::RootCerts::new_with_certs(&roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where `url` points, with `left` to find out.
    fn resolve_within(url: &str, left: NextTimeout) -> Vec<SocketAddr> {
        let uri: Uri = url.parse().expect("a URL");
        let config = ureq::config::Config::default();
        AddressResolver::default()
            .resolve(&uri, &config, left)
            .expect("an address")
            .iter()
            .copied()
            .collect()
    }

    fn resolve(url: &str) -> Vec<SocketAddr> {
        resolve_within(url, NextTimeout::default())
    }

    #[test]
    fn an_address_in_the_url_is_taken_as_it_stands() {
        // With no time left, a lookup through the system would time out: an address
        // needs none.
        let no_time = NextTimeout {
            after: ureq::unversioned::transport::time::Duration::Exact(Duration::ZERO),
            ..NextTimeout::default()
        };
        assert_eq!(
            resolve_within("http://127.0.0.1:8080/a.jpg", no_time),
            ["127.0.0.1:8080".parse().unwrap()]
        );
        assert_eq!(
            resolve("http://127.0.0.1:8080/a.jpg"),
            ["127.0.0.1:8080".parse().unwrap()]
        );
        assert_eq!(resolve("http://[::1]/a.jpg"), ["[::1]:80".parse().unwrap()]);
        assert_eq!(
            resolve("https://10.0.0.1/a.jpg"),
            ["10.0.0.1:443".parse().unwrap()]
        );
    }

    #[test]
    fn a_name_is_asked_of_the_system() {
        let found = resolve("http://localhost:9/a.jpg");
        assert!(
            found
                .iter()
                .all(|address| address.ip().is_loopback() && address.port() == 9),
            "localhost resolved to {found:?}"
        );
    }
}
