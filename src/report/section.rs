//! The report as a list of sections, each a title, a few paragraphs written from the
//! measured numbers, charts and tables. The same list is written three ways: Markdown
//! (`report.md`), one self-contained web page (`report.html`), and one CSV per table, so
//! a new section (another language's programs, another workload) is one more item in the
//! list, and appears in all three at once.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::html::{escape, inline};

/// One section of the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Section {
    /// Its anchor in the page (`bench-cpu`).
    pub id: String,
    /// Its heading, in plain words (no Markdown punctuation: it is also a chart title).
    pub title: String,
    /// 2 for a section, 3 for a part of the section before it.
    pub level: u8,
    /// Paragraphs: what this section shows, from its numbers. Inline Markdown (`code`,
    /// **bold**) is allowed.
    pub words: Vec<String>,
    /// Warnings a reader must not miss (a busy machine, a result that contradicts the
    /// lesson), shown apart from the words.
    pub warnings: Vec<String>,
    /// Its charts, in order.
    pub charts: Vec<Chart>,
    /// Its tables, in order.
    pub tables: Vec<Table>,
}

/// One chart: the SVG document, and the file it is written to beside the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The file name (`bench-cpu.svg`).
    pub file: String,
    /// What it shows.
    pub title: String,
    /// The SVG document.
    pub svg: String,
}

/// One table: its columns and its rows of text, as the report shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Its name, and the name of its CSV file (`tour` gives `tour.csv`).
    pub name: String,
    /// The column headings.
    pub columns: Vec<String>,
    /// The rows, one cell per column.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table called `name` with `columns`.
    pub fn new(name: &str, columns: &[&str]) -> Table {
        Table {
            name: name.to_string(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table in Markdown; every column but the first is right-aligned (numbers).
    pub fn markdown(&self) -> String {
        let mut md = format!("| {} |\n|---|", self.columns.join(" | "));
        md.push_str(&"---:|".repeat(self.columns.len().saturating_sub(1)));
        md.push('\n');
        for row in &self.rows {
            let _ = writeln!(md, "| {} |", row.join(" | "));
        }
        md
    }

    /// The table as CSV (RFC 4180: a cell with a comma, a quote or a line break is
    /// quoted, its quotes doubled).
    pub fn csv(&self) -> String {
        let line = |cells: &[String]| {
            cells
                .iter()
                .map(|cell| {
                    if cell.contains([',', '"', '\n']) {
                        format!("\"{}\"", cell.replace('"', "\"\""))
                    } else {
                        cell.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut csv = line(&self.columns);
        csv.push('\n');
        for row in &self.rows {
            csv.push_str(&line(row));
            csv.push('\n');
        }
        csv
    }

    /// The table in HTML.
    pub fn html(&self) -> String {
        let mut html = format!("<table id=\"table-{}\">\n<tr>", escape(&self.name));
        for column in &self.columns {
            let _ = write!(html, "<th>{}</th>", escape(column));
        }
        html.push_str("</tr>\n");
        for row in &self.rows {
            html.push_str("<tr>");
            for cell in row {
                let _ = write!(html, "<td>{}</td>", escape(cell));
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</table>\n");
        html
    }
}

impl Section {
    /// A section called `title` at `level`, its anchor `id`.
    pub fn new(id: &str, title: &str, level: u8) -> Section {
        Section {
            id: id.to_string(),
            title: title.to_string(),
            level,
            ..Section::default()
        }
    }

    /// The section in Markdown, its charts linked by file name.
    pub fn markdown(&self) -> String {
        let mut md = format!("{} {}\n\n", "#".repeat(self.level as usize), self.title);
        for warning in &self.warnings {
            let _ = writeln!(md, "> **Warning:** {warning}\n");
        }
        for paragraph in &self.words {
            let _ = writeln!(md, "{paragraph}\n");
        }
        for chart in &self.charts {
            let _ = writeln!(md, "![{}]({})\n", chart.title, chart.file);
        }
        for table in &self.tables {
            let _ = writeln!(md, "{}", table.markdown());
        }
        md
    }

    /// The section in HTML, its charts inline (the page needs no other file).
    pub fn html(&self) -> String {
        let level = self.level.clamp(1, 6);
        let mut html = format!(
            "<section id=\"{}\">\n<h{level}>{}</h{level}>\n",
            escape(&self.id),
            escape(&self.title)
        );
        for warning in &self.warnings {
            let _ = writeln!(
                html,
                "<p class=\"warning\"><strong>Warning:</strong> {}</p>",
                inline(warning)
            );
        }
        for paragraph in &self.words {
            let _ = writeln!(html, "<p>{}</p>", inline(paragraph));
        }
        for chart in &self.charts {
            let _ = writeln!(
                html,
                "<figure class=\"chart\" id=\"chart-{}\">\n{}\n</figure>",
                escape(chart.file.trim_end_matches(".svg")),
                chart.svg.trim()
            );
        }
        for table in &self.tables {
            html.push_str(&table.html());
        }
        html.push_str("</section>\n");
        html
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_is_written_as_markdown_csv_and_html() {
        let mut table = Table::new("tour", &["chapter", "wall s"]);
        table.row(vec!["ch00, \"slow\"".into(), "10.60".into()]);
        assert_eq!(
            table.markdown(),
            "| chapter | wall s |\n|---|---:|\n| ch00, \"slow\" | 10.60 |\n"
        );
        assert_eq!(
            table.csv(),
            "chapter,wall s\n\"ch00, \"\"slow\"\"\",10.60\n"
        );
        assert!(table.html().contains("<td>ch00, &quot;slow&quot;</td>"));
    }
}
