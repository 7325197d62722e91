//! How a pattern's cost grows with the batch: a few chapters run on `io` with ten and a
//! hundred times the images, each run's wall time, processor time and peak memory.
//!
//! A pattern that stays linear costs ten times as much for ten times the images; one
//! thread per image also grows in memory (a stack and a connection per image in flight),
//! and a bounded pool does not. The rows are written to `growth.json` beside the report
//! by `workbench growth`; the report draws them when it finds that file.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::chart::{self, ChartError, Line};
use super::section::{Chart, Section, Table};

/// The chapters measured: the baseline, one thread per image, a pool, tasks, a pipeline.
pub const CHAPTERS: [&str; 5] = [
    "ch00-sequential",
    "ch01-threads",
    "ch04-thread-pool",
    "ch07-async",
    "ch09-pipeline",
];

/// The batches, in images.
pub const COUNTS: [usize; 3] = [48, 480, 4_800];

/// The file the rows are kept in, in the report's folder.
pub const FILE: &str = "growth.json";

/// The command that makes the rows, as a reader would type it.
pub const HOW_TO_MEASURE: &str = "cargo run --release -- growth";

/// One chapter on one batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrowthRow {
    /// The chapter.
    pub chapter: String,
    /// Images in the batch.
    pub images: usize,
    /// The batch's wall time, in seconds.
    pub wall_s: f64,
    /// Processor time of the chapter's process tree (user and system), in seconds.
    pub cpu_s: f64,
    /// Peak resident memory, in MiB.
    pub peak_rss_mb: f64,
    /// Images that failed (a run that fails images is not a fair point on the line).
    pub failed: usize,
}

/// The rows and how they were measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Growth {
    /// The store's latency, in milliseconds.
    pub latency_ms: f64,
    /// Cores of the machine that ran them.
    pub cores: usize,
    /// Every run.
    pub rows: Vec<GrowthRow>,
}

impl Growth {
    /// Writes the rows as JSON into `folder`.
    pub fn write(&self, folder: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::platform::write_atomically(&folder.join(FILE), &json)
    }

    /// The rows in `folder`, if `workbench growth` wrote them there.
    pub fn read(folder: &Path) -> Option<Growth> {
        let bytes = std::fs::read(folder.join(FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// The report's section: three charts (wall, processor time, memory against images, on
/// logarithmic axes, one line per chapter) and the table; or, without measurements, a
/// section that says how to make them.
pub fn section(growth: Option<&Growth>) -> Result<Section, ChartError> {
    let mut section = Section::new("growth", "How the cost grows with the batch", 2);
    let Some(growth) = growth.filter(|g| !g.rows.is_empty()) else {
        section.words.push(format!(
            "Not measured: `{HOW_TO_MEASURE}` runs {} on `io` with {} images and writes \
             `{FILE}` beside this report (it takes several minutes), then make the report \
             again.",
            CHAPTERS.join(", "),
            counts_in_words()
        ));
        return Ok(section);
    };
    section.words.push(format!(
        "Each chapter once on `io` (small images, {:.0} ms of latency) with each batch, on \
         **{} cores**. On logarithmic axes a straight line at 45 degrees is a cost that \
         grows as the batch does; a flat one does not grow at all.",
        growth.latency_ms, growth.cores
    ));
    section.words.extend(readings(growth));
    let figures: [(&str, &str, Figure); 3] = [
        ("growth-wall.svg", "seconds", |r| r.wall_s),
        ("growth-cpu.svg", "processor seconds", |r| r.cpu_s),
        ("growth-memory.svg", "peak memory MiB", |r| r.peak_rss_mb),
    ];
    for (file, axis, value) in figures {
        let title = format!("{} against the batch", axis_title(axis));
        section.charts.push(Chart {
            file: file.into(),
            title: title.clone(),
            svg: chart::lines(&title, "images", axis, &lines(growth, value))?,
        });
    }
    section.tables.push(table(growth));
    Ok(section)
}

fn counts_in_words() -> String {
    let counts: Vec<String> = COUNTS.iter().map(|c| c.to_string()).collect();
    counts.join(", ")
}

/// "Seconds" for a chart's title from its axis.
fn axis_title(axis: &str) -> String {
    let mut letters = axis.chars();
    letters.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(letters).collect()
    })
}

/// One of a row's figures: what a chart draws.
type Figure = fn(&GrowthRow) -> f64;

/// One line per chapter: `value` against the batch.
fn lines(growth: &Growth, value: Figure) -> Vec<Line> {
    chapters_in(growth)
        .into_iter()
        .map(|chapter| Line {
            points: rows_of(growth, &chapter)
                .map(|r| (r.images as f64, value(r).max(1e-3)))
                .collect(),
            name: chapter,
        })
        .collect()
}

fn chapters_in(growth: &Growth) -> Vec<String> {
    let mut chapters: Vec<String> = Vec::new();
    for row in &growth.rows {
        if !chapters.contains(&row.chapter) {
            chapters.push(row.chapter.clone());
        }
    }
    chapters
}

fn rows_of<'a>(growth: &'a Growth, chapter: &'a str) -> impl Iterator<Item = &'a GrowthRow> {
    growth.rows.iter().filter(move |r| r.chapter == chapter)
}

/// Every run, and how much each figure grew from the chapter's smallest batch.
fn table(growth: &Growth) -> Table {
    let mut table = Table::new(
        "growth",
        &[
            "chapter", "images", "wall s", "CPU s", "peak MiB", "failed", "wall x", "memory x",
        ],
    );
    for chapter in chapters_in(growth) {
        let first = rows_of(growth, &chapter).next().cloned();
        for row in rows_of(growth, &chapter) {
            let times = |now: f64, then: f64| format!("{:.1}", now / then.max(1e-9));
            table.row(vec![
                row.chapter.clone(),
                row.images.to_string(),
                format!("{:.2}", row.wall_s),
                format!("{:.2}", row.cpu_s),
                format!("{:.0}", row.peak_rss_mb),
                row.failed.to_string(),
                first
                    .as_ref()
                    .map_or("-".into(), |f| times(row.wall_s, f.wall_s)),
                first
                    .as_ref()
                    .map_or("-".into(), |f| times(row.peak_rss_mb, f.peak_rss_mb)),
            ]);
        }
    }
    table
}

/// What the numbers say, per chapter: how wall time and memory grew from the smallest
/// batch to the largest, against how the batch grew.
fn readings(growth: &Growth) -> Vec<String> {
    chapters_in(growth)
        .into_iter()
        .filter_map(|chapter| {
            let rows: Vec<&GrowthRow> = rows_of(growth, &chapter).collect();
            let (first, last) = (rows.first()?, rows.last()?);
            let batch = last.images as f64 / first.images.max(1) as f64;
            if batch <= 1.0 {
                return None;
            }
            let wall = last.wall_s / first.wall_s.max(1e-9);
            let memory = last.peak_rss_mb / first.peak_rss_mb.max(1e-9);
            let failed = if last.failed > 0 {
                format!("; {} of its {} images failed", last.failed, last.images)
            } else {
                String::new()
            };
            Some(format!(
                "`{chapter}`: {batch:.0} times the images took {wall:.1} times the wall time \
                 ({}) and {memory:.1} times the memory ({}){failed}.",
                pace(wall / batch),
                memory_pace(memory, batch)
            ))
        })
        .collect()
}

/// Words for memory that grew `memory` times while the batch grew `batch` times.
fn memory_pace(memory: f64, batch: f64) -> &'static str {
    if memory < 1.5 {
        "about flat"
    } else if memory < batch / 2.0 {
        "it grows, far more slowly than the batch"
    } else {
        "it grows with the batch"
    }
}

/// Words for wall-time growth divided by batch growth.
fn pace(ratio: f64) -> &'static str {
    if ratio > 1.3 {
        "worse than linear"
    } else if ratio > 0.7 {
        "linear"
    } else {
        "better than linear: fixed costs shared by more images"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(chapter: &str, images: usize, wall_s: f64, peak_rss_mb: f64) -> GrowthRow {
        GrowthRow {
            chapter: chapter.into(),
            images,
            wall_s,
            cpu_s: wall_s / 2.0,
            peak_rss_mb,
            failed: 0,
        }
    }

    fn growth() -> Growth {
        Growth {
            latency_ms: 5.0,
            cores: 2,
            rows: vec![
                row("ch00-sequential", 48, 1.0, 10.0),
                row("ch00-sequential", 480, 10.0, 10.0),
                row("ch01-threads", 48, 0.1, 20.0),
                row("ch01-threads", 480, 0.5, 200.0),
            ],
        }
    }

    #[test]
    fn the_section_has_three_charts_a_line_per_chapter_and_the_table() {
        let section = section(Some(&growth())).unwrap();
        assert_eq!(section.charts.len(), 3);
        for chart in &section.charts {
            assert!(chart.svg.contains("ch00-sequential") && chart.svg.contains("ch01-threads"));
        }
        let table = &section.tables[0];
        assert_eq!(table.rows.len(), 4);
        // ch01 on ten times the images: five times the wall, ten times the memory.
        assert_eq!(table.rows[3][6..], ["5.0".to_string(), "10.0".to_string()]);
    }

    #[test]
    fn the_words_tell_a_linear_batch_from_memory_that_grows() {
        let words = readings(&growth());
        assert!(
            words[0].contains("linear") && words[0].contains("about flat"),
            "{words:?}"
        );
        assert!(words[1].contains("better than linear"), "{words:?}");
        assert!(words[1].contains("grows with the batch"), "{words:?}");
    }

    #[test]
    fn without_measurements_the_section_says_how_to_make_them() {
        let section = section(None).unwrap();
        assert!(section.charts.is_empty());
        assert!(section.words[0].contains(HOW_TO_MEASURE));
    }

    #[test]
    fn the_rows_are_written_and_read_back() {
        let folder = tempfile::tempdir().unwrap();
        growth().write(folder.path()).unwrap();
        assert_eq!(Growth::read(folder.path()), Some(growth()));
        assert_eq!(Growth::read(&folder.path().join("nowhere")), None);
    }
}
