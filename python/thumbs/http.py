"""Blocking HTTP with the standard library: GET an image, PUT a thumbnail, and the
errors as the Rust chapters word them (`HTTP 404 from URL`, `timed out after ...`,
`cannot connect: ...`, `too large: ...`)."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

from .contract import ImageError


def _failure(cause: BaseException, url: str, during: str, timeout_s: float) -> ImageError:
    """One image's error from whatever urllib raised."""
    if isinstance(cause, urllib.error.HTTPError):
        return ImageError(f"HTTP {cause.code} from {url}")
    reason = cause.reason if isinstance(cause, urllib.error.URLError) else cause
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return ImageError(f"timed out after {round(timeout_s * 1000)} ms ({during})")
    if isinstance(reason, OSError):
        return ImageError(f"cannot connect: {reason}")
    return ImageError(f"{during} failed: {reason}")


def get(url: str, timeout_s: float, max_bytes: int) -> bytes:
    """The body of `url`, or ImageError; more than `max_bytes` is refused."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            body = response.read(max_bytes + 1)
    except (urllib.error.URLError, OSError) as cause:
        raise _failure(cause, url, "download", timeout_s) from None
    if len(body) > max_bytes:
        raise ImageError(f"too large: more than {max_bytes} bytes")
    return body


def put(url: str, data: bytes, content_type: str, timeout_s: float) -> None:
    """PUT `data` to `url`, or ImageError."""
    request = urllib.request.Request(
        url, data=data, method="PUT", headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s):
            pass
    except (urllib.error.URLError, OSError) as cause:
        raise _failure(cause, url, "upload", timeout_s) from None


def answers(url: str, timeout_s: float) -> None:
    """Raises ImageError unless a server answers at `url` (any status will do)."""
    request = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s):
            pass
    except urllib.error.HTTPError:
        pass  # it answered, if only to say no
    except (urllib.error.URLError, OSError) as cause:
        raise _failure(cause, url, "HEAD", timeout_s) from None
