//! The tour and the report: on a tiny corpus the tour prints a table of every chapter and
//! writes a report whose charts exist and are valid SVG, with the pipeline's bounded and
//! unbounded runs side by side; the report says clearly what it lacks when criterion's
//! results are missing or partial.

use std::path::Path;
use std::process::Command;

use workbench::chapters;
use workbench::harness::workload::Workload;
use workbench::report::{Bench, Machine, Report, bench_id};

/// Runs the `workbench` binary with `args` (never rebuilding: cargo already built every
/// binary for the tests) and returns its exit status and stdout.
fn workbench(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_workbench"))
        .args(args)
        .env_remove("CARGO")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Parses an SVG file as XML and checks its root element.
fn assert_valid_svg(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let document = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("{} is not valid XML: {e}", path.display()));
    assert_eq!(
        document.root_element().tag_name().name(),
        "svg",
        "{}",
        path.display()
    );
}

/// Every image linked from report.md exists and is valid SVG; returns how many.
fn assert_charts_exist(folder: &Path) -> usize {
    let report = std::fs::read_to_string(folder.join("report.md")).unwrap();
    let mut charts = 0;
    for link in report.split("](").skip(1) {
        let target = link.split(')').next().unwrap();
        if target.ends_with(".svg") {
            assert_valid_svg(&folder.join(target));
            charts += 1;
        }
    }
    charts
}

#[test]
fn the_tour_lists_every_chapter_and_writes_a_report_with_timelines() {
    let out = tempfile::tempdir().unwrap();
    let no_criterion = out.path().join("no-criterion");
    let (ok, stdout, stderr) = workbench(&[
        "tour",
        "--count",
        "3",
        "--latency",
        "2ms",
        "--out",
        out.path().to_str().unwrap(),
        "--criterion",
        no_criterion.to_str().unwrap(),
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    let report = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    for chapter in chapters::ALL {
        assert!(
            stdout.contains(chapter.name),
            "the table lacks {}",
            chapter.name
        );
        assert!(
            report.contains(&format!("| {} |", chapter.name)),
            "report.md lacks {}",
            chapter.name
        );
        assert_valid_svg(&out.path().join(format!("timeline-{}.svg", chapter.name)));
    }
    assert_eq!(assert_charts_exist(out.path()), chapters::ALL.len());
    assert!(stdout.contains("no criterion results"), "{stdout}");
    assert!(report.contains("cargo bench --bench chapters"));
    // The pipeline with and without its bounded channel, side by side.
    assert!(report.contains("## Backpressure"), "{report}");
    for row in ["| bounded (capacity 4) |", "| unbounded |"] {
        assert!(report.contains(row), "report.md lacks {row}");
    }
}

#[test]
fn a_partial_criterion_folder_gives_the_charts_it_can_and_names_the_rest() {
    let criterion = tempfile::tempdir().unwrap();
    let measured = bench_id(Workload::Cpu, chapters::ALL[0].name);
    let new = criterion.path().join(&measured).join("new");
    std::fs::create_dir_all(&new).unwrap();
    std::fs::write(
        new.join("benchmark.json"),
        format!(r#"{{"full_id":"{measured}"}}"#),
    )
    .unwrap();
    std::fs::write(
        new.join("estimates.json"),
        r#"{"median":{"point_estimate":1.5e9,"confidence_interval":{"lower_bound":1.4e9,"upper_bound":1.7e9}}}"#,
    )
    .unwrap();

    let out = tempfile::tempdir().unwrap();
    let report = Report {
        workload: Workload::Mixed,
        runs: Vec::new(),
        backpressure: Vec::new(),
        bench: Bench::read(criterion.path()),
        machine: Machine::this(),
    };
    let written = report.write(out.path()).unwrap();
    let text = std::fs::read_to_string(&written.report).unwrap();
    assert!(out.path().join("bench-cpu.svg").exists());
    assert!(out.path().join("speedup.svg").exists());
    for chart in &written.charts {
        assert_valid_svg(chart);
    }
    assert_eq!(assert_charts_exist(out.path()), written.charts.len());
    assert!(text.contains("Partial results"), "{text}");
    let missing = bench_id(Workload::Mixed, chapters::ALL[0].name);
    assert!(text.contains(&missing), "{text}");
    assert!(written.notes.iter().any(|n| n.contains(&missing)));
}

#[test]
fn a_missing_criterion_folder_is_explained_not_fatal() {
    let out = tempfile::tempdir().unwrap();
    let report = Report {
        workload: Workload::Mixed,
        runs: Vec::new(),
        backpressure: Vec::new(),
        bench: Bench::read(&out.path().join("does-not-exist")),
        machine: Machine::this(),
    };
    let written = report.write(out.path()).unwrap();
    let text = std::fs::read_to_string(&written.report).unwrap();
    assert!(text.contains("No criterion results"), "{text}");
    assert!(text.contains("does not exist"));
    assert_eq!(written.notes.len(), 1);
}
