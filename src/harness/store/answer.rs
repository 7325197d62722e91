//! One request, answered: the latency first, then the request routed by method and
//! path to the code that serves it. A request that cannot be served is answered
//! with its [`Refusal`].

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::download::get_object;
use super::listing::list_folder;
use super::pacing::Flake;
use super::response::{Body, Refusal};
use super::state::{Logging, Store};
use super::target::Target;
use super::upload::put_object;

// ANCHOR: answer
/// Answers one request. Every response, refusals included, starts after `latency`.
/// A request picked by `flaky_rate` may get no answer at all: the error makes hyper
/// close the connection unanswered.
pub(super) async fn answer(
    store: Arc<Store>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Dropped> {
    // The whole trick of the store: an asynchronous wait. Concurrent requests wait
    // side by side on one thread, so N of them take about one latency, not N.
    tokio::time::sleep(store.latency).await;

    match store.flake() {
        Some(Flake::Dropped) => return Err(Dropped),
        Some(Flake::Unavailable) => {
            let busy = "busy: try again (a passing failure, see --flaky-rate)";
            return Ok(Refusal::new(StatusCode::SERVICE_UNAVAILABLE, busy).into_response());
        }
        None => {}
    }

    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut response = match route(&store, request).await {
        Ok(response) => response,
        Err(refusal) => {
            if store.logging == Logging::Refusals {
                eprintln!("{method} {path} -> {}: {}", refusal.status, refusal.reason);
            }
            refusal.into_response()
        }
    };
    response
        .headers_mut()
        .insert(header::SERVER, HeaderValue::from_static("workbench-store"));
    Ok(response)
}
// ANCHOR_END: answer

/// Why a connection was closed without an answer: a passing failure, by `flaky_rate`.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped before answering (a passing failure, see --flaky-rate)")]
pub(super) struct Dropped;

/// Sends a request to the code for its method and kind of path.
async fn route(store: &Store, request: Request<Incoming>) -> Result<Response<Body>, Refusal> {
    let method = request.method().clone();
    if method != Method::GET && method != Method::HEAD && method != Method::PUT {
        return Err(Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("refused: method {method} is not supported; use GET, HEAD or PUT"),
        ));
    }
    let target = Target::parse(request.uri().path())?;
    let with_body = method != Method::HEAD;
    if method == Method::PUT {
        put_object(store, &target, request.into_body()).await
    } else if target.folder {
        list_folder(store, &target, with_body).await
    } else {
        get_object(store, &target, with_body).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::thread;
    use std::time::Duration;

    use super::super::config::StoreConfig;
    use super::super::test_support::{Scratch, get, quick, raw, start};

    #[test]
    fn every_request_waits_the_latency_and_concurrent_requests_wait_together() {
        let scratch = Scratch::new("latency");
        scratch.write("a.jpg", b"jpeg");
        let latency = Duration::from_millis(200);
        let store = start(StoreConfig {
            latency,
            ..StoreConfig::new(&scratch.0)
        });

        let started = std::time::Instant::now();
        assert_eq!(get(&store, "a.jpg").0, 200);
        assert!(started.elapsed() >= latency);

        // Eight requests at once: each waits the latency, but they wait together.
        let barrier = Barrier::new(8);
        let started = std::time::Instant::now();
        thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    barrier.wait();
                    assert_eq!(get(&store, "a.jpg").0, 200);
                });
            }
        });
        let elapsed = started.elapsed();
        assert!(elapsed >= latency);
        // One after another they would take 8 x 200 ms; half that is a wide margin.
        assert!(
            elapsed < latency * 4,
            "8 concurrent requests took {elapsed:?}"
        );
    }

    #[test]
    fn other_methods_are_405() {
        let scratch = Scratch::new("method");
        let store = start(quick(&scratch.0));
        let response = raw(&store, "DELETE", "/a.jpg");
        assert_eq!(response.status, 405);
        assert_eq!(response.header("allow"), Some("GET, HEAD, PUT"));
    }
}
