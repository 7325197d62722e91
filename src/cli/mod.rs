//! The flags every chapter shares, the workloads, and the driver that runs a chapter:
//! parse the flags, prepare the source and the output, hand the [`Job`] to the chapter,
//! then print the summary and write the trace.
//!
//! A chapter's `main` is one call:
//!
//! ```no_run
//! # use workbench::{cli, contract::Outcome, job::Job};
//! fn main() -> std::process::ExitCode {
//!     cli::run("ch00-sequential", |job: &Job, _: &cli::NoFlags| {
//!         job.images().iter().map(|image| job.process(image)).collect::<Vec<Outcome>>()
//!     })
//! }
//! ```

pub mod flags;
pub mod python;
mod setup;
pub mod shutdown;
pub mod version;

pub use flags::{
    Common, NoFlags, StoreFlags, TraceFormat, parse, parse_bytes, parse_duration, parse_from,
};
pub use setup::{Setup, cache_root, corpus_folder, setup};

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::contract::{Failure, HttpConfig, Image, ImageError, Outcome, SetupError, Summary};
use crate::io::HttpClient;
use crate::job::{self, Job, JobSpec};
use crate::platform::peak_rss_mb;
use crate::trace::{Phase, Trace, now_us};

/// Runs a chapter: parses its flags, prepares the job, calls `schedule` with the job and
/// the chapter's flags, then reports. `schedule` is the chapter: it must return one
/// outcome per image of `job.images()`, in any order.
///
/// Exit code: 0 when every image succeeded, 1 when some failed, 2 when the run could not
/// start (a bad flag, an unreadable or empty source, an unwritable output), and 128 + the
/// signal's number when Ctrl-C (130) or SIGTERM (143) stopped it (see [`shutdown`]).
pub fn run<F: Args>(chapter: &str, schedule: impl FnOnce(&Job, &F) -> Vec<Outcome>) -> ExitCode {
    let (common, flags) = parse::<F>(chapter);
    run_with(chapter, &common, |job| schedule(job, &flags))
}

/// [`run`] with flags already parsed (for chapters that look at their arguments first).
pub fn run_with(
    chapter: &str,
    common: &Common,
    schedule: impl FnOnce(&Job) -> Vec<Outcome>,
) -> ExitCode {
    match drive(chapter, common, schedule) {
        Ok(summary) if summary.stopped_by.is_some() => {
            ExitCode::from(shutdown::exit_code().unwrap_or(130))
        }
        Ok(summary) if summary.failed.is_empty() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(error) => {
            eprintln!("{chapter}: {error}");
            ExitCode::from(2)
        }
    }
}

/// Prepares, runs and reports one chapter; the summary, or why the run could not start.
pub fn drive(
    chapter: &str,
    common: &Common,
    schedule: impl FnOnce(&Job) -> Vec<Outcome>,
) -> Result<Summary, SetupError> {
    // Before the first image: each image then reuses the memory the one before freed.
    crate::platform::keep_freed_memory();
    // Before anything connects: every HTTPS connection of the run trusts this file.
    if let Some(ca_file) = &common.ca_cert {
        crate::io::tls::trust_also(ca_file).map_err(SetupError::Other)?;
    }
    let setup = setup(chapter, common)?;
    let http = HttpConfig {
        timeout: common.timeout,
        max_bytes: common.max_bytes,
        retries: common.retries,
        deadline: common.deadline,
    };
    let client = HttpClient::new(&http);
    // Listing the source and checking the output do not depend on each other: against
    // a store they are a round trip each, so they are made at once, and the run waits
    // one latency before its first download instead of two.
    let (listed, prepared) = std::thread::scope(|s| {
        let check = std::thread::Builder::new()
            .name("output-check".into())
            .spawn_scoped(s, || setup.output.prepare(&client));
        let listed = setup.source.list(&client);
        let prepared = match check {
            Ok(check) => check
                .join()
                .unwrap_or_else(|_| Err(SetupError::Other("checking the output panicked".into()))),
            // The system gives no thread: check after the listing, on this one.
            Err(_) => setup.output.prepare(&client),
        };
        (listed, prepared)
    });
    let listed = listed?;
    prepared?;
    let (images, refused) = (listed.images, listed.refused);
    let spec = JobSpec {
        sizes: common.sizes.clone(),
        output: setup.output.clone(),
        http,
        max_pixels: common.max_pixels,
        max_decoded_bytes: common.max_decoded_mb << 20,
        format: common.format,
    };
    let progress = progress_bar(images.len() as u64, common.quiet || common.json);
    let job = Job::new(spec, images, progress.clone());
    job::set_quiet(common.quiet);

    // From here on Ctrl-C and SIGTERM stop the run instead of killing it: no new image
    // starts, and the summary below is still printed.
    shutdown::listen(job.stop_flag().clone());
    let start_us = now_us();
    let outcomes = schedule(&job);
    let end_us = now_us();
    progress.finish_and_clear();

    let trace = Trace {
        chapter: chapter.to_string(),
        start_us,
        end_us,
        spans: job.tracer().spans(),
    };
    if let Some(path) = &common.trace {
        let written = match common.trace_format {
            TraceFormat::Workbench => trace.write(path),
            TraceFormat::Chrome => trace.write_chrome(path),
        };
        written.map_err(|e| {
            SetupError::Other(format!("cannot write the trace {}: {e}", path.display()))
        })?;
    }
    let outcomes = account_for_every_image(job.images(), refused, outcomes);
    let mut summary = summarise(chapter, &outcomes, &trace);
    summary.peak_rss_mb += job.workers_peak_rss_mb();
    summary.skipped = listed.skipped;
    summary.notes = job.notes();
    summary.stopped_by = shutdown::received().map(String::from);
    if common.json {
        println!("{}", serde_json::to_string(&summary).unwrap_or_default());
    } else {
        print!("{summary}");
        if !common.quiet {
            println!("  thumbnails in {}", setup.output);
        }
    }
    Ok(summary)
}

/// Puts the outcomes in input order, with the refused entries first, and marks every
/// image the chapter never reported as lost, so that a buggy chapter cannot hide an image.
fn account_for_every_image(
    images: &[Image],
    refused: Vec<Outcome>,
    outcomes: Vec<Outcome>,
) -> Vec<Outcome> {
    let mut by_stem: HashMap<String, Outcome> = outcomes
        .into_iter()
        .map(|o| (o.image.stem.clone(), o))
        .collect();
    let mut all = refused;
    for image in images {
        all.push(by_stem.remove(&image.stem).unwrap_or_else(|| Outcome {
            image: image.clone(),
            result: Err(ImageError::Lost),
        }));
    }
    all
}

/// The summary of a run from its outcomes and its trace.
pub fn summarise(chapter: &str, outcomes: &[Outcome], trace: &Trace) -> Summary {
    let figures = trace.figures();
    let failed = outcomes
        .iter()
        .filter_map(|o| match &o.result {
            Err(error) => Some(Failure {
                source: o.image.source.clone(),
                error: error.to_string(),
            }),
            Ok(_) => None,
        })
        .collect();
    Summary {
        chapter: chapter.to_string(),
        images: outcomes.len(),
        thumbnails: outcomes
            .iter()
            .filter_map(|o| o.result.as_ref().ok())
            .map(Vec::len)
            .sum(),
        failed,
        wall_s: figures.wall_s,
        download_s: figures.download_s,
        resize_s: figures.resize_s,
        upload_s: figures.upload_s,
        overlap: figures.overlap,
        peak_rss_mb: peak_rss_mb(),
        skipped: Vec::new(),
        retries: trace
            .spans
            .iter()
            .filter(|span| span.phase == Phase::RetryWait)
            .count(),
        cancelled: outcomes
            .iter()
            .filter(|o| o.result == Err(ImageError::Cancelled))
            .count(),
        stopped_by: None,
        notes: Vec::new(),
    }
}

/// A progress bar on the terminal (stderr), or a hidden one when piped or quiet.
fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} images  {elapsed}") {
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Location;

    #[test]
    fn every_image_gets_exactly_one_outcome() {
        let image = |stem: &str| Image {
            location: Location::Url(format!("http://h/{stem}.jpg")),
            source: format!("http://h/{stem}.jpg"),
            stem: stem.into(),
            size: None,
        };
        let images = [image("a"), image("b")];
        let reported = vec![Outcome {
            image: image("b"),
            result: Ok(vec!["b_32.jpg".into()]),
        }];
        let all = account_for_every_image(&images, vec![], reported);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].result, Err(ImageError::Lost));
        assert!(all[1].result.is_ok());
    }
}
