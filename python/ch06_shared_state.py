"""Chapter 6 in Python (Rust: `chapters/ch06_shared_state/main.rs`): workers sharing state.

Workers take images from one queue, at most `--downloads` of them download at once (a
semaphore), and every worker adds its thumbnails to one shared count, under a lock. The
same `worker` function runs in threads (`queue.Queue`, `threading.Semaphore`, a count
guarded by a `threading.Lock`) or, with `--processes`, in processes
(`multiprocessing.Queue`, `multiprocessing.Semaphore`, `multiprocessing.Value`, whose
`get_lock()` is a lock shared between processes). Only the kind of each object changes.

In threads, the GIL makes each bytecode atomic, never `count.value += n`: that is a read,
an add and a write, and a switch between them loses an update. Hence the lock.

    python python/ch06_shared_state.py --workload io --trace out/py-ch06.json
    python python/ch06_shared_state.py --workload cpu --gil-bound --processes
"""

from __future__ import annotations

import argparse
import multiprocessing
import queue
import threading
from typing import Any

from thumbs.contract import Image, ImageError, Outcome
from thumbs.driver import run
from thumbs.job import Job


# ANCHOR: pattern
class SharedCount:
    """A count shared by threads: the thread twin of `multiprocessing.Value("i")`."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def get_lock(self) -> threading.Lock:
        return self._lock


def thumbnail_one(job: Job, image: Image, permits: Any) -> Outcome:
    try:
        with job.tracer.record(image.stem, "queue_wait"):
            permits.acquire()  # at most --downloads downloads at once
        try:
            data = job.download(image)
        finally:
            permits.release()
        thumbs = job.thumbnail(image, data)
        return Outcome(image, thumbnails=job.upload(image, thumbs))
    except ImageError as why:
        return Outcome(image, error=str(why))


def worker(job: Job, tasks: Any, results: Any, permits: Any, made: Any) -> None:
    """Takes images until it gets None; sends each outcome (with its spans) home."""
    while (image := tasks.get()) is not None:
        outcome = thumbnail_one(job, image, permits)
        with made.get_lock():  # read, add, write: one step for every other worker
            made.value += len(outcome.thumbnails)
        results.put((outcome, job.tracer.take()))


def thumbnail_all(job: Job, flags: argparse.Namespace) -> list[Outcome]:
    if flags.processes:
        context = multiprocessing.get_context("spawn")
        tasks, results = context.Queue(), context.Queue()
        permits, made = context.Semaphore(flags.downloads), context.Value("i", 0)
        start = context.Process
    else:
        tasks, results = queue.Queue(), queue.Queue()
        permits, made = threading.Semaphore(flags.downloads), SharedCount()
        start = threading.Thread
    workers = [
        start(target=worker, args=(job, tasks, results, permits, made), name=f"worker-{n}")
        for n in range(flags.workers)
    ]
    for image in job.images:
        tasks.put(image)
    for each in workers:
        tasks.put(None)  # one "no more work" per worker
        each.start()
    outcomes = []
    for _ in job.images:
        outcome, spans = results.get()
        for span in spans:
            job.tracer.push(span)
        outcomes.append(outcome)
    for each in workers:
        each.join()
    assert made.value == sum(len(o.thumbnails) for o in outcomes), "the lock lost a count"
    return outcomes
# ANCHOR_END: pattern


def own_flags(flags: argparse.ArgumentParser) -> None:
    flags.add_argument("--workers", type=int, default=8, help="worker threads or processes")
    flags.add_argument("--downloads", type=int, default=4, help="downloads at once (semaphore)")
    flags.add_argument("--processes", action="store_true", help="processes instead of threads")


if __name__ == "__main__":
    run("py-ch06-shared-state", thumbnail_all, __doc__, own_flags)
