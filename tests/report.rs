//! The tour and the report: on a tiny corpus the tour prints a table of every chapter and
//! writes a report whose charts exist and are valid SVG, with the pipeline's bounded and
//! unbounded runs side by side; `report.html` holds every chart and table inline;
//! `results.json` and the CSVs hold every figure, with the machine, the build and the
//! processor time of each chapter; the report says clearly what it lacks when
//! criterion's results are missing or partial; `workbench compare` lines two results up.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use workbench::chapters;
use workbench::contract::Summary;
use workbench::harness::workload::Workload;
use workbench::platform::CpuTime;
use workbench::report::growth::{self, Growth};
use workbench::report::store_cost::{self, Cost};
use workbench::report::{Bench, Machine, Report, Results, Run, Sample, Written, bench_id};
use workbench::trace::{Phase, Span, Trace};

/// Runs the `workbench` binary with `args` (never rebuilding: cargo already built every
/// binary for the tests) and returns its exit status and stdout. The Python programs are
/// left out (whether or not their environment was made here): their runs take minutes,
/// and `tests/python.rs` and the Python suite test them.
fn workbench(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_workbench"))
        .args(args)
        .env_remove("CARGO")
        .env("WORKBENCH_PYTHON_VENV", "no-python-environment")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A report of criterion's results in `criterion` alone (no traced runs), on `mixed`.
fn bench_report(criterion: &Path, machine: Machine) -> Report {
    Report {
        workload: Workload::Mixed,
        latency: Duration::from_millis(50),
        runs: Vec::new(),
        backpressure: Vec::new(),
        bench: Bench::read(criterion),
        machine,
    }
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

/// Every text of the SVG file `chart` is at least 11 px high.
fn assert_text_is_readable(chart: &Path) {
    let text = std::fs::read_to_string(chart).unwrap();
    let document = roxmltree::Document::parse(&text).unwrap();
    for node in document.descendants().filter(|n| n.has_tag_name("text")) {
        let size: f64 = node
            .ancestors()
            .find_map(|a| a.attribute("font-size"))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{}: a text without a size", chart.display()));
        assert!(
            size >= 11.0,
            "{}: {:?} at {size} px",
            chart.display(),
            node.text()
        );
    }
}

/// Checks `report.html` against what was written: every chart inline (as many `<svg`
/// documents, each under its file's name) and every table (one per CSV).
fn assert_page_holds_everything(written: &Written) {
    let html = std::fs::read_to_string(&written.html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        !html.contains("src=\"") && !html.contains("href=\""),
        "the page loads nothing"
    );
    assert_eq!(html.matches("<svg").count(), written.charts.len());
    for chart in &written.charts {
        let name = chart.file_stem().unwrap().to_str().unwrap();
        assert!(html.contains(&format!("id=\"chart-{name}\"")), "{name}");
        assert_text_is_readable(chart);
    }
    for csv in &written.csvs {
        let name = csv.file_stem().unwrap().to_str().unwrap();
        assert!(html.contains(&format!("id=\"table-{name}\"")), "{name}");
        let rows = std::fs::read_to_string(csv).unwrap().lines().count();
        assert_eq!(
            html.split(&format!("id=\"table-{name}\""))
                .nth(1)
                .unwrap()
                .split("</table>")
                .next()
                .unwrap()
                .matches("<tr>")
                .count(),
            rows,
            "{name}: the CSV and the page's table have the same rows"
        );
    }
}

#[test]
fn the_tour_lists_every_chapter_and_writes_a_report_with_timelines() {
    let out = tempfile::tempdir().unwrap();
    let no_criterion = out.path().join("no-criterion");
    let (ok, stdout, stderr) = workbench(&[
        "tour",
        "--count",
        "3",
        "--runs",
        "2",
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
    // Without the Python environment, the report says how to make it.
    assert!(report.contains("cargo run -- python setup"), "{report}");
    // The pipeline with and without its bounded channel, side by side.
    assert!(report.contains("## Backpressure"), "{report}");
    for row in ["| bounded (capacity 4) |", "| unbounded |"] {
        assert!(report.contains(row), "report.md lacks {row}");
    }
    // The tour talks: what overlap is, that the corpus is being made, what to do next.
    assert!(stdout.contains("Overlap, in the last column"), "{stdout}");
    assert!(stdout.contains("Preparing the corpus"), "{stdout}");
    assert!(
        stdout.contains("report.html") && stdout.contains("-- timeline "),
        "{stdout}"
    );

    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), chapters::ALL.len());
    assert!(html.contains("id=\"table-tour\"") && html.contains("What this shows"));
    let results = Results::read(out.path()).unwrap();
    assert!(results.machine.cores >= 1 && !results.machine.kernel.is_empty());
    assert!(results.build.rustc.starts_with("rustc "));
    assert!(!results.build.commit.is_empty() && results.build.crates.contains_key("tokio"));
    assert!(results.load.before.is_some() && results.load.after.is_some());
    for chapter in chapters::ALL {
        let row = results
            .rows
            .iter()
            .find(|r| r.chapter == chapter.name && r.measure == "tour")
            .unwrap_or_else(|| panic!("results.json lacks {}", chapter.name));
        assert_eq!(row.stats.runs, 2);
        assert!(row.stats.min_s <= row.stats.median_s && row.stats.median_s <= row.stats.max_s);
        // Every chapter decodes and resizes: its process tree used the processor.
        assert!(row.user_s.unwrap() + row.system_s.unwrap() > 0.0, "{row:?}");
    }
    let tour_csv = std::fs::read_to_string(out.path().join("tour.csv")).unwrap();
    assert_eq!(tour_csv.lines().count(), chapters::ALL.len() + 1);
    assert!(tour_csv.starts_with("chapter,runs,median s,"));
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
    let report = bench_report(criterion.path(), Machine::this());
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
    assert_page_holds_everything(&written);
}

/// Writes criterion's files for `name` with a median of `seconds`.
fn criterion_result(folder: &Path, name: &str, seconds: f64) {
    let new = folder.join(name).join("new");
    std::fs::create_dir_all(&new).unwrap();
    std::fs::write(
        new.join("benchmark.json"),
        format!(r#"{{"full_id":"{name}"}}"#),
    )
    .unwrap();
    let ns = seconds * 1e9;
    std::fs::write(
        new.join("estimates.json"),
        format!(
            r#"{{"median":{{"point_estimate":{ns},"confidence_interval":{{"lower_bound":{},"upper_bound":{}}}}},
            "mean":{{"point_estimate":{ns}}},"std_dev":{{"point_estimate":{}}}}}"#,
            ns * 0.95,
            ns * 1.05,
            ns * 0.02
        ),
    )
    .unwrap();
    std::fs::write(
        new.join("sample.json"),
        format!(
            r#"{{"iters":[1,1,1],"times":[{},{ns},{}]}}"#,
            ns * 0.9,
            ns * 1.2
        ),
    )
    .unwrap();
}

#[test]
fn the_gil_chart_has_ch00_as_its_baseline_and_bench_words_come_from_the_numbers() {
    let criterion = tempfile::tempdir().unwrap();
    let ch00 = chapters::ALL[0].name;
    criterion_result(criterion.path(), &bench_id(Workload::Cpu, ch00), 4.0);
    criterion_result(criterion.path(), "gil/threads", 2.0);
    criterion_result(criterion.path(), "gil/gil", 4.4);
    if let Some(last) = chapters::ALL.last() {
        criterion_result(criterion.path(), &bench_id(Workload::Cpu, last.name), 1.6);
    }
    let out = tempfile::tempdir().unwrap();
    let report = bench_report(criterion.path(), Machine::this());
    let written = report.write(out.path()).unwrap();
    let text = std::fs::read_to_string(&written.report).unwrap();
    if chapters::find(workbench::report::GIL_CHAPTER).is_some() {
        let gil = std::fs::read_to_string(out.path().join("gil.svg")).unwrap();
        for bar in [
            format!("{ch00} (baseline)"),
            "threads with a simulated GIL".into(),
        ] {
            assert!(gil.contains(&bar), "gil.svg lacks {bar}");
        }
        assert!(
            text.contains("2.0x faster than one image at a time"),
            "{text}"
        );
        assert!(text.contains("1.10x the baseline"), "{text}");
    }
    let last = chapters::ALL.last().unwrap().name;
    assert!(
        text.contains(&format!(
            "{last} wins on `cpu` with 1.600 s, 2.5x faster than ch00"
        )),
        "{text}"
    );
    assert!(text.contains("a real lead"), "{text}");
    // No chart title or heading carries Markdown punctuation into an SVG.
    for chart in &written.charts {
        let svg = std::fs::read_to_string(chart).unwrap();
        assert!(!svg.contains('`'), "{}", chart.display());
    }
    // The min and max of one run come from criterion's samples.
    let results = Results::read(&written.results).unwrap();
    let row = results
        .rows
        .iter()
        .find(|r| r.measure == "bench" && r.chapter == ch00)
        .unwrap();
    assert!((row.stats.min_s - 3.6).abs() < 1e-9 && (row.stats.max_s - 4.8).abs() < 1e-9);
    assert_page_holds_everything(&written);
}

/// The cells of `column` in a CSV the report wrote, by the first column.
fn csv_column(path: &Path, column: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == column).unwrap();
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (cells[0].to_string(), cells[at].to_string())
        })
        .collect()
}

#[test]
fn the_floor_comes_from_the_kernel_bench_and_is_drawn_tabled_and_stored() {
    let criterion = tempfile::tempdir().unwrap();
    let ch00 = chapters::ALL[0].name;
    // 10 ms per JPEG and 34 ms per PNG on one core: the 44 JPEGs and 4 PNGs of the
    // photo corpus on 2 cores are (0.44 + 0.136) / 2 = 0.288 s of CPU steps.
    criterion_result(
        criterion.path(),
        "kernel/jpeg_1920x1280_to_32_64_200",
        0.010,
    );
    criterion_result(criterion.path(), "kernel/png_1920x1280_to_32_64_200", 0.034);
    criterion_result(criterion.path(), &bench_id(Workload::Cpu, ch00), 4.0);
    criterion_result(criterion.path(), &bench_id(Workload::Mixed, ch00), 5.0);
    let mut machine = Machine::this();
    machine.cores = 2;
    let out = tempfile::tempdir().unwrap();
    let report = bench_report(criterion.path(), machine);
    let written = report.write(out.path()).unwrap();
    let text = std::fs::read_to_string(&written.report).unwrap();
    assert!(text.contains("the kernel bench"), "{text}");
    assert!(text.contains("The floor (red line)"), "{text}");

    // The floor table: one row per workload; mixed pays three round trips of 50 ms
    // more than cpu (the listing, a download, an upload), and the CPU steps set both.
    let floors: Vec<(String, f64)> = csv_column(&out.path().join("floor.csv"), "floor s")
        .into_iter()
        .map(|(w, f)| (w, f.parse().unwrap()))
        .collect();
    let names: Vec<&str> = floors.iter().map(|(w, _)| w.as_str()).collect();
    assert_eq!(names, ["cpu", "io", "mixed"]);
    let (cpu, mixed) = (floors[0].1, floors[2].1);
    assert!((0.288..1.0).contains(&cpu), "{floors:?}");
    assert!((mixed - cpu - 0.150).abs() < 0.002, "{floors:?}");
    let set_by = csv_column(&out.path().join("floor.csv"), "set by");
    assert_eq!(set_by[0].1, "the cores");
    assert_eq!(set_by[2].1, "the cores");

    // The workload's table gives the distance, and results.json the floor.
    let distance = csv_column(&out.path().join("bench-cpu.csv"), "wall / floor");
    assert_eq!(distance[0].0, ch00);
    let shown: f64 = distance[0].1.parse().unwrap();
    // The floor in the CSV is rounded to the millisecond, the distance is not.
    let expected = 4.0 / cpu;
    assert!(
        (shown - expected).abs() < expected * 0.01,
        "{shown} vs 4.0 / {cpu}"
    );
    let results = Results::read(&written.results).unwrap();
    let row = results
        .rows
        .iter()
        .find(|r| r.measure == "bench" && r.workload == "mixed" && r.chapter == ch00)
        .unwrap();
    assert!((row.floor_s.unwrap() - mixed).abs() < 0.001, "{row:?}");
    assert!(results.tables.contains_key("floor"));

    // The chart draws it as a named line.
    let chart = std::fs::read_to_string(out.path().join("bench-cpu.svg")).unwrap();
    assert!(chart.contains("floor "), "{chart}");
    assert_page_holds_everything(&written);
}

#[test]
fn the_store_s_processor_time_stands_beside_the_chapter_s() {
    let criterion = tempfile::tempdir().unwrap();
    let ch00 = chapters::ALL[0].name;
    let name = bench_id(Workload::Mixed, ch00);
    criterion_result(criterion.path(), &name, 2.0);
    let cost = Cost {
        user_s: 1.25,
        system_s: 0.5,
        store_cpu_s: Some(0.4),
        runs: 12,
    };
    store_cost::write(&criterion.path().join(&name), &name, cost).unwrap();
    let out = tempfile::tempdir().unwrap();
    let report = bench_report(criterion.path(), Machine::this());
    let written = report.write(out.path()).unwrap();
    let table = out.path().join("bench-mixed.csv");
    for (column, shown) in [
        ("user s", "1.25"),
        ("system s", "0.50"),
        ("store CPU s", "0.40"),
    ] {
        assert_eq!(
            csv_column(&table, column),
            [(ch00.to_string(), shown.to_string())]
        );
    }
    let results = Results::read(&written.results).unwrap();
    let row = results
        .rows
        .iter()
        .find(|r| r.measure == "bench" && r.chapter == ch00)
        .unwrap();
    assert_eq!((row.user_s, row.store_cpu_s), (Some(1.25), Some(0.4)));
}

/// A report of two chapters on `io`, each timed three times at `seconds` +- 1%.
fn two_chapter_results(folder: &Path, seconds: [f64; 2]) {
    let runs = chapters::ALL[..2]
        .iter()
        .zip(seconds)
        .map(|(chapter, wall_s)| {
            let summary = Summary {
                chapter: chapter.name.into(),
                images: 3,
                thumbnails: 9,
                failed: Vec::new(),
                wall_s,
                download_s: wall_s,
                resize_s: 0.0,
                upload_s: 0.0,
                overlap: 1.0,
                peak_rss_mb: 10.0,
                skipped: Vec::new(),
                cancelled: 0,
                stopped_by: None,
                notes: Vec::new(),
                retries: 0,
            };
            let trace = Trace {
                chapter: chapter.name.into(),
                start_us: 0,
                end_us: (wall_s * 1e6) as u64,
                spans: vec![Span {
                    worker: "main".into(),
                    image: "a".into(),
                    phase: Phase::Download,
                    start_us: 0,
                    end_us: (wall_s * 1e6) as u64,
                }],
            };
            let cpu = CpuTime {
                user_s: 0.5,
                system_s: 0.1,
            };
            let samples = [0.99, 1.0, 1.01]
                .map(|f| Sample {
                    wall_s: wall_s * f,
                    cpu,
                })
                .to_vec();
            Run {
                summary,
                trace,
                samples,
            }
        })
        .collect();
    let report = Report {
        workload: Workload::Io,
        latency: Duration::from_millis(50),
        runs,
        backpressure: Vec::new(),
        bench: Bench::read(&folder.join("no-criterion")),
        machine: Machine::this(),
    };
    report.write(folder).unwrap();
}

#[test]
fn compare_gives_a_ratio_for_every_chapter_and_workload() {
    let (old, new) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    two_chapter_results(old.path(), [2.0, 1.0]);
    two_chapter_results(new.path(), [2.0, 0.5]);
    let (old_path, new_path) = (old.path().to_str().unwrap(), new.path().to_str().unwrap());
    let (ok, stdout, stderr) = workbench(&["compare", old_path, new_path]);
    assert!(ok, "{stderr}");
    let (first, second) = (chapters::ALL[0].name, chapters::ALL[1].name);
    assert!(
        stdout.contains(&format!(
            "| rust | {first} | io | tour |  | 2.000 | 2.000 | 1.00x | no |"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "| rust | {second} | io | tour |  | 1.000 | 0.500 | 0.50x | yes |"
        )),
        "{stdout}"
    );
    let (ok, json, _) = workbench(&["compare", "--json", old_path, new_path]);
    assert!(ok);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), 2);
    assert_eq!(json["rows"][1]["significant"], true);
    let (ok, _, stderr) = workbench(&["compare", old_path, "no-such-results.json"]);
    assert!(!ok && stderr.contains("no-such-results.json"), "{stderr}");
}

#[test]
fn a_missing_criterion_folder_is_explained_not_fatal() {
    let out = tempfile::tempdir().unwrap();
    let report = bench_report(&out.path().join("does-not-exist"), Machine::this());
    let written = report.write(out.path()).unwrap();
    let text = std::fs::read_to_string(&written.report).unwrap();
    assert!(text.contains("No criterion results"), "{text}");
    assert!(text.contains("does not exist"));
    // One note about criterion (a busy machine may add its own).
    assert_eq!(
        written
            .notes
            .iter()
            .filter(|n| n.contains("criterion"))
            .count(),
        1
    );
}

/// A pipeline run whose trace has `waiting` images downloaded before the first resize.
fn pipeline_run(waiting: u64) -> Run {
    let span = |phase, start_us, end_us| Span {
        worker: "w".into(),
        image: "a".into(),
        phase,
        start_us,
        end_us,
    };
    let mut spans: Vec<Span> = (0..waiting)
        .map(|i| span(Phase::Download, i, i + 1))
        .collect();
    spans.extend((0..waiting).map(|i| span(Phase::Resize, 100 + i, 101 + i)));
    let summary = Summary {
        chapter: "ch09-pipeline".into(),
        images: waiting as usize,
        thumbnails: 3 * waiting as usize,
        failed: Vec::new(),
        wall_s: 1.0,
        download_s: 0.0,
        resize_s: 0.0,
        upload_s: 0.0,
        overlap: 1.0,
        peak_rss_mb: 50.0,
        skipped: Vec::new(),
        cancelled: 0,
        stopped_by: None,
        notes: Vec::new(),
        retries: 0,
    };
    Run {
        summary,
        trace: Trace {
            chapter: "ch09-pipeline".into(),
            start_us: 0,
            end_us: 200,
            spans,
        },
        samples: Vec::new(),
    }
}

#[test]
fn a_busy_machine_and_an_inverted_backpressure_table_are_flagged() {
    let out = tempfile::tempdir().unwrap();
    let mut machine = Machine::this();
    machine.load_before = Some([67.0, 60.0, 50.0]);
    let report = Report {
        workload: Workload::Mixed,
        latency: Duration::from_millis(50),
        runs: Vec::new(),
        backpressure: vec![
            ("bounded (capacity 4)".into(), pipeline_run(6)),
            ("unbounded".into(), pipeline_run(3)),
        ],
        bench: Bench::read(&out.path().join("no-criterion")),
        machine,
    };
    let written = report.write(out.path()).unwrap();
    let text = std::fs::read_to_string(&written.report).unwrap();
    assert!(
        text.contains("> **Warning:** the machine was busy: load average 67.0"),
        "{text}"
    );
    assert!(
        text.contains("the unbounded run held at most 3 images waiting, no more than the bounded (capacity 4) run's 6"),
        "{text}"
    );
    assert!(written.notes.iter().any(|n| n.contains("busy")));
    let html = std::fs::read_to_string(&written.html).unwrap();
    assert_eq!(html.matches("class=\"warning\"").count(), 2);
    assert_page_holds_everything(&written);
}

#[test]
fn growth_runs_each_chapter_on_each_batch_and_the_report_draws_it() {
    let folder = tempfile::tempdir().unwrap();
    let out = folder.path().to_str().unwrap();
    let (ok, stdout, stderr) = workbench(&[
        "growth",
        "--out",
        out,
        "--counts",
        "4,8",
        "--chapters",
        "ch00-sequential,ch04-thread-pool",
        "--latency",
        "1ms",
    ]);
    assert!(ok, "{stdout}{stderr}");
    let growth = Growth::read(folder.path()).expect("growth.json");
    let runs: Vec<(&str, usize)> = growth
        .rows
        .iter()
        .map(|r| (r.chapter.as_str(), r.images))
        .collect();
    assert_eq!(
        runs,
        [
            ("ch00-sequential", 4),
            ("ch04-thread-pool", 4),
            ("ch00-sequential", 8),
            ("ch04-thread-pool", 8)
        ]
    );
    assert!(growth.rows.iter().all(|r| r.failed == 0 && r.wall_s > 0.0));
    assert!(
        growth
            .rows
            .iter()
            .all(|r| r.cpu_s > 0.0 && r.peak_rss_mb > 0.0)
    );
    // The tour's traces are left alone: these runs keep theirs apart.
    assert!(folder.path().join("growth-traces").is_dir());
    assert!(!folder.path().join("traces").exists());
    // Drawn at once beside them, and in the next report: three charts, a line each.
    assert!(folder.path().join("growth.md").is_file());
    assert_valid_svg(&folder.path().join("growth-memory.svg"));
    let section = growth::section(Some(&growth)).unwrap();
    assert_eq!(section.charts.len(), 3);
    for chart in &section.charts {
        assert!(chart.svg.contains("ch04-thread-pool"), "{}", chart.file);
    }
    assert_eq!(section.tables[0].rows.len(), 4);
}
