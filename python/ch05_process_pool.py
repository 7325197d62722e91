"""Chapter 5 in Python (Rust: `chapters/ch05_process_pool.rs`): a pool of processes.

`concurrent.futures.ProcessPoolExecutor` on a `multiprocessing` context chosen by
`--start`: `spawn` starts a fresh interpreter that imports this file again, `fork` copies
this process as it is, `forkserver` forks each worker from a small server started once.
Each worker gets the job's settings once (`initializer`), then each task is one image,
sent as data; the outcome comes back with the worker's spans, so the trace shows every
process on the one clock.

Unlike the course's version, the main process waits for every result (`as_completed`):
a timing taken before the workers finish measures nothing.

    python python/ch05_process_pool.py --workload cpu --trace out/py-ch05.json
    python python/ch05_process_pool.py --workload cpu --gil-bound --start fork
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed

from thumbs.contract import Image, Outcome
from thumbs.driver import run
from thumbs.job import Job

# ANCHOR: pattern
# The job in a worker process, set once by `install`.
worker_job: Job | None = None


def install(job: Job) -> None:
    """Runs once in each worker process, before its first task."""
    global worker_job
    worker_job = job


def thumbnail_in_worker(image: Image) -> tuple[Outcome, list[dict]]:
    """A task: one image in a worker process; its outcome and the spans it recorded."""
    assert worker_job is not None, "install() runs before any task"
    outcome = worker_job.process(image)
    return outcome, worker_job.tracer.take()


def thumbnail_all(job: Job, flags: argparse.Namespace) -> list[Outcome]:
    context = multiprocessing.get_context(flags.start)
    outcomes = []
    with ProcessPoolExecutor(
        max_workers=flags.workers, mp_context=context, initializer=install, initargs=(job,)
    ) as pool:
        futures = {pool.submit(thumbnail_in_worker, image): image for image in job.images}
        for future in as_completed(futures):
            try:
                outcome, spans = future.result()
            except Exception as crash:  # a worker that died takes its task with it
                outcomes.append(Outcome(futures[future], error=f"worker panicked: {crash}"))
                continue
            for span in spans:
                job.tracer.push(span)
            outcomes.append(outcome)
    return outcomes
# ANCHOR_END: pattern


def own_flags(flags: argparse.ArgumentParser) -> None:
    flags.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes")
    flags.add_argument(
        "--start",
        choices=("spawn", "fork", "forkserver"),
        default="spawn",
        help="how worker processes start",
    )


if __name__ == "__main__":
    run("py-ch05-process-pool", thumbnail_all, __doc__, own_flags)
