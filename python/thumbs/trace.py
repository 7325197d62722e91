"""Spans in the Rust side's trace format (`src/trace.rs`), so that `workbench timeline`
and the report draw a Python run beside a Rust one.

A span is one stretch of one worker's time: the worker (a thread's name, or `pid N` and a
thread name in a worker process), the image's stem, the phase (`download`, `resize`,
`upload`, `queue_wait`), and its start and end in microseconds since the Unix epoch: the
one clock every process on the machine shares.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PHASES = ("download", "resize", "upload", "queue_wait")


def now_us() -> int:
    """Microseconds since the Unix epoch."""
    return time.time_ns() // 1000


def worker_label() -> str:
    """The current thread's name; in a worker process, its pid and the process's name
    (or the thread's, for a thread other than the process's first)."""
    thread = threading.current_thread()
    if multiprocessing.parent_process() is None:
        return thread.name
    name = (
        multiprocessing.current_process().name if thread is threading.main_thread() else thread.name
    )
    return f"pid {os.getpid()} {name}"


class Tracer:
    """Collects the spans of every worker of a run. A span is pushed a few hundred times
    per run, so one lock is plenty."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[dict[str, object]] = []

    @contextmanager
    def record(self, image: str, phase: str) -> Iterator[None]:
        """Times the `with` block as a span of `phase` for `image`."""
        start = now_us()
        try:
            yield
        finally:
            self.push(
                {
                    "worker": worker_label(),
                    "image": image,
                    "phase": phase,
                    "start_us": start,
                    "end_us": now_us(),
                }
            )

    def push(self, span: dict[str, object]) -> None:
        """Adds a span measured elsewhere (in a worker process)."""
        with self._lock:
            self._spans.append(span)

    def spans(self) -> list[dict[str, object]]:
        with self._lock:
            return list(self._spans)

    def take(self) -> list[dict[str, object]]:
        """The spans so far, and forgets them: a worker process sends its spans home
        with each result."""
        with self._lock:
            spans, self._spans = self._spans, []
            return spans


def figures(start_us: int, end_us: int, spans: list[dict]) -> dict[str, float]:
    """Wall time, time per phase summed over workers, and overlap (work time over wall
    time), computed as `Trace::figures` computes them."""
    wall_s = max(end_us - start_us, 0) / 1e6
    per_phase = dict.fromkeys(PHASES, 0.0)
    for span in spans:
        per_phase[span["phase"]] += max(span["end_us"] - span["start_us"], 0) / 1e6
    work_s = sum(seconds for phase, seconds in per_phase.items() if phase != "queue_wait")
    return {
        "wall_s": wall_s,
        "download_s": per_phase["download"],
        "resize_s": per_phase["resize"],
        "upload_s": per_phase["upload"],
        "overlap": work_s / wall_s if wall_s > 0 else 0.0,
    }


def write(path: Path, chapter: str, start_us: int, end_us: int, spans: list[dict]) -> None:
    """Writes the trace as `Trace::write` does, atomically."""
    trace = {"chapter": chapter, "start_us": start_us, "end_us": end_us, "spans": spans}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(json.dumps(trace))
    os.replace(temporary, path)
