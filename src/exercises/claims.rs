//! What a check can say about a run, each from what the program *did*: its exit code,
//! its summary, its trace, the files it wrote, the lines it printed. A claim never reads
//! the student's source and never compares a duration with a limit: a trace says which
//! spans were in flight together, which is true on a slow machine and a fast one alike.

use std::collections::BTreeSet;

use super::trial::Trial;
use crate::trace::{Phase, Span};

/// One statement about a run, and whether it held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// True when the run showed what the statement says.
    pub held: bool,
    /// The statement in plain words, with what the run showed.
    pub says: String,
}

/// Every finding of one check: the exercise passes when each one held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// The findings, in the order they were made.
    pub findings: Vec<Finding>,
}

impl Verdict {
    /// Adds a finding.
    pub fn claim(&mut self, held: bool, says: impl Into<String>) {
        self.findings.push(Finding {
            held,
            says: says.into(),
        });
    }

    /// True when every finding held (and there is at least one).
    pub fn passed(&self) -> bool {
        !self.findings.is_empty() && self.findings.iter().all(|f| f.held)
    }

    /// The first finding that did not hold, or how many held: the one line a grading
    /// script shows.
    pub fn headline(&self) -> String {
        match self.findings.iter().find(|f| !f.held) {
            Some(failed) => failed.says.clone(),
            None if self.findings.is_empty() => "nothing was checked".to_string(),
            None => format!("all {} findings held", self.findings.len()),
        }
    }
}

/// The most spans of `phase` in flight at one moment (a span that ends as another
/// starts does not count as overlapping it).
pub fn most_in_flight(spans: &[Span], phase: Phase) -> usize {
    let mut events: Vec<(u64, i64)> = Vec::new();
    for span in spans.iter().filter(|s| s.phase == phase) {
        events.push((span.start_us, 1));
        events.push((span.end_us, -1));
    }
    // At equal times the end (-1) sorts first.
    events.sort();
    let mut now: i64 = 0;
    let mut most: i64 = 0;
    for (_, change) in events {
        now += change;
        most = most.max(now);
    }
    most as usize
}

/// The lanes (workers) that recorded a span of `phase`.
pub fn lanes(spans: &[Span], phase: Phase) -> BTreeSet<String> {
    spans
        .iter()
        .filter(|s| s.phase == phase)
        .map(|s| s.worker.clone())
        .collect()
}

/// The run ended by itself (was not stopped at the time limit) with exit code `code`.
pub fn exit_code(verdict: &mut Verdict, trial: &Trial, code: i32) {
    match trial.code {
        Some(got) if got == code => verdict.claim(true, format!("the program exited with {code}")),
        Some(got) => verdict.claim(
            false,
            format!(
                "the program exited with {got}, expected {code}{}",
                trial.last_error_line()
            ),
        ),
        None => verdict.claim(
            false,
            format!(
                "the program did not end within {} s and was stopped: a thread or a task \
                 it waits for never ends (a join on a thread that loops, a deadlock?)",
                trial.time_limit_s
            ),
        ),
    }
}

/// Every image has its thumbnails, byte for byte those of the shared CPU step, and the
/// output holds nothing else (no temporary or half-written file).
pub fn every_image_done(verdict: &mut Verdict, trial: &Trial) {
    exit_code(verdict, trial, 0);
    thumbnails_identical(verdict, trial, &[]);
}

/// Every image but those in `failing` has its thumbnails, identical to the shared CPU
/// step's, and nothing else is in the output.
pub fn thumbnails_identical(verdict: &mut Verdict, trial: &Trial, failing: &[&str]) {
    let expected = trial.expected_thumbnails(failing);
    let written = trial.written_files();
    let missing: Vec<&String> = expected.keys().filter(|n| !written.contains(*n)).collect();
    let extra: Vec<&String> = written
        .iter()
        .filter(|n| !expected.contains_key(*n))
        .collect();
    let differ: Vec<&String> = expected
        .iter()
        .filter(|(name, bytes)| written.contains(*name) && trial.read_output(name) != **bytes)
        .map(|(name, _)| name)
        .collect();
    verdict.claim(
        missing.is_empty(),
        format!(
            "all {} expected thumbnails were written{}",
            expected.len(),
            listed(" (missing: ", &missing)
        ),
    );
    verdict.claim(
        extra.is_empty(),
        format!(
            "the output holds nothing else, no half-written file{}",
            listed(" (found: ", &extra)
        ),
    );
    verdict.claim(
        differ.is_empty(),
        format!(
            "the thumbnails written are byte-identical to the shared CPU step's{}",
            listed(" (differ: ", &differ)
        ),
    );
}

/// The summary names exactly the images of `stems` as failed, each with an error that
/// contains `cause`.
pub fn failed_exactly(verdict: &mut Verdict, trial: &Trial, stems: &[&str], cause: &str) {
    exit_code(verdict, trial, 1);
    let failures = trial.failures();
    let named: BTreeSet<&str> = failures.iter().map(|(stem, _)| stem.as_str()).collect();
    let wanted: BTreeSet<&str> = stems.iter().copied().collect();
    verdict.claim(
        named == wanted,
        format!(
            "the summary names {} as failed (it names {})",
            join(&wanted),
            if named.is_empty() {
                "none".into()
            } else {
                join(&named)
            }
        ),
    );
    for (stem, error) in failures.iter().filter(|(s, _)| wanted.contains(s.as_str())) {
        verdict.claim(
            error.contains(cause),
            format!("{stem}'s error says \"{cause}\" (it says \"{error}\")"),
        );
    }
    thumbnails_identical(verdict, trial, stems);
}

/// At least `least` and at most `most` spans of `phase` were in flight at one moment.
pub fn in_flight(verdict: &mut Verdict, trial: &Trial, phase: Phase, least: usize, most: usize) {
    let seen = most_in_flight(&trial.spans(), phase);
    let what = phase.name();
    if least > 1 {
        verdict.claim(
            seen >= least,
            format!(
                "at least {least} {what} spans were in flight together (the trace shows {seen})"
            ),
        );
    }
    if most < usize::MAX {
        verdict.claim(
            seen <= most,
            format!("at most {most} {what} spans were in flight together (the trace shows {seen})"),
        );
    }
}

/// The images the trace shows done on a later delivery of their job, with its number: a
/// broker's enqueuer labels such spans `img-003 (delivery 2)`.
pub fn later_deliveries(spans: &[Span]) -> BTreeSet<String> {
    spans
        .iter()
        .filter(|span| delivery_of(&span.image) > 1)
        .map(|span| span.image.clone())
        .collect()
}

/// The delivery a span's image label names (`img-003 (delivery 2)` is 2), else 1.
fn delivery_of(label: &str) -> u64 {
    label
        .rsplit_once(" (delivery ")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .and_then(|number| number.parse().ok())
        .unwrap_or(1)
}

/// The lines the program printed on stderr that start with `prefix`, without it.
pub fn printed(trial: &Trial, prefix: &str) -> Vec<String> {
    trial
        .stderr
        .lines()
        .filter_map(|line| line.trim().strip_prefix(prefix))
        .map(|rest| rest.trim().to_string())
        .collect()
}

fn listed(opening: &str, names: &[&String]) -> String {
    if names.is_empty() {
        return String::new();
    }
    let shown: Vec<&str> = names.iter().take(4).map(|n| n.as_str()).collect();
    let more = if names.len() > 4 { ", ..." } else { "" };
    format!("{opening}{}{more})", shown.join(", "))
}

fn join(names: &BTreeSet<&str>) -> String {
    names.iter().copied().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(phase: Phase, start_us: u64, end_us: u64) -> Span {
        Span {
            worker: "w".into(),
            image: "img".into(),
            phase,
            start_us,
            end_us,
        }
    }

    #[test]
    fn spans_in_flight_are_counted_from_starts_and_ends() {
        let spans = [
            span(Phase::Download, 0, 10),
            span(Phase::Download, 5, 15),
            span(Phase::Download, 10, 20), // starts as the first ends: not three
            span(Phase::Resize, 0, 100),
        ];
        assert_eq!(most_in_flight(&spans, Phase::Download), 2);
        assert_eq!(most_in_flight(&spans, Phase::Resize), 1);
        assert_eq!(most_in_flight(&spans, Phase::Upload), 0);
    }

    #[test]
    fn a_later_delivery_is_read_from_the_span_label() {
        let mut spans = [
            span(Phase::Download, 0, 10),
            span(Phase::Download, 0, 10),
            span(Phase::Upload, 0, 10),
        ];
        spans[0].image = "img-003 (delivery 2)".into();
        spans[1].image = "img-004 (delivery 1)".into();
        let later: Vec<String> = later_deliveries(&spans).into_iter().collect();
        assert_eq!(later, ["img-003 (delivery 2)"]);
        assert_eq!(delivery_of("img-005 (delivery 12)"), 12);
        assert_eq!(delivery_of("img-005"), 1);
    }

    #[test]
    fn a_verdict_passes_only_when_every_finding_held() {
        let mut verdict = Verdict::default();
        assert!(!verdict.passed(), "an empty check proves nothing");
        verdict.claim(true, "one");
        assert!(verdict.passed());
        verdict.claim(false, "two");
        verdict.claim(false, "three");
        assert!(!verdict.passed());
        assert_eq!(verdict.headline(), "two");
        verdict.findings.retain(|f| f.held);
        assert_eq!(verdict.headline(), "all 1 findings held");
    }
}
