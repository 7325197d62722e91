//! The report's charts, drawn with plotters into SVG text.
//!
//! SVG keeps text as text (`<text font-family="sans-serif">`): the viewer picks the font,
//! so drawing needs no font file and works on a machine with none installed.
//!
//! Every function returns the SVG document as a `String`; the report writes it to a file.

use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::{RangedCoordf64, RangedCoordusize};
use plotters::prelude::*;

use crate::trace::{Phase, Trace};

/// Why a chart could not be drawn (plotters' error, as text).
#[derive(Debug, thiserror::Error)]
#[error("drawing the chart '{chart}': {cause}")]
pub struct ChartError {
    /// The chart's title.
    pub chart: String,
    /// What plotters said.
    pub cause: String,
}

/// One bar: a label, a value, and optionally the interval around it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// The bar's name (a chapter).
    pub label: String,
    /// The value the bar reaches.
    pub value: f64,
    /// The interval's ends (e.g. criterion's 95% confidence interval of the median).
    pub interval: Option<(f64, f64)>,
}

/// A series of bars sharing a colour and a legend entry (e.g. one workload).
#[derive(Debug, Clone, PartialEq)]
pub struct BarGroup {
    /// The legend's name for the series.
    pub name: String,
    /// One value per label of the chart, `None` where it has none.
    pub values: Vec<Option<f64>>,
}

/// One line of a line chart: `(x, y)` points, drawn in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The legend's name.
    pub name: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
}

/// The colours of the series, in order.
const PALETTE: [RGBColor; 10] = [
    RGBColor(76, 120, 168),
    RGBColor(245, 133, 24),
    RGBColor(84, 162, 75),
    RGBColor(228, 87, 86),
    RGBColor(114, 183, 178),
    RGBColor(178, 121, 162),
    RGBColor(238, 202, 59),
    RGBColor(255, 157, 166),
    RGBColor(157, 117, 93),
    RGBColor(121, 112, 110),
];

/// The colour of a phase in every timeline.
pub fn phase_colour(phase: Phase) -> RGBColor {
    match phase {
        Phase::Download => PALETTE[0],
        Phase::Resize => PALETTE[1],
        Phase::Upload => PALETTE[2],
        Phase::QueueWait => RGBColor(190, 190, 190),
    }
}

fn series_colour(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

const WIDTH: u32 = 900;
const LABEL_AREA: u32 = 190;

/// Draws into an SVG string of `size`, turning plotters' errors into a [`ChartError`].
fn svg(
    title: &str,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<(), Box<dyn std::error::Error>>,
) -> Result<String, ChartError> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        let fail = |cause: String| ChartError {
            chart: title.to_string(),
            cause,
        };
        root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        draw(&root).map_err(|e| fail(e.to_string()))?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    Ok(text)
}

/// The label of segment `value` of a category axis with `labels`, top to bottom.
fn category(labels: &[String], value: &SegmentValue<usize>) -> String {
    match value {
        SegmentValue::CenterOf(row) => labels
            .len()
            .checked_sub(row + 1)
            .and_then(|i| labels.get(i))
            .cloned()
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// A chart with one row per label (top to bottom) and values from 0 to `x_max` across:
/// what both bar charts draw on.
type RowChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, SegmentedCoord<RangedCoordusize>>>;

/// Sets up a [`RowChart`] on `root`: its title, its mesh, the labels down the side and
/// `axis` along the bottom.
fn row_chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: &str,
    axis: &str,
    x_max: f64,
    labels: &[String],
) -> Result<RowChart<'a, 'b>, Box<dyn std::error::Error>> {
    let rows = labels.len().max(1);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(LABEL_AREA)
        .build_cartesian_2d(0.0..x_max, (0..rows).into_segmented())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows)
        .y_label_formatter(&|v| category(labels, v))
        .x_desc(axis)
        .draw()?;
    Ok(chart)
}

/// Horizontal bars, one per label, top to bottom in the given order, each with its
/// interval as a whisker and its value written beside it.
pub fn bars(title: &str, axis: &str, unit: &str, bars: &[Bar]) -> Result<String, ChartError> {
    let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    let rows = bars.len().max(1);
    let x_max = bars
        .iter()
        .map(|b| b.interval.map_or(b.value, |(_, high)| high.max(b.value)))
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.25;
    let height = 110 + 36 * rows as u32;
    svg(title, (WIDTH, height), |root| {
        let mut chart = row_chart(root, title, axis, x_max, &labels)?;
        let row = |i: usize| rows - 1 - i;
        chart.draw_series(bars.iter().enumerate().map(|(i, bar)| {
            let mut rect = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(row(i))),
                    (bar.value, SegmentValue::Exact(row(i) + 1)),
                ],
                series_colour(0).filled(),
            );
            rect.set_margin(6, 6, 0, 0);
            rect
        }))?;
        chart.draw_series(bars.iter().enumerate().filter_map(|(i, bar)| {
            let (low, high) = bar.interval?;
            Some(PathElement::new(
                [
                    (low, SegmentValue::CenterOf(row(i))),
                    (high, SegmentValue::CenterOf(row(i))),
                ],
                BLACK.stroke_width(2),
            ))
        }))?;
        chart.draw_series(bars.iter().enumerate().map(|(i, bar)| {
            let at = bar
                .interval
                .map_or(bar.value, |(_, high)| high.max(bar.value));
            Text::new(
                format!("  {}{unit}", short(bar.value)),
                (at, SegmentValue::CenterOf(row(i))),
                ("sans-serif", 13).into_font(),
            )
        }))?;
        Ok(())
    })
}

/// Horizontal bars grouped by label: one bar per group in each label's row (e.g. the
/// speedup of each chapter on each workload), with a reference line at `reference`.
pub fn grouped_bars(
    title: &str,
    axis: &str,
    labels: &[String],
    groups: &[BarGroup],
    reference: Option<f64>,
) -> Result<String, ChartError> {
    let rows = labels.len().max(1);
    let x_max = groups
        .iter()
        .flat_map(|g| g.values.iter().flatten())
        .copied()
        .fold(reference.unwrap_or(0.0), f64::max)
        .max(1e-9)
        * 1.2;
    let per_row = 14 * groups.len().max(1) as u32 + 16;
    let height = 120 + per_row * rows as u32;
    svg(title, (WIDTH, height), |root| {
        let mut chart = row_chart(root, title, axis, x_max, labels)?;
        let row_px = chart.plotting_area().dim_in_pixel().1 / rows as u32;
        let band = (row_px.saturating_sub(12) / groups.len().max(1) as u32).max(1);
        for (g, group) in groups.iter().enumerate() {
            let colour = series_colour(g);
            let top = 6 + band * g as u32;
            let bottom = row_px.saturating_sub(top + band);
            chart
                .draw_series(group.values.iter().enumerate().filter_map(|(i, value)| {
                    let row = rows - 1 - i;
                    let mut rect = Rectangle::new(
                        [
                            (0.0, SegmentValue::Exact(row)),
                            ((*value)?, SegmentValue::Exact(row + 1)),
                        ],
                        colour.filled(),
                    );
                    rect.set_margin(top, bottom, 0, 0);
                    Some(rect)
                }))?
                .label(group.name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
                });
        }
        if let Some(at) = reference {
            chart.draw_series(std::iter::once(PathElement::new(
                [
                    (at, SegmentValue::Exact(0)),
                    (at, SegmentValue::Exact(rows)),
                ],
                BLACK.stroke_width(1),
            )))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })
}

/// Lines with points on a logarithmic x axis (worker counts), y from zero.
pub fn lines(
    title: &str,
    x_axis: &str,
    y_axis: &str,
    lines: &[Line],
) -> Result<String, ChartError> {
    let points = lines.iter().flat_map(|l| l.points.iter());
    let x_max = points.clone().map(|p| p.0).fold(1.0, f64::max) * 1.3;
    let y_max = points.map(|p| p.1).fold(0.0, f64::max).max(1e-9) * 1.15;
    svg(title, (WIDTH, 480), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((0.8..x_max).log_scale(), 0.0..y_max)?;
        chart
            .configure_mesh()
            .x_desc(x_axis)
            .y_desc(y_axis)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()?;
        for (i, line) in lines.iter().enumerate() {
            let colour = series_colour(i);
            chart
                .draw_series(LineSeries::new(line.points.clone(), colour.stroke_width(2)))?
                .label(line.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2))
                });
            chart.draw_series(
                line.points
                    .iter()
                    .map(|&p| Circle::new(p, 4, colour.filled())),
            )?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })
}

/// A run's timeline: one lane per worker, one rectangle per span coloured by its phase,
/// on a time axis from 0 to `x_max_s` seconds (give every chapter the same, so that their
/// timelines compare at a glance).
pub fn timeline(title: &str, trace: &Trace, x_max_s: f64) -> Result<String, ChartError> {
    let workers = lanes(trace);
    let rows = workers.len().max(1);
    let lane_px = if rows > 24 { 12 } else { 20 };
    let height = 130 + lane_px * rows as u32;
    let x_max = x_max_s.max(1e-6);
    let seconds = |us: u64| us.saturating_sub(trace.start_us) as f64 / 1e6;
    svg(title, (WIDTH, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(120)
            .build_cartesian_2d(0.0..x_max, (0..rows).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(rows)
            .y_label_formatter(&|v| category(&workers, v))
            .y_label_style(("sans-serif", if rows > 24 { 9 } else { 12 }))
            .x_desc("seconds since the batch started")
            .draw()?;
        let lane_of = |worker: &str| {
            let i = workers.iter().position(|w| w == worker).unwrap_or(0);
            rows - 1 - i
        };
        for phase in Phase::ALL {
            let colour = phase_colour(phase);
            chart
                .draw_series(trace.spans.iter().filter(|s| s.phase == phase).map(|span| {
                    let lane = lane_of(&span.worker);
                    let mut rect = Rectangle::new(
                        [
                            (seconds(span.start_us), SegmentValue::Exact(lane)),
                            (seconds(span.end_us), SegmentValue::Exact(lane + 1)),
                        ],
                        colour.filled(),
                    );
                    rect.set_margin(1, 1, 0, 0);
                    rect
                }))?
                .label(phase.name())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        Ok(())
    })
}

/// The workers of a trace in lane order: `main` first, then by name with numbers in
/// numeric order (`resize-2` before `resize-10`).
pub fn lanes(trace: &Trace) -> Vec<String> {
    let mut workers: Vec<String> = trace.spans.iter().map(|s| s.worker.clone()).collect();
    workers.sort_by_key(|w| lane_key(w));
    workers.dedup();
    workers
}

fn lane_key(worker: &str) -> (bool, String, u64, String) {
    let digits_at = worker
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    let (stem, number) = worker.split_at(digits_at);
    (
        worker != "main",
        stem.to_string(),
        number.parse().unwrap_or(0),
        worker.to_string(),
    )
}

/// A number with three significant digits, for labels.
fn short(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Span;

    #[test]
    fn lanes_put_main_first_and_numbers_in_order() {
        let span = |worker: &str| Span {
            worker: worker.into(),
            image: "a".into(),
            phase: Phase::Resize,
            start_us: 0,
            end_us: 1,
        };
        let trace = Trace {
            chapter: "t".into(),
            start_us: 0,
            end_us: 1,
            spans: ["resize-10", "resize-2", "main", "download-01", "resize-2"]
                .map(span)
                .to_vec(),
        };
        assert_eq!(
            lanes(&trace),
            ["main", "download-01", "resize-2", "resize-10"]
        );
        let drawn = timeline("t", &trace, 1.0).unwrap();
        assert!(drawn.starts_with("<svg") && drawn.trim_end().ends_with("</svg>"));
    }
}
