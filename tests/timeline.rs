//! `workbench timeline` on a trace written by every chapter: the SVG's spans fill most
//! of its plot, one bar per span, no text too small to read; the Trace Event Format
//! export has one complete event per span and names every thread, whether converted
//! afterwards or written by the chapter itself with `--trace-format chrome`.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{TestCorpus, run_chapter, traced_run};
use workbench::chapters;
use workbench::trace::Trace;

/// Runs `workbench` with `args`; returns whether it succeeded, its stdout and stderr.
fn workbench(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_workbench"))
        .args(args)
        .env_remove("CARGO")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn number(node: roxmltree::Node, attribute: &str) -> f64 {
    node.attribute(attribute)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("<{}> lacks {attribute}", node.tag_name().name()))
}

/// What a drawn timeline holds: each panel's plot (left edge, width) and the left and
/// right ends of its span bars.
struct Drawn {
    panels: Vec<(f64, f64, f64)>,
    bars: Vec<Vec<(f64, f64)>>,
}

/// Reads an SVG timeline, checking on the way that no text is below 11 px.
fn read_svg(text: &str) -> Drawn {
    let document = roxmltree::Document::parse(text).unwrap();
    for node in document.descendants().filter(|n| n.has_tag_name("text")) {
        let size = node
            .ancestors()
            .find_map(|a| a.attribute("font-size"))
            .and_then(|s| s.parse::<f64>().ok())
            .expect("every text has a font size");
        assert!(size >= 11.0, "text '{:?}' at {size} px", node.text());
    }
    let mut drawn = Drawn {
        panels: Vec::new(),
        bars: Vec::new(),
    };
    for plot in document
        .descendants()
        .filter(|n| n.attribute("class") == Some("plot"))
    {
        drawn.panels.push((
            number(plot, "data-x0"),
            number(plot, "data-width"),
            number(plot, "data-seconds"),
        ));
        drawn.bars.push(
            plot.descendants()
                .filter(|n| n.attribute("class").is_some_and(|c| c.starts_with("span ")))
                .map(|bar| {
                    let x = number(bar, "x");
                    (x, x + number(bar, "width"))
                })
                .collect(),
        );
    }
    drawn
}

/// Checks the Trace Event Format file: one complete event per span, with a time and a
/// length in microseconds, and a name for every thread that has events.
fn assert_chrome_trace(path: &Path, trace: &Trace) {
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let events = json["traceEvents"].as_array().expect("a traceEvents array");
    let complete: Vec<&serde_json::Value> = events.iter().filter(|e| e["ph"] == "X").collect();
    assert_eq!(complete.len(), trace.spans.len(), "{}", trace.chapter);
    let named: HashSet<(u64, u64)> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap()))
        .collect();
    let total: u64 = complete.iter().map(|e| e["dur"].as_u64().unwrap()).sum();
    let spans_us: u64 = trace.spans.iter().map(|s| s.end_us - s.start_us).sum();
    assert_eq!(total, spans_us, "durations are the spans', in microseconds");
    for event in complete {
        assert!(event["ts"].is_u64() && event["name"].is_string(), "{event}");
        let thread = (
            event["pid"].as_u64().unwrap(),
            event["tid"].as_u64().unwrap(),
        );
        assert!(named.contains(&thread), "thread {thread:?} has no name");
    }
}

#[test]
fn every_chapters_trace_is_drawn_across_the_plot_and_exported_for_perfetto() {
    let dir = tempfile::tempdir().unwrap();
    for chapter in chapters::ALL {
        // A store slow enough that the transfers, not a thread's start or end on a busy
        // machine, make up the run: the spans must then fill the axis sized to the run.
        let trace = traced_run(chapter.name, Duration::from_millis(50), &[]);
        let trace_file = dir.path().join(format!("{}.json", chapter.name));
        trace.write(&trace_file).unwrap();
        let svg = dir.path().join(format!("{}.svg", chapter.name));
        let (code, _, stderr) = workbench(&[
            "timeline",
            trace_file.to_str().unwrap(),
            "-o",
            svg.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{}: {stderr}", chapter.name);
        let drawn = read_svg(&std::fs::read_to_string(&svg).unwrap());
        let [(x0, width, _)] = drawn.panels[..] else {
            panic!("{}: one panel expected", chapter.name)
        };
        let bars = &drawn.bars[0];
        assert_eq!(bars.len(), trace.spans.len(), "{}", chapter.name);
        let left = bars.iter().map(|b| b.0).fold(f64::INFINITY, f64::min);
        let right = bars.iter().map(|b| b.1).fold(0.0, f64::max);
        assert!(
            right - left >= 0.8 * width && left >= x0 - 0.01 && right <= x0 + width + 0.01,
            "{}: spans from {left:.0} to {right:.0} px in a plot from {x0} to {}",
            chapter.name,
            x0 + width
        );

        let chrome = dir.path().join(format!("{}.chrome.json", chapter.name));
        let (code, stdout, stderr) = workbench(&[
            "timeline",
            trace_file.to_str().unwrap(),
            "--chrome-trace",
            chrome.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{}: {stderr}", chapter.name);
        assert!(stdout.contains("perfetto"), "{stdout}");
        assert_chrome_trace(&chrome, &trace);
    }
}

#[test]
fn a_chapter_writes_the_trace_event_format_itself() {
    let corpus = TestCorpus::new();
    let store = corpus.store();
    let file = corpus.dir.path().join("chrome.json");
    // The process pool: its workers are processes of their own in the viewer.
    let chapter = "ch05-process-pool";
    if chapters::find(chapter).is_none() {
        return;
    }
    let flags: Vec<String> = [
        "--trace",
        file.to_str().unwrap(),
        "--trace-format",
        "chrome",
    ]
    .map(String::from)
    .to_vec();
    let run = run_chapter(chapter, store.url(), &flags);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let events = json["traceEvents"].as_array().unwrap();
    let processes: HashSet<u64> = events
        .iter()
        .filter(|e| e["ph"] == "X")
        .map(|e| e["pid"].as_u64().unwrap())
        .collect();
    assert!(
        processes.len() >= 2,
        "worker processes apart: {processes:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["name"] == "process_name" && e["args"]["name"] == chapter)
    );
}

#[test]
fn several_traces_share_one_axis_and_bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let trace = |chapter: &str, seconds: u64| {
        let end_us = seconds * 1_000_000;
        let text = format!(
            r#"{{"chapter":"{chapter}","start_us":0,"end_us":{end_us},"spans":[
            {{"worker":"main","image":"a","phase":"resize","start_us":0,"end_us":{end_us}}}]}}"#
        );
        let path = dir.path().join(format!("{chapter}.json"));
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let (slow, fast) = (trace("slow", 10), trace("fast", 1));
    let page = dir.path().join("both.html");
    let (code, _, stderr) = workbench(&["timeline", &slow, &fast, "-o", page.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    let svg = &html[html.find("<svg").unwrap()..html.find("</svg>").unwrap() + 6];
    let drawn = read_svg(svg);
    assert_eq!(drawn.panels.len(), 2);
    assert_eq!(drawn.panels[0].2, drawn.panels[1].2, "one axis for both");
    let width = |panel: usize| drawn.bars[panel][0].1 - drawn.bars[panel][0].0;
    assert!(
        (width(0) / width(1) - 10.0).abs() < 0.01,
        "10 s against 1 s"
    );

    let not_a_trace = dir.path().join("notes.txt");
    std::fs::write(&not_a_trace, "hello").unwrap();
    let (code, _, stderr) = workbench(&["timeline", not_a_trace.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("notes.txt") && stderr.contains("not a trace"),
        "{stderr}"
    );
    let (code, _, stderr) = workbench(&["timeline", &slow, &fast, "--chrome-trace", "x.json"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("one trace"), "{stderr}");
    let (code, _, stderr) = workbench(&["timeline", &slow, "-o", "drawing.png"]);
    assert_eq!(code, 2);
    assert!(stderr.contains(".svg or .html"), "{stderr}");
}
