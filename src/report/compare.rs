//! Two `results.json` side by side (two machines, two commits, before and after an
//! exercise): for every row measured in both, the ratio of the medians, and whether
//! the difference is more than the noise.
//!
//! A difference counts as *significant* only when the two medians' 95% intervals do not
//! overlap (and never for a row measured once: one run has no interval). That is cautious (two intervals can overlap a little while the medians still
//! differ), and it is the right side to err on: a reader who believes a change that was
//! noise learns the wrong lesson.

use std::fmt::Write as _;

use serde::Serialize;

use super::results::{Results, Row};

/// One row measured in both files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The implementation (`rust`).
    pub implementation: String,
    /// The chapter.
    pub chapter: String,
    /// The workload.
    pub workload: String,
    /// How it was measured (`tour`, `bench`, ...).
    pub measure: String,
    /// The variant (a flag, a worker count), or empty.
    pub variant: String,
    /// The old median, seconds.
    pub old_s: f64,
    /// The new median, seconds.
    pub new_s: f64,
    /// New over old: below 1 is faster.
    pub ratio: f64,
    /// Whether the intervals of the two medians are apart.
    pub significant: bool,
    /// How many runs each median is of, old and new.
    pub runs: (usize, usize),
    /// Processor seconds (user and system) per run, old and new, where both measured.
    pub cpu_s: Option<(f64, f64)>,
}

/// What comparing two files found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparisons {
    /// Rows measured in both.
    pub rows: Vec<Comparison>,
    /// Rows only in the old file (`chapter workload measure variant`).
    pub only_old: Vec<String>,
    /// Rows only in the new file.
    pub only_new: Vec<String>,
    /// Whether the two were measured on machines with different cores or processors.
    pub machines_differ: bool,
}

fn describe(row: &Row) -> String {
    let mut text = format!(
        "{} {} {} {}",
        row.implementation, row.chapter, row.workload, row.measure
    );
    if !row.variant.is_empty() {
        text.push(' ');
        text.push_str(&row.variant);
    }
    text
}

fn cpu(row: &Row) -> Option<f64> {
    Some(row.user_s? + row.system_s?)
}

/// Lines up `old` and `new` row by row.
pub fn compare(old: &Results, new: &Results) -> Comparisons {
    let mut rows = Vec::new();
    let mut only_old = Vec::new();
    for before in &old.rows {
        let Some(after) = new.rows.iter().find(|r| r.key() == before.key()) else {
            only_old.push(describe(before));
            continue;
        };
        rows.push(Comparison {
            implementation: before.implementation.clone(),
            chapter: before.chapter.clone(),
            workload: before.workload.clone(),
            measure: before.measure.clone(),
            variant: before.variant.clone(),
            old_s: before.stats.median_s,
            new_s: after.stats.median_s,
            ratio: after.stats.median_s / before.stats.median_s.max(1e-12),
            significant: before.stats.differs_from(&after.stats),
            runs: (before.stats.runs, after.stats.runs),
            cpu_s: cpu(before).zip(cpu(after)),
        });
    }
    let only_new = new
        .rows
        .iter()
        .filter(|after| !old.rows.iter().any(|r| r.key() == after.key()))
        .map(describe)
        .collect();
    Comparisons {
        rows,
        only_old,
        only_new,
        machines_differ: old.machine.cores != new.machine.cores
            || old.machine.model != new.machine.model,
    }
}

impl Comparisons {
    /// The comparison as Markdown: a table of ratios, then what lines up with nothing.
    pub fn markdown(&self, old_name: &str, new_name: &str) -> String {
        let mut md = format!(
            "Comparing {old_name} (old) with {new_name} (new): ratio is new over old, \
             below 1 is faster; a change is significant only when the two medians' 95% \
             intervals do not overlap.\n\n"
        );
        if self.machines_differ {
            md.push_str(
                "Warning: the two were measured on different machines (cores or processor \
                 differ); the ratios compare machines as much as code.\n\n",
            );
        }
        md.push_str(
            "| implementation | chapter | workload | measure | variant | old s | new s | ratio | significant | CPU s old | CPU s new |\n\
             |---|---|---|---|---|---:|---:|---:|---|---:|---:|\n",
        );
        for c in &self.rows {
            let (cpu_old, cpu_new) = c.cpu_s.map_or(("-".into(), "-".into()), |(a, b)| {
                (format!("{a:.2}"), format!("{b:.2}"))
            });
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {:.3} | {:.3} | {:.2}x | {} | {cpu_old} | {cpu_new} |",
                c.implementation,
                c.chapter,
                c.workload,
                c.measure,
                c.variant,
                c.old_s,
                c.new_s,
                c.ratio,
                match (c.significant, c.runs) {
                    (true, _) => "yes",
                    (false, (1, _) | (_, 1)) => "no (one run)",
                    (false, _) => "no",
                },
            );
        }
        for (which, rows) in [(old_name, &self.only_old), (new_name, &self.only_new)] {
            if !rows.is_empty() {
                let _ = writeln!(md, "\nOnly in {which}: {}.", rows.join("; "));
            }
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::stats::Stats;

    fn row(chapter: &str, samples: &[f64]) -> Row {
        Row {
            implementation: "rust".into(),
            chapter: chapter.into(),
            workload: "io".into(),
            measure: "tour".into(),
            variant: String::new(),
            stats: Stats::of(samples).unwrap(),
            user_s: Some(1.0),
            system_s: Some(0.5),
            overlap: None,
            peak_rss_mb: None,
            floor_s: None,
            store_cpu_s: None,
            failed: None,
        }
    }

    fn results(rows: Vec<Row>) -> Results {
        Results {
            format: crate::report::results::FORMAT,
            written: String::new(),
            machine: crate::report::Machine::this(),
            build: crate::report::Build::this(),
            load: crate::report::results::Load {
                before: None,
                after: None,
                busy: None,
            },
            rows,
            tables: Default::default(),
        }
    }

    #[test]
    fn ratios_are_significant_only_when_intervals_are_apart() {
        let old = results(vec![
            row("ch00", &[10.0, 10.1, 10.2]),
            row("ch01", &[2.0, 2.1, 2.2]),
            row("ch02", &[1.0]),
            row("ch04", &[1.0]),
        ]);
        let new = results(vec![
            row("ch00", &[5.0, 5.1, 5.2]),
            row("ch01", &[2.1, 2.2, 2.3]),
            row("ch03", &[1.0]),
            row("ch04", &[3.0]),
        ]);
        let found = compare(&old, &new);
        assert_eq!(found.rows.len(), 3);
        assert!(found.rows[0].significant);
        assert!((found.rows[0].ratio - 0.5).abs() < 0.01);
        assert!(!found.rows[1].significant);
        assert_eq!(found.rows[0].cpu_s, Some((1.5, 1.5)));
        assert_eq!(found.only_old, ["rust ch02 io tour"]);
        assert_eq!(found.only_new, ["rust ch03 io tour"]);
        let md = found.markdown("a", "b");
        assert!(md.contains("| 3.00x | no (one run) |"), "{md}");
        assert!(
            md.contains("| rust | ch00 | io | tour |  | 10.100 | 5.100 | 0.50x | yes |"),
            "{md}"
        );
    }
}
