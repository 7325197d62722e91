"""Where the images come from: a folder, a text file of URLs, or an HTTP prefix whose
`GET` answers a JSON listing (the embedded store's, or nginx's `autoindex_format json`)."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from . import http
from .contract import Image, ImageError, Outcome, SetupError, assign_stems

IMAGE_EXTENSIONS = ("jpg", "jpeg", "png")


@dataclass(frozen=True)
class Entry:
    """One listed image before it has a stem."""

    location: Path | str
    source: str
    name: str


def is_image_name(name: str) -> bool:
    _, dot, extension = name.rpartition(".")
    return bool(dot) and not name.startswith(".") and extension.lower() in IMAGE_EXTENSIONS


def file_name_of_url(text: str) -> str:
    """The last path segment of a URL, percent-decoded (it may then hold `../`, which
    `assign_stems` refuses)."""
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"'{text}' is not an http or https URL")
    return urllib.parse.unquote(parts.path.rsplit("/", 1)[-1])


def folder_entries(folder: Path) -> list[Entry]:
    return [
        Entry(path, str(path), path.name)
        for path in sorted(folder.iterdir(), key=lambda p: p.name)
        if is_image_name(path.name) and path.is_file()
    ]


def url_list_entries(text: str) -> list[Entry]:
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            entries.append(Entry(line, line, file_name_of_url(line)))
        except ValueError as why:
            raise SetupError(f"line {number}: {why}") from None
    return entries


def listing_entries(prefix: str, timeout_s: float, max_bytes: int) -> list[Entry]:
    try:
        listing = json.loads(http.get(prefix, timeout_s, max_bytes))
    except ImageError as why:
        raise SetupError(str(why)) from None
    except ValueError as why:
        raise SetupError(f"the listing is not JSON: {why}") from None
    return [
        Entry(
            prefix + urllib.parse.quote(item["name"]),
            prefix + urllib.parse.quote(item["name"]),
            item["name"],
        )
        for item in sorted(listing, key=lambda item: item["name"])
        if item.get("type") == "file" and is_image_name(item["name"])
    ]


def entries_of(source: str, timeout_s: float, max_bytes: int) -> list[Entry]:
    """`--source` read as the Rust side reads it: an HTTP URL is a listing, a folder a
    folder, any other file a URL list."""
    if source.startswith(("http://", "https://")):
        prefix = source if source.endswith("/") else source + "/"
        return listing_entries(prefix, timeout_s, max_bytes)
    path = Path(source)
    if path.is_dir():
        return folder_entries(path)
    return url_list_entries(path.read_text())


def images(source: str, timeout_s: float, max_bytes: int) -> tuple[list[Image], list[Outcome]]:
    """The images of the source, with unique stems, and an outcome for every entry
    refused before any work (an unsafe name). An empty source is a setup error."""
    try:
        entries = entries_of(source, timeout_s, max_bytes)
    except (SetupError, OSError) as cause:
        raise SetupError(f"cannot read the source {source}: {cause}") from None
    if not entries:
        raise SetupError(f"the source {source} has no images")
    found, refused = [], []
    for entry, stem in zip(entries, assign_stems([e.name for e in entries])):
        if isinstance(stem, ImageError):
            image = Image(entry.location, entry.source, "")
            refused.append(Outcome(image, error=str(stem)))
        else:
            found.append(Image(entry.location, entry.source, stem))
    return found, refused
