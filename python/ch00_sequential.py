"""Chapter 0 in Python (Rust: `chapters/ch00_sequential.rs`): one image at a time.

The course's first version: a `for` loop that downloads an image, resizes it, saves the
thumbnails, and only then moves on. Nothing overlaps; every other program is measured
against this one.

    python python/ch00_sequential.py --workload io --trace out/py-ch00.json
"""

from __future__ import annotations

import argparse

from thumbs.contract import Outcome
from thumbs.driver import run
from thumbs.job import Job


# ANCHOR: pattern
def thumbnail_all(job: Job, _flags: argparse.Namespace) -> list[Outcome]:
    """The whole pattern: one loop, each image finished before the next one starts."""
    outcomes = []
    for image in job.images:
        outcomes.append(job.process(image))
    return outcomes
# ANCHOR_END: pattern


if __name__ == "__main__":
    run("py-ch00-sequential", thumbnail_all, __doc__)
