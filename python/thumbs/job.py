"""The job a program schedules: download an image, make its thumbnails, store them, each
step traced. A program decides only *when* and *where* these run, as a Rust chapter does
with `src/job/`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import http, kernel
from .contract import Image, ImageError, Outcome, thumbnail_name
from .output import Output
from .trace import Tracer


@dataclass(frozen=True)
class JobSpec:
    """What every image's job needs: small and picklable, so a worker process gets it."""

    sizes: tuple[int, ...]
    output: Output
    timeout_s: float
    max_bytes: int
    max_pixels: int
    draft: bool = False
    gil_bound: bool = False


class Job:
    """The images of a batch and the three steps, each recorded as a span."""

    def __init__(self, spec: JobSpec, images: list[Image]) -> None:
        self.spec = spec
        self.images = images
        self.tracer = Tracer()

    # A worker process gets the job without its tracer (a lock cannot travel) and
    # records into a fresh one, whose spans it sends home with each result.
    def __getstate__(self) -> dict:
        return {"spec": self.spec, "images": self.images}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["spec"], state["images"])

    def download(self, image: Image) -> bytes:
        """The image's bytes, from its file or its URL."""
        with self.tracer.record(image.stem, "download"):
            if image.is_url:
                return http.get(image.location, self.spec.timeout_s, self.spec.max_bytes)
            return read_file(image.location, self.spec.max_bytes)

    def thumbnail(self, image: Image, data: bytes) -> list[kernel.Thumbnail]:
        """The CPU step."""
        with self.tracer.record(image.stem, "resize"):
            return kernel.thumbnails(
                data,
                self.spec.sizes,
                self.spec.max_pixels,
                draft=self.spec.draft,
                gil_bound=self.spec.gil_bound,
            )

    def upload(self, image: Image, thumbs: list[kernel.Thumbnail]) -> list[str]:
        """Stores every thumbnail; their names."""
        names = self.names(image, thumbs)
        with self.tracer.record(image.stem, "upload"):
            for name, thumb in zip(names, thumbs):
                self.spec.output.store(name, thumb.data, thumb.content_type, self.spec.timeout_s)
        return names

    @staticmethod
    def names(image: Image, thumbs: list[kernel.Thumbnail]) -> list[str]:
        return [thumbnail_name(image.stem, t.requested_width, t.extension) for t in thumbs]

    def process(self, image: Image) -> Outcome:
        """One image from download to upload; its error, if any, is its outcome."""
        try:
            data = self.download(image)
            thumbs = self.thumbnail(image, data)
            return Outcome(image, thumbnails=self.upload(image, thumbs))
        except ImageError as why:
            return Outcome(image, error=str(why))


def read_file(path: Path, max_bytes: int) -> bytes:
    try:
        with open(path, "rb") as file:
            data = file.read(max_bytes + 1)
    except OSError as cause:
        raise ImageError(f"cannot read {path}: {cause}") from None
    if len(data) > max_bytes:
        raise ImageError(f"too large: more than {max_bytes} bytes")
    return data
