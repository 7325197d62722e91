"""Chapter 9 in Python (Rust: `chapters/ch09_pipeline.rs`): a staged pipeline.

Three stages of threads joined by two queues: downloaders put each image's bytes into a
`queue.Queue(maxsize=--queue)`, resizers take them out and put the thumbnails into a
second bounded queue, uploaders store them. When the resizers fall behind, the first
queue fills and `put` blocks: the downloaders wait instead of piling images up in
memory. That is backpressure; `--unbounded` removes it (`maxsize=0`), and every
downloaded image waits in memory.

Time spent blocked on a queue is traced as `queue_wait`, so the timeline shows who waits
for whom.

    python python/ch09_pipeline.py --workload mixed --trace out/py-ch09.json
    python python/ch09_pipeline.py --workload cpu --download-workers 2 --resize-workers 1 --unbounded
"""

from __future__ import annotations

import argparse
import os
import queue
import threading
from collections.abc import Callable

from thumbs.contract import Image, ImageError, Outcome
from thumbs.driver import run
from thumbs.job import Job


# ANCHOR: pattern
def traced_put(job: Job, into: queue.Queue, image: Image, item: object) -> None:
    with job.tracer.record(image.stem, "queue_wait"):
        into.put(item)


def download_stage(job: Job, todo: queue.Queue, downloaded: queue.Queue, done: queue.Queue) -> None:
    while (image := todo.get()) is not None:
        try:
            traced_put(job, downloaded, image, (image, job.download(image)))
        except ImageError as why:
            done.put(Outcome(image, error=str(why)))


def resize_stage(
    job: Job, downloaded: queue.Queue, resized: queue.Queue, done: queue.Queue
) -> None:
    while (item := downloaded.get()) is not None:
        image, data = item
        try:
            traced_put(job, resized, image, (image, job.thumbnail(image, data)))
        except ImageError as why:
            done.put(Outcome(image, error=str(why)))


def upload_stage(job: Job, resized: queue.Queue, done: queue.Queue) -> None:
    while (item := resized.get()) is not None:
        image, thumbs = item
        try:
            done.put(Outcome(image, thumbnails=job.upload(image, thumbs)))
        except ImageError as why:
            done.put(Outcome(image, error=str(why)))


def start_stage(name: str, count: int, stage: Callable, args: tuple) -> list[threading.Thread]:
    """`count` threads running `stage(*args)`, named after the stage."""
    threads = [
        threading.Thread(target=stage, args=args, name=f"{name}-{n:02}") for n in range(count)
    ]
    for thread in threads:
        thread.start()
    return threads


def stop_stage(threads: list[threading.Thread], inbox: queue.Queue) -> None:
    """One None per thread says "no more work"; then wait for them to finish."""
    for _ in threads:
        inbox.put(None)
    for thread in threads:
        thread.join()


def thumbnail_all(job: Job, flags: argparse.Namespace) -> list[Outcome]:
    bound = 0 if flags.unbounded else flags.queue
    todo, downloaded, resized = (
        queue.Queue(),
        queue.Queue(maxsize=bound),
        queue.Queue(maxsize=bound),
    )
    done: queue.Queue = queue.Queue()
    for image in job.images:
        todo.put(image)
    downloaders = start_stage(
        "download", flags.download_workers, download_stage, (job, todo, downloaded, done)
    )
    resizers = start_stage(
        "resize", flags.resize_workers, resize_stage, (job, downloaded, resized, done)
    )
    uploaders = start_stage("upload", flags.upload_workers, upload_stage, (job, resized, done))
    # Stop the stages in order: each one's input is complete once the stage before it ends.
    stop_stage(downloaders, todo)
    stop_stage(resizers, downloaded)
    stop_stage(uploaders, resized)
    return [done.get() for _ in range(done.qsize())]
# ANCHOR_END: pattern


def own_flags(flags: argparse.ArgumentParser) -> None:
    flags.add_argument("--download-workers", type=int, default=16)
    flags.add_argument("--resize-workers", type=int, default=os.cpu_count() or 1)
    flags.add_argument("--upload-workers", type=int, default=32)
    flags.add_argument("--queue", type=int, default=4, help="the bounded queues' capacity")
    flags.add_argument("--unbounded", action="store_true", help="the mistake: no bound")


if __name__ == "__main__":
    run("py-ch09-pipeline", thumbnail_all, __doc__, own_flags)
