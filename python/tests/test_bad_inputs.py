"""Each bad input costs one image, never the batch: the run exits with 1, exactly the bad
image is reported with its cause, every good image has its thumbnails, and no temporary
or partial file is left behind. The cases are the Rust conformance test's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import PROGRAMS, Store, corrupt, free_port, huge_png_header, run_program, text


def check_bad_input(
    source: str | Path, bad_name: str, expected_error: str, good: int, out: Path, *flags: str
) -> None:
    for program in PROGRAMS:
        run = run_program(program, source, out / program, *flags)
        assert run.code == 1, f"{program}: {run.stdout} {run.stderr}"
        failed = run.summary["failed"]
        assert len(failed) == 1, f"{program}: {failed}"
        assert bad_name in failed[0]["source"], f"{program}: {failed}"
        assert expected_error in failed[0]["error"], f"{program}: {failed}"
        assert run.summary["thumbnails"] == good * 3, program
        for name in (path.name for path in run.out.iterdir()):
            assert not name.startswith("."), f"{program}: temporary file {name} left behind"
            assert not name.startswith("bad"), f"{program}: a thumbnail of the bad image: {name}"


FILE_CASES: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "bad-corrupt.jpg": (lambda good: corrupt(good, 20), "corrupt image"),
    "bad-truncated.jpg": (lambda good: good[: len(good) // 2], "corrupt image"),
    "bad-empty.jpg": (lambda good: b"", "not an image: the file is empty"),
    "bad-text.jpg": (lambda good: text(), "not an image"),
    "bad-bomb.png": (
        lambda good: huge_png_header(100_000, 100_000),
        "too many pixels: 100000x100000",
    ),
}


@pytest.mark.parametrize("bad_name", FILE_CASES)
def test_a_bad_file_fails_alone(bad_name, corpus, serve, tmp_path):
    """The bad file lies beside the good ones and is found through the store's listing."""
    make, expected_error = FILE_CASES[bad_name]
    (corpus[0].parent / bad_name).write_bytes(make(corpus[0].read_bytes()))
    store = serve(corpus[0].parent)
    check_bad_input(store.url, bad_name, expected_error, len(corpus), tmp_path)


def url_list(corpus: list[Path], store: Store, bad_url: str, folder: Path) -> Path:
    """A file of URLs: every good image from `store`, then `bad_url`."""
    urls = [f"{store.url}{path.name}" for path in corpus] + [bad_url]
    listing = folder / "urls.txt"
    listing.write_text("\n".join(urls))
    return listing


def test_http_404_fails_alone(corpus, serve, tmp_path):
    store = serve(corpus[0].parent)
    urls = url_list(corpus, store, f"{store.url}bad-missing.jpg", tmp_path)
    check_bad_input(urls, "bad-missing.jpg", "HTTP 404", len(corpus), tmp_path)


def test_http_503_fails_alone(corpus, serve, tmp_path):
    failing_root = tmp_path / "failing"
    failing_root.mkdir()
    (failing_root / "bad-503.jpg").write_bytes(corpus[0].read_bytes())
    failing = serve(failing_root, "--fail-rate", "1")
    urls = url_list(corpus, serve(corpus[0].parent), f"{failing.url}bad-503.jpg", tmp_path)
    check_bad_input(urls, "bad-503.jpg", "HTTP 503", len(corpus), tmp_path)


def test_a_refused_connection_fails_alone(corpus, serve, tmp_path):
    bad = f"http://127.0.0.1:{free_port()}/bad-refused.jpg"
    urls = url_list(corpus, serve(corpus[0].parent), bad, tmp_path)
    check_bad_input(urls, "bad-refused.jpg", "cannot connect", len(corpus), tmp_path)


def test_a_stalling_server_times_out(corpus, serve, tmp_path):
    stalled_root = tmp_path / "stalled"
    stalled_root.mkdir()
    stalled = serve(stalled_root, "--stall")
    urls = url_list(corpus, serve(corpus[0].parent), f"{stalled.url}bad-stall.jpg", tmp_path)
    check_bad_input(urls, "bad-stall.jpg", "timed out", len(corpus), tmp_path, "--timeout", "500ms")


@pytest.mark.parametrize(
    "trick", ["..%2F..%2Fbad-escape.jpg", "%2Ftmp%2Fbad-escape.jpg", "..%5Cbad-escape.jpg"]
)
def test_a_url_that_tries_to_leave_the_output_is_refused(trick, corpus, serve, tmp_path):
    store = serve(corpus[0].parent)
    urls = url_list(corpus, store, f"{store.url}{trick}", tmp_path)
    check_bad_input(urls, "bad-escape.jpg", "unsafe name", len(corpus), tmp_path)


def test_two_urls_with_the_same_file_name_keep_both(corpus, serve, tmp_path):
    store = serve(corpus[0].parent)
    name, stem = corpus[0].name, corpus[0].stem
    listing = tmp_path / "urls.txt"
    listing.write_text(f"{store.url}{name}\n{store.url}{name}?copy=2\n")
    for program in PROGRAMS:
        run = run_program(program, listing, tmp_path / program)
        assert run.code == 0, f"{program}: {run.stderr}"
        made = {path.name for path in run.out.iterdir()}
        assert {f"{stem}_32.jpg", f"{stem}-2_32.jpg"} <= made, f"{program}: {made}"
        assert len(made) == 6, program


def test_setup_errors_exit_with_code_2(corpus, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    nowhere = f"http://127.0.0.1:{free_port()}/thumbs/"
    for program in PROGRAMS:
        run = run_program(program, empty, tmp_path / "out")
        assert run.code == 2 and "has no images" in run.stderr, f"{program}: {run.stderr}"
        assert run_program(program, "/no/such/folder", tmp_path / "out").code == 2, program
        assert run_program(program, corpus[0].parent, tmp_path / "out", "--sizes", "0").code == 2
        run = run_program(program, corpus[0].parent, nowhere)
        assert run.code == 2, f"{program}: {run.stderr}"
        assert "cannot write to the output" in run.stderr, f"{program}: {run.stderr}"
