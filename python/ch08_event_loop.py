"""Chapter 8 in Python (Rust: `chapters/ch08_event_loop.rs`): asyncio's loop, by hand.

No `async def` and no `await`: the loop runs callbacks. `call_soon` schedules the next
image, futures carry each step's result to the callback added with
`add_done_callback`, `call_later` is the timeout of every transfer, and the HTTP client is
a `Protocol` the loop feeds through its `Transport` (`thumbs/protocol.py`). The CPU step
goes to a thread pool (`run_in_executor`), whose future resolves on the loop. When the
last image is done, a callback calls `loop.stop()` and `run_forever()` returns.

This is the layer `async`/`await` is written on: compare with `ch07_async.py`, which
does the same job in a third of the lines.

    python python/ch08_event_loop.py --workload io --trace out/py-ch08.json
"""

from __future__ import annotations

import argparse
import asyncio
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from thumbs import protocol
from thumbs.contract import Image, Outcome
from thumbs.driver import run
from thumbs.job import Job, read_file
from thumbs.kernel import Thumbnail
from thumbs.output import write_atomically
from thumbs.trace import now_us, worker_label


# ANCHOR: pattern
class Batch:
    """The batch as a set of callbacks: each step's callback starts the next step."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, job: Job, cpu: ThreadPoolExecutor, limit: int
    ) -> None:
        self.loop, self.job, self.cpu, self.limit = loop, job, cpu, limit
        self.waiting = deque(job.images)
        self.in_flight = 0
        self.outcomes: list[Outcome] = []

    def start_more(self) -> None:
        while self.waiting and self.in_flight < self.limit:
            self.in_flight += 1
            self.loop.call_soon(self.download, self.waiting.popleft())
        if not self.waiting and self.in_flight == 0:
            self.loop.stop()  # run_forever() returns

    def span(self, image: Image, phase: str, start_us: int) -> None:
        worker = worker_label()
        self.job.tracer.push(
            {
                "worker": worker,
                "image": image.stem,
                "phase": phase,
                "start_us": start_us,
                "end_us": now_us(),
            }
        )

    def download(self, image: Image) -> None:
        spec, start = self.job.spec, now_us()
        if image.is_url:
            fetched = protocol.exchange(
                self.loop, "GET", image.location, spec.timeout_s, spec.max_bytes
            )
        else:
            fetched = self.loop.run_in_executor(self.cpu, read_file, image.location, spec.max_bytes)
        fetched.add_done_callback(lambda done: self.downloaded(image, start, done))

    def downloaded(self, image: Image, start: int, done: asyncio.Future) -> None:
        self.span(image, "download", start)
        if done.exception() is not None:
            return self.finish(Outcome(image, error=str(done.exception())))
        resized = self.loop.run_in_executor(self.cpu, self.job.thumbnail, image, done.result())
        resized.add_done_callback(lambda done: self.resized(image, done))

    def resized(self, image: Image, done: asyncio.Future) -> None:
        if done.exception() is not None:
            return self.finish(Outcome(image, error=str(done.exception())))
        thumbs: list[Thumbnail] = done.result()
        self.upload(image, thumbs, self.job.names(image, thumbs), 0, now_us())

    def upload(
        self, image: Image, thumbs: list[Thumbnail], names: list[str], index: int, start: int
    ) -> None:
        """Stores thumbnail `index`, and from its callback the next one."""
        if index == len(thumbs):
            self.span(image, "upload", start)
            return self.finish(Outcome(image, thumbnails=names))
        spec, thumb = self.job.spec, thumbs[index]
        where = spec.output.destination(names[index])
        if isinstance(where, str):
            stored = protocol.exchange(
                self.loop,
                "PUT",
                where,
                spec.timeout_s,
                spec.max_bytes,
                thumb.data,
                thumb.content_type,
            )
        else:
            stored = self.loop.run_in_executor(self.cpu, write_atomically, where, thumb.data)

        def next_one(done: asyncio.Future) -> None:
            if done.exception() is not None:
                self.span(image, "upload", start)
                return self.finish(Outcome(image, error=str(done.exception())))
            self.upload(image, thumbs, names, index + 1, start)

        stored.add_done_callback(next_one)

    def finish(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        self.in_flight -= 1
        self.start_more()


def thumbnail_all(job: Job, flags: argparse.Namespace) -> list[Outcome]:
    loop = asyncio.new_event_loop()
    with ThreadPoolExecutor(thread_name_prefix="resize") as cpu:
        batch = Batch(loop, job, cpu, flags.concurrency)
        loop.call_soon(batch.start_more)
        try:
            loop.run_forever()
        finally:
            loop.close()
    return batch.outcomes
# ANCHOR_END: pattern


def own_flags(flags: argparse.ArgumentParser) -> None:
    flags.add_argument("--concurrency", type=int, default=64, help="images in progress at once")


if __name__ == "__main__":
    run("py-ch08-event-loop", thumbnail_all, __doc__, own_flags)
