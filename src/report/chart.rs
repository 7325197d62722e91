//! The report's charts, drawn with plotters into SVG text.
//!
//! SVG keeps text as text (`<text font-family="sans-serif">`): the viewer picks the font,
//! so drawing needs no font file and works on a machine with none installed.
//!
//! Every function returns the SVG document as a `String`; the report writes it to a file.
//! Titles are plain words: a chart is not Markdown, and backticks would show as such.

use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::{RangedCoordf64, RangedCoordusize};
use plotters::prelude::*;

/// The text sizes as plotters takes them. Its SVG writes a size of `n` as about
/// `n / 1.24` pixels, so 15 gives 12 px: no text below 11 px at the charts' own size.
const TITLE_FONT: u32 = 22;
const LABEL_FONT: u32 = 15;

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

/// The row axis of a chart with `rows` labels: segments `0..=rows - 1`, one per label.
/// (A `0..rows` range would hold `rows + 1` values, and the top row would stay empty.)
fn row_axis(rows: usize) -> SegmentedCoord<RangedCoordusize> {
    (0..rows.max(1) - 1).into_segmented()
}

/// A chart with one row per label (top to bottom) and values from 0 to `x_max` across.
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
        .caption(title, ("sans-serif", TITLE_FONT))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(LABEL_AREA)
        .build_cartesian_2d(0.0..x_max, row_axis(rows))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows)
        .y_label_formatter(&|v| category(labels, v))
        .label_style(("sans-serif", LABEL_FONT))
        .axis_desc_style(("sans-serif", LABEL_FONT))
        .x_desc(axis)
        .draw()?;
    Ok(chart)
}

/// Horizontal bars of seconds, one per label, top to bottom in the given order, each
/// with its interval as a whisker and its value written beside it, on a logarithmic
/// axis: a 10 s run and a 0.4 s run both get a bar that reads. A `baseline` value (the
/// sequential chapter's) is drawn as a dashed line across every row; a `floor` (the
/// least any bar could be, see [`floor`](super::floor)) as a red line, named at its top.
pub fn bars(
    title: &str,
    axis: &str,
    unit: &str,
    bars: &[Bar],
    baseline: Option<f64>,
    floor: Option<f64>,
) -> Result<String, ChartError> {
    let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    let rows = bars.len().max(1);
    let reach = |b: &Bar| b.interval.map_or(b.value, |(_, high)| high.max(b.value));
    let low = |b: &Bar| b.interval.map_or(b.value, |(low, _)| low.min(b.value));
    let x_min = bars
        .iter()
        .map(low)
        .chain(floor)
        .fold(f64::INFINITY, f64::min);
    let x_min = if x_min.is_finite() && x_min > 0.0 {
        x_min / 2.0
    } else {
        1e-3
    };
    // Room on the right for the value written after the longest bar.
    let x_max = bars.iter().map(reach).fold(x_min * 2.0, f64::max) * 2.5;
    let height = 120 + 36 * rows as u32;
    svg(title, (WIDTH, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", TITLE_FONT))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(LABEL_AREA)
            .build_cartesian_2d((x_min..x_max).log_scale(), row_axis(rows))?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(rows)
            .y_label_formatter(&|v| category(&labels, v))
            .x_labels(12)
            .x_label_formatter(&|x| short(*x))
            // A log axis's minor lines are many: only the labelled ones are drawn.
            .light_line_style(TRANSPARENT)
            .label_style(("sans-serif", LABEL_FONT))
            .axis_desc_style(("sans-serif", LABEL_FONT))
            .x_desc(format!("{axis} (logarithmic scale)"))
            .draw()?;
        let row = |i: usize| rows - 1 - i;
        chart.draw_series(bars.iter().enumerate().map(|(i, bar)| {
            let mut rect = Rectangle::new(
                [
                    (x_min, SegmentValue::Exact(row(i))),
                    (bar.value.max(x_min), SegmentValue::Exact(row(i) + 1)),
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
                    (low.max(x_min), SegmentValue::CenterOf(row(i))),
                    (high.max(x_min), SegmentValue::CenterOf(row(i))),
                ],
                BLACK.stroke_width(2),
            ))
        }))?;
        chart.draw_series(bars.iter().enumerate().map(|(i, bar)| {
            Text::new(
                format!("  {}{unit}", short(bar.value)),
                (reach(bar), SegmentValue::CenterOf(row(i))),
                ("sans-serif", LABEL_FONT).into_font(),
            )
        }))?;
        if let Some(at) = baseline {
            chart.draw_series(DashedLineSeries::new(
                [
                    (at, SegmentValue::Exact(0)),
                    (at, SegmentValue::Exact(rows)),
                ],
                6,
                4,
                BLACK.stroke_width(1),
            ))?;
        }
        if let Some(at) = floor {
            chart.draw_series(std::iter::once(PathElement::new(
                [
                    (at, SegmentValue::Exact(0)),
                    (at, SegmentValue::Exact(rows)),
                ],
                FLOOR_COLOUR.stroke_width(2),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                format!(" floor {}{unit}", short(at)),
                (at, SegmentValue::Exact(rows)),
                ("sans-serif", LABEL_FONT).into_font().color(&FLOOR_COLOUR),
            )))?;
        }
        Ok(())
    })
}

/// The floor's colour: red, which no series of [`PALETTE`] uses at full strength.
const FLOOR_COLOUR: RGBColor = RGBColor(200, 30, 30);

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
                .legend(square(colour));
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
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    })
}

/// Draws the legend of `chart`'s series in a box at `position`.
fn legend<'a, 'b: 'a, Coords: CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, Coords>,
    position: SeriesLabelPosition,
) -> Result<(), Box<dyn std::error::Error>> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(("sans-serif", LABEL_FONT))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// A bar series' mark in the legend: a square of its colour.
fn square(colour: RGBColor) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> {
    move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
}

/// Horizontal bars made of pieces, one bar per label (top to bottom): each group is one
/// piece, drawn after the pieces before it in its own colour, with the bar's total
/// written after it. A linear axis, so that each piece's length is its share.
pub fn stacked_bars(
    title: &str,
    axis: &str,
    unit: &str,
    labels: &[String],
    pieces: &[BarGroup],
) -> Result<String, ChartError> {
    let rows = labels.len().max(1);
    let total = |i: usize| -> f64 {
        pieces
            .iter()
            .filter_map(|p| p.values.get(i).copied().flatten())
            .sum()
    };
    // Room on the right for the total written after the longest bar.
    let x_max = (0..labels.len()).map(total).fold(1e-9, f64::max) * 1.25;
    let height = 150 + 36 * rows as u32;
    svg(title, (WIDTH, height), |root| {
        let mut chart = row_chart(root, title, axis, x_max, labels)?;
        let row = |i: usize| rows - 1 - i;
        let mut start = vec![0.0; labels.len()];
        for (p, piece) in pieces.iter().enumerate() {
            let colour = series_colour(p);
            let mut bars = Vec::new();
            for (i, value) in piece.values.iter().enumerate() {
                let (Some(value), Some(from)) = (value, start.get_mut(i)) else {
                    continue;
                };
                let mut rect = Rectangle::new(
                    [
                        (*from, SegmentValue::Exact(row(i))),
                        (*from + value, SegmentValue::Exact(row(i) + 1)),
                    ],
                    colour.filled(),
                );
                rect.set_margin(6, 6, 0, 0);
                bars.push(rect);
                *from += value;
            }
            chart
                .draw_series(bars)?
                .label(piece.name.clone())
                .legend(square(colour));
        }
        chart.draw_series((0..labels.len()).map(|i| {
            Text::new(
                format!("  {}{unit}", short(total(i))),
                (total(i), SegmentValue::CenterOf(row(i))),
                ("sans-serif", LABEL_FONT).into_font(),
            )
        }))?;
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

/// Lines with markers on logarithmic axes (worker counts across, seconds up): each line
/// has its own colour, marker and dash, so lines lying on top of each other stay apart.
pub fn lines(
    title: &str,
    x_axis: &str,
    y_axis: &str,
    lines: &[Line],
) -> Result<String, ChartError> {
    let points = lines.iter().flat_map(|l| l.points.iter());
    let x_max = points.clone().map(|p| p.0).fold(1.0, f64::max) * 1.3;
    let y_min = points.clone().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let y_min = if y_min.is_finite() && y_min > 0.0 {
        y_min / 1.5
    } else {
        1e-3
    };
    let y_max = points.map(|p| p.1).fold(y_min * 2.0, f64::max) * 1.5;
    svg(title, (WIDTH, 520), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", TITLE_FONT))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d((0.8..x_max).log_scale(), (y_min..y_max).log_scale())?;
        chart
            .configure_mesh()
            .x_desc(x_axis)
            .y_desc(format!("{y_axis} (logarithmic scale)"))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_labels(12)
            .y_label_formatter(&|y| short(*y))
            .light_line_style(TRANSPARENT)
            .label_style(("sans-serif", LABEL_FONT))
            .axis_desc_style(("sans-serif", LABEL_FONT))
            .draw()?;
        for (i, line) in lines.iter().enumerate() {
            let colour = series_colour(i);
            let style = colour.stroke_width(2);
            let points = line.points.clone();
            // Each line has a second and a third name besides its colour: its dash
            // (solid, then longer and longer dashes) and its marker.
            let kind = i % 4;
            if kind == 0 {
                chart.draw_series(LineSeries::new(points.clone(), style))?;
            } else {
                let dash = 2 + 4 * kind as u32;
                chart.draw_series(DashedLineSeries::new(points.clone(), dash, 4, style))?;
            }
            let name = line.name.clone();
            // A legend entry: a stretch of the line with its marker on it, drawn
            // relative to the entry's position.
            let line_in_legend = move |at: (i32, i32)| {
                EmptyElement::at(at) + PathElement::new([(0, 0), (22, 0)], style)
            };
            match kind {
                0 => chart
                    .draw_series(points.iter().map(|&p| Circle::new(p, 5, colour.filled())))?
                    .label(name)
                    .legend(move |at| {
                        line_in_legend(at) + Circle::new((11, 0), 5, colour.filled())
                    }),
                1 => chart
                    .draw_series(
                        points
                            .iter()
                            .map(|&p| TriangleMarker::new(p, 6, colour.filled())),
                    )?
                    .label(name)
                    .legend(move |at| {
                        line_in_legend(at) + TriangleMarker::new((11, 0), 6, colour.filled())
                    }),
                2 => chart
                    .draw_series(points.iter().map(|&p| {
                        EmptyElement::at(p) + Rectangle::new([(-5, -5), (5, 5)], colour.filled())
                    }))?
                    .label(name)
                    .legend(move |at| {
                        line_in_legend(at) + Rectangle::new([(6, -5), (16, 5)], colour.filled())
                    }),
                _ => chart
                    .draw_series(points.iter().map(|&p| Cross::new(p, 5, style)))?
                    .label(name)
                    .legend(move |at| line_in_legend(at) + Cross::new((11, 0), 5, style)),
            };
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
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

    /// The vertical extent of the longest vertical axis line (the plot's height), and the
    /// vertical extents of the bars of the first series colour.
    fn plot_and_bars(svg: &str) -> ((f64, f64), Vec<(f64, f64)>) {
        let document = roxmltree::Document::parse(svg).unwrap();
        let number = |node: roxmltree::Node, name: &str| -> f64 {
            node.attribute(name).unwrap().parse().unwrap()
        };
        let mut plot = (0.0, 0.0);
        for line in document
            .descendants()
            .filter(|n| n.has_tag_name("polyline"))
        {
            let points: Vec<(f64, f64)> = line
                .attribute("points")
                .unwrap()
                .split_whitespace()
                .filter_map(|p| p.split_once(','))
                .map(|(x, y)| (x.parse().unwrap(), y.parse().unwrap()))
                .collect();
            if let [(x1, y1), (x2, y2)] = points[..]
                && x1 == x2
                && (y2 - y1) > plot.1 - plot.0
            {
                plot = (y1, y2);
            }
        }
        let bars = document
            .descendants()
            .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some("#4C78A8"))
            .map(|n| (number(n, "y"), number(n, "y") + number(n, "height")))
            .collect();
        (plot, bars)
    }

    #[test]
    fn bars_fill_every_row_with_no_empty_row_above() {
        let bar = |label: &str, value: f64| Bar {
            label: label.into(),
            value,
            interval: Some((value * 0.9, value * 1.1)),
        };
        let svg = bars(
            "t",
            "seconds",
            " s",
            &[bar("a", 10.6), bar("b", 0.41)],
            Some(10.6),
            None,
        )
        .unwrap();
        let ((top, bottom), drawn) = plot_and_bars(&svg);
        assert_eq!(drawn.len(), 2, "{svg}");
        let row = (bottom - top) / 2.0;
        // Each bar sits in its own half of the plot: the first at the top, the last at
        // the bottom (a third, empty row would push both down by a third).
        assert!(
            drawn[0].0 - top < row * 0.25,
            "{drawn:?} in {top}..{bottom}"
        );
        assert!(
            bottom - drawn[1].1 < row * 0.25,
            "{drawn:?} in {top}..{bottom}"
        );
    }

    #[test]
    fn a_floor_is_a_named_red_line_left_of_every_bar() {
        let bar = |label: &str, value: f64| Bar {
            label: label.into(),
            value,
            interval: None,
        };
        let drawn = |floor| {
            bars(
                "t",
                "seconds",
                " s",
                &[bar("a", 2.0), bar("b", 0.5)],
                None,
                floor,
            )
        };
        let without = drawn(None).unwrap();
        let with = drawn(Some(0.25)).unwrap();
        assert!(!without.contains("floor"), "{without}");
        assert!(with.contains("floor 0.25 s"), "{with}");
        let document = roxmltree::Document::parse(&with).unwrap();
        let red = document
            .descendants()
            .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") == Some("#C81E1E"))
            .count();
        assert_eq!(red, 1, "{with}");
    }
}
