"""An HTTP/1.1 client as an asyncio `Protocol`: the low-level half of asyncio, where the
event loop calls methods on an object when bytes arrive, and nothing is awaited.

`exchange` opens a connection, writes one request, and returns a `Future` that the
protocol resolves with the status and body, or fails with the image's error. It is the
Python twin of the Rust event loop's `Protocol`/`Transport` (`src/patterns/event_loop/`).
"""

from __future__ import annotations

import asyncio
import urllib.parse

from .contract import ImageError


class HttpExchange(asyncio.Protocol):
    """One request and its answer on a fresh connection; the loop calls these methods."""

    def __init__(self, request: bytes, answered: asyncio.Future, max_bytes: int) -> None:
        self.request = request
        self.answered = answered
        self.max_bytes = max_bytes
        self.received = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.received += data
        if len(self.received) > self.max_bytes + (64 << 10):
            self.fail(ImageError(f"too large: more than {self.max_bytes} bytes"))
        elif (answer := parse(self.received)) is not None:
            self.resolve(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        # The server closed first: whatever arrived is the whole answer (a body without
        # a length ends with the connection), or the answer was cut short.
        answer = parse(self.received, closed=True)
        if answer is None:
            self.fail(ImageError(f"cannot connect: the connection closed early ({exc})"))
        else:
            self.resolve(answer)

    def resolve(self, answer: tuple[int, bytes]) -> None:
        if not self.answered.done():
            self.answered.set_result(answer)
        self.close()

    def fail(self, error: ImageError) -> None:
        if not self.answered.done():
            self.answered.set_exception(error)
        self.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def parse(received: bytes, closed: bool = False) -> tuple[int, bytes] | None:
    """The status and body once the whole answer is in, else None."""
    head, found, body = bytes(received).partition(b"\r\n\r\n")
    if not found:
        return None
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:])
    }
    if "content-length" in headers:
        length = int(headers["content-length"])
        return (status, body[:length]) if len(body) >= length else None
    return (status, body) if closed else None


def request(method: str, url: str, body: bytes, content_type: str) -> bytes:
    parts = urllib.parse.urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    head = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    if method == "PUT":
        head += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def exchange(
    loop: asyncio.AbstractEventLoop,
    method: str,
    url: str,
    timeout_s: float,
    max_bytes: int,
    body: bytes = b"",
    content_type: str = "",
) -> asyncio.Future:
    """Starts one HTTP exchange; the returned future gets the body of a 2xx answer, or
    fails with ImageError (status, refused connection, timeout)."""
    parts = urllib.parse.urlsplit(url)
    answered: asyncio.Future = loop.create_future()
    result: asyncio.Future = loop.create_future()
    protocol = HttpExchange(request(method, url, body, content_type), answered, max_bytes)
    connecting = asyncio.ensure_future(
        loop.create_connection(lambda: protocol, parts.hostname, parts.port or 80)
    )
    during = "download" if method == "GET" else "upload"

    def give_up() -> None:  # call_later's callback: no answer in time
        connecting.cancel()
        protocol.fail(ImageError(f"timed out after {round(timeout_s * 1000)} ms ({during})"))

    timer = loop.call_later(timeout_s, give_up)

    def connected(attempt: asyncio.Future) -> None:
        if not attempt.cancelled() and attempt.exception() is not None:
            protocol.fail(ImageError(f"cannot connect: {attempt.exception()}"))

    def finished(done: asyncio.Future) -> None:
        timer.cancel()
        if done.exception() is not None:
            result.set_exception(done.exception())
            return
        status, content = done.result()
        if status >= 400:
            result.set_exception(ImageError(f"HTTP {status} from {url}"))
        else:
            result.set_result(content)

    connecting.add_done_callback(connected)
    answered.add_done_callback(finished)
    return result
