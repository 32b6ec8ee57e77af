"""Waiting at scale: thousands of jobs over a handful of connections, not one loop per job.

The server finishes the jobs over a couple of seconds from a background task; the tests count
what crossed the wire (connections, streams, requests) and check every final job.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from _live_helpers import assert_no_new_tasks, bounded, client_tasks, wait_until
from aiohttp import web

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
        await asyncio.sleep(seconds / rounds)  # pacing the changes, not synchronisation
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
        # timeout=30 bounds the wait: a lost final state raises JobTimeoutError naming it.
        results = await client.wait_for_jobs(ids, timeout=30, return_exceptions=True)
        await driver
        check_final(server, ids, results)
        assert sum(isinstance(r, JobFailedError) for r in results) == len(range(0, JOBS, 97))
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
    resuming from its own last event id (the joined jobs' history is not sent again)."""
    monkeypatch.setattr(TUNING, "max_streams", 1)
    first = make_jobs(server, 3)
    second = make_jobs(server, 2)
    async with Client(server.url) as client:
        seen: list[Job] = []

        async def watch_first() -> int:
            async for job in client.watch_jobs(first, timeout=10):
                seen.append(job)
            return sum(job.is_terminal for job in seen)

        one = asyncio.ensure_future(watch_first())
        await server.wait_until(lambda: server.open_streams == 1)
        moved = server.update_job(first[0], progress=10)
        # The stream has read past the jobs that join it: its last event id is newer than
        # their versions, and the reconnect resumes from it, not from their old versions.
        await wait_until(
            lambda: any(job.version == moved.version for job in seen),
            message=f"the stream never delivered version {moved.version} of {first[0]}",
        )
        two = asyncio.ensure_future(client.wait_for_jobs(second, timeout=10))
        await server.wait_until(lambda: server.streams_opened == 2)
        await server.wait_until(lambda: server.open_streams == 1)
        for job_id in first + second:
            server.update_job(job_id, status="completed")
        assert await bounded(one, "the first jobs' final states") == 3
        assert len(await bounded(two, "the joined jobs' final states")) == 2
        streams = [r for r in server.requests if r.path.endswith("/events")]
        assert len(streams) == 2
        assert set(streams[1].query["ids"].split(",")) == set(first + second)
        assert streams[1].headers["Last-Event-ID"] == str(moved.version)


async def test_a_job_joining_a_stream_gets_the_change_made_right_after_its_read(
    fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job joins a stream that is past its snapshots: it is read while the stream is closed,
    and a change made the moment after that read (before the reconnect) reaches its watcher
    once, in order; the reconnect resumes from the stream's own last event id."""
    monkeypatch.setattr(TUNING, "max_streams", 1)
    after_read: list[Callable[[], object]] = []  # run once the batched read is answered

    @web.middleware
    async def race(request: web.Request, handler: Any) -> web.StreamResponse:
        response = await handler(request)
        if request.method == "GET" and request.path.endswith("/jobs") and "ids" in request.query:
            while after_read:
                after_read.pop()()
        return response

    server = JobServer(heartbeat=1.0, retry_ms=20)
    server.app.middlewares.append(race)
    async with server, Client(server.url) as client:
        first = server.create_job(name="first", status="running")
        joiner = server.create_job(name="joiner", status="running")
        seen: dict[str, list[int]] = {first.id: [], joiner.id: []}

        async def watch(job_id: str) -> None:
            async for job in client.watch_jobs([job_id], timeout=10):
                seen[job_id].append(job.version or 0)

        one = asyncio.ensure_future(watch(first.id))
        moved = server.update_job(first.id, progress=10)
        await wait_until(
            lambda: moved.version in seen[first.id],
            message=f"the stream never delivered version {moved.version} of the first job",
        )
        changes: list[Job] = []
        after_read.append(lambda: changes.append(server.update_job(joiner.id, progress=50)))
        two = asyncio.ensure_future(watch(joiner.id))
        await wait_until(
            lambda: server.streams_opened == 2 and server.open_streams == 1 and changes,
            message="the stream never reconnected with the joined job",
        )
        done = server.update_job(joiner.id, status="completed")
        expected = [joiner.version, changes[0].version, done.version]
        await bounded(two, f"the joined job's watch never ended; saw {seen[joiner.id]}")
        end = server.update_job(first.id, status="completed")
        await bounded(one, f"the first job's watch never ended; saw {seen[first.id]}")
    assert seen[joiner.id] == expected
    # The first state is the snapshot: before or after the progress change, never both.
    assert seen[first.id] in (
        [first.version, moved.version, end.version],
        [moved.version, end.version],
    )
    streams = [r for r in server.requests if r.path.endswith("/events")]
    assert [r.headers.get("Last-Event-ID") for r in streams] == [None, str(moved.version)]
