"""The job's two IO steps for asyncio, on aiohttp: the same plan as the blocking ones
(`Output.destination`), the same error messages, each step traced."""

from __future__ import annotations

import asyncio

import aiohttp

from .contract import Image, ImageError
from .job import Job, read_file
from .kernel import Thumbnail
from .output import write_atomically


def _failure(cause: BaseException, job: Job, during: str) -> ImageError:
    if isinstance(cause, aiohttp.ClientResponseError):
        return ImageError(f"HTTP {cause.status} from {cause.request_info.url}")
    if isinstance(cause, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return ImageError(f"timed out after {round(job.spec.timeout_s * 1000)} ms ({during})")
    if isinstance(cause, aiohttp.ClientConnectorError):
        return ImageError(f"cannot connect: {cause}")
    return ImageError(f"{during} failed: {cause}")


def session(job: Job) -> aiohttp.ClientSession:
    """One session for the whole batch (it pools connections), with the job's timeout
    on connecting and on each read."""
    timeout = aiohttp.ClientTimeout(sock_connect=job.spec.timeout_s, sock_read=job.spec.timeout_s)
    return aiohttp.ClientSession(timeout=timeout, raise_for_status=True)


async def download(client: aiohttp.ClientSession, job: Job, image: Image) -> bytes:
    with job.tracer.record(image.stem, "download"):
        if not image.is_url:
            return await asyncio.to_thread(read_file, image.location, job.spec.max_bytes)
        try:
            async with client.get(image.location) as response:
                return await read_body(response, job.spec.max_bytes)
        except (aiohttp.ClientError, asyncio.TimeoutError) as cause:
            raise _failure(cause, job, "download") from None


async def read_body(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The whole body, chunk by chunk, refused as soon as it passes `max_bytes`."""
    body = bytearray()
    async for chunk in response.content.iter_chunked(1 << 16):
        body += chunk
        if len(body) > max_bytes:
            raise ImageError(f"too large: more than {max_bytes} bytes")
    return bytes(body)


async def upload(
    client: aiohttp.ClientSession, job: Job, image: Image, thumbs: list[Thumbnail]
) -> list[str]:
    names = job.names(image, thumbs)
    with job.tracer.record(image.stem, "upload"):
        for name, thumb in zip(names, thumbs):
            where = job.spec.output.destination(name)
            if not isinstance(where, str):
                await asyncio.to_thread(write_atomically, where, thumb.data)
                continue
            headers = {"Content-Type": thumb.content_type}
            try:
                async with client.put(where, data=thumb.data, headers=headers):
                    pass
            except (aiohttp.ClientError, asyncio.TimeoutError) as cause:
                raise _failure(cause, job, "upload") from None
    return names
