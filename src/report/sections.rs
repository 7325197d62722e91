//! Each section of the report, built from the measurements: its words (written from the
//! numbers, so they say what *this* run shows), its charts and its tables; and the rows
//! of `results.json`.
//!
//! To add a section, write a function returning it and add it to [`all`].

use super::bench::{
    BENCH_IMAGES, BENCH_LATENCY, GIL_CHAPTER, GIL_GROUP, SWEEP_IMAGES, SWEEP_WORKLOAD, bench_id,
    sweep_id,
};
use super::chart::{self, Bar, BarGroup, ChartError, Line};
use super::floor::{self, Floor, Inputs, KERNEL_BENCH};
use super::machine::Build;
use super::results::{Load, Row};
use super::section::{Chart, Section, Table};
use super::stats::Stats;
use super::timeline;
use super::{Report, Run};
use crate::chapters;
use crate::harness::workload::Workload;

/// The implementation every row of this report is measured from.
const RUST: &str = "rust";

/// Every section, in the order the report shows them, with the floor's `inputs` when
/// they could be measured. `notes` receives what the person who asked for the report
/// must hear on the terminal.
pub fn all(
    report: &Report,
    build: &Build,
    load: &Load,
    inputs: Option<&Inputs>,
    notes: &mut Vec<String>,
) -> Result<Vec<Section>, ChartError> {
    let mut sections = vec![machine(report, build, load)];
    sections.extend(inputs.map(|inputs| floor_section(report, inputs)));
    sections.extend(tour(report, inputs));
    sections.extend(bench(report, inputs, notes)?);
    sections.extend(backpressure(report, load));
    sections.extend(timelines(report));
    Ok(sections)
}

/// The floor's inputs as they apply to the tour's runs (the tour's latency) and to the
/// bench's (the bench's latency).
fn tour_inputs(report: &Report, inputs: &Inputs) -> Inputs {
    Inputs {
        latency_s: report.latency.as_secs_f64(),
        ..*inputs
    }
}

fn bench_inputs(inputs: &Inputs) -> Inputs {
    Inputs {
        latency_s: BENCH_LATENCY.as_secs_f64(),
        ..*inputs
    }
}

/// The floor of every workload of the bench: its inputs, its terms, what sets it.
fn floor_section(report: &Report, inputs: &Inputs) -> Section {
    let mut section = Section::new("floor", "The floor: the best any pattern can do here", 2);
    section.words.push(format!(
        "The **floor** is the least wall time any pattern could take on this machine: \
         start-up, plus the round trips to the store that no overlap can hide (the \
         listing, the first download, and the last upload on `mixed`), plus every image's \
         CPU step spread over the {} cores. A chapter's **wall / floor** says how far it \
         is from that: 1 would be perfect, and what is left above 1 is what a better \
         pattern (or a cheaper step) could still win. The CPU step is the corpus's average \
         image, its JPEGs and its PNGs each at its own price, from {}; \
         start-up is the fastest of a few starts of {} with `--help`.",
        inputs.cores,
        inputs.photo_source.describe(),
        chapters::ALL[0].name
    ));
    let mut table = Table::new(
        "floor",
        &[
            "workload",
            "images",
            "latency ms",
            "round trips",
            "cpu step ms",
            "cores",
            "start-up ms",
            "floor s",
            "set by",
        ],
    );
    let bench = bench_inputs(inputs);
    let mut limits = Vec::new();
    for workload in Workload::ALL {
        let f = floor::floor(workload, BENCH_IMAGES, &bench);
        let step = match workload {
            Workload::Io => bench.small_cpu_s,
            Workload::Cpu | Workload::Mixed => bench.photo_cpu_s,
        };
        table.row(vec![
            workload.name().to_string(),
            BENCH_IMAGES.to_string(),
            match floor::round_trips(workload) {
                0 => "-".to_string(),
                _ => format!("{:.0}", bench.latency_s * 1e3),
            },
            floor::round_trips(workload).to_string(),
            format!("{:.2}", step * 1e3),
            bench.cores.to_string(),
            format!("{:.1}", bench.startup_s * 1e3),
            seconds(f.seconds()),
            f.limit().name().to_string(),
        ]);
        limits.push(format!(
            "on `{}` {} ({:.3} s of CPU steps against {:.3} s of round trips)",
            workload.name(),
            f.limit().name(),
            f.computing_s,
            f.waiting_s
        ));
    }
    section.words.push(format!(
        "For the bench's {BENCH_IMAGES} images, the floor is set {}.",
        limits.join("; ")
    ));
    if report.latency != BENCH_LATENCY && !report.runs.is_empty() {
        section.words.push(format!(
            "The tour's runs used {:.0} ms of latency; their floor, in the tour's table, \
             is computed with it.",
            report.latency.as_secs_f64() * 1e3
        ));
    }
    section.tables.push(table);
    section
}

/// The floor cells of a table row: the floor, and the wall time's distance to it.
fn floor_cells(floor: Option<Floor>, wall_s: f64) -> [String; 2] {
    match floor {
        Some(f) => [seconds(f.seconds()), format!("{:.2}", f.distance(wall_s))],
        None => ["-".to_string(), "-".to_string()],
    }
}

fn seconds(value: f64) -> String {
    format!("{value:.3}")
}

fn optional(value: Option<f64>, digits: usize) -> String {
    value.map_or("-".to_string(), |v| format!("{v:.digits$}"))
}

fn load_text(load: Option<[f64; 3]>) -> String {
    load.map_or("unknown".to_string(), |[one, five, fifteen]| {
        format!("{one:.2} {five:.2} {fifteen:.2}")
    })
}

/// The machine, its load and the build: what decides whether two reports compare.
fn machine(report: &Report, build: &Build, load: &Load) -> Section {
    let m = &report.machine;
    let mut section = Section::new("machine", "The machine and the build", 2);
    section.words.push(format!(
        "Timings depend on the machine as much as on the code: compare two reports only \
         when these match, or say how they differ. This one has {} cores; the load \
         average (threads running or waiting for a core, over 1, 5 and 15 minutes) was \
         {} before the runs and {} after.",
        m.cores,
        load_text(load.before),
        load_text(load.after)
    ));
    section.warnings.extend(load.busy.iter().cloned());
    let mut table = Table::new("machine", &["what", "value"]);
    let mut add = |what: &str, value: String| table.row(vec![what.to_string(), value]);
    add("cores", m.cores.to_string());
    add("processor", m.model.clone());
    add("memory GiB", format!("{:.1}", m.memory_gib));
    add("system", m.os.clone());
    add("kernel", m.kernel.clone());
    add("load before (1 5 15 min)", load_text(load.before));
    add("load after (1 5 15 min)", load_text(load.after));
    add("rustc", build.rustc.clone());
    add("profile", build.profile.clone());
    add("commit", build.commit.clone());
    for (name, version) in &build.crates {
        add(&format!("crate {name}"), version.clone());
    }
    section.tables.push(table);
    section
}

/// The tour's runs: a table of every chapter, and what it says.
fn tour(report: &Report, inputs: Option<&Inputs>) -> Option<Section> {
    let runs = &report.runs;
    if runs.is_empty() {
        return None;
    }
    let workload = report.workload.name();
    let mut section = Section::new(
        "tour",
        &format!("Every chapter on the {workload} workload"),
        2,
    );
    let repeats = runs.iter().map(|r| r.stats().runs).max().unwrap_or(1);
    section.words.push(format!(
        "Each chapter ran {repeats} time(s), traced; wall time is the batch's, as the \
         chapter measured it. **Overlap** is the time spent working (download, resize, \
         upload), summed over every worker, over the wall time: about 1 when one thing \
         happens at a time, about 10 when ten do. **User** and **system** are processor \
         seconds per run of the chapter's whole process tree (its threads and worker \
         processes): user in the program's own code, system in the kernel on its behalf \
         (sockets, files, starting threads and processes). They say what a pattern costs, \
         where wall time says only how long it took."
    ));
    section.words.extend(tour_words(report));
    let inputs = inputs.map(|i| tour_inputs(report, i));
    section
        .tables
        .push(tour_table(runs, report.workload, inputs.as_ref()));
    Some(section)
}

fn tour_table(runs: &[Run], workload: Workload, inputs: Option<&Inputs>) -> Table {
    let mut table = Table::new(
        "tour",
        &[
            "chapter",
            "runs",
            "median s",
            "median low s",
            "median high s",
            "mean s",
            "sd s",
            "min s",
            "max s",
            "images/s",
            "speedup over ch00",
            "floor s",
            "wall / floor",
            "overlap",
            "user s",
            "system s",
            "failed",
            "peak MiB",
        ],
    );
    let baseline = baseline_run(runs).map(|r| r.stats().median_s);
    for run in runs {
        let s = &run.summary;
        let stats = run.stats();
        let cpu = run.cpu();
        let floor = inputs.map(|i| floor::floor(workload, s.images, i));
        let [floor_s, distance] = floor_cells(floor, stats.median_s);
        table.row(vec![
            s.chapter.clone(),
            stats.runs.to_string(),
            seconds(stats.median_s),
            seconds(stats.median_low_s),
            seconds(stats.median_high_s),
            seconds(stats.mean_s),
            seconds(stats.sd_s),
            seconds(stats.min_s),
            seconds(stats.max_s),
            format!("{:.1}", s.images as f64 / stats.median_s.max(1e-9)),
            baseline.map_or("-".to_string(), |b| {
                format!("{:.2}", b / stats.median_s.max(1e-9))
            }),
            floor_s,
            distance,
            format!("{:.2}", s.overlap),
            optional(cpu.map(|c| c.user_s), 2),
            optional(cpu.map(|c| c.system_s), 2),
            s.failed.len().to_string(),
            format!("{:.0}", s.peak_rss_mb),
        ]);
    }
    table
}

/// The baseline every speedup is measured against: the first chapter, one image at a time.
fn baseline_run(runs: &[Run]) -> Option<&Run> {
    runs.iter()
        .find(|r| r.summary.chapter == chapters::ALL[0].name)
}

/// What the tour's numbers say: who won and by how much, how much concurrency each
/// got, and what it cost in processor time.
fn tour_words(report: &Report) -> Vec<String> {
    let runs = &report.runs;
    let mut words = Vec::new();
    let median = |r: &Run| r.stats().median_s;
    let Some(fastest) = runs.iter().min_by(|a, b| median(a).total_cmp(&median(b))) else {
        return words;
    };
    let workload = report.workload.name();
    if let Some(base) = baseline_run(runs) {
        words.push(format!(
            "**What this shows.** On `{workload}`, {} was the fastest: {:.2} s against \
             {:.2} s for {}, {:.1}x faster. {}",
            fastest.summary.chapter,
            median(fastest),
            median(base),
            base.summary.chapter,
            median(base) / median(fastest).max(1e-9),
            why(
                report.workload,
                report.machine.cores,
                median(base) / median(fastest).max(1e-9)
            )
        ));
    }
    if let Some(most) = runs
        .iter()
        .max_by(|a, b| a.summary.overlap.total_cmp(&b.summary.overlap))
    {
        words.push(format!(
            "The most concurrent run was {} (overlap {:.1}: on average {:.0} steps in \
             progress at once).",
            most.summary.chapter, most.summary.overlap, most.summary.overlap
        ));
    }
    let cpu_of = |r: &Run| r.cpu().map(|c| c.user_s + c.system_s);
    let measured: Vec<(&Run, f64)> = runs.iter().filter_map(|r| Some((r, cpu_of(r)?))).collect();
    let cheapest = measured.iter().min_by(|a, b| a.1.total_cmp(&b.1));
    let dearest = measured.iter().max_by(|a, b| a.1.total_cmp(&b.1));
    if let (Some((cheap, c)), Some((dear, d))) = (cheapest, dearest) {
        words.push(format!(
            "In processor time, {} was the cheapest ({c:.2} s per run, user and system) \
             and {} the dearest ({d:.2} s, {:.1}x as much) for the same thumbnails.",
            cheap.summary.chapter,
            dear.summary.chapter,
            d / c.max(1e-9)
        ));
    }
    words
}

/// One line on why the best speedup on `workload` is what it is, from the measured
/// speedup and the cores.
fn why(workload: Workload, cores: usize, speedup: f64) -> String {
    match workload {
        Workload::Cpu if speedup <= cores as f64 * 1.25 => format!(
            "The CPU step dominates, and only {cores} resizes can run at once on {cores} \
             cores: no pattern can do much better than {cores}x."
        ),
        Workload::Cpu => format!(
            "The CPU step dominates, yet the speedup is above the {cores} cores: the \
             winner also saved work (reading while resizing, fewer copies)."
        ),
        Workload::Io => "Waiting for the store dominates, and waits overlap freely: the \
             winner keeps the most downloads in flight, not the most cores busy."
            .to_string(),
        Workload::Mixed => format!(
            "Both halves count: downloads must overlap (waiting) and resizes must use \
             every core ({cores} here)."
        ),
    }
}

/// Criterion's results: a panel per workload, the speedups, the sweep, the GIL.
fn bench(
    report: &Report,
    inputs: Option<&Inputs>,
    notes: &mut Vec<String>,
) -> Result<Vec<Section>, ChartError> {
    let bench = &report.bench;
    let mut intro = Section::new("bench", "Benchmarks", 2);
    if !bench.found || bench.results.is_empty() {
        let why = if bench.found {
            "holds no results"
        } else {
            "does not exist"
        };
        let note = format!(
            "no criterion results: {} {why}; run `cargo bench --bench chapters` (about \
             15 minutes), then the report again, for medians, speedups and worker sweeps",
            bench.folder.display()
        );
        intro.words.push(format!("{}.", capitalise(&note)));
        notes.push(note);
        return Ok(vec![intro]);
    }
    intro.words.push(
        "Each chapter binary timed as a whole process by criterion (start-up included), \
         median of its samples with the 95% confidence interval; on `io` and `mixed` the \
         store (`workbench serve`, a process of its own, as a real store would be) \
         answers after 50 ms. Times are on a logarithmic axis, so that a 10 s run and a \
         0.5 s run both read: equal steps across are equal ratios. **User s** and \
         **system s** are the chapter's processor seconds per run; **store CPU s** the \
         store's, so that a pattern is neither charged for the store's work nor hides it."
            .to_string(),
    );
    let mut sections = vec![intro];
    let mut missing = Vec::new();
    let mut speedups = Vec::new();
    for workload in Workload::ALL {
        let floor = inputs.map(|i| floor::floor(workload, BENCH_IMAGES, &bench_inputs(i)));
        if let Some((section, group)) = workload_section(report, workload, floor, &mut missing)? {
            sections.push(section);
            speedups.push(group);
        }
    }
    if !speedups.is_empty() {
        let names: Vec<String> = chapters::ALL.iter().map(|c| c.name.to_string()).collect();
        let title = "Speedup over ch00-sequential (higher is better)";
        let mut section = Section::new("speedup", "Speedup", 3);
        section.charts.push(Chart {
            file: "speedup.svg".into(),
            title: title.into(),
            svg: chart::grouped_bars(
                title,
                "times faster than ch00",
                &names,
                &speedups,
                Some(1.0),
            )?,
        });
        sections.push(section);
    }
    sections.extend(sweep(report, &mut missing)?);
    sections.extend(gil(report)?);
    if let Some(kernel) = bench.get(KERNEL_BENCH) {
        let mut section = Section::new("kernel", "The CPU step alone", 3);
        section.words.push(format!(
            "One 1920x1280 JPEG to three thumbnails on one thread: {:.1} ms (median), so \
             at best {:.0} images per second per core.",
            kernel.median_s * 1e3,
            1.0 / kernel.median_s.max(1e-12)
        ));
        sections.push(section);
    }
    if !missing.is_empty() {
        let note = format!(
            "criterion has no result for {} benchmark(s): {}",
            missing.len(),
            missing.join(", ")
        );
        if let Some(first) = sections.first_mut() {
            first.warnings.push(format!("Partial results: {note}."));
        }
        notes.push(note);
    }
    Ok(sections)
}

/// One workload's panel: every chapter's median with its interval, its table, and what
/// it shows. Also returns the workload's speedups for the speedup chart.
fn workload_section(
    report: &Report,
    workload: Workload,
    floor: Option<Floor>,
    missing: &mut Vec<String>,
) -> Result<Option<(Section, BarGroup)>, ChartError> {
    let measured: Vec<(&str, Option<super::Estimate>)> = chapters::ALL
        .iter()
        .map(|c| (c.name, report.bench.get(&bench_id(workload, c.name))))
        .collect();
    missing.extend(
        measured
            .iter()
            .filter(|(_, e)| e.is_none())
            .map(|(name, _)| bench_id(workload, name)),
    );
    let bars: Vec<Bar> = measured
        .iter()
        .filter_map(|(name, e)| {
            let e = (*e)?;
            Some(Bar {
                label: name.to_string(),
                value: e.median_s,
                interval: Some((e.low_s, e.high_s)),
            })
        })
        .collect();
    if bars.is_empty() {
        return Ok(None);
    }
    let name = workload.name();
    let title = format!("Workload {name}: seconds per run (median, 95% interval)");
    let mut section = Section::new(&format!("bench-{name}"), &format!("Workload {name}"), 3);
    section.charts.push(Chart {
        file: format!("bench-{name}.svg"),
        title: title.clone(),
        svg: chart::bars(
            &title,
            "seconds",
            " s",
            &bars,
            None,
            floor.map(|f| f.seconds()),
        )?,
    });
    let baseline = measured.first().and_then(|(_, e)| *e);
    let mut table = Table::new(
        &format!("bench-{name}"),
        &[
            "chapter",
            "median s",
            "median low s",
            "median high s",
            "mean s",
            "sd s",
            "min s",
            "max s",
            "speedup over ch00",
            "floor s",
            "wall / floor",
            "user s",
            "system s",
            "store CPU s",
        ],
    );
    for (chapter, estimate) in &measured {
        let Some(e) = estimate else { continue };
        let stats = e.stats();
        let [floor_s, distance] = floor_cells(floor, stats.median_s);
        let cost = report.bench.cost(&bench_id(workload, chapter));
        table.row(vec![
            chapter.to_string(),
            seconds(stats.median_s),
            seconds(stats.median_low_s),
            seconds(stats.median_high_s),
            seconds(stats.mean_s),
            seconds(stats.sd_s),
            seconds(stats.min_s),
            seconds(stats.max_s),
            baseline.map_or("-".to_string(), |b| {
                format!("{:.2}", b.median_s / e.median_s.max(1e-12))
            }),
            floor_s,
            distance,
            optional(cost.map(|c| c.user_s), 2),
            optional(cost.map(|c| c.system_s), 2),
            optional(cost.and_then(|c| c.store_cpu_s), 2),
        ]);
    }
    section.tables.push(table);
    section
        .words
        .extend(bench_words(report, workload, &measured));
    section.words.extend(floor_words(floor, &measured));
    let group = BarGroup {
        name: name.to_string(),
        values: measured
            .iter()
            .map(|(_, e)| Some(baseline?.median_s / e.as_ref()?.median_s.max(1e-12)))
            .collect(),
    };
    Ok(Some((section, group)))
}

/// How close the best chapter comes to the floor, and what sets the floor.
fn floor_words(
    floor: Option<Floor>,
    measured: &[(&str, Option<super::Estimate>)],
) -> Option<String> {
    let floor = floor?;
    let (best, estimate) = measured
        .iter()
        .filter_map(|(name, e)| Some((*name, (*e)?)))
        .min_by(|a, b| a.1.median_s.total_cmp(&b.1.median_s))?;
    Some(format!(
        "The floor (red line) is {:.3} s, set by {}: {best} is {:.2}x it.",
        floor.seconds(),
        floor.limit().name(),
        floor.distance(estimate.median_s)
    ))
}

/// Who wins on a workload, by how much over ch00 and over the runner-up, and whether
/// that lead is more than the noise.
fn bench_words(
    report: &Report,
    workload: Workload,
    measured: &[(&str, Option<super::Estimate>)],
) -> Vec<String> {
    let mut ranked: Vec<(&str, Stats)> = measured
        .iter()
        .filter_map(|(name, e)| Some((*name, e.as_ref()?.stats())))
        .collect();
    ranked.sort_by(|a, b| a.1.median_s.total_cmp(&b.1.median_s));
    let Some((winner, best)) = ranked.first() else {
        return Vec::new();
    };
    let base = measured
        .first()
        .and_then(|(_, e)| e.as_ref().map(|e| e.stats()));
    let mut text = format!(
        "**What this shows.** {winner} wins on `{}` with {:.3} s",
        workload.name(),
        best.median_s
    );
    let mut speedup = 1.0;
    if let Some(base) = base {
        speedup = base.median_s / best.median_s.max(1e-12);
        text.push_str(&format!(
            ", {speedup:.1}x faster than ch00 ({:.3} s)",
            base.median_s
        ));
    }
    if let Some((second, next)) = ranked.get(1) {
        let lead = next.median_s / best.median_s.max(1e-12);
        let verdict = if best.differs_from(next) {
            "a real lead: the intervals do not overlap"
        } else {
            "within the noise: the intervals overlap"
        };
        text.push_str(&format!(
            "; {second} is next at {:.3} s ({lead:.2}x, {verdict})",
            next.median_s
        ));
    }
    text.push_str(". ");
    text.push_str(&why(workload, report.machine.cores, speedup));
    vec![text]
}

/// Each chapter with a worker count, over 1 to 16 workers: one line each, told apart by
/// marker and dash as well as colour.
fn sweep(report: &Report, missing: &mut Vec<String>) -> Result<Option<Section>, ChartError> {
    let mut lines = Vec::new();
    for chapter in chapters::ALL {
        let Some(flag) = chapter.sweep else { continue };
        let mut points = Vec::new();
        for &workers in chapters::SWEEP_WORKERS {
            let id = sweep_id(chapter.name, workers);
            match report.bench.get(&id) {
                Some(e) => points.push((workers as f64, e.median_s)),
                None => missing.push(id),
            }
        }
        if !points.is_empty() {
            lines.push(Line {
                name: format!("{} {flag}", chapter.name),
                points,
            });
        }
    }
    if lines.is_empty() {
        return Ok(None);
    }
    let title = format!(
        "Worker sweep: {} images of {}, median seconds per run",
        SWEEP_IMAGES,
        SWEEP_WORKLOAD.name()
    );
    let mut section = Section::new("sweep", "Worker sweep", 3);
    section.words.push(format!(
        "Each chapter that has a worker count, run with 1 to {} workers on {} images of \
         `{}`.",
        chapters::SWEEP_WORKERS.last().copied().unwrap_or(1),
        SWEEP_IMAGES,
        SWEEP_WORKLOAD.name()
    ));
    let mut table = Table::new("sweep", &["chapter", "workers", "median s"]);
    let mut best = Vec::new();
    for line in &lines {
        for (workers, median) in &line.points {
            table.row(vec![
                line.name.clone(),
                format!("{workers:.0}"),
                seconds(*median),
            ]);
        }
        if let Some((workers, median)) = line.points.iter().min_by(|a, b| a.1.total_cmp(&b.1)) {
            best.push(format!(
                "{} is fastest with {workers:.0} ({median:.3} s)",
                line.name
            ));
        }
    }
    section
        .words
        .push(format!("**What this shows.** {}.", best.join("; ")));
    section.charts.push(Chart {
        file: "sweep.svg".into(),
        title: title.clone(),
        svg: chart::lines(&title, "workers", "seconds", &lines)?,
    });
    section.tables.push(table);
    Ok(Some(section))
}

/// The simulated GIL: ch00 (one image at a time) as the baseline, the shared-state
/// chapter's threads, and the same threads behind a GIL.
fn gil(report: &Report) -> Result<Option<Section>, ChartError> {
    if chapters::find(GIL_CHAPTER).is_none() {
        return Ok(None);
    }
    let baseline_id = bench_id(Workload::Cpu, chapters::ALL[0].name);
    let entries = [
        (baseline_id, format!("{} (baseline)", chapters::ALL[0].name)),
        (format!("{GIL_GROUP}/threads"), "threads".to_string()),
        (
            format!("{GIL_GROUP}/gil"),
            "threads with a simulated GIL".to_string(),
        ),
    ];
    let measured: Vec<(String, f64, (f64, f64))> = entries
        .iter()
        .filter_map(|(id, label)| {
            let e = report.bench.get(id)?;
            Some((label.clone(), e.median_s, (e.low_s, e.high_s)))
        })
        .collect();
    if measured.len() < 3 {
        return Ok(None);
    }
    let bars: Vec<Bar> = measured
        .iter()
        .map(|(label, value, interval)| Bar {
            label: label.clone(),
            value: *value,
            interval: Some(*interval),
        })
        .collect();
    let (base, threads, gil) = (measured[0].1, measured[1].1, measured[2].1);
    let title = format!("{GIL_CHAPTER} on cpu: ch00, threads, threads with a simulated GIL");
    let mut section = Section::new("gil", "The simulated GIL", 3);
    section.words.push(format!(
        "**What this shows.** Without a GIL the threads take {threads:.3} s, {:.1}x \
         faster than one image at a time ({base:.3} s). Behind a simulated GIL they take \
         {gil:.3} s, {:.2}x the baseline's time: only one thread runs Rust code at a time, \
         so the threads are back to about one core, plus the cost of taking turns.",
        base / threads.max(1e-12),
        gil / base.max(1e-12)
    ));
    section.charts.push(Chart {
        file: "gil.svg".into(),
        title: title.clone(),
        svg: chart::bars(&title, "seconds", " s", &bars, Some(base), None)?,
    });
    Ok(Some(section))
}

/// The pipeline with and without its bounded channel, and a warning when the numbers
/// contradict the lesson (the unbounded run holding no more than the bounded one).
fn backpressure(report: &Report, load: &Load) -> Option<Section> {
    let (_, first) = report.backpressure.first()?;
    let mut section = Section::new("backpressure", "Backpressure", 2);
    section.words.push(format!(
        "{} on `cpu` ({} images) with two downloaders and one resizer, so that downloads \
         are far quicker than resizes. With the bounded channel, at most its capacity, plus \
         one image per downloader and per resizer, wait between the stages; without it, \
         nearly the whole batch does, and the peak memory grows with it. Images waiting \
         (downloaded, not yet being resized) are counted from the trace.",
        first.summary.chapter, first.summary.images
    ));
    let mut table = Table::new(
        "backpressure",
        &["run", "wall s", "images waiting at most", "peak MiB"],
    );
    for (label, run) in &report.backpressure {
        table.row(vec![
            label.clone(),
            format!("{:.2}", run.summary.wall_s),
            run.trace.most_images_waiting().to_string(),
            format!("{:.0}", run.summary.peak_rss_mb),
        ]);
    }
    section.tables.push(table);
    if let [(bounded_label, bounded), (unbounded_label, unbounded), ..] = &report.backpressure[..] {
        let (b, u) = (
            bounded.trace.most_images_waiting(),
            unbounded.trace.most_images_waiting(),
        );
        if u <= b {
            let busy = if load.busy.is_some() {
                " The machine was busy (see above), which can starve the downloaders."
            } else {
                ""
            };
            section.warnings.push(format!(
                "the {unbounded_label} run held at most {u} images waiting, no more than the \
                 {bounded_label} run's {b}: the downloads did not outrun the resizer this \
                 time, so this table does not show what backpressure prevents.{busy}"
            ));
        } else {
            section.words.push(format!(
                "**What this shows.** The bounded channel held at most {b} images waiting \
                 and {:.0} MiB; without a bound {u} waited and the peak was {:.0} MiB.",
                bounded.summary.peak_rss_mb, unbounded.summary.peak_rss_mb
            ));
        }
    }
    Some(section)
}

/// A timeline of every chapter's last traced run, each on its own time axis.
fn timelines(report: &Report) -> Option<Section> {
    if report.runs.is_empty() {
        return None;
    }
    let mut section = Section::new("timelines", "Timelines", 2);
    section.words.push(
        "One lane per worker, grouped by kind, one bar per step: download, resize, upload, \
         and waiting (queue_wait). Each timeline has its own time axis, as long as its run, \
         so a short run shows its detail: compare lengths in the titles, not the widths. \
         To see several on one axis, give them together to `workbench timeline`. In the \
         web page, hover a bar to see its image and time."
            .to_string(),
    );
    for run in &report.runs {
        let name = &run.summary.chapter;
        section.charts.push(Chart {
            file: format!("timeline-{name}.svg"),
            title: timeline::title(&run.trace),
            svg: timeline::draw(&[&run.trace]),
        });
    }
    Some(section)
}

/// Every figure measured, as the rows of `results.json`, each with its floor where the
/// floor's `inputs` were measured.
pub fn rows(report: &Report, inputs: Option<&Inputs>) -> Vec<Row> {
    let workload = report.workload.name();
    let tour = inputs.map(|i| tour_inputs(report, i));
    let mut rows: Vec<Row> = report
        .runs
        .iter()
        .map(|run| {
            let floor = tour.map(|i| floor::floor(report.workload, run.summary.images, &i));
            Row {
                floor_s: floor.map(|f| f.seconds()),
                ..traced_row(run, workload, "tour", "")
            }
        })
        .collect();
    rows.extend(
        report
            .backpressure
            .iter()
            .map(|(label, run)| traced_row(run, Workload::Cpu.name(), "backpressure", label)),
    );
    for (name, estimate) in &report.bench.results {
        let stats = estimate.stats();
        let cost = report.bench.cost(name);
        let parts: Vec<&str> = name.split('/').collect();
        let (chapter, workload, measure, variant) = match parts[..] {
            ["sweep", chapter, workers] => (
                chapter.to_string(),
                SWEEP_WORKLOAD.name(),
                "sweep",
                format!("workers {workers}"),
            ),
            [group, variant] if group == GIL_GROUP => (
                GIL_CHAPTER.to_string(),
                Workload::Cpu.name(),
                "gil",
                variant.to_string(),
            ),
            [group, chapter] => (chapter.to_string(), group, "bench", String::new()),
            _ => (name.clone(), "", "bench", String::new()),
        };
        rows.push(Row {
            implementation: RUST.into(),
            chapter,
            workload: workload.into(),
            measure: measure.into(),
            variant,
            stats,
            user_s: cost.map(|c| c.user_s),
            system_s: cost.map(|c| c.system_s),
            overlap: None,
            peak_rss_mb: None,
            failed: None,
            floor_s: bench_floor(workload, measure, inputs),
            store_cpu_s: cost.and_then(|c| c.store_cpu_s),
        });
    }
    rows
}

/// The floor of a criterion result: for the chapters' benchmarks (`bench`) on a workload.
fn bench_floor(workload: &str, measure: &str, inputs: Option<&Inputs>) -> Option<f64> {
    let workload = Workload::ALL.into_iter().find(|w| w.name() == workload)?;
    if measure != "bench" {
        return None;
    }
    Some(floor::floor(workload, BENCH_IMAGES, &bench_inputs(inputs?)).seconds())
}

fn traced_row(run: &Run, workload: &str, measure: &str, variant: &str) -> Row {
    let cpu = run.cpu();
    Row {
        implementation: RUST.into(),
        chapter: run.summary.chapter.clone(),
        workload: workload.into(),
        measure: measure.into(),
        variant: variant.into(),
        stats: run.stats(),
        user_s: cpu.map(|c| c.user_s),
        system_s: cpu.map(|c| c.system_s),
        overlap: Some(run.summary.overlap),
        peak_rss_mb: Some(run.summary.peak_rss_mb),
        failed: Some(run.summary.failed.len()),
        floor_s: None,
        store_cpu_s: None,
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
