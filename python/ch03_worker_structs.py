"""Chapter 3 in Python (Rust: `chapters/ch03_worker_structs.rs`): a worker as a class.

The course's second style: subclass `threading.Thread` and override `run()`. Each worker
owns its share of the batch and its own list of outcomes; the main thread reads them
after `join()`, when the worker can no longer touch them.

    python python/ch03_worker_structs.py --workload io --workers 4 --trace out/py-ch03.json
"""

from __future__ import annotations

import argparse
import threading

from thumbs.contract import Image, Outcome
from thumbs.driver import run
from thumbs.job import Job


# ANCHOR: pattern
class ThumbnailWorker(threading.Thread):
    """Makes the thumbnails of its own images, one after another."""

    def __init__(self, job: Job, images: list[Image], number: int) -> None:
        super().__init__(name=f"worker-{number}")
        self.job = job
        self.images = images
        self.outcomes: list[Outcome] = []

    def run(self) -> None:
        for image in self.images:
            self.outcomes.append(self.job.process(image))


def thumbnail_all(job: Job, flags: argparse.Namespace) -> list[Outcome]:
    # Dealt like cards: worker 0 gets images 0, n, 2n, ...
    workers = [
        ThumbnailWorker(job, job.images[number :: flags.workers], number)
        for number in range(flags.workers)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return [outcome for worker in workers for outcome in worker.outcomes]
# ANCHOR_END: pattern


def own_flags(flags: argparse.ArgumentParser) -> None:
    flags.add_argument("--workers", type=int, default=4, help="how many workers share the batch")


if __name__ == "__main__":
    run("py-ch03-worker-structs", thumbnail_all, __doc__, own_flags)
