"""The CPU step, the way the Python course does it: Pillow opens the image at full size
and resizes it to each width with Lanczos; JPEG comes out at quality 85, PNG as PNG.

Pillow's bytes differ from the Rust kernel's (another decoder, another resizer), but the
names and sizes of the thumbnails are the contract's, so both sides can be compared.

Two switches change the cost, never the names or sizes:

- `draft=True` lets the JPEG decoder reconstruct the image at 1/2, 1/4 or 1/8 of its size
  (Pillow's `Image.draft`), the trick the Rust kernel always uses. The course does not.
- `gil_bound=True` adds a step written in pure Python: an Adler-32 checksum of every
  byte of the decoded pixels, the kind of fingerprint a photo library keeps to find
  duplicates. Pillow releases the GIL inside its C code, so threads scale on Pillow
  alone; a loop in Python holds the GIL, so on that step one thread runs at a time.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from PIL import Image as Pillow

from .contract import ImageError, target_size

JPEG_QUALITY = 85
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# We check the pixel budget ourselves, from the header, before any pixel is allocated.
Pillow.MAX_IMAGE_PIXELS = None


@dataclass(frozen=True)
class Thumbnail:
    """One thumbnail, encoded."""

    requested_width: int
    width: int
    height: int
    extension: str  # "jpg" or "png"
    data: bytes

    @property
    def content_type(self) -> str:
        return "image/jpeg" if self.extension == "jpg" else "image/png"


def sniff(data: bytes) -> str:
    """The format from the first bytes, never from the name."""
    if not data:
        raise ImageError("not an image: the file is empty")
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(PNG_SIGNATURE):
        return "png"
    raise ImageError("not an image: neither a JPEG nor a PNG signature")


def check_budget(width: int, height: int, budget: int) -> None:
    if width * height > budget:
        raise ImageError(f"too many pixels: {width}x{height} is over the budget of {budget} pixels")


def png_header_size(data: bytes) -> tuple[int, int] | None:
    """A PNG's size from its IHDR chunk, read before Pillow sees the file: a 33-byte
    header can claim 100000x100000 pixels."""
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def pixel_checksum(pixels: bytes) -> int:
    """Adler-32 of `pixels` (what `zlib.adler32` computes in C), computed by a loop in
    Python: it holds the GIL for every byte, which is the point of `--gil-bound`."""
    low, high = 1, 0
    for value in pixels:
        low = (low + value) % 65521
        high = (high + low) % 65521
    return (high << 16) | low


def thumbnails(
    data: bytes,
    sizes: tuple[int, ...],
    max_pixels: int,
    *,
    draft: bool = False,
    gil_bound: bool = False,
) -> list[Thumbnail]:
    """One thumbnail per width of `sizes`, in that order, or ImageError."""
    extension = sniff(data)
    header = png_header_size(data) if extension == "png" else None
    if header:
        check_budget(*header, max_pixels)
    try:
        with Pillow.open(io.BytesIO(data)) as picture:
            full_width, full_height = picture.size
            check_budget(full_width, full_height, max_pixels)
            if draft and extension == "jpg":
                widest = target_size(full_width, full_height, max(sizes))
                picture.draft("RGB", widest)
            picture.load()
            if gil_bound:
                pixel_checksum(picture.tobytes())
            picture = _encodable(picture, extension)
            return [_one(picture, (full_width, full_height), width, extension) for width in sizes]
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, Pillow.DecompressionBombError) as cause:
        raise ImageError(f"corrupt image: {cause}") from None


def _encodable(picture: Pillow.Image, extension: str) -> Pillow.Image:
    """A mode the resizer and the encoder take: RGB or grey for JPEG, and RGBA for PNG
    palettes (a palette cannot be resized with Lanczos)."""
    if extension == "jpg" and picture.mode not in ("RGB", "L"):
        return picture.convert("RGB")
    if extension == "png" and picture.mode not in ("RGB", "RGBA", "L", "LA"):
        return picture.convert("RGBA")
    return picture


def _one(picture: Pillow.Image, full: tuple[int, int], requested: int, extension: str) -> Thumbnail:
    width, height = target_size(*full, requested)
    resized = picture.resize((width, height), Pillow.Resampling.LANCZOS)
    out = io.BytesIO()
    if extension == "jpg":
        resized.save(out, format="JPEG", quality=JPEG_QUALITY)
    else:
        resized.save(out, format="PNG")
    return Thumbnail(requested, width, height, extension, out.getvalue())
