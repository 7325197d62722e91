"""Chapter 4 in Python (Rust: `chapters/ch04_thread_pool.rs`): a pool of threads.

`concurrent.futures.ThreadPoolExecutor`: `submit` gives a `Future` per image and
`as_completed` yields each as it finishes (`--map` does the same with `executor.map`,
which yields in input order instead). Pillow releases the GIL while it decodes and
resizes, so on the CPU step too the threads run at once; `--gil-bound` adds a step in
pure Python, and then they take turns.

    python python/ch04_thread_pool.py --workload cpu --trace out/py-ch04.json
    python python/ch04_thread_pool.py --workload cpu --gil-bound
"""

from __future__ import annotations

import argparse
import os
from concurrent.futures import ThreadPoolExecutor, as_completed

from thumbs.contract import Outcome
from thumbs.driver import run
from thumbs.job import Job


# ANCHOR: pattern
def thumbnail_all(job: Job, flags: argparse.Namespace) -> list[Outcome]:
    with ThreadPoolExecutor(max_workers=flags.workers, thread_name_prefix="pool") as pool:
        if flags.map:
            return list(pool.map(job.process, job.images))
        futures = [pool.submit(job.process, image) for image in job.images]
        return [future.result() for future in as_completed(futures)]
# ANCHOR_END: pattern


def own_flags(flags: argparse.ArgumentParser) -> None:
    flags.add_argument(
        "--workers",
        type=int,
        default=min(32, (os.cpu_count() or 1) + 4),
        help="threads in the pool (default: ThreadPoolExecutor's own, cores + 4)",
    )
    flags.add_argument("--map", action="store_true", help="executor.map instead of submit")


if __name__ == "__main__":
    run("py-ch04-thread-pool", thumbnail_all, __doc__, own_flags)
