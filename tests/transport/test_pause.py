"""The client-wide Retry-After pause (``_transport/_pause.py``): a 429 or 503 with Retry-After
delays every request of the client, not just the one that got it."""

from __future__ import annotations

import asyncio
import time

import pytest

from asyncjobs import Client, ServerError
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


async def test_429_with_retry_after_pauses_the_whole_client(server: JobServer) -> None:
    """A 429 with Retry-After on one request delays a concurrent, unrelated request too."""
    job = server.create_job("x")
    server.fail_next(1, 429, headers={"Retry-After": "1"}, path="/stats")
    async with Client(server.url) as client:
        stats = asyncio.create_task(client.queue_stats())
        await server.wait_until(lambda: client._http.paused_for() > 0)
        started = time.monotonic()
        await client.get_job(job.id)
        elapsed = time.monotonic() - started
        await stats
    assert elapsed >= 0.8
    paths = [r.path.removeprefix("/api/v1") for r in server.requests]
    assert paths[0] == "/stats"
    assert sorted(paths[1:]) == sorted(["/stats", f"/jobs/{job.id}"])


async def test_503_with_retry_after_on_an_unsafe_request_still_pauses(server: JobServer) -> None:
    """Even a request that is not retried sets the pause for the others."""
    server.fail_next(1, 503, headers={"Retry-After": "1"}, path="/cleanup")
    async with Client(server.url) as client:
        with pytest.raises(ServerError, match="Retry-After"):
            await client.cleanup()
        assert client._http.paused_for() > 0.5
        started = time.monotonic()
        await client.queue_stats()
        assert time.monotonic() - started >= 0.5
