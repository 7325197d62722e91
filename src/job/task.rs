//! A share of the batch as plain data: which images to thumbnail in, what became of them
//! and a few counts out. A task knows nothing of threads or processes: it needs only a
//! [`Job`] to run on. Chapter 3 runs tasks in threads; the process-pool chapter sends the
//! same kind of plain data (the [`JobSpec`] once, then one image per task) down a pipe
//! to worker processes, which rebuild their `Job` from the spec.
//!
//! [`JobSpec`]: super::JobSpec

use serde::{Deserialize, Serialize};

use super::Job;
use crate::contract::{Image, Outcome};

// ANCHOR: task
/// Plain data in: the images this task is responsible for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThumbnailTask {
    /// The task's share of the batch.
    pub images: Vec<Image>,
}

/// Plain data out: every image's outcome, and the task's own counts of its work.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskReport {
    /// One outcome per image of the task, in the task's order.
    pub outcomes: Vec<Outcome>,
    /// Images whose thumbnails were all stored.
    pub succeeded: usize,
    /// Images that failed.
    pub failed: usize,
    /// Thumbnails stored.
    pub thumbnails: usize,
    /// Bytes downloaded.
    pub bytes_downloaded: u64,
}

impl ThumbnailTask {
    /// Splits `images` into `count` tasks, dealing them out like cards (image 0 to task 0,
    /// image 1 to task 1, ...), so that each task gets a fair share. Never fewer than one
    /// task; a task may be empty when there are more tasks than images.
    pub fn deal(images: &[Image], count: usize) -> Vec<ThumbnailTask> {
        let mut tasks = vec![ThumbnailTask { images: Vec::new() }; count.max(1)];
        let slots = tasks.len();
        for (number, image) in images.iter().enumerate() {
            tasks[number % slots].images.push(image.clone());
        }
        tasks
    }

    /// Thumbnails every image of the task, one after the other, on `job`.
    pub fn run(&self, job: &Job) -> TaskReport {
        let mut report = TaskReport::default();
        for image in &self.images {
            let result = job.download(image).and_then(|bytes| {
                report.bytes_downloaded += bytes.len() as u64;
                let thumbs = job.thumbnail(image, &bytes)?;
                job.upload(image, &thumbs)
            });
            report.count(job.finish(image, result));
        }
        report
    }
}
// ANCHOR_END: task

impl TaskReport {
    /// Adds one image's outcome to the report and its counts.
    fn count(&mut self, outcome: Outcome) {
        match &outcome.result {
            Ok(names) => {
                self.succeeded += 1;
                self.thumbnails += names.len();
            }
            Err(_) => self.failed += 1,
        }
        self.outcomes.push(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Location;

    fn image(stem: &str) -> Image {
        Image {
            location: Location::Url(format!("http://h/{stem}.jpg")),
            source: format!("http://h/{stem}.jpg"),
            stem: stem.into(),
            size: None,
        }
    }

    #[test]
    fn dealing_gives_every_image_to_exactly_one_task() {
        let images: Vec<Image> = ["a", "b", "c", "d", "e"].map(image).into();
        let tasks = ThumbnailTask::deal(&images, 2);
        let stems = |task: &ThumbnailTask| -> Vec<String> {
            task.images.iter().map(|i| i.stem.clone()).collect()
        };
        assert_eq!(stems(&tasks[0]), ["a", "c", "e"]);
        assert_eq!(stems(&tasks[1]), ["b", "d"]);
        assert_eq!(ThumbnailTask::deal(&images, 0).len(), 1);
        assert_eq!(ThumbnailTask::deal(&images[..1], 3)[2].images, []);
    }

    #[test]
    fn a_task_and_its_report_travel_as_json() {
        let task = ThumbnailTask::deal(&[image("a")], 1).remove(0);
        let json = serde_json::to_string(&task).unwrap();
        assert_eq!(serde_json::from_str::<ThumbnailTask>(&json).unwrap(), task);
        let report = TaskReport {
            succeeded: 1,
            thumbnails: 3,
            ..TaskReport::default()
        };
        let json = serde_json::to_string(&report).unwrap();
        assert_eq!(serde_json::from_str::<TaskReport>(&json).unwrap(), report);
    }
}
