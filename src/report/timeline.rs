//! A run drawn as a timeline: one lane per worker, one bar per span, coloured by phase.
//!
//! Written as SVG by hand rather than with plotters, for two reasons a reader can use:
//! every bar carries a `<title>` (hover it in a browser to see the image, the phase and
//! how long it took), and every bar is a `<rect class="span PHASE">`, so a stylesheet or
//! a test can find the spans of one phase without guessing colours.
//!
//! One trace gets its own time axis, from the batch's start to its end, so even a
//! 0.4 s run fills the width. Several traces are drawn one under another on one shared
//! axis, where comparing their lengths is the point.

use std::fmt::Write as _;

use crate::trace::{Phase, Trace, lanes, worker_kind};

use super::html::escape;

/// The SVG's width in pixels.
const WIDTH: f64 = 960.0;
/// The column of worker names, left of the lanes.
const LABEL_COLUMN: f64 = 170.0;
/// Space right of the lanes.
const RIGHT_MARGIN: f64 = 20.0;
/// Title and legend above a panel's lanes.
const HEADER: f64 = 62.0;
/// The time axis below a panel's lanes (tick labels and the axis's name).
const FOOTER: f64 = 46.0;
/// The smallest text drawn, in pixels: legible at the default size.
const SMALL_TEXT: u32 = 12;

/// The colour of a phase, as CSS.
pub fn phase_colour(phase: Phase) -> &'static str {
    match phase {
        Phase::Download => "#4c78a8",
        Phase::Resize => "#f58518",
        Phase::Upload => "#54a24b",
        Phase::QueueWait => "#bebebe",
        Phase::Starting => "#b279a2",
        Phase::Unjoined => "#4d4d4d",
        Phase::RetryWait => "#e45756",
    }
}

/// The lane height for a run with `lanes` workers: ch01 starts one thread per image
/// (48 lanes), so lanes get thinner when there are many, but never below the text.
fn lane_height(lanes: usize) -> f64 {
    if lanes > 32 { 15.0 } else { 20.0 }
}

/// The time axis every panel of one drawing shares.
#[derive(Debug, Clone, Copy)]
struct Axis {
    /// Seconds at the right end of the lanes.
    seconds: f64,
}

impl Axis {
    fn plot_width() -> f64 {
        WIDTH - LABEL_COLUMN - RIGHT_MARGIN
    }

    /// The x coordinate of `seconds` since the batch started.
    fn x(&self, seconds: f64) -> f64 {
        LABEL_COLUMN + seconds / self.seconds * Self::plot_width()
    }

    /// Tick positions: a round step (1, 2 or 5 times a power of ten) giving at most ten.
    fn ticks(&self) -> Vec<f64> {
        let rough = self.seconds / 10.0;
        let power = 10f64.powf(rough.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * power)
            .find(|step| self.seconds / step <= 10.0)
            .unwrap_or(power * 10.0);
        (0..)
            .map(|i| i as f64 * step)
            .take_while(|t| *t <= self.seconds * 1.0001)
            .collect()
    }
}

/// The seconds a trace covers: its batch, or longer if a span ran past the batch's end.
fn length_s(trace: &Trace) -> f64 {
    let last_end = trace.spans.iter().map(|s| s.end_us).max().unwrap_or(0);
    last_end.max(trace.end_us).saturating_sub(trace.start_us) as f64 / 1e6
}

/// The title of a trace's panel: the chapter and the figures of its run.
pub fn title(trace: &Trace) -> String {
    let figures = trace.figures();
    let mut images: Vec<&str> = trace.spans.iter().map(|s| s.image.as_str()).collect();
    images.sort_unstable();
    images.dedup();
    format!(
        "{}: {} images in {:.2} s, overlap {:.1} (download {:.2} s, resize {:.2} s, upload {:.2} s)",
        trace.chapter,
        images.len(),
        figures.wall_s,
        figures.overlap,
        figures.download_s,
        figures.resize_s,
        figures.upload_s
    )
}

/// Draws `traces` as one SVG document: one panel each, one under another, on one time
/// axis as long as the longest run. With one trace, the axis is that run's own.
pub fn draw(traces: &[&Trace]) -> String {
    let axis = Axis {
        seconds: traces
            .iter()
            .map(|t| length_s(t))
            .fold(0.0, f64::max)
            .max(1e-6),
    };
    let heights: Vec<f64> = traces.iter().map(|t| panel_height(t)).collect();
    let total: f64 = heights.iter().sum::<f64>().max(1.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{total}\" \
         viewBox=\"0 0 {WIDTH} {total}\" font-family=\"sans-serif\" font-size=\"{SMALL_TEXT}\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let mut top = 0.0;
    for (trace, height) in traces.iter().zip(&heights) {
        panel(&mut svg, trace, axis, top);
        top += height;
    }
    svg.push_str("</svg>\n");
    svg
}

fn panel_height(trace: &Trace) -> f64 {
    let rows = lanes(trace).len().max(1);
    HEADER + rows as f64 * lane_height(rows) + FOOTER
}

/// One trace's panel, its top at `top`: title, legend, lanes, axis.
fn panel(svg: &mut String, trace: &Trace, axis: Axis, top: f64) {
    let workers = lanes(trace);
    let lane = lane_height(workers.len().max(1));
    let lanes_top = top + HEADER;
    let lanes_bottom = lanes_top + lane * workers.len().max(1) as f64;
    let _ = writeln!(
        svg,
        "<text x=\"10\" y=\"{}\" font-size=\"15\" font-weight=\"bold\">{}</text>",
        top + 22.0,
        escape(&title(trace))
    );
    legend(svg, trace, top + 44.0);
    let _ = writeln!(
        svg,
        "<g class=\"plot\" data-x0=\"{LABEL_COLUMN}\" data-width=\"{}\" data-seconds=\"{}\">",
        Axis::plot_width(),
        axis.seconds
    );
    grid(svg, axis, lanes_top, lanes_bottom);
    lane_labels(svg, &workers, lanes_top, lane);
    spans(svg, trace, &workers, axis, lanes_top, lane);
    svg.push_str("</g>\n");
    time_axis(svg, axis, lanes_bottom);
}

/// The legend: one box per phase, in a row above the lanes, so it covers no bar. A
/// thread's birth and death are listed only when the run recorded them.
fn legend(svg: &mut String, trace: &Trace, y: f64) {
    let mut x = LABEL_COLUMN;
    let shown = Phase::ALL
        .into_iter()
        .filter(|&phase| phase.is_step() || trace.spans.iter().any(|s| s.phase == phase));
    for phase in shown {
        let _ = writeln!(
            svg,
            "<rect x=\"{x}\" y=\"{}\" width=\"14\" height=\"14\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\">{}</text>",
            y - 11.0,
            phase_colour(phase),
            x + 19.0,
            y,
            phase.name()
        );
        x += 120.0;
    }
}

/// Worker names down the left, with a rule between kinds of worker (downloaders,
/// resizers, uploaders, worker processes) so that each group reads as one.
fn lane_labels(svg: &mut String, workers: &[String], lanes_top: f64, lane: f64) {
    for (i, worker) in workers.iter().enumerate() {
        let y = lanes_top + i as f64 * lane;
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LABEL_COLUMN - 8.0,
            y + lane / 2.0 + 4.0,
            escape(worker)
        );
        let new_kind = i > 0 && worker_kind(&workers[i - 1]) != worker_kind(worker);
        if new_kind {
            let _ = writeln!(
                svg,
                "<line x1=\"10\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#888\" stroke-dasharray=\"3 3\"/>",
                WIDTH - RIGHT_MARGIN
            );
        }
    }
}

/// One bar per span, with a tooltip naming the image, the phase and the time.
fn spans(
    svg: &mut String,
    trace: &Trace,
    workers: &[String],
    axis: Axis,
    lanes_top: f64,
    lane: f64,
) {
    let seconds = |us: u64| us.saturating_sub(trace.start_us) as f64 / 1e6;
    for span in &trace.spans {
        let row = workers.iter().position(|w| *w == span.worker).unwrap_or(0);
        let x = axis.x(seconds(span.start_us));
        // A span shorter than a pixel still shows as a hairline.
        let width = (axis.x(seconds(span.end_us)) - x).max(0.5);
        let _ = writeln!(
            svg,
            "<rect class=\"span {phase}\" x=\"{x:.2}\" y=\"{:.1}\" width=\"{width:.2}\" \
             height=\"{:.1}\" fill=\"{}\"><title>{} {phase} {:.3} s on {}</title></rect>",
            lanes_top + row as f64 * lane + 1.0,
            lane - 2.0,
            phase_colour(span.phase),
            escape(&span.image),
            span.seconds(),
            escape(&span.worker),
            phase = span.phase.name(),
        );
    }
}

/// A faint vertical line at every tick, drawn first so that the bars cover it.
fn grid(svg: &mut String, axis: Axis, lanes_top: f64, lanes_bottom: f64) {
    for tick in axis.ticks() {
        let x = axis.x(tick);
        let _ = writeln!(
            svg,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{lanes_top}\" y2=\"{}\" stroke=\"#ddd\"/>",
            lanes_bottom + 5.0
        );
    }
}

/// The axis under the lanes: a line, the ticks' seconds, and its name.
fn time_axis(svg: &mut String, axis: Axis, lanes_bottom: f64) {
    let _ = writeln!(
        svg,
        "<line x1=\"{LABEL_COLUMN}\" x2=\"{}\" y1=\"{lanes_bottom}\" y2=\"{lanes_bottom}\" stroke=\"black\"/>",
        WIDTH - RIGHT_MARGIN
    );
    for tick in axis.ticks() {
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            axis.x(tick),
            lanes_bottom + 18.0,
            tick_label(tick)
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">seconds since the batch started</text>",
        LABEL_COLUMN + Axis::plot_width() / 2.0,
        lanes_bottom + 36.0
    );
}

/// A tick's seconds with no more digits than its step needs.
fn tick_label(seconds: f64) -> String {
    let text = format!("{seconds:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Span;

    fn trace(chapter: &str, end_us: u64) -> Trace {
        let span = |worker: &str, phase, start_us, end_us| Span {
            worker: worker.into(),
            image: "img<1>".into(),
            phase,
            start_us,
            end_us,
        };
        Trace {
            chapter: chapter.into(),
            start_us: 0,
            end_us,
            spans: vec![
                span("download-1", Phase::Download, 0, end_us / 2),
                span("resize-1", Phase::Resize, end_us / 2, end_us),
            ],
        }
    }

    #[test]
    fn one_trace_fills_the_width_and_two_share_an_axis() {
        let short = trace("short", 400_000);
        let long = trace("long", 4_000_000);
        let alone = draw(&[&short]);
        roxmltree::Document::parse(&alone).unwrap();
        // Alone, the short run's resize starts halfway across and takes the other half.
        let halfway = format!("x=\"{:.2}\"", LABEL_COLUMN + Axis::plot_width() / 2.0);
        let half = format!("width=\"{:.2}\"", Axis::plot_width() / 2.0);
        assert!(alone.contains(&halfway) && alone.contains(&half), "{alone}");
        // Beside a run ten times longer, it fills a tenth of the shared axis.
        let together = draw(&[&short, &long]);
        let tenth = format!(
            "width=\"{:.2}\"",
            Axis::plot_width() / 20.0 // half of the short run
        );
        assert!(together.contains(&tenth), "{together}");
        assert!(together.contains("&lt;1&gt;"), "image names are escaped");
    }

    #[test]
    fn ticks_are_round_and_cover_the_run() {
        let axis = Axis { seconds: 0.41 };
        let ticks = axis.ticks();
        assert_eq!(ticks.len(), 9);
        assert_eq!(tick_label(ticks[1]), "0.05");
        let axis = Axis { seconds: 10.6 };
        assert_eq!(axis.ticks().last().copied(), Some(10.0));
    }
}
