"""Where thumbnails go: a folder (each file written under a temporary name, then
renamed, so there is never a half-written file) or an HTTP prefix that accepts PUT.

`Output.destination` is the one plan; the blocking and the async clients only carry it
out, so they cannot disagree on a name or a URL."""

from __future__ import annotations

import os
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from . import http
from .contract import ImageError, SetupError


@dataclass(frozen=True)
class Output:
    """A folder, or an HTTP prefix ending in `/`."""

    place: str

    @staticmethod
    def parse(text: str) -> Output:
        if text.startswith(("http://", "https://")) and not text.endswith("/"):
            text += "/"
        return Output(text)

    @property
    def is_http(self) -> bool:
        return self.place.startswith(("http://", "https://"))

    def destination(self, name: str) -> Path | str:
        """The file, or the URL to PUT, for the thumbnail called `name`."""
        if self.is_http:
            return self.place + urllib.parse.quote(name)
        return Path(self.place) / name

    def prepare(self, timeout_s: float) -> None:
        """Creates the folder, or checks that the server answers, before any work."""
        try:
            if self.is_http:
                http.answers(self.place, timeout_s)
            else:
                Path(self.place).mkdir(parents=True, exist_ok=True)
        except (ImageError, OSError) as cause:
            raise SetupError(f"cannot write to the output {self.place}: {cause}") from None

    def store(self, name: str, data: bytes, content_type: str, timeout_s: float) -> None:
        """Writes one thumbnail, or ImageError."""
        where = self.destination(name)
        if isinstance(where, str):
            http.put(where, data, content_type, timeout_s)
        else:
            write_atomically(where, data)


def write_atomically(path: Path, data: bytes) -> None:
    """Writes a hidden temporary file beside `path`, then renames it: a reader sees the
    whole file or none. The name holds the pid and thread, so two workers never share one."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError as cause:
        temporary.unlink(missing_ok=True)
        raise ImageError(f"cannot write {path}: {cause}") from None
