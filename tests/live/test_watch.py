"""watch(): every transport, the auto fallback, resuming dropped and stalled streams, timeouts.

All against the reference server on loopback (or a tiny purpose-built aiohttp app where the
reference server cannot misbehave the way a test needs).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import pytest
from _client_apps import serve
from _live_helpers import PATIENCE, bounded, next_within, wait_until
from aiohttp import web

from asyncjobs import (
    Client,
    Job,
    JobNotFoundError,
    JobStatus,
    JobTimeoutError,
    ServerError,
    UnsupportedOperationError,
)
from asyncjobs._models import is_newer
from asyncjobs._tuning import TUNING
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


STEPS: list[dict[str, Any]] = [
    {"status": "running", "progress": 10, "message": "step 1"},
    {"progress": 50, "message": "step 2"},
    {"progress": 90},
    {"status": "completed", "progress": 100, "result": {"rows": 3}},
]


async def follow_in_lockstep(
    client: Client,
    server: JobServer,
    job_id: str,
    steps: list[dict[str, Any]],
    *,
    before_change: Any = None,
    step_timeout: float = PATIENCE,
    **options: Any,
) -> tuple[list[Job], list[int]]:
    """Watch a job, making the next change each time a state arrives.

    Every step is bounded: a state that does not arrive within ``step_timeout`` fails the test
    naming the lost update, and a watch that goes on after the last step fails too.

    Returns the states seen and the versions the server gave (the first one included).
    """
    expected = [server.get_job(job_id).version or 0]
    seen: list[Job] = []
    async with aclosing(client.watch(job_id, **options)) as updates:
        for step, change in enumerate([*steps, None]):
            what = (
                "the current state"
                if step == 0
                else f"update {step} of {len(steps)} ({steps[step - 1]}, version {expected[step]})"
            )
            job = await next_within(
                updates,
                f"watch({job_id!r}, {options}) lost {what}; versions seen: "
                f"{[j.version for j in seen]}",
                timeout=step_timeout,
            )
            seen.append(job)
            if change is not None:
                if before_change is not None:
                    await before_change(len(seen))
                expected.append(server.update_job(job_id, **change).version or 0)
        extra = await bounded(
            anext(updates, None),
            f"watch({job_id!r}) did not end after the terminal state (version {expected[-1]})",
            timeout=step_timeout,
        )
        assert extra is None, f"watch({job_id!r}) went on after the terminal state: {extra}"
    return seen, expected


@pytest.mark.parametrize("transport", ["sse", "long-poll", "poll", "auto"])
async def test_watch_yields_the_current_state_then_each_version_once(
    server: JobServer, client: Client, fast: None, transport: str
) -> None:
    """Every transport yields the current state, then every change, in order, and ends."""
    job = server.create_job(name="export")
    seen, expected = await follow_in_lockstep(client, server, job.id, STEPS, transport=transport)
    assert [j.version for j in seen] == expected
    assert [j.status for j in seen] == [
        JobStatus.PENDING,
        JobStatus.RUNNING,
        JobStatus.RUNNING,
        JobStatus.RUNNING,
        JobStatus.COMPLETED,
    ]
    assert [j.progress for j in seen] == [None, 10, 50, 90, 100]
    assert seen[-1].result == {"rows": 3}
    streams = server.streams_opened
    polls = server.request_count("GET", "/jobs/*/poll")
    if transport in ("sse", "auto"):
        assert streams == 1
        assert polls == 0
    elif transport == "long-poll":
        assert streams == 0
        assert polls >= len(STEPS)
    else:
        assert streams == 0
        assert polls == 0
    await wait_until(
        lambda: server.open_streams == 0, message="the ended watch left its stream open"
    )


@pytest.mark.parametrize("transport", ["sse", "auto"])
async def test_watch_over_sse_sees_a_burst_of_changes_without_losing_one(
    server: JobServer, client: Client, transport: str
) -> None:
    """A stream (the job's own, or the client's shared one) delivers every version of a fast
    burst: nothing is coalesced."""
    job = server.create_job()
    versions: list[int] = []
    async with aclosing(client.watch(job.id, transport=transport, timeout=PATIENCE)) as updates:
        first = await anext(updates)
        versions.append(first.version or 0)
        reader = asyncio.ensure_future(anext(updates))
        await server.wait_until(lambda: server.open_streams == 1)
        made = [server.update_job(job.id, progress=i).version for i in range(1, 30)]
        made.append(server.update_job(job.id, status="failed", error="boom").version)
        versions.append((await bounded(reader, "the first change of the burst")).version or 0)
        async for job_state in updates:
            versions.append(job_state.version or 0)
    assert versions == [first.version, *made]


async def test_watch_ends_on_a_failed_job_without_raising(
    server: JobServer, client: Client
) -> None:
    """A failed job is the end of the watch, not an error; a finished job costs one request
    (the shared stream's snapshot, closed after the terminal event)."""
    job = server.create_job(status="failed", error="disk full")
    server.clear_requests()
    seen = [j async for j in client.watch(job.id, timeout=PATIENCE)]
    assert [j.status for j in seen] == [JobStatus.FAILED]
    assert seen[0].error == "disk full"
    assert len(server.requests) == 1


@pytest.mark.parametrize("transport", ["sse", "auto"])
async def test_watch_resumes_a_cut_stream_and_sees_every_version_once(
    server: JobServer, client: Client, fast: None, transport: str
) -> None:
    """Cutting the stream mid-way loses nothing and repeats nothing: it resumes with
    Last-Event-ID."""

    async def cut_sometimes(count: int) -> None:
        if count in (2, 3):
            await server.wait_until(lambda: server.open_streams == 1)
            assert server.cut_streams() == 1

    job = server.create_job()
    seen, expected = await follow_in_lockstep(
        client, server, job.id, STEPS, before_change=cut_sometimes, transport=transport
    )
    assert [j.version for j in seen] == expected
    assert server.streams_opened == 3
    resumed = [
        r.headers.get("Last-Event-ID") for r in server.requests if r.path.endswith("/events")
    ]
    assert resumed[0] is None
    assert resumed[1:] == [str(expected[1]), str(expected[2])]


@pytest.mark.parametrize("transport", ["sse", "auto"])
async def test_watch_survives_cuts_in_the_middle_of_a_burst(
    server: JobServer, client: Client, fast: None, transport: str
) -> None:
    """Cuts mid-burst: versions stay strictly increasing, none twice, and the end is seen."""
    job = server.create_job()
    versions: list[int] = []

    async def consume() -> None:
        async for state in client.watch(job.id, transport=transport, timeout=PATIENCE):
            versions.append(state.version or 0)

    consumer = asyncio.ensure_future(consume())
    await server.wait_until(lambda: server.open_streams == 1)
    server.cut_streams_after(5)
    for i in range(1, 20):
        server.update_job(job.id, progress=i)
    await server.wait_until(lambda: server.streams_opened >= 2)
    last = server.update_job(job.id, status="completed")
    await bounded(consumer, f"the end of the watch (version {last.version}); saw {versions}")
    assert versions == sorted(set(versions))
    assert versions[0] == job.version
    assert versions[-1] == last.version
    assert len(versions) >= 7


@pytest.mark.parametrize("transport", ["sse", "auto"])
async def test_watch_detects_a_stalled_stream_within_its_limit_and_resumes_it(
    fast: None, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    """A stream silent for its stall limit is dropped and resumed after about that long (not
    twice as long), with Last-Event-ID; the change made meanwhile is delivered once.

    The server announces a 30 s heartbeat and no ping comes in time; with stall_heartbeats at
    1/60 the limit is 0.5 s. The server's own clock times it: from the stream's request to the
    resuming request.
    """
    limit = 0.5
    monkeypatch.setattr(TUNING, "stall_heartbeats", limit / 30.0)
    monkeypatch.setattr(TUNING, "stall_min", 0.0)
    loop = asyncio.get_running_loop()
    arrivals: list[float] = []

    @web.middleware
    async def stamp(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.endswith("/events"):
            arrivals.append(loop.time())
        return await handler(request)

    server = JobServer(heartbeat=30.0, retry_ms=20)
    server.app.middlewares.append(stamp)
    async with server, Client(server.url) as client:
        job = server.create_job()
        async with aclosing(client.watch(job.id, transport=transport, timeout=PATIENCE)) as updates:
            await next_within(updates, "the current state")
            reader = asyncio.ensure_future(anext(updates))
            await server.wait_until(lambda: server.open_streams == 1)
            server.stall_streams()
            change = server.update_job(job.id, status="running")
            await wait_until(
                lambda: server.streams_opened >= 2,
                timeout=5 * limit,
                message=f"the stalled stream was never resumed (stall limit {limit} s)",
            )
            server.resume_streams()
            seen = await bounded(reader, f"the change made during the stall ({change.version})")
            assert seen.version == change.version
            server.update_job(job.id, status="completed")
            rest = [state.version async for state in updates]
        assert rest == [server.get_job(job.id).version]
    silence = arrivals[1] - arrivals[0]
    # Detected at the limit plus a reconnect delay of ~20 ms; twice the limit is a bug. The
    # margin (0.4 s) is for a loaded machine.
    assert limit - 0.05 <= silence < 1.8 * limit, f"resumed after {silence:.3f} s"
    headers = [r.headers for r in server.requests if r.path.endswith("/events")]
    assert headers[0].get("Last-Event-ID") is None
    assert headers[1].get("Last-Event-ID") == str(job.version)
    assert server.streams_opened == 2


async def test_watchers_of_one_job_through_watch_jobs_share_one_stream(
    server: JobServer, client: Client
) -> None:
    """Five watch_jobs loops on one job share one stream; each sees every version."""
    job = server.create_job()
    seen: list[list[int]] = [[] for _ in range(5)]

    async def follow(versions: list[int]) -> list[int]:
        async for state in client.watch_jobs([job.id], timeout=PATIENCE):
            versions.append(state.version or 0)
        return versions

    watchers = [asyncio.ensure_future(follow(versions)) for versions in seen]
    await wait_until(
        lambda: all(seen) and server.open_streams == 1,
        message=lambda: f"not every watcher got the current state: {seen}",
    )
    made = [job.version or 0]
    made += [server.update_job(job.id, progress=p).version or 0 for p in (10, 20)]
    made.append(server.update_job(job.id, status="completed").version or 0)
    assert await bounded(asyncio.gather(*watchers), f"the watchers' updates {made}") == [made] * 5
    assert server.streams_opened == 1
    assert server.request_count() == 1


async def test_stall_limit_learns_the_servers_heartbeat(
    server: JobServer, client: Client, fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pings slower than the configured floor do not make a healthy stream look stalled once
    the heartbeat has been seen (the limit is a few heartbeat intervals)."""
    monkeypatch.setattr(TUNING, "stall_floor", 0.3)
    job = server.create_job()
    async with aclosing(client.watch(job.id, transport="sse", timeout=PATIENCE)) as updates:
        await anext(updates)
        reader = asyncio.ensure_future(anext(updates))
        await server.wait_until(lambda: server.open_streams == 1)
        # Pings come on the server's clock, every 0.2 s: 0.3 s lets the client see one or two.
        await asyncio.sleep(0.3)
        server.set_heartbeat(0.45)  # slower than the floor, within 3 x the seen interval
        # The behaviour under test: 1.5 s of slow pings (five stall floors) drop nothing.
        await asyncio.sleep(1.5)
        assert not reader.done()
        server.update_job(job.id, status="completed")
        assert (await bounded(reader, "the final state")).status is JobStatus.COMPLETED
    assert server.streams_opened == 1


async def test_a_stream_is_never_cut_by_the_clients_request_timeout(
    fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client's timeout bounds requests, not streams: a quiet stream stays up."""
    monkeypatch.setattr(TUNING, "stall_floor", 5.0)
    async with (
        JobServer(heartbeat=10.0) as server,
        Client(server.url, timeout=0.2) as client,
    ):
        job = server.create_job()

        async def finish_later() -> None:
            await asyncio.sleep(0.8)  # the behaviour: quiet for 4 x the client's timeout
            server.update_job(job.id, status="completed")

        finisher = asyncio.ensure_future(finish_later())
        seen = [j.status async for j in client.watch(job.id, transport="sse", timeout=PATIENCE)]
        await finisher
        assert seen == [JobStatus.PENDING, JobStatus.COMPLETED]
        assert server.streams_opened == 1


async def test_a_long_poll_gets_its_poll_timeout_plus_a_margin(
    fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long poll held longer than the client's request timeout is not cut or retried."""
    monkeypatch.setattr(TUNING, "long_poll", 2.0)
    async with (
        JobServer(transports=("long-poll",)) as server,
        Client(server.url, timeout=0.2) as client,
    ):
        job = server.create_job()

        async def finish_later() -> None:
            await asyncio.sleep(0.8)  # the behaviour: quiet for 4 x the client's timeout
            server.update_job(job.id, status="completed")

        finisher = asyncio.ensure_future(finish_later())
        seen = [
            j.status async for j in client.watch(job.id, transport="long-poll", timeout=PATIENCE)
        ]
        await finisher
        assert seen == [JobStatus.PENDING, JobStatus.COMPLETED]
        assert server.request_count("GET", "/jobs/*/poll") == 1
        poll = next(r for r in server.requests if r.path.endswith("/poll"))
        assert poll.query["timeout"] == "2"
        assert poll.query["after"] == str(job.version)


async def test_auto_falls_back_to_long_poll_when_sse_is_not_offered(fast: None) -> None:
    """Without SSE, auto uses long polls; the 404 is remembered, not probed again."""
    async with JobServer(transports=("long-poll",)) as server, Client(server.url) as client:
        for _ in range(2):
            job = server.create_job()
            seen, expected = await follow_in_lockstep(client, server, job.id, STEPS)
            assert [j.version for j in seen] == expected
        assert server.request_count("GET", "/jobs/*/events") == 1
        assert server.request_count("GET", "/jobs/*/poll") >= 2 * len(STEPS)
        assert "events" in client._api.unoffered


async def test_auto_falls_back_to_polling_when_neither_stream_nor_long_poll_is_offered(
    fast: None,
) -> None:
    """Without SSE and long polls, auto polls the job, with the same exact sequence."""
    async with JobServer(transports=()) as server, Client(server.url) as client:
        for _ in range(2):
            job = server.create_job()
            seen, expected = await follow_in_lockstep(client, server, job.id, STEPS)
            assert [j.version for j in seen] == expected
        assert server.request_count("GET", "/jobs/*/events") == 1
        assert server.request_count("GET", "/jobs/*/poll") == 1


async def test_an_explicit_transport_the_server_lacks_raises(fast: None) -> None:
    """transport="sse" on a server without SSE raises UnsupportedOperationError."""
    async with JobServer(transports=("long-poll",)) as server, Client(server.url) as client:
        job = server.create_job()
        with pytest.raises(UnsupportedOperationError, match="sse"):
            async for _ in client.watch(job.id, transport="sse", timeout=PATIENCE):
                pass
        with pytest.raises(UnsupportedOperationError):  # remembered: raised before any read
            await anext(client.watch(job.id, transport="sse", timeout=PATIENCE))


async def test_watch_of_an_unknown_job_raises_not_found(server: JobServer, client: Client) -> None:
    """The job is read first, so a 404 is a real "no such job" (no transport is probed)."""
    with pytest.raises(JobNotFoundError):
        async for _ in client.watch("nope", timeout=PATIENCE):
            pass
    assert server.request_count("GET", "/jobs/*/events") == 0
    assert client._api.unoffered == set()


async def test_watch_timeout_raises_with_the_last_state(server: JobServer, client: Client) -> None:
    """timeout bounds the whole watch; the error names the job and carries its last state."""
    job = server.create_job()
    seen: list[Job] = []

    async def follow() -> None:
        async for state in client.watch(job.id, timeout=0.3):
            seen.append(state)
            if len(seen) == 1:
                server.update_job(job.id, status="running")

    with pytest.raises(JobTimeoutError) as caught:
        await follow()
    error = caught.value
    assert isinstance(error, TimeoutError)
    assert error.job_id == job.id
    assert error.timeout == 0.3
    assert error.job == seen[-1]
    assert error.job is not None
    assert error.job.status is JobStatus.RUNNING
    assert error.details == {"job_id": job.id, "timeout": 0.3}


async def test_transient_stream_errors_are_retried(
    server: JobServer, client: Client, fast: None
) -> None:
    """503s opening the stream are retried with backoff; the watch carries on."""
    job = server.create_job()
    server.fail_next(2, 503, path="/jobs/*/events")
    seen, expected = await follow_in_lockstep(client, server, job.id, STEPS[-1:], transport="sse")
    assert [j.version for j in seen] == expected
    assert server.request_count("GET", "/jobs/*/events") == 3


async def test_errors_past_the_failure_budget_are_raised(
    server: JobServer, client: Client, fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that keeps failing makes the watch raise once the budget is spent."""
    monkeypatch.setattr(TUNING, "failure_budget", 0.2)
    job = server.create_job()
    server.fail_next(1000, 500, path="/jobs/*/events")
    with pytest.raises(ServerError):
        async for _ in client.watch(job.id, transport="sse", timeout=PATIENCE):
            pass
    server.clear_faults()


# -- APIs that misbehave ------------------------------------------------------------------------


def _native(job_id: str, version: int, status: str = "running", **fields: Any) -> dict[str, Any]:
    return {"id": job_id, "status": status, "version": version, **fields}


@pytest.fixture
async def odd_api() -> AsyncIterator[tuple[str, list[str]]]:
    """A native API whose stream sends broken events, and whose job 'html' streams HTML."""
    hits: list[str] = []

    async def get(request: web.Request) -> web.Response:
        job_id = request.match_info["job_id"]
        hits.append(f"get {job_id}")
        count = sum(1 for hit in hits if hit == f"get {job_id}")
        if job_id == "html" and count >= 3:
            return web.json_response(_native(job_id, 2, "completed"))
        return web.json_response(_native(job_id, 1, "pending"))

    async def events(request: web.Request) -> web.StreamResponse:
        job_id = request.match_info["job_id"]
        hits.append(f"events {job_id}")
        if job_id == "html":
            return web.Response(text="<html>no streams here</html>", content_type="text/html")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"retry: 10\n\n")
        await response.write(b"id: 2\nevent: job\ndata: {not json\n\n")
        await response.write(
            b"id: 3\nevent: job\ndata: %s\n\n" % json.dumps(_native(job_id, 3)).encode()
        )
        await response.write(b"id: 4\nevent: job\ndata: [1, 2]\n\n")
        await response.write(b"event: progress\ndata: {}\n\n")
        done = _native(job_id, 5, "completed", result=7)
        await response.write(b"id: 5\nevent: job\ndata: %s\n\n" % json.dumps(done).encode())
        await response.write_eof()
        return response

    async def poll(request: web.Request) -> web.Response:
        hits.append("poll")
        raise web.HTTPNotImplemented()

    app = web.Application()
    app.router.add_get("/jobs/{job_id}", get)
    app.router.add_get("/jobs/{job_id}/events", events)
    app.router.add_get("/jobs/{job_id}/poll", poll)
    async with serve(app) as origin:
        yield origin, hits


@pytest.mark.usefixtures("json_backend")
async def test_events_that_are_not_jobs_are_skipped_with_a_warning(
    odd_api: tuple[str, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    """Invalid JSON, or JSON that is not a job, is logged and skipped, never fatal."""
    origin, _ = odd_api
    async with Client(origin) as client:
        with caplog.at_level(logging.WARNING, logger="asyncjobs"):
            seen = [j async for j in client.watch("a", transport="sse", timeout=PATIENCE)]
    assert [(j.version, j.status) for j in seen] == [
        (1, JobStatus.PENDING),
        (3, JobStatus.RUNNING),
        (5, JobStatus.COMPLETED),
    ]
    assert seen[-1].result == 7
    skipped = [r for r in caplog.records if "skipping" in r.getMessage()]
    assert len(skipped) == 2


async def test_a_stream_route_that_answers_html_is_not_offered(
    odd_api: tuple[str, list[str]], fast: None
) -> None:
    """A non-event-stream answer and a 501 long poll make auto fall back to polling; what is
    not offered is remembered."""
    origin, hits = odd_api
    async with Client(origin) as client:
        seen = [j async for j in client.watch("html", timeout=PATIENCE)]
        assert [j.status for j in seen] == [JobStatus.PENDING, JobStatus.COMPLETED]
        # The shared feeds first (no multiplexed stream, no batched reads), then the job's own.
        assert client._api.unoffered == {"events_many", "get_many", "events", "poll"}
    assert hits.count("events html") == 1
    assert hits.count("poll") == 1


def test_is_newer_ignores_updated_at_and_unreported_fields() -> None:
    """Without versions, a state is new only if something other than updated_at changed."""
    from datetime import UTC, datetime

    base = Job(id="a", status=JobStatus.RUNNING, progress=10, message="m", name="n")
    later = Job(
        id="a", status=JobStatus.RUNNING, progress=10, message="m", updated_at=datetime.now(UTC)
    )
    assert not is_newer(base, later)  # updated_at differs, name not reported
    assert is_newer(base, Job(id="a", status=JobStatus.RUNNING, progress=11))
    assert is_newer(base, Job(id="a", status=JobStatus.COMPLETED))
    assert is_newer(None, base)
    versioned = Job(id="a", status=JobStatus.RUNNING, version=5)
    assert not is_newer(versioned, Job(id="a", status=JobStatus.COMPLETED, version=5))
    assert is_newer(versioned, Job(id="a", status=JobStatus.RUNNING, version=6))
