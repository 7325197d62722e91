//! The Python side: the virtual environment the programs in `python/` run in, their
//! runs beside the Rust chapters, and the report's section that compares them.
//!
//! The interface is small on purpose: [`measure`] runs a [`Plan`] and gives [`Row`]s;
//! [`sections`] turns them into the report's sections (or [`missing_section`] says how
//! to make the environment), which the report writes as it writes its own.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::chart::{self, Bar, BarGroup, ChartError};
use super::section::{Chart, Section, Table};
use crate::chapters;
use crate::contract::Summary;
use crate::harness::workload::Workload;

/// The project's folder, where `python/` is.
pub fn project_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The folder of the Python programs.
pub fn programs_folder() -> PathBuf {
    project_folder().join("python")
}

/// What to type when the environment is missing.
pub const HOW_TO_SET_UP: &str = "run `cargo run -- python setup` (it needs python3 with pip, and the network once) to create it";

/// Why the environment could not be made.
#[derive(Debug, thiserror::Error)]
pub enum VenvError {
    /// A command could not start, or failed.
    #[error("`{command}` failed: {cause}")]
    Command {
        /// The command, as typed.
        command: String,
        /// What went wrong.
        cause: String,
    },
    /// The pinned requirements could not be read or recorded.
    #[error("{path}: {cause}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        cause: std::io::Error,
    },
}

/// A Python virtual environment with the pinned `python/requirements.txt` installed:
/// `python-venv` in the cargo target folder, so `cargo clean` removes it with the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Venv {
    /// The environment's folder.
    pub dir: PathBuf,
}

impl Venv {
    /// The environment of this build: `python-venv` in the target folder the running
    /// binary was built into, else `target/python-venv`; `WORKBENCH_PYTHON_VENV` names
    /// another one (or, naming none that exists, leaves Python out of the report).
    pub fn of_this_build() -> Venv {
        if let Some(dir) = std::env::var_os("WORKBENCH_PYTHON_VENV") {
            return Venv { dir: dir.into() };
        }
        let exe = std::env::current_exe().unwrap_or_default();
        let target = exe
            .ancestors()
            .find(|dir| dir.join("CACHEDIR.TAG").is_file())
            .map_or_else(|| project_folder().join("target"), Path::to_path_buf);
        Venv {
            dir: target.join("python-venv"),
        }
    }

    /// The environment's interpreter.
    pub fn python(&self) -> PathBuf {
        self.dir.join("bin").join("python")
    }

    /// The requirements the environment was made from, kept inside it: when they equal
    /// the pinned ones, the environment is ready.
    fn installed_record(&self) -> PathBuf {
        self.dir.join("requirements.installed")
    }

    /// Whether the environment exists with the pinned requirements installed.
    pub fn is_ready(&self) -> bool {
        let pinned = std::fs::read(requirements());
        let installed = std::fs::read(self.installed_record());
        self.python().is_file() && matches!((pinned, installed), (Ok(p), Ok(i)) if p == i)
    }

    /// Makes the environment with `python3 -m venv` and installs the pinned
    /// requirements with its pip; does nothing when it is already ready.
    pub fn create(&self) -> Result<(), VenvError> {
        if self.is_ready() {
            return Ok(());
        }
        let system_python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        run(Command::new(&system_python)
            .args(["-m", "venv"])
            .arg(&self.dir))?;
        run(Command::new(self.python())
            .args(["-m", "pip", "install", "--quiet", "-r"])
            .arg(requirements()))?;
        let pinned = std::fs::read(requirements()).map_err(|cause| VenvError::File {
            path: requirements(),
            cause,
        })?;
        crate::platform::write_atomically(&self.installed_record(), &pinned).map_err(|cause| {
            VenvError::File {
                path: self.installed_record(),
                cause,
            }
        })
    }
}

/// `python/requirements.txt`.
fn requirements() -> PathBuf {
    programs_folder().join("requirements.txt")
}

/// Runs `command` to its end; an error unless it succeeded.
fn run(command: &mut Command) -> Result<(), VenvError> {
    let shown = format!("{command:?}");
    let status = command.status().map_err(|e| VenvError::Command {
        command: shown.clone(),
        cause: e.to_string(),
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(VenvError::Command {
            command: shown,
            cause: status.to_string(),
        })
    }
}

/// Which language ran a measured program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// A chapter binary.
    Rust,
    /// A program of `python/`, on CPython.
    Python,
}

impl Language {
    /// The language's name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::Python => "Python",
        }
    }
}

/// One program run once, as a whole process: what the report's Python section is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The Rust chapter the program is, or is the counterpart of (`ch04-thread-pool`).
    pub pattern: String,
    /// Who ran it.
    pub language: Language,
    /// The workload.
    pub workload: Workload,
    /// The flags beyond the workload's (`--gil-bound`, `--gil`), or empty.
    pub variant: String,
    /// Wall-clock time of the batch, from the program's own summary.
    pub wall_s: f64,
    /// CPU time of the process and everything it waited for (user + system), from
    /// `getrusage`: on 2 cores, a wall time at half the CPU time means both were busy.
    pub cpu_s: f64,
    /// Images that failed (a measured run should have none).
    pub failed: usize,
}

impl Row {
    /// The run's name in tables: `Python ch04-thread-pool --gil-bound`.
    pub fn label(&self) -> String {
        let mut label = format!("{} {}", self.language.name(), self.pattern);
        if !self.variant.is_empty() {
            label = format!("{label} {}", self.variant);
        }
        label
    }
}

/// The Python program that is the counterpart of `chapter`: `ch04-thread-pool` is
/// `python/ch04_thread_pool.py`. `None` when Python has no such pattern.
pub fn program_of(chapter: &str) -> Option<PathBuf> {
    let file = programs_folder().join(format!("{}.py", chapter.replace('-', "_")));
    file.is_file().then_some(file)
}

/// Why a measured run failed.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    /// The program could not start, or could not run the job at all.
    #[error("{program} could not run: {cause}")]
    Run {
        /// The program.
        program: String,
        /// Why.
        cause: String,
    },
}

/// Runs one measured program: `command` with `--workload`, `--count`, `--latency`,
/// `--json` and `--quiet` added, timed by its own summary and by `getrusage` over its process tree.
pub fn measure_one(
    mut command: Command,
    pattern: &str,
    language: Language,
    workload: Workload,
    variant: &[&str],
    plan: &Plan,
) -> Result<Row, MeasureError> {
    let program = format!("{} {pattern}", language.name());
    let fail = |cause: String| MeasureError::Run {
        program: program.clone(),
        cause,
    };
    command
        .args(["--workload", workload.name(), "--json", "--quiet"])
        .args(["--count", &plan.count.to_string()])
        .args(["--latency", &format!("{}ms", plan.latency.as_millis())])
        .args(variant)
        // By its name, not as the running executable: `report --bench` may have had
        // cargo rebuild the binary under this very process, whose own file is then gone.
        .env(
            "WORKBENCH",
            chapters::binary_path("workbench").unwrap_or_default(),
        );
    let before = children_cpu_seconds();
    let output = command.output().map_err(|e| fail(e.to_string()))?;
    let cpu_s = children_cpu_seconds() - before;
    if output.status.code() == Some(2) {
        return Err(fail(String::from_utf8_lossy(&output.stderr).into_owned()));
    }
    let summary: Summary = serde_json::from_slice(&output.stdout)
        .map_err(|e| fail(format!("its summary is not JSON: {e}")))?;
    Ok(Row {
        pattern: pattern.to_string(),
        language,
        workload,
        variant: variant.join(" "),
        wall_s: summary.wall_s,
        cpu_s,
        failed: summary.failed.len(),
    })
}

/// User and system time of every child process waited for so far, in seconds.
fn children_cpu_seconds() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_CHILDREN).map_or(0.0, |usage| {
        let seconds = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
        seconds(usage.user_time()) + seconds(usage.system_time())
    })
}

/// What to measure: the comparison on each of `workloads`, and the GIL on `cpu`.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The workloads of the side-by-side comparison.
    pub workloads: Vec<Workload>,
    /// Images per run.
    pub count: usize,
    /// The embedded store's latency on `io` and `mixed`.
    pub latency: Duration,
    /// Runs of each program; the one with the median wall time is kept. On a machine
    /// shared with other work, one run can be slowed by what else runs at that moment.
    pub repeats: usize,
}

/// Every measured run of the Python section.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Each pattern Python has, in Rust and in Python, on each workload of the plan.
    pub comparison: Vec<Row>,
    /// The GIL on `cpu`: sequential, threads and processes in CPython, with Pillow alone
    /// and with `--gil-bound`; one `--draft` run; Rust's threads with and without the
    /// simulated GIL.
    pub gil: Vec<Row>,
    /// Runs of each program, of which the median is shown.
    pub repeats: usize,
}

/// The Python runs of the GIL measurement: (program, flags).
const GIL_PYTHON: &[(&str, &[&str])] = &[
    ("ch00-sequential", &[]),
    ("ch04-thread-pool", &[]),
    ("ch05-process-pool", &[]),
    ("ch00-sequential", &["--gil-bound"]),
    ("ch04-thread-pool", &["--gil-bound"]),
    ("ch05-process-pool", &["--gil-bound"]),
    ("ch00-sequential", &["--draft"]),
];

/// The Rust runs of the GIL measurement: the same shared-state chapter with and without
/// its simulated GIL, and the sequential baseline.
const GIL_RUST: &[(&str, &[&str])] = &[
    ("ch00-sequential", &[]),
    ("ch06-shared-state", &[]),
    ("ch06-shared-state", &["--gil"]),
];

/// Runs every program of `plan` once, one after another (so no run competes with
/// another for the cores), calling `progress` with each finished row.
pub fn measure(
    plan: &Plan,
    venv: &Venv,
    mut progress: impl FnMut(&Row),
) -> Result<Measured, MeasureError> {
    let mut run = |language, pattern: &str, workload, variant: &[&str]| {
        let mut rows = Vec::new();
        for _ in 0..plan.repeats.max(1) {
            let command = command(language, pattern, venv)?;
            rows.push(measure_one(
                command, pattern, language, workload, variant, plan,
            )?);
        }
        let row = median(rows);
        progress(&row);
        Ok::<Row, MeasureError>(row)
    };
    let mut comparison = Vec::new();
    for &workload in &plan.workloads {
        for chapter in chapters::ALL {
            if program_of(chapter.name).is_some() {
                comparison.push(run(Language::Rust, chapter.name, workload, &[])?);
                comparison.push(run(Language::Python, chapter.name, workload, &[])?);
            }
        }
    }
    let mut gil = Vec::new();
    for (pattern, variant) in GIL_PYTHON {
        gil.push(run(Language::Python, pattern, Workload::Cpu, variant)?);
    }
    for (pattern, variant) in GIL_RUST {
        gil.push(run(Language::Rust, pattern, Workload::Cpu, variant)?);
    }
    Ok(Measured {
        comparison,
        gil,
        repeats: plan.repeats.max(1),
    })
}

/// The run with the median wall time (the slower middle one of an even count).
fn median(mut rows: Vec<Row>) -> Row {
    rows.sort_by(|a, b| a.wall_s.total_cmp(&b.wall_s));
    rows.swap_remove(rows.len() / 2)
}

/// The command that runs `pattern` in `language`.
fn command(language: Language, pattern: &str, venv: &Venv) -> Result<Command, MeasureError> {
    let fail = |cause: String| MeasureError::Run {
        program: format!("{} {pattern}", language.name()),
        cause,
    };
    match language {
        Language::Rust => chapters::binary_path(pattern)
            .map(Command::new)
            .map_err(|e| fail(e.to_string())),
        Language::Python => {
            let program = program_of(pattern).ok_or_else(|| fail("no such program".into()))?;
            let mut command = Command::new(venv.python());
            command.arg(program);
            Ok(command)
        }
    }
}

/// The section, for a report made where the environment is missing.
pub fn missing_section(venv: &Venv) -> Section {
    let mut section = Section::new("python", "Rust and Python, side by side", 2);
    section.words.push(format!(
        "Not measured: the Python environment ({}) does not exist; {HOW_TO_SET_UP}, then \
         make the report again.",
        venv.dir.display()
    ));
    section
}

/// The sections: what was measured and how, a table and a chart per workload, then the
/// GIL, measured, with the sentence that says how closely the simulated GIL follows
/// CPython's. The report writes them with its own (Markdown, web page, CSV).
pub fn sections(measured: &Measured, cores: usize) -> Result<Vec<Section>, ChartError> {
    let runs = match measured.repeats {
        1 => "run once".to_string(),
        n => format!("the median of {n} runs"),
    };
    let mut intro = Section::new("python", "Rust and Python, side by side", 2);
    intro.words.push(format!(
        "Each pattern Python has, written the Python course's way (`python/`, Pillow \
         without `draft`), beside its Rust chapter, on the same corpus and store: {runs} \
         of each, as a whole process. Wall is the batch's time; CPU is the user and \
         system time of the process and its children (`getrusage`). Measured on \
         **{cores} cores**."
    ));
    let mut sections = vec![intro];
    let workloads = Workload::ALL
        .into_iter()
        .filter(|w| measured.comparison.iter().any(|r| r.workload == *w));
    for workload in workloads {
        let rows: Vec<&Row> = measured
            .comparison
            .iter()
            .filter(|r| r.workload == workload)
            .collect();
        let name = format!("python-{}", workload.name());
        let mut section =
            Section::new(&name, &format!("Rust and Python on {}", workload.name()), 3);
        section.charts.push(Chart {
            file: format!("{name}.svg"),
            title: section.title.clone(),
            svg: comparison_chart(workload, &rows)?,
        });
        section.tables.push(comparison_table(&name, &rows));
        sections.push(section);
    }
    let mut gil = Section::new("python-gil", "The GIL, measured", 3);
    gil.words.push(GIL_WORDS.to_string());
    gil.words.push(gil_verdict(&measured.gil, cores));
    gil.charts.push(Chart {
        file: "python-gil.svg".into(),
        title: "The GIL, measured on cpu".into(),
        svg: gil_chart(&measured.gil)?,
    });
    gil.tables.push(gil_table(&measured.gil));
    sections.push(gil);
    Ok(sections)
}

fn comparison_table(name: &str, rows: &[&Row]) -> Table {
    let mut table = Table::new(
        name,
        &[
            "pattern",
            "Rust wall s",
            "Rust CPU s",
            "Python wall s",
            "Python CPU s",
            "Python / Rust",
        ],
    );
    for (rust, python) in pairs(rows) {
        table.row(vec![
            rust.pattern.clone(),
            format!("{:.2}", rust.wall_s),
            format!("{:.2}", rust.cpu_s),
            format!("{:.2}", python.wall_s),
            format!("{:.2}", python.cpu_s),
            format!("{:.1}", python.wall_s / rust.wall_s.max(1e-9)),
        ]);
    }
    table
}

/// Each pattern's Rust row and Python row, in chapter order.
fn pairs<'a>(rows: &[&'a Row]) -> Vec<(&'a Row, &'a Row)> {
    let find = |pattern: &str, language| {
        rows.iter()
            .find(|r| r.pattern == pattern && r.language == language && r.variant.is_empty())
            .copied()
    };
    chapters::ALL
        .iter()
        .filter_map(|c| {
            Some((
                find(c.name, Language::Rust)?,
                find(c.name, Language::Python)?,
            ))
        })
        .collect()
}

fn comparison_chart(workload: Workload, rows: &[&Row]) -> Result<String, ChartError> {
    let pairs = pairs(rows);
    let labels: Vec<String> = pairs.iter().map(|(rust, _)| rust.pattern.clone()).collect();
    let groups = [Language::Rust, Language::Python].map(|language| BarGroup {
        name: format!("{} (wall s)", language.name()),
        values: pairs
            .iter()
            .map(|(rust, python)| {
                Some(match language {
                    Language::Rust => rust.wall_s,
                    Language::Python => python.wall_s,
                })
            })
            .collect(),
    });
    chart::grouped_bars(
        &format!("Rust and Python on {}", workload.name()),
        "wall time (s)",
        &labels,
        &groups,
        None,
    )
}

/// A GIL row's speedup over the sequential run of the same language: with
/// `--gil-bound`, over the sequential run with `--gil-bound`; any other switch (`--gil`,
/// `--draft`) over the plain sequential run, to show what the switch costs or buys.
fn speedup(row: &Row, rows: &[Row]) -> Option<f64> {
    let same_variant = if row.variant == "--gil-bound" {
        row.variant.clone()
    } else {
        String::new()
    };
    rows.iter()
        .find(|r| {
            r.language == row.language
                && r.pattern == "ch00-sequential"
                && r.variant == same_variant
        })
        .map(|sequential| sequential.wall_s / row.wall_s.max(1e-9))
}

/// What the GIL measurement runs, and how to read it.
const GIL_WORDS: &str = "On `cpu`. Pillow releases the GIL inside its C code, so CPython \
    threads run its work at once; `--gil-bound` adds a step in pure Python (an Adler-32 \
    checksum of every byte of the pixels), which holds the GIL, so on it threads take turns \
    and only processes run at once. Rust has no GIL; `ch06-shared-state --gil` simulates \
    one. `--draft` lets Pillow decode JPEGs at a reduced scale, the trick the Rust kernel \
    always uses. Speedup is over the sequential run of the same language (with \
    `--gil-bound` for the `--gil-bound` runs).";

fn gil_table(rows: &[Row]) -> Table {
    let mut table = Table::new("python-gil", &["run", "wall s", "CPU s", "speedup"]);
    for row in rows {
        table.row(vec![
            row.label(),
            format!("{:.2}", row.wall_s),
            format!("{:.2}", row.cpu_s),
            speedup(row, rows).map_or(String::new(), |s| format!("{s:.2}")),
        ]);
    }
    table
}

/// The sentence: what threads and processes buy on GIL-bound work, and how closely
/// the simulated GIL follows CPython's.
pub fn gil_verdict(rows: &[Row], cores: usize) -> String {
    let find = |language, pattern: &str, variant: &str| {
        rows.iter()
            .find(|r| r.language == language && r.pattern == pattern && r.variant == variant)
            .and_then(|row| speedup(row, rows))
    };
    let figures = (
        find(Language::Python, "ch04-thread-pool", ""),
        find(Language::Python, "ch04-thread-pool", "--gil-bound"),
        find(Language::Python, "ch05-process-pool", "--gil-bound"),
        find(Language::Rust, "ch06-shared-state", ""),
        find(Language::Rust, "ch06-shared-state", "--gil"),
    );
    let (Some(threads), Some(bound), Some(processes), Some(rust), Some(simulated)) = figures else {
        return "Some runs of the GIL measurement are missing: no verdict.".into();
    };
    let gap = (simulated - bound).abs() / bound * 100.0;
    let closeness = if gap <= 15.0 {
        format!("the simulation reproduces CPython's threads to within {gap:.0}%")
    } else {
        format!("the simulation is {gap:.0}% away from CPython's threads")
    };
    format!(
        "On this machine ({cores} cores): with Pillow alone, CPython threads run the batch \
         {threads:.2}x as fast as one thread; with the pure-Python step, threads reach \
         {bound:.2}x and processes {processes:.2}x. Rust's threads reach {rust:.2}x, and \
         {simulated:.2}x under the simulated GIL: {closeness}."
    )
}

fn gil_chart(rows: &[Row]) -> Result<String, ChartError> {
    let bars: Vec<Bar> = rows
        .iter()
        .map(|row| Bar {
            label: row.label(),
            value: row.wall_s,
            interval: None,
        })
        .collect();
    chart::bars(
        "The GIL, measured on cpu",
        "wall time",
        "s",
        &bars,
        None,
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(language: Language, pattern: &str, variant: &str, wall_s: f64) -> Row {
        Row {
            pattern: pattern.into(),
            language,
            workload: Workload::Cpu,
            variant: variant.into(),
            wall_s,
            cpu_s: wall_s * 2.0,
            failed: 0,
        }
    }

    /// A GIL measurement where the simulation is close to CPython's threads.
    fn gil_rows() -> Vec<Row> {
        use Language::{Python, Rust};
        vec![
            row(Python, "ch00-sequential", "", 10.0),
            row(Python, "ch04-thread-pool", "", 5.5),
            row(Python, "ch05-process-pool", "", 6.0),
            row(Python, "ch00-sequential", "--gil-bound", 40.0),
            row(Python, "ch04-thread-pool", "--gil-bound", 38.0),
            row(Python, "ch05-process-pool", "--gil-bound", 21.0),
            row(Python, "ch00-sequential", "--draft", 4.0),
            row(Rust, "ch00-sequential", "", 1.0),
            row(Rust, "ch06-shared-state", "", 0.5),
            row(Rust, "ch06-shared-state", "--gil", 1.0),
        ]
    }

    #[test]
    fn every_python_program_has_its_chapter() {
        let programs = std::fs::read_dir(programs_folder()).unwrap();
        for file in programs.map(|entry| entry.unwrap().file_name()) {
            let name = file.to_string_lossy();
            if let Some(stem) = name.strip_suffix(".py").filter(|s| s.starts_with("ch")) {
                let chapter = stem.replace('_', "-");
                assert!(
                    chapters::find(&chapter).is_some(),
                    "{name} names no chapter"
                );
                assert!(program_of(&chapter).is_some());
            }
        }
        assert!(program_of("ch00-sequential").is_some());
    }

    #[test]
    fn the_median_run_is_kept() {
        let runs = [3.0, 1.0, 2.0].map(|wall| row(Language::Rust, "ch00-sequential", "", wall));
        assert_eq!(median(runs.to_vec()).wall_s, 2.0);
        assert_eq!(median(runs[..1].to_vec()).wall_s, 3.0);
    }

    #[test]
    fn speedups_compare_like_with_like() {
        let rows = gil_rows();
        let of = |i: usize| speedup(&rows[i], &rows).unwrap();
        assert!(
            (of(1) - 10.0 / 5.5).abs() < 1e-9,
            "threads over plain sequential"
        );
        assert!(
            (of(4) - 40.0 / 38.0).abs() < 1e-9,
            "--gil-bound over --gil-bound"
        );
        assert!(
            (of(6) - 10.0 / 4.0).abs() < 1e-9,
            "--draft over plain sequential"
        );
        assert!(
            (of(9) - 1.0).abs() < 1e-9,
            "Rust --gil over Rust sequential"
        );
    }

    #[test]
    fn the_verdict_says_how_close_the_simulation_is() {
        let rows = gil_rows();
        let verdict = gil_verdict(&rows, 2);
        assert!(verdict.contains("(2 cores)"), "{verdict}");
        assert!(
            verdict.contains("threads reach 1.05x and processes 1.90x"),
            "{verdict}"
        );
        // Simulated 1.00x against CPython's 1.05x: 5% apart.
        assert!(verdict.contains("to within 5%"), "{verdict}");
        let mut far = rows.clone();
        far[9].wall_s = 0.5;
        assert!(gil_verdict(&far, 2).contains("is 90% away"));
        assert!(gil_verdict(&rows[..3], 2).contains("no verdict"));
    }

    #[test]
    fn the_section_has_a_table_and_a_chart_per_workload_and_the_gil() {
        let comparison = vec![
            row(Language::Rust, "ch00-sequential", "", 1.0),
            row(Language::Python, "ch00-sequential", "", 4.0),
        ];
        let measured = Measured {
            comparison,
            gil: gil_rows(),
            repeats: 3,
        };
        let sections = sections(&measured, 2).unwrap();
        let md: String = sections.iter().map(Section::markdown).collect();
        assert!(
            md.contains("| ch00-sequential | 1.00 | 2.00 | 4.00 | 8.00 | 4.0 |"),
            "{md}"
        );
        assert!(md.contains("| Python ch04-thread-pool --gil-bound | 38.00 | 76.00 | 1.05 |"));
        assert!(md.contains("**2 cores**") && md.contains("the median of 3 runs"));
        let charts: Vec<&Chart> = sections.iter().flat_map(|s| &s.charts).collect();
        let names: Vec<&str> = charts.iter().map(|c| c.file.as_str()).collect();
        assert_eq!(names, ["python-cpu.svg", "python-gil.svg"]);
        assert!(charts.iter().all(|c| c.svg.starts_with("<svg")));
        let tables: Vec<&str> = sections
            .iter()
            .flat_map(|s| &s.tables)
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(tables, ["python-cpu", "python-gil"]);
    }

    #[test]
    fn without_the_environment_the_section_says_how_to_make_it() {
        let venv = Venv {
            dir: PathBuf::from("nowhere/python-venv"),
        };
        assert!(!venv.is_ready());
        let md = missing_section(&venv).markdown();
        assert!(
            md.contains("python setup") && md.contains("nowhere/python-venv"),
            "{md}"
        );
    }
}
