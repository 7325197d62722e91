//! The summary's peak memory is the chapter's own: a chapter started by a large process
//! (cargo, the tour, a bench) must not report its parent's memory as its own.

mod common;

use common::{TestCorpus, run_chapter};

#[test]
fn a_chapter_reports_its_own_peak_not_its_parents() {
    let corpus = TestCorpus::new();
    // This process holds 300 MiB, written so that it is resident, while it starts ch00.
    let ballast = vec![1u8; 300 << 20];
    std::hint::black_box(&ballast);
    let run = run_chapter("ch00-sequential", corpus.dir.path().to_str().unwrap(), &[]);
    drop(ballast);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let peak = run.summary["peak_rss_mb"].as_f64().unwrap();
    // Five 480x320 images need a few tens of MiB; 300 would be this test's memory.
    assert!(
        peak > 0.0 && peak < 200.0,
        "ch00 reported a peak of {peak:.0} MiB"
    );
}
