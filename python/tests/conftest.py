"""What the conformance suite shares: the workbench binary (its corpus generator and its
embedded store, the same ones the Rust tests use), bad inputs, and running a program."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PYTHON_DIR = Path(__file__).resolve().parents[1]
PROJECT = PYTHON_DIR.parent
PROGRAMS = sorted(path.stem for path in PYTHON_DIR.glob("ch*.py"))

# The Rust tests' corpus (tests/common/mod.rs): small, wider than the widest thumbnail,
# with JPEGs and PNGs.
CORPUS_FLAGS = ["--count", "5", "--png", "2", "--seed", "11", "--width", "480", "--height", "320"]


def workbench() -> Path:
    if given := os.environ.get("WORKBENCH"):
        return Path(given)
    for profile in ("debug", "release"):
        candidate = PROJECT / "target" / profile / "workbench"
        if candidate.is_file():
            return candidate
    pytest.exit("the workbench binary is not built: run `cargo build` first", returncode=2)


def rust_chapter(name: str) -> Path:
    return workbench().with_name(name)


def make_corpus(folder: Path) -> list[Path]:
    subprocess.run(
        [workbench(), "corpus", *CORPUS_FLAGS, "--out", folder], check=True, capture_output=True
    )
    return sorted(folder.iterdir())


class Store:
    """`workbench serve` on a free port, stopped with Ctrl-C when the test ends."""

    def __init__(self, root: Path, *knobs: str) -> None:
        command = [workbench(), "serve", "--root", root, "--latency", "0ms", *knobs]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()  # "serving ROOT at http://127.0.0.1:PORT/"
        self.url = line.rsplit(" ", 1)[-1].strip()
        assert self.url.startswith("http://"), line

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def serve() -> Iterator:
    stores: list[Store] = []

    def start(root: Path, *knobs: str) -> Store:
        stores.append(Store(root, *knobs))
        return stores[-1]

    yield start
    for store in stores:
        store.stop()


@pytest.fixture
def corpus(tmp_path: Path) -> list[Path]:
    return make_corpus(tmp_path / "corpus")


def free_port() -> int:
    """A port where nothing listens: bound, then closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    summary: dict | None
    out: Path


def run_program(program: str, source: str | Path, out: str | Path, *flags: str) -> Run:
    """Runs `python/{program}.py` on `source` into `out`, with `--json --quiet`."""
    command = [sys.executable, PYTHON_DIR / f"{program}.py", "--source", source, "--out", out]
    done = subprocess.run(
        [*command, "--json", "--quiet", *flags], capture_output=True, text=True, timeout=300
    )
    try:
        summary = json.loads(done.stdout)
    except ValueError:
        summary = None
    return Run(done.returncode, done.stdout, done.stderr, summary, Path(out))


def run_rust(chapter: str, source: str | Path, out: Path, *flags: str) -> Run:
    command = [rust_chapter(chapter), "--source", source, "--out", out, "--json", "--quiet"]
    done = subprocess.run([*command, *flags], capture_output=True, text=True, timeout=300)
    return Run(done.returncode, done.stdout, done.stderr, json.loads(done.stdout), out)


# Bad inputs, made as `src/harness/samples.rs` makes them.


def corrupt(good: bytes, start: int) -> bytes:
    """The first `start` bytes intact, the rest xorshift noise."""
    state, noise = 0x9E3779B97F4A7C15, bytearray(good[:start])
    mask = (1 << 64) - 1
    for _ in good[start:]:
        state ^= (state << 13) & mask
        state ^= state >> 7
        state ^= (state << 17) & mask
        noise.append(state & 0xFF)
    return bytes(noise)


def text() -> bytes:
    return b"This is not a photo; it is a note that someone saved as photo.jpg.\n"


def huge_png_header(width: int, height: int) -> bytes:
    """A PNG signature and an IHDR chunk declaring `width` x `height`, and nothing else."""
    chunk = b"IHDR" + width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    crc = zlib.crc32(chunk).to_bytes(4, "big")
    return b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + chunk + crc
