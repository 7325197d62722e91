"""Chapter 2 in Python (Rust: `chapters/ch02_join_handles.rs`): waiting on threads.

A Python thread has no `JoinHandle` carrying its result or its exception: `join()` only
waits, and an exception in the target is printed by `threading.excepthook` and lost. So
each thread here is given a box for its result *or* its exception, and the main thread
polls `is_alive()` (Rust: `is_finished()`), joining each thread as soon as it is done,
the way a progress display would.

    python python/ch02_join_handles.py --workload io --trace out/py-ch02.json
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass

from thumbs.contract import Image, Outcome
from thumbs.driver import run
from thumbs.job import Job


# ANCHOR: pattern
@dataclass
class Result:
    """What a thread leaves behind: its outcome, or the exception that ended it."""

    outcome: Outcome | None = None
    exception: BaseException | None = None


def thumbnail_into(job: Job, image: Image, result: Result) -> None:
    try:
        result.outcome = job.process(image)
    except BaseException as crash:  # what Rust's join() would hand back as Err
        result.exception = crash


def thumbnail_all(job: Job, _flags: argparse.Namespace) -> list[Outcome]:
    running: dict[threading.Thread, tuple[Image, Result]] = {}
    for slot, image in enumerate(job.images):
        result = Result()
        thread = threading.Thread(
            target=thumbnail_into, args=(job, image, result), name=f"image-{slot:02}"
        )
        thread.start()
        running[thread] = (image, result)
    outcomes = []
    while running:
        for thread in [t for t in running if not t.is_alive()]:
            thread.join()  # finished: join() returns at once
            image, result = running.pop(thread)
            if result.exception is not None:
                outcomes.append(Outcome(image, error=f"worker panicked: {result.exception}"))
            elif result.outcome is not None:
                outcomes.append(result.outcome)
        time.sleep(0.005)  # polling: the price of having no "wait for any" on threads
    return outcomes
# ANCHOR_END: pattern


if __name__ == "__main__":
    run("py-ch02-join-handles", thumbnail_all, __doc__)
