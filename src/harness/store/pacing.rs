//! How the store sends an object and imitates a remote store beyond its latency:
//! bodies streamed from the file a slice at a time, paced to a bandwidth or not, the
//! seeded, repeatable choice of which objects fail, and the passing failures of a busy
//! server.

use std::time::Duration;

use bytes::{BufMut as _, Bytes, BytesMut};
use http_body_util::{BodyExt as _, StreamBody};
use hyper::body::Frame;
use tokio::fs::File;
use tokio::io::AsyncReadExt as _;
use tokio::time::Instant;

use super::response::Body;

/// How much of a file a body holds in memory at a time, when it is not paced.
const SLICE_BYTES: usize = 64 * 1024;

/// The bytes of `file` as a body, [`SLICE_BYTES`] at a time. hyper asks for the next
/// slice only once the last one is on its way, so a client that stops reading stops the
/// reading of the file too.
pub(super) fn streamed(file: File) -> Body {
    let frames = futures_util::stream::unfold(file, |mut file| async move {
        let slice = next_slice(&mut file, SLICE_BYTES).await?;
        Some((Ok(Frame::data(slice)), file))
    });
    StreamBody::new(frames).boxed_unsync()
}

/// Up to `size` next bytes of `file`; `None` at its end.
///
/// A read error also ends the body: the response announced its length, so hyper sees
/// the body end short and closes the connection, and the client reports a broken
/// transfer rather than taking a short object for a whole one.
async fn next_slice(file: &mut File, size: usize) -> Option<Bytes> {
    let mut slice = BytesMut::with_capacity(size);
    match file.read_buf(&mut (&mut slice).limit(size)).await {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(slice.freeze()),
    }
}

// ANCHOR: paced
/// Sends the bytes of `file` in slices of about 50 ms each, none before the bandwidth
/// allows, read from the file one slice at a time.
///
/// Each slice waits until `start + bytes sent / bandwidth`, a deadline measured from
/// the start rather than a sleep per slice, so that rounding never adds up.
pub(super) fn paced(file: File, bytes_per_second: u64) -> Body {
    let slice = usize::try_from(bytes_per_second / 20)
        .unwrap_or(usize::MAX)
        .clamp(1, 64 * 1024);
    let start = Instant::now();
    let frames = futures_util::stream::unfold((file, 0_u64), move |(mut file, sent)| async move {
        let frame = next_slice(&mut file, slice).await?;
        let sent = sent + frame.len() as u64;
        let due = Duration::from_secs_f64(sent as f64 / bytes_per_second as f64);
        tokio::time::sleep_until(start + due).await;
        Some((Ok(Frame::data(frame)), (file, sent)))
    });
    StreamBody::new(frames).boxed_unsync()
}
// ANCHOR_END: paced

/// Whether `fail_rate` picks the object `key` to fail, for this `seed`.
///
/// The choice must be the same in every run and every build, so it uses hashes
/// written out here: std's `DefaultHasher` may change between Rust releases. FNV-1a
/// folds the key into 64 bits, SplitMix64's finaliser mixes in the seed, and the
/// top 53 bits become a fraction in [0, 1): below `fail_rate`, the object fails.
pub(super) fn injected_failure(seed: u64, key: &str, fail_rate: f64) -> bool {
    fraction_of(seed, key) < fail_rate
}

/// How a request fails in passing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flake {
    /// Answered `503 Service Unavailable`.
    Unavailable,
    /// The connection closed before any answer.
    Dropped,
}

/// Whether request number `request` fails in passing at `flaky_rate`, and how: half
/// of the failures are a 503, half a dropped connection.
pub(super) fn flake(seed: u64, request: u64, flaky_rate: f64) -> Option<Flake> {
    let key = format!("request {request}");
    if fraction_of(seed, &key) >= flaky_rate {
        None
    } else if fraction_of(seed ^ 1, &key) < 0.5 {
        Some(Flake::Unavailable)
    } else {
        Some(Flake::Dropped)
    }
}

/// A fraction in [0, 1) that depends only on `seed` and `key`, spread evenly.
fn fraction_of(seed: u64, key: &str) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let mut mixed = hash ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    mixed ^= mixed >> 31;
    (mixed >> 11) as f64 / (1_u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::config::StoreConfig;
    use super::super::test_support::{RunningStore, Scratch, get, quick, raw, start};
    use super::{Flake, flake, injected_failure};

    #[test]
    fn bandwidth_paces_the_body() {
        let scratch = Scratch::new("bandwidth");
        scratch.write("a.bin", &[1; 5000]);
        let store = start(StoreConfig {
            bandwidth: Some(10_000),
            ..quick(&scratch.0)
        });
        let started = std::time::Instant::now();
        let (status, _, body) = get(&store, "a.bin");
        // 5000 bytes at 10 000 bytes per second: the last slice is due at 500 ms.
        assert!(started.elapsed() >= Duration::from_millis(450));
        assert_eq!((status, body), (200, vec![1; 5000]));
    }

    #[test]
    fn fail_rate_fails_a_repeatable_share_of_objects() {
        let scratch = Scratch::new("fail-rate");
        let names: Vec<String> = (0..40).map(|i| format!("img{i:02}.jpg")).collect();
        for name in &names {
            scratch.write(name, b"jpeg");
        }
        let with = |fail_rate, seed| {
            start(StoreConfig {
                fail_rate,
                seed,
                ..quick(&scratch.0)
            })
        };
        let failing = |store: &RunningStore| -> Vec<&String> {
            names
                .iter()
                .filter(|name| get(store, name).0 == 503)
                .collect()
        };

        let all = with(1.0, 0);
        assert_eq!(failing(&all).len(), names.len());
        assert_eq!(raw(&all, "HEAD", "/img00.jpg").status, 503);
        assert_eq!(get(&all, "").0, 200, "listings never fail");
        assert_eq!(failing(&with(0.0, 0)).len(), 0);

        let first = failing(&with(0.5, 7));
        let again = failing(&with(0.5, 7));
        assert_eq!(first, again);
        assert!(!first.is_empty() && first.len() < names.len(), "{first:?}");
    }

    #[test]
    fn flakes_fail_a_share_of_requests_half_as_503_half_as_dropped() {
        let flakes: Vec<Flake> = (0..10_000).filter_map(|n| flake(3, n, 0.25)).collect();
        assert!(
            (2_250..2_750).contains(&flakes.len()),
            "{} of 10 000",
            flakes.len()
        );
        let dropped = flakes.iter().filter(|f| **f == Flake::Dropped).count();
        assert!((dropped as f64 / flakes.len() as f64 - 0.5).abs() < 0.05);
        assert_eq!((0..1_000).filter_map(|n| flake(3, n, 0.0)).count(), 0);
    }

    #[test]
    fn injected_failures_are_spread_evenly() {
        let failed = (0..10_000)
            .filter(|i| injected_failure(42, &format!("photos/{i}.jpg"), 0.25))
            .count();
        assert!((2_250..2_750).contains(&failed), "{failed} of 10 000");
    }
}
