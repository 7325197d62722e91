"""Chapter 7 in Python (Rust: `chapters/ch07_async.rs`): asyncio and aiohttp.

One coroutine per image, all gathered at once, at most `--concurrency` of them past an
`asyncio.Semaphore`. Downloads and uploads are awaited on the event loop; the CPU step
goes to a thread pool with `loop.run_in_executor`, because a resize run on the loop's own
thread would stall every other coroutine for its whole duration.

The course's asyncio version awaits each download in turn inside its loop, which makes
it sequential; `--await-in-loop` reproduces that, to compare.

    python python/ch07_async.py --workload io --trace out/py-ch07.json
    python python/ch07_async.py --workload io --await-in-loop
"""

from __future__ import annotations

import argparse
import asyncio
from concurrent.futures import ThreadPoolExecutor

from thumbs import aio
from thumbs.contract import Image, ImageError, Outcome
from thumbs.driver import run
from thumbs.job import Job


# ANCHOR: pattern
async def thumbnail_one(
    job: Job, image: Image, client, permits: asyncio.Semaphore, cpu: ThreadPoolExecutor
) -> Outcome:
    async with permits:
        try:
            data = await aio.download(client, job, image)
            loop = asyncio.get_running_loop()
            thumbs = await loop.run_in_executor(cpu, job.thumbnail, image, data)
            return Outcome(image, thumbnails=await aio.upload(client, job, image, thumbs))
        except ImageError as why:
            return Outcome(image, error=str(why))


async def thumbnail_all_async(job: Job, flags: argparse.Namespace) -> list[Outcome]:
    permits = asyncio.Semaphore(flags.concurrency)
    with ThreadPoolExecutor(thread_name_prefix="resize") as cpu:
        async with aio.session(job) as client:
            if flags.await_in_loop:  # the mistake: one image at a time
                return [await thumbnail_one(job, i, client, permits, cpu) for i in job.images]
            return list(
                await asyncio.gather(
                    *(thumbnail_one(job, image, client, permits, cpu) for image in job.images)
                )
            )


def thumbnail_all(job: Job, flags: argparse.Namespace) -> list[Outcome]:
    return asyncio.run(thumbnail_all_async(job, flags))
# ANCHOR_END: pattern


def own_flags(flags: argparse.ArgumentParser) -> None:
    flags.add_argument("--concurrency", type=int, default=64, help="images in progress at once")
    flags.add_argument(
        "--await-in-loop", action="store_true", help="the mistake: await each image in turn"
    )


if __name__ == "__main__":
    run("py-ch07-async", thumbnail_all, __doc__, own_flags)
