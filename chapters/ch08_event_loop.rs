//! # Chapter 8: placeholder
//! **The idea.** **Python counterpart.** **Run it.** **What to look for.**
fn main() -> std::process::ExitCode {
    workbench::cli::run("ch08-event-loop", |job, _: &workbench::cli::NoFlags| {
        job.images()
            .iter()
            .map(|image| job.process(image))
            .collect()
    })
}
