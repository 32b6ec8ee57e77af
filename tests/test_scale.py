"""Waiting at scale: thousands of jobs over a handful of connections, not one loop per job.

The server finishes the jobs over a couple of seconds from a background task; the tests count
what crossed the wire (connections, streams, requests) and check every final job.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator

import pytest
from _live_helpers import assert_no_new_tasks, client_tasks

from asyncjobs import Client, Job, JobFailedError, JobStatus
from asyncjobs._tuning import TUNING
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio

JOBS = 2000
BATCH = 100  # the native get_many limit


@pytest.fixture
async def server() -> AsyncIterator[JobServer]:
    async with JobServer(heartbeat=1.0, retry_ms=50) as server:
        yield server


def make_jobs(server: JobServer, count: int) -> list[str]:
    return [server.create_job(name=f"job-{i}", status="running").id for i in range(count)]


async def finish_over(
    server: JobServer, ids: list[str], seconds: float, *, fail_every: int = 0
) -> list[str]:
    """Finish the jobs in a random order over ``seconds``, with a progress step first;
    returns the finishing order."""
    order = ids[:]
    random.Random(7).shuffle(order)
    rounds = 20
    size = -(-len(order) // rounds)
    for start in range(0, len(order), size):
        for index, job_id in enumerate(order[start : start + size], start):
            server.update_job(job_id, progress=50)
            if fail_every and index % fail_every == 0:
                server.update_job(job_id, status="failed", error=f"bad {job_id}")
            else:
                server.update_job(job_id, status="completed", result={"n": index})
        await asyncio.sleep(seconds / rounds)
    return order


def check_final(server: JobServer, ids: list[str], results: list[Job | BaseException]) -> None:
    assert len(results) == len(ids)
    for job_id, result in zip(ids, results, strict=True):
        stored = server.get_job(job_id)
        if isinstance(result, JobFailedError):
            result = result.job
        assert isinstance(result, Job), result
        assert result.id == job_id
        assert result.version == stored.version
        assert result.status is stored.status
        assert result.is_terminal


async def test_wait_for_2000_jobs_over_one_stream(server: JobServer) -> None:
    """2,000 jobs finished over ~2 s: one stream, one request, one connection."""
    ids = make_jobs(server, JOBS)
    async with Client(server.url) as client:
        before = client_tasks()
        driver = asyncio.ensure_future(finish_over(server, ids, 2.0, fail_every=97))
        started = time.monotonic()
        results = await client.wait_for_jobs(ids, timeout=30, return_exceptions=True)
        elapsed = time.monotonic() - started
        await driver
        check_final(server, ids, results)
        assert sum(isinstance(r, JobFailedError) for r in results) == len(range(0, JOBS, 97))
        assert elapsed < 10
        assert server.streams_opened == 1
        assert server.connections_opened == 1
        assert server.request_count("POST", "/events") == 1  # its snapshots are the first read
        assert server.request_count() == 1
        await assert_no_new_tasks(before)
        await server.wait_until(lambda: server.open_streams == 0, timeout=1)


async def test_as_completed_on_2000_jobs_follows_the_finishing_order(server: JobServer) -> None:
    """as_completed yields each of 2,000 jobs once, in exactly the order they finished."""
    ids = make_jobs(server, JOBS)
    async with Client(server.url) as client:

        async def drive() -> list[str]:
            await server.wait_until(lambda: server.open_streams == 1)
            return await finish_over(server, ids, 1.5)

        driver = asyncio.ensure_future(drive())
        seen = [job.id async for job in client.as_completed(ids, timeout=30)]
        order = await driver
        assert seen == order
        assert server.streams_opened == 1
        assert server.connections_opened <= 1 + TUNING.read_concurrency


async def test_thousands_of_single_waits_share_the_clients_stream(server: JobServer) -> None:
    """1,000 concurrent wait_for_job calls are batched into one stream."""
    ids = make_jobs(server, 1000)
    async with Client(server.url) as client:
        driver = asyncio.ensure_future(finish_over(server, ids, 1.0))
        results = await asyncio.gather(*(client.wait_for_job(i, timeout=30) for i in ids))
        await driver
        assert [r.id for r in results] == ids
        assert all(r.status is JobStatus.COMPLETED for r in results)
        assert server.streams_opened == 1
        assert server.request_count() == 1
        assert server.connections_opened == 1


async def test_wait_for_2000_jobs_without_sse_polls_in_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without streams, 2,000 jobs cost 20 batched reads a round, in one polling loop."""
    monkeypatch.setattr(TUNING, "poll_start", 0.2)
    monkeypatch.setattr(TUNING, "poll_cap", 1.0)
    async with JobServer(transports=("long-poll",)) as server, Client(server.url) as client:
        ids = make_jobs(server, JOBS)
        before = client_tasks()
        driver = asyncio.ensure_future(finish_over(server, ids, 2.0))
        results = await client.wait_for_jobs(ids, timeout=30)
        await driver
        check_final(server, ids, results)
        batches = server.request_count("GET", "/jobs")
        rounds = batches / (JOBS // BATCH)
        # The read that tells "no stream" from "no job", then ~2 s / 0.2 s of polling rounds
        # (fewer as jobs finish): nothing like one request per job.
        assert rounds <= 20
        assert server.request_count("GET", "/jobs/*") == 0
        assert server.request_count("GET", "/jobs/*/poll") == 0
        assert server.request_count("POST", "/events") == 1  # probed once
        assert server.connections_opened <= 1 + TUNING.read_concurrency
        await assert_no_new_tasks(before)


async def test_jobs_joining_a_full_set_of_streams_reconnect_the_smallest(
    server: JobServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past max_streams, new jobs join an open stream: it reconnects with the larger id set,
    resuming from the oldest version read so nothing is missed."""
    monkeypatch.setattr(TUNING, "max_streams", 1)
    first = make_jobs(server, 3)
    second = make_jobs(server, 2)
    read_from = min(server.get_job(job_id).version or 0 for job_id in second)
    async with Client(server.url) as client:
        one = asyncio.ensure_future(client.wait_for_jobs(first, timeout=10))
        await server.wait_until(lambda: server.open_streams == 1)
        server.update_job(first[0], progress=10)  # moves the stream's last event id past second
        two = asyncio.ensure_future(client.wait_for_jobs(second, timeout=10))
        await server.wait_until(lambda: server.streams_opened == 2)
        await server.wait_until(lambda: server.open_streams == 1)
        for job_id in first + second:
            server.update_job(job_id, status="completed")
        assert len(await one) == 3
        assert len(await two) == 2
        streams = [r for r in server.requests if r.path.endswith("/events")]
        assert len(streams) == 2
        assert set(streams[1].query["ids"].split(",")) == set(first + second)
        resumed = int(streams[1].headers["Last-Event-ID"])
        assert 1 <= resumed <= read_from
