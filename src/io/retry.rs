//! Retries with backoff, and the deadline of a whole transfer: one policy, which the
//! three IO models of the chapters (blocking threads, tokio, the hand-built loop) only
//! carry out, each with its own way of waiting.
//!
//! A request is tried again only when trying again can help and cannot do harm:
//!
//! - **What is retried**: GET, and PUT of a thumbnail. Both are idempotent: the bytes
//!   of a thumbnail depend only on its image, so storing them twice stores the same
//!   object. (A POST that charges a card is not, and a client must never repeat it.)
//! - **When**: the failure says "not now" rather than "never": the connection was
//!   refused or reset, an answer timed out, or the server answered 429 (too many
//!   requests), 500, 502, 503 or 504. A 404 or a corrupt image is the same next time.
//! - **How long to wait**: exponential backoff with *full jitter*: before retry `n`, a
//!   random wait between zero and `FIRST_WAIT x 2^(n-1)` (at most `LONGEST_WAIT`). The
//!   doubling gives an overloaded server room; the randomness spreads out clients that
//!   failed together, so that they do not all come back at the same instant. A server
//!   that says how long to wait (`Retry-After`) is believed.
//! - **Until when**: at most `--retries` retries, and never past the transfer's
//!   `--deadline`, which bounds the whole transfer, waits and retries included. The idle
//!   `--timeout` alone would let a server that sends one byte a second keep an image
//!   alive for ever.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::contract::{HttpConfig, ImageError};

/// The wait before the first retry, at most (full jitter picks from zero up to it).
pub const FIRST_WAIT: Duration = Duration::from_millis(100);

/// No wait between two tries is longer than this, however many tries failed.
pub const LONGEST_WAIT: Duration = Duration::from_secs(5);

/// One failed try: the error, and whether trying again may help.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// What went wrong; the image's error if this was the last try.
    pub error: ImageError,
    /// Whether the cause may be gone next time (a refused connection, a 503, ...).
    pub transient: bool,
    /// How long the server asked us to wait (`Retry-After`), if it did.
    pub retry_after: Option<Duration>,
}

impl Failure {
    /// A failure that will happen again: not worth a retry.
    pub fn permanent(error: ImageError) -> Failure {
        Failure {
            error,
            transient: false,
            retry_after: None,
        }
    }

    /// A failure that may be gone next time (a connection refused or reset, a timeout).
    pub fn transient(error: ImageError) -> Failure {
        Failure {
            error,
            transient: true,
            retry_after: None,
        }
    }

    /// An error status from the server, with its `Retry-After` header if it sent one.
    /// 429, 500, 502, 503 and 504 say "not now"; every other status says "never".
    pub fn status(status: u16, url: &str, retry_after: Option<&str>) -> Failure {
        // Without the query: a presigned URL's signature does not belong in a report.
        let url = url.split('?').next().unwrap_or(url).to_string();
        Failure {
            error: ImageError::Status { status, url },
            transient: matches!(status, 429 | 500 | 502 | 503 | 504),
            retry_after: retry_after.and_then(parse_retry_after),
        }
    }
}

/// `Retry-After` in its delay form, a number of seconds. (The other form, an HTTP date,
/// is left to the backoff: it depends on the two clocks agreeing.)
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The error of a transfer that ran past its deadline.
pub fn past_deadline(config: &HttpConfig, during: &str) -> ImageError {
    ImageError::Timeout {
        millis: config.deadline.as_millis() as u64,
        during: format!("{during}: the transfer ran past its deadline (--deadline)"),
    }
}

// ANCHOR: retrying
/// One transfer's tries: how many are left, and how much time.
///
/// Each IO model drives it the same way: ask [`Retrying::time_left`] before a try (the
/// try must end within it), and hand a failed try to [`Retrying::after`], which says how
/// long to wait before the next one, or gives the error up when there is no next one.
#[derive(Debug, Clone)]
pub struct Retrying {
    config: HttpConfig,
    during: String,
    /// When the whole transfer must be over.
    deadline: Instant,
    /// Retries made so far.
    retries: u32,
}

impl Retrying {
    /// The tries of one transfer (`during` names it in errors: `GET`, `PUT`), from now.
    pub fn start(config: &HttpConfig, during: &str) -> Retrying {
        Retrying {
            config: *config,
            during: during.to_string(),
            deadline: Instant::now() + config.deadline,
            retries: 0,
        }
    }

    /// The time left before the deadline, or the deadline's error once it has passed.
    pub fn time_left(&self) -> Result<Duration, ImageError> {
        match self.deadline.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Ok(left),
            _ => Err(past_deadline(&self.config, &self.during)),
        }
    }

    /// After a failed try: the wait before the next one, or the error to give up with
    /// (a permanent failure, no retries left, or a wait that would end past the deadline).
    pub fn after(&mut self, failure: Failure) -> Result<Duration, ImageError> {
        if !failure.transient || self.retries >= self.config.retries {
            return Err(failure.error);
        }
        self.retries += 1;
        let wait = failure
            .retry_after
            .unwrap_or_else(|| full_jitter(self.retries));
        match self.time_left() {
            Ok(left) if wait < left => Ok(wait),
            _ => Err(failure.error),
        }
    }
}

/// A random wait between zero and the backoff of retry number `retry` (1 for the first):
/// `FIRST_WAIT` doubled at each retry, up to `LONGEST_WAIT`.
pub fn full_jitter(retry: u32) -> Duration {
    let doublings = retry.saturating_sub(1).min(16);
    let backoff = FIRST_WAIT.saturating_mul(1 << doublings).min(LONGEST_WAIT);
    backoff.mul_f64(fastrand::f64())
}
// ANCHOR_END: retrying

/// Tries `attempt` until it succeeds or [`Retrying`] gives up, calling `wait` between two
/// tries (the blocking clients sleep there; a job also records the wait in its trace).
/// `attempt` receives the time left before the deadline, which it must not outlast.
pub fn blocking<T>(
    config: &HttpConfig,
    during: &str,
    mut attempt: impl FnMut(Duration) -> Result<T, Failure>,
    mut wait: impl FnMut(Duration),
) -> Result<T, ImageError> {
    let mut retrying = Retrying::start(config, during);
    loop {
        match attempt(retrying.time_left()?) {
            Ok(value) => return Ok(value),
            Err(failure) => wait(retrying.after(failure)?),
        }
    }
}

/// [`blocking`] for async code: `attempt` and `wait` are awaited, so the task hands its
/// thread back while it waits.
pub async fn awaiting<T, A, W>(
    config: &HttpConfig,
    during: &str,
    mut attempt: impl FnMut(Duration) -> A,
    mut wait: impl FnMut(Duration) -> W,
) -> Result<T, ImageError>
where
    A: Future<Output = Result<T, Failure>>,
    W: Future<Output = ()>,
{
    let mut retrying = Retrying::start(config, during);
    loop {
        match attempt(retrying.time_left()?).await {
            Ok(value) => return Ok(value),
            Err(failure) => wait(retrying.after(failure)?).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(retries: u32, deadline: Duration) -> HttpConfig {
        HttpConfig {
            retries,
            deadline,
            ..HttpConfig::default()
        }
    }

    fn unavailable() -> Failure {
        Failure::status(503, "http://store/a.jpg?X-Amz-Signature=secret", None)
    }

    #[test]
    fn only_statuses_that_say_not_now_are_transient() {
        for status in [429, 500, 502, 503, 504] {
            assert!(Failure::status(status, "u", None).transient, "{status}");
        }
        for status in [400, 403, 404, 501] {
            assert!(!Failure::status(status, "u", None).transient, "{status}");
        }
        let error = unavailable().error.to_string();
        assert!(!error.contains("secret"), "{error}");
    }

    #[test]
    fn backoff_doubles_up_to_the_longest_wait_and_jitters_below_it() {
        for retry in 1..=20 {
            let cap = FIRST_WAIT
                .saturating_mul(1 << (retry - 1).min(16))
                .min(LONGEST_WAIT);
            let waits: Vec<Duration> = (0..200).map(|_| full_jitter(retry)).collect();
            assert!(waits.iter().all(|w| *w <= cap), "retry {retry}");
            // Full jitter: the waits spread over the range rather than sit at its top.
            assert!(waits.iter().any(|w| *w < cap / 2), "retry {retry}");
        }
    }

    #[test]
    fn a_transfer_gives_up_after_its_retries() {
        let mut retrying = Retrying::start(&config(2, Duration::from_secs(60)), "GET");
        assert!(retrying.after(unavailable()).is_ok());
        assert!(retrying.after(unavailable()).is_ok());
        let error = retrying.after(unavailable()).unwrap_err();
        assert!(matches!(error, ImageError::Status { status: 503, .. }));
    }

    #[test]
    fn a_permanent_failure_is_never_retried() {
        let mut retrying = Retrying::start(&config(8, Duration::from_secs(60)), "GET");
        let not_found = Failure::status(404, "u", None);
        assert_eq!(retrying.after(not_found.clone()), Err(not_found.error));
    }

    #[test]
    fn retry_after_is_believed_but_not_past_the_deadline() {
        let mut retrying = Retrying::start(&config(3, Duration::from_secs(60)), "GET");
        let slow_down = Failure::status(503, "u", Some("2"));
        assert_eq!(retrying.after(slow_down), Ok(Duration::from_secs(2)));
        let much_later = Failure::status(503, "u", Some("3600"));
        assert!(retrying.after(much_later).is_err());
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT"), None);
    }

    #[test]
    fn the_deadline_bounds_every_try() {
        let short = config(3, Duration::from_millis(30));
        let retrying = Retrying::start(&short, "GET");
        assert!(retrying.time_left().unwrap() <= Duration::from_millis(30));
        std::thread::sleep(Duration::from_millis(40));
        let error = retrying.time_left().unwrap_err().to_string();
        assert!(error.contains("deadline"), "{error}");
    }

    #[test]
    fn the_blocking_loop_retries_then_succeeds_and_reports_each_wait() {
        let mut tries = 0;
        let mut waits = 0;
        let result = blocking(
            &config(3, Duration::from_secs(60)),
            "GET",
            |_| {
                tries += 1;
                if tries < 3 {
                    Err(unavailable())
                } else {
                    Ok(tries)
                }
            },
            |_| waits += 1,
        );
        assert_eq!(result, Ok(3));
        assert_eq!(waits, 2);
    }
}
