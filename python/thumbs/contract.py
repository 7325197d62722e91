"""The job's data, as the Rust side's `src/contract/` has it: images, their unique stems,
the thumbnails' names, the widths to make, what became of each image, and the summary.

The names and messages match the Rust chapters' word for word where a script or a test
reads them: a summary from `py-ch04-thread-pool` and one from `ch04-thread-pool` have the
same fields, and a failed image names the same cause.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

# The widths made when --sizes is not given.
DEFAULT_SIZES = (32, 64, 200)


class ImageError(Exception):
    """Why one image failed: the message names the cause (HTTP status, timeout, ...)."""


class SetupError(Exception):
    """Why the whole run could not start (exit code 2)."""


@dataclass(frozen=True)
class Image:
    """One image of the batch."""

    location: Path | str  # a file on this machine, or a URL
    source: str  # the image as a person would name it: every error names it
    stem: str  # unique in the batch: `cat` makes `cat_32.jpg`

    @property
    def is_url(self) -> bool:
        return isinstance(self.location, str)


@dataclass
class Outcome:
    """What became of one image: the names of its thumbnails, or one error."""

    image: Image
    thumbnails: list[str] = field(default_factory=list)
    error: str | None = None


def thumbnail_name(stem: str, width: int, extension: str) -> str:
    """`{stem}_{width}.{ext}`, with the requested width even when the image is narrower."""
    return f"{stem}_{width}.{extension}"


def parse_sizes(text: str) -> tuple[int, ...]:
    """`32,64,200` in the order given, without repeats; a bad width is a ValueError."""
    widths: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit():
            raise ValueError(f"'{part}' is not a width in pixels")
        width = int(part)
        if width == 0:
            raise ValueError("a width of 0 pixels makes no thumbnail")
        if width not in widths:
            widths.append(width)
    return tuple(widths)


def target_size(width: int, height: int, requested_width: int) -> tuple[int, int]:
    """Never wider than the image; the height in proportion, rounded, at least 1."""
    w = min(requested_width, width)
    h = (height * w + width // 2) // width
    return w, max(h, 1)


def safe_stem(name: str) -> str:
    """The stem of a file name (`cat.jpg` gives `cat`), or ImageError if it is unsafe."""
    if "/" in name or "\\" in name:
        raise ImageError(f"unsafe name '{name}': it contains a path separator")
    if name.startswith("."):
        raise ImageError(
            f"unsafe name '{name}': a name starting with '.' is hidden or leaves the folder"
        )
    if not name or any(unicodedata.category(c) == "Cc" for c in name):
        raise ImageError(f"unsafe name {name!r}: empty or has control characters")
    stem, dot, _extension = name.rpartition(".")
    return stem if dot else name


def assign_stems(names: list[str]) -> list[str | ImageError]:
    """Unique stems for a batch's file names, in order: `cat.jpg` twice gives `cat` and
    `cat-2`, so two sources with the same name never overwrite each other's thumbnails."""
    taken: set[str] = set()
    stems: list[str | ImageError] = []
    for name in names:
        try:
            stem = safe_stem(name)
        except ImageError as refused:
            stems.append(refused)
            continue
        unique, n = stem, 2
        while unique in taken:
            unique, n = f"{stem}-{n}", n + 1
        taken.add(unique)
        stems.append(unique)
    return stems
