"""The Python programs held to the Rust chapters' contract (tests/conformance.rs): the
same thumbnail names and sizes as `ch00-sequential` on the same corpus, the same summary
fields, the same trace format; each bad input fails alone, with its cause, and leaves no
half-written file; setup errors exit with code 2."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import PROGRAMS, make_corpus, run_program, run_rust, workbench
from PIL import Image as Pillow

RUST_FIELDS = [
    "chapter",
    "images",
    "thumbnails",
    "failed",
    "wall_s",
    "download_s",
    "resize_s",
    "upload_s",
    "overlap",
    "peak_rss_mb",
]


def sizes_of(folder: Path) -> dict[str, tuple[int, int, str]]:
    """Every file of a folder: its size and format, by name."""
    found = {}
    for path in sorted(folder.iterdir()):
        with Pillow.open(path) as picture:
            found[path.name] = (*picture.size, picture.format)
    return found


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], dict]:
    """The corpus, and what the Rust baseline makes of it: names, sizes and formats."""
    folder = tmp_path_factory.mktemp("reference")
    files = make_corpus(folder / "corpus")
    rust = run_rust("ch00-sequential", folder / "corpus", folder / "out")
    assert rust.code == 0, rust.stderr
    return files, sizes_of(rust.out)


@pytest.mark.parametrize("program", PROGRAMS)
def test_same_names_and_sizes_as_rust_from_a_folder_and_a_store(
    program, reference, serve, tmp_path
):
    files, expected = reference
    store = serve(files[0].parent)
    for n, source in enumerate([files[0].parent, store.url]):
        run = run_program(program, source, tmp_path / f"out-{n}")
        assert run.code == 0, run.stderr
        assert run.summary["failed"] == []
        assert run.summary["thumbnails"] == len(files) * 3
        assert sizes_of(run.out) == expected


@pytest.mark.parametrize("program", PROGRAMS)
def test_the_summary_and_the_trace_have_the_rust_fields(program, corpus, tmp_path):
    trace_file = tmp_path / "trace.json"
    run = run_program(program, corpus[0].parent, tmp_path / "out", "--trace", str(trace_file))
    assert run.code == 0, run.stderr
    assert list(run.summary) == RUST_FIELDS
    assert run.summary["chapter"] == f"py-{program.replace('_', '-')}"
    trace = json.loads(trace_file.read_text())
    assert list(trace) == ["chapter", "start_us", "end_us", "spans"]
    stems = {path.stem for path in corpus}
    resized = set()
    for span in trace["spans"]:
        assert list(span) == ["worker", "image", "phase", "start_us", "end_us"]
        assert span["phase"] in ("download", "resize", "upload", "queue_wait")
        assert trace["start_us"] <= span["start_us"] <= span["end_us"] <= trace["end_us"]
        if span["phase"] == "resize":
            resized.add(span["image"])
    assert resized == stems


def test_thumbnails_can_be_put_to_a_store(corpus, serve, tmp_path):
    store = serve(corpus[0].parent)
    for program in PROGRAMS:
        run = run_program(program, corpus[0].parent, f"{store.url}thumbs/{program}/")
        assert run.code == 0, f"{program}: {run.stderr}"
        stored = corpus[0].parent / "thumbs" / program
        assert len(list(stored.iterdir())) == len(corpus) * 3, program


@pytest.mark.parametrize("switch", ["--draft", "--gil-bound"])
def test_the_cost_switches_change_no_name_or_size(switch, reference, tmp_path):
    files, expected = reference
    for program in ("ch00_sequential", "ch04_thread_pool", "ch05_process_pool"):
        run = run_program(program, files[0].parent, tmp_path / program, switch)
        assert run.code == 0, run.stderr
        assert sizes_of(run.out) == expected, f"{program} {switch}"


@pytest.mark.parametrize("start", ["spawn", "fork", "forkserver"])
def test_every_start_method_of_the_process_pool_does_the_job(start, reference, tmp_path):
    files, expected = reference
    run = run_program("ch05_process_pool", files[0].parent, tmp_path / "out", "--start", start)
    assert run.code == 0, run.stderr
    assert sizes_of(run.out) == expected


def test_a_python_trace_is_drawn_and_exported_by_the_workbench(corpus, tmp_path):
    """The trace format is the Rust chapters' own: `workbench timeline` draws a Python run
    and converts it for Perfetto, one complete event per span."""
    trace_file = tmp_path / "trace.json"
    run = run_program(
        "ch04_thread_pool", corpus[0].parent, tmp_path / "out", "--trace", str(trace_file)
    )
    assert run.code == 0, run.stderr
    spans = json.loads(trace_file.read_text())["spans"]
    svg, chrome = tmp_path / "trace.svg", tmp_path / "chrome.json"
    for flags in (["-o", svg], ["--chrome-trace", chrome]):
        drawn = subprocess.run(
            [workbench(), "timeline", trace_file, *flags], capture_output=True, text=True
        )
        assert drawn.returncode == 0, drawn.stderr
    assert svg.read_text().count('class="span ') == len(spans)
    events = json.loads(chrome.read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    assert sum(1 for event in events if event["ph"] == "X") == len(spans)
