"""The driver every program calls, as a Rust chapter calls `cli::run`: read the flags,
prepare the source and the output, hand the job to the program's `schedule`, then print
the summary and write the trace.

Exit code: 0 when every image succeeded, 1 when some failed, 2 when the run could not
start (a bad flag, an unreadable or empty source, an unwritable output)."""

from __future__ import annotations

import argparse
import json
import resource
import sys
from collections.abc import Callable
from pathlib import Path

from . import source, trace
from .contract import DEFAULT_SIZES, Image, Outcome, SetupError, parse_sizes
from .job import Job, JobSpec
from .output import Output
from .stage import Stage

Schedule = Callable[[Job, argparse.Namespace], list[Outcome]]


def sizes_flag(text: str) -> tuple[int, ...]:
    try:
        return parse_sizes(text)
    except ValueError as why:
        raise argparse.ArgumentTypeError(str(why)) from None


def seconds_flag(text: str) -> float:
    """`500ms`, `10s` or a bare number of seconds."""
    try:
        if text.endswith("ms"):
            return float(text[:-2]) / 1000
        return float(text.removesuffix("s"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration (try 50ms or 2s)") from None


def common_flags(chapter: str, doc: str) -> argparse.ArgumentParser:
    """The flags every Rust chapter has, where they apply to Python, and the two that
    only Python has: --draft and --gil-bound."""
    flags = argparse.ArgumentParser(prog=chapter, description=doc)
    flags.add_argument("--source", help="a folder, a file of URLs, or an HTTP prefix that lists")
    flags.add_argument("--out", help="a folder, or an HTTP prefix that accepts PUT")
    flags.add_argument("--workload", choices=("cpu", "io", "mixed"), help="a ready-made workload")
    flags.add_argument("--sizes", type=sizes_flag, default=DEFAULT_SIZES, help="widths: 32,64,200")
    flags.add_argument("--trace", type=Path, help="write every span to this JSON file")
    flags.add_argument("--json", action="store_true", help="the summary as one JSON line")
    flags.add_argument("--quiet", action="store_true", help="only failures and the summary")
    flags.add_argument("--timeout", type=seconds_flag, default=10.0, help="per transfer")
    flags.add_argument("--max-pixels", type=int, default=100_000_000)
    flags.add_argument("--max-bytes", type=int, default=64 << 20)
    flags.add_argument("--count", type=int, default=48, help="images in the workload's corpus")
    flags.add_argument("--latency", default="50ms", help="the workload store's latency")
    flags.add_argument(
        "--draft", action="store_true", help="decode JPEGs at a reduced scale (Image.draft)"
    )
    flags.add_argument(
        "--gil-bound",
        action="store_true",
        help="add a CPU step in pure Python (a checksum of the pixels) that holds the GIL",
    )
    return flags


def run(
    chapter: str,
    schedule: Schedule,
    doc: str = "",
    own_flags: Callable[[argparse.ArgumentParser], None] | None = None,
) -> None:
    """Runs a program and exits with its code; `schedule` must return one outcome per
    image of `job.images`, in any order."""
    parser = common_flags(chapter, doc)
    if own_flags:
        own_flags(parser)
    args = parser.parse_args()  # a bad flag exits with code 2
    try:
        summary = drive(chapter, args, schedule)
    except SetupError as why:
        print(f"{chapter}: {why}", file=sys.stderr)
        sys.exit(2)
    sys.exit(0 if not summary["failed"] else 1)


def drive(chapter: str, args: argparse.Namespace, schedule: Schedule) -> dict:
    """Prepares, runs and reports one program; its summary, or SetupError."""
    stage = None
    if args.source is None:
        workload = args.workload or "mixed"
        stage = Stage(chapter, workload, args.count, args.latency)
    try:
        where = args.source or stage.source
        out = args.out or (stage and stage.out) or str(Path("out") / chapter)
        images, refused = source.images(where, args.timeout, args.max_bytes)
        output = Output.parse(out)
        output.prepare(args.timeout)
        spec = JobSpec(
            args.sizes,
            output,
            args.timeout,
            args.max_bytes,
            args.max_pixels,
            draft=args.draft,
            gil_bound=args.gil_bound,
        )
        job = Job(spec, images)
        start_us = trace.now_us()
        outcomes = schedule(job, args)
        end_us = trace.now_us()
        spans = job.tracer.spans()
        if args.trace:
            try:
                trace.write(args.trace, chapter, start_us, end_us, spans)
            except OSError as cause:
                raise SetupError(f"cannot write the trace {args.trace}: {cause}") from None
        summary = summarise(chapter, account_for_every_image(images, refused, outcomes))
        summary.update(trace.figures(start_us, end_us, spans))
        summary["peak_rss_mb"] = peak_rss_mb()
    finally:
        if stage:
            stage.close()
    report(summary, args, out)
    return summary


def account_for_every_image(
    images: list[Image], refused: list[Outcome], outcomes: list[Outcome]
) -> list[Outcome]:
    """Input order, refused entries first; an image the program never reported is lost,
    so that a buggy program cannot hide one."""
    by_stem = {outcome.image.stem: outcome for outcome in outcomes}
    lost = "no outcome: the program never reported this image"
    return refused + [by_stem.get(image.stem, Outcome(image, error=lost)) for image in images]


def summarise(chapter: str, outcomes: list[Outcome]) -> dict:
    """The summary's fields in the Rust summary's order; times come from the trace."""
    return {
        "chapter": chapter,
        "images": len(outcomes),
        "thumbnails": sum(len(o.thumbnails) for o in outcomes if o.error is None),
        "failed": [{"source": o.image.source, "error": o.error} for o in outcomes if o.error],
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process plus its largest child (a worker process),
    in MiB; Linux gives `ru_maxrss` in KiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024


def report(summary: dict, args: argparse.Namespace, out: str) -> None:
    if args.json:
        print(json.dumps(summary))
        return
    count, wall = summary["images"], summary["wall_s"]
    print(
        f"{summary['chapter']}: {count} images, {summary['thumbnails']} thumbnails, "
        f"{len(summary['failed'])} failed in {wall:.2f} s ({count / max(wall, 1e-9):.1f} images/s)"
    )
    print(
        f"  time in download {summary['download_s']:.2f} s, resize {summary['resize_s']:.2f} s, "
        f"upload {summary['upload_s']:.2f} s; overlap {summary['overlap']:.2f}; "
        f"peak memory {summary['peak_rss_mb']:.0f} MiB"
    )
    for failure in summary["failed"]:
        print(f"  failed: {failure['source']}: {failure['error']}")
    if not args.quiet:
        print(f"  thumbnails in {out}")
