"""The ready-made workloads (`--workload cpu|io|mixed`), prepared by the Rust side so that
a Python run and a Rust run read the very same corpus from the very same store.

`workbench python stage` generates (or finds cached) the workload's corpus, starts the
embedded store when the workload needs one, prints one JSON line saying where to read
and write, and serves until its standard input closes: when this program exits, for any
reason, the store goes with it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from .contract import SetupError

PROJECT = Path(__file__).resolve().parents[2]


def workbench_binary() -> Path:
    """`$WORKBENCH`, else the release or debug build of this project."""
    if given := os.environ.get("WORKBENCH"):
        return Path(given)
    for profile in ("release", "debug"):
        candidate = PROJECT / "target" / profile / "workbench"
        if candidate.is_file():
            return candidate
    raise SetupError(
        "without --source the workload comes from the workbench binary, which is not "
        "built: run `cargo build`, or give --source"
    )


class Stage:
    """A running `workbench python stage`: its `source`, and its `out` (None when the
    program picks its own folder)."""

    def __init__(self, chapter: str, workload: str, count: int, latency: str) -> None:
        command = [str(workbench_binary()), "python", "stage", "--chapter", chapter]
        command += ["--workload", workload, "--count", str(count), "--latency", latency]
        try:
            self.process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
        except OSError as cause:
            raise SetupError(f"cannot start {command[0]}: {cause}") from None
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line:
            self.close()
            raise SetupError(f"`{' '.join(command)}` could not prepare the workload")
        where = json.loads(line)
        self.source: str = where["source"]
        self.out: str | None = where["out"]

    def close(self) -> None:
        """Closes the stage's standard input, which stops its store, and waits for it."""
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait()
