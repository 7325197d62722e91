//! Lesson tests: each chapter's claim, proved from its trace on the `io` workload, where
//! waiting dominates and the margins are wide. They never assert a speed.

mod common;

use std::time::Duration;

use common::traced_run;
use workbench::trace::Phase;

#[test]
fn ch00_does_one_thing_at_a_time() {
    let trace = traced_run("ch00-sequential", Duration::from_millis(30), &[]);
    let mut spans = trace.spans.clone();
    spans.sort_by_key(|s| s.start_us);
    assert_eq!(
        spans.len(),
        5 * 3,
        "a download, a resize and an upload per image"
    );
    for pair in spans.windows(2) {
        assert!(
            pair[0].end_us <= pair[1].start_us,
            "two spans overlap: {pair:?}"
        );
    }
    assert!(spans.iter().all(|s| s.worker == "main"));
    // Every download waited for the latency, one after the other.
    let downloads = spans.iter().filter(|s| s.phase == Phase::Download);
    assert!(downloads.clone().all(|s| s.seconds() >= 0.030));
    let figures = trace.figures();
    assert!(figures.overlap <= 1.0, "overlap {}", figures.overlap);
    assert!(figures.wall_s >= 5.0 * 0.030);
}
