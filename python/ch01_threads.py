"""Chapter 1 in Python (Rust: `chapters/ch01_threads/main.rs`): a thread per image.

`threading.Thread(target=..., args=(...))`, named after its image, then `start()` for
every thread, then `join()` for every thread. Each thread writes its outcome into its own
slot of a list, so no two threads ever write the same place and no lock is needed.

`--join-in-loop` is the classic mistake: `join()` right after `start()`, inside the same
loop, waits for each thread before starting the next, and the program is sequential
again (its timeline is ch00's, with more lanes).

    python python/ch01_threads.py --workload io --trace out/py-ch01.json
    python python/ch01_threads.py --workload io --join-in-loop
"""

from __future__ import annotations

import argparse
import threading

from thumbs.contract import Image, Outcome
from thumbs.driver import run
from thumbs.job import Job


# ANCHOR: pattern
def thumbnail_into(job: Job, image: Image, outcomes: list[Outcome | None], slot: int) -> None:
    """A thread's target: one image, its outcome into its own slot."""
    outcomes[slot] = job.process(image)


def thumbnail_all(job: Job, flags: argparse.Namespace) -> list[Outcome]:
    outcomes: list[Outcome | None] = [None] * len(job.images)
    threads = []
    for slot, image in enumerate(job.images):
        thread = threading.Thread(
            target=thumbnail_into, args=(job, image, outcomes, slot), name=f"image-{slot:02}"
        )
        thread.start()
        if flags.join_in_loop:
            thread.join()  # the mistake: wait for this image before starting the next
        threads.append(thread)
    for thread in threads:
        thread.join()  # the fix: start them all, then wait for them all
    return [outcome for outcome in outcomes if outcome is not None]
# ANCHOR_END: pattern


def own_flags(flags: argparse.ArgumentParser) -> None:
    flags.add_argument(
        "--join-in-loop", action="store_true", help="the mistake: join each thread at once"
    )


if __name__ == "__main__":
    run("py-ch01-threads", thumbnail_all, __doc__, own_flags)
