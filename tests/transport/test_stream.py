"""Event streams as bytes (``_transport/_stream.py``): no request timeout cuts them, an error
status is raised before reading, a cut is a TransportError, and they are released on exit."""

from __future__ import annotations

import asyncio
import time

import pytest

from asyncjobs import APIError, Client, JobNotFoundError, TransportError
from asyncjobs._transport._open import open_stream
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


async def test_stream_outlives_the_request_timeout(server: JobServer) -> None:
    """A stream has no total timeout: it keeps delivering long past the client's timeout."""
    job = server.create_job("x")
    async with (
        Client(server.url, timeout=0.2) as client,
        open_stream(client._http, "events", path_params={"job_id": job.id}) as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        deadline = time.monotonic() + 1.0
        pings = 0
        while time.monotonic() < deadline:
            line = await response.content.readline()
            assert line, "the stream ended"
            pings += line.startswith(b":")
    assert pings >= 3


async def test_stream_error_status_is_raised_before_yielding(server: JobServer) -> None:
    """A 404 on opening is a JobNotFoundError; the body is never handed out."""
    async with Client(server.url) as client:
        with pytest.raises(JobNotFoundError) as caught:
            async with open_stream(client._http, "events", path_params={"job_id": "nope"}):
                pytest.fail("yielded an error answer")
    assert caught.value.job_ids == ("nope",)


async def test_stream_is_released_on_exit_and_on_cancellation(server: JobServer) -> None:
    """Leaving the block, normally or by cancellation, closes the stream's connection."""
    job = server.create_job("x")
    async with Client(server.url) as client:
        async with open_stream(client._http, "events", path_params={"job_id": job.id}) as response:
            await response.content.readline()
            await server.wait_until(lambda: server.open_streams == 1)
        await server.wait_until(lambda: server.open_streams == 0)

        async def read_forever() -> None:
            async with open_stream(client._http, "events", path_params={"job_id": job.id}) as resp:
                while await resp.content.readline():
                    pass

        task = asyncio.create_task(read_forever())
        await server.wait_until(lambda: server.open_streams == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await server.wait_until(lambda: server.open_streams == 0)


async def test_a_cut_stream_raises_transport_error_while_reading(server: JobServer) -> None:
    """aiohttp's payload error from a connection cut mid-stream comes out as TransportError."""
    job = server.create_job("x")

    async def read_until_cut(client: Client) -> None:
        async with open_stream(client._http, "events", path_params={"job_id": job.id}) as resp:
            await resp.content.readline()
            server.cut_streams()
            while await resp.content.readline():
                pass

    async with Client(server.url) as client:
        with pytest.raises(TransportError, match="cut off"):
            await read_until_cut(client)


async def test_stream_opening_waits_for_the_pause(server: JobServer) -> None:
    """Stream openings honour the shared Retry-After pause too."""
    job = server.create_job("x")
    async with Client(server.url) as client:
        client._http.pause(0.5)
        started = time.monotonic()
        async with open_stream(client._http, "events", path_params={"job_id": job.id}):
            pass
        assert time.monotonic() - started >= 0.4


async def test_api_error_for_unknown_status_is_the_base_class(server: JobServer) -> None:
    """An error status without a dedicated class is a plain APIError."""
    server.fail_next(1, 418, path="/stats")
    async with Client(server.url) as client:
        with pytest.raises(APIError) as caught:
            await client.queue_stats()
    assert type(caught.value) is APIError
    assert str(caught.value).startswith("418 I'm a Teapot from GET /stats")
