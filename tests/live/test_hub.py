"""The hub (``asyncjobs/live/_hub.py``): one client's shared subscriptions behind every watch.

Against the JobServer on loopback, counting what matters: the streams the hub holds and the
server saw opened, the connections, the batched reads, the ids each stream carries, the tasks
left. ``client._hub`` is looked at directly where the count is the hub's own (its entries, its
streams); everything else is counted on the server.
"""

from __future__ import annotations

import asyncio
import gc
import json
import types
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from _live_helpers import (
    PATIENCE,
    assert_no_new_tasks,
    bounded,
    client_tasks,
    next_within,
    wait_until,
)
from aiohttp import web

from asyncjobs import Client, Job, JobStatus
from asyncjobs._tuning import TUNING
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


def hub_streams(client: Client) -> int:
    """How many multiplexed streams the client's hub holds."""
    return len(client._hub._streams)


def stream_ids(client: Client) -> list[set[str]]:
    """The job ids each of the hub's multiplexed streams carries."""
    return [set(stream.entries) for stream in client._hub._streams]


async def until_streams_open(
    server: JobServer, client: Client, count: int, jobs: int, note: str = ""
) -> None:
    """Wait (bounded) until the server has ``count`` streams open for the wait on ``jobs``."""
    await wait_until(
        lambda: server.open_streams == count,
        message=lambda: (
            f"{server.open_streams} streams open for {jobs} jobs{note}, "
            f"carrying {sorted(map(len, stream_ids(client)))} ids"
        ),
    )


async def first_state(watch: AsyncIterator[Job], job_id: str) -> Job:
    """The watch's first state (the job's current one), within PATIENCE."""
    return await next_within(watch, f"the first state of {job_id}")


async def test_watches_started_one_by_one_share_the_clients_streams(
    server: JobServer, client: Client, fast: None
) -> None:
    """24 watches on distinct jobs, each started once the one before has its first state; the
    earlier jobs change while each one joins (as its stream reconnects with the larger id set).
    The hub never holds more than max_streams streams, the server has at most that many
    streams and a handful of connections open, and each watch sees every version of its job
    once, in order."""
    count = 24
    jobs = [server.create_job(name=f"viewer-{n}", status="running") for n in range(count)]
    expected: dict[str, list[int]] = {job.id: [job.version] for job in jobs}
    seen: dict[str, list[int]] = {job.id: [] for job in jobs}
    most_streams = 0

    async def view(watch: AsyncIterator[Job], job_id: str) -> None:
        async for job in watch:
            seen[job_id].append(job.version or 0)

    def caught_up(started: int) -> bool:
        return all(seen[job.id][-1:] == expected[job.id][-1:] for job in jobs[:started])

    before = client_tasks()
    viewers: list[asyncio.Task[None]] = []
    for n, job in enumerate(jobs):
        watch = client.watch(job.id, timeout=30)
        seen[job.id].append((await first_state(watch, job.id)).version or 0)
        viewers.append(asyncio.ensure_future(view(watch, job.id)))
        most_streams = max(most_streams, hub_streams(client))
        # One change to each earlier job, made right after the newcomer's read, while its
        # stream reconnects; every change is seen before the next one (a burst across a
        # reconnect may be folded into its last snapshot: that is the protocol, not a loss).
        for earlier in jobs[:n]:
            expected[earlier.id].append(server.update_job(earlier.id, progress=n).version)
        await wait_until(
            lambda n=n: caught_up(n),
            message=lambda n=n: f"after viewer {n} joined, a change was lost: seen {seen}",
        )
    assert len(client._hub._entries) == count
    assert set().union(*stream_ids(client)) == {job.id for job in jobs}
    # A restarted stream's old connection may take a heartbeat to be seen closed; a stream
    # per watch would keep 24 open.
    await wait_until(
        lambda: server.open_streams <= TUNING.max_streams,
        message=lambda: f"{server.open_streams} streams open for {count} watches",
    )
    await wait_until(
        lambda: server.open_connections <= TUNING.max_streams + TUNING.read_concurrency,
        message=lambda: f"{server.open_connections} connections open for {count} watches",
    )
    for job in jobs:
        expected[job.id].append(server.update_job(job.id, status="completed").version)
    await bounded(
        asyncio.gather(*viewers),
        "every viewer's final state",
        timeout=3 * PATIENCE,
    )
    most_streams = max(most_streams, hub_streams(client))
    assert most_streams <= TUNING.max_streams
    assert seen == expected
    await assert_no_new_tasks(before | set(viewers))
    await server.wait_until(lambda: server.open_streams == 0, timeout=PATIENCE)


async def test_watches_of_one_job_share_one_subscription(server: JobServer, client: Client) -> None:
    """Three watches of one job: one hub entry with three listeners, one stream, one read;
    each sees the same versions."""
    job = server.create_job(status="running")
    watches = [client.watch(job.id, timeout=30) for _ in range(3)]
    firsts = [await first_state(watch, job.id) for watch in watches]
    assert {first.version for first in firsts} == {job.version}
    assert list(client._hub._entries) == [job.id]
    assert len(client._hub._entries[job.id].listeners) == 3
    moved = server.update_job(job.id, progress=50)
    done = server.update_job(job.id, status="completed")
    for watch in watches:
        rest = [state.version async for state in watch]
        assert rest == [moved.version, done.version]
    assert server.streams_opened == 1
    assert server.request_count() == 1  # the stream's snapshot is every watch's first state
    assert not client._hub._entries


async def test_a_watch_that_leaves_early_releases_its_entry_and_its_stream_stops(
    server: JobServer, client: Client
) -> None:
    """A watch closed before its job ends drops its hub entry; the stream whose last job left
    stops (its connection closes, no task is left) while the other watch goes on."""
    leaving = server.create_job(name="leaving", status="running")
    staying = server.create_job(name="staying", status="running")
    before = client_tasks()
    early = client.watch(leaving.id, timeout=30)
    await first_state(early, leaving.id)
    late = client.watch(staying.id, timeout=30)
    await first_state(late, staying.id)
    # Started one after the other, below max_streams: one stream each.
    assert stream_ids(client) == [{leaving.id}, {staying.id}]
    await server.wait_until(lambda: server.open_streams == 2, timeout=PATIENCE)

    await early.aclose()  # type: ignore[attr-defined]
    assert list(client._hub._entries) == [staying.id]
    assert stream_ids(client) == [{staying.id}]
    await server.wait_until(lambda: server.open_streams == 1, timeout=PATIENCE)

    moved = server.update_job(staying.id, progress=10)
    assert (await next_within(late, "the staying job's change")).version == moved.version
    await late.aclose()  # type: ignore[attr-defined]
    assert not client._hub._entries
    assert hub_streams(client) == 0
    await assert_no_new_tasks(before)
    await server.wait_until(lambda: server.open_streams == 0, timeout=PATIENCE)
    assert not client.closed


async def test_requests_go_through_while_streams_fill_their_budget(server: JobServer) -> None:
    """With max_connections=2, two open streams (the hub's, and a job's own) fill the stream
    budget and two more per-job streams wait for it: submit_job, get_job and cancel_job on the
    same client still go through at once (streams and long polls draw on a budget of their
    own)."""
    shared = [server.create_job(status="running") for _ in range(2)]
    alone = [server.create_job(status="running") for _ in range(2)]
    async with Client(server.url, max_connections=2) as client:
        before = client_tasks()
        # One hub stream (two hub streams would be folded into one, to keep a slot free).
        watches = [client.watch(shared[0].id, timeout=30)]
        watches.append(client.watch(shared[1].id, transport="sse", timeout=30))
        for job, watch in zip(shared, watches, strict=True):
            await first_state(watch, job.id)
        # The job's own stream opens once its watch waits for a change.
        waiting = [asyncio.ensure_future(anext(watches[1]))]
        await server.wait_until(lambda: server.open_streams == 2, timeout=PATIENCE)
        # Explicit SSE watches follow their job on a stream of its own: first a plain read,
        # then a stream, which waits for the full budget.
        queued = [client.watch(job.id, transport="sse", timeout=30) for job in alone]
        for job, watch in zip(alone, queued, strict=True):
            await first_state(watch, job.id)
        waiting += [asyncio.ensure_future(anext(watch)) for watch in queued]
        opened = server.streams_opened

        submitted = await bounded(client.submit_job("urgent"), "a submit beside full streams")
        read = await bounded(client.get_job(shared[0].id), "a read beside full streams")
        cancelled = await bounded(client.cancel_job(submitted.id), "a cancel beside full streams")
        assert read.id == shared[0].id
        assert cancelled.status is JobStatus.CANCELLED
        assert server.open_streams == 2
        assert server.streams_opened == opened  # the queued streams are still waiting

        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        for watch in [*watches, *queued]:
            await watch.aclose()  # type: ignore[attr-defined]
        await assert_no_new_tasks(before | set(waiting))


async def test_joins_arriving_in_a_trickle_share_one_read_and_one_reconnect(
    server: JobServer, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five watches joining an open stream 50 ms apart, all within one reopen interval, cost
    one batched read and one reconnect, not five; the open stream delivers meanwhile."""
    monkeypatch.setattr(TUNING, "max_streams", 1)
    monkeypatch.setattr(TUNING, "reopen_interval", 1.0)
    host = server.create_job(name="host", status="running")
    joiners = [server.create_job(name=f"joiner-{n}", status="running") for n in range(5)]
    first = client.watch(host.id, timeout=30)
    await first_state(first, host.id)
    await server.wait_until(lambda: server.open_streams == 1, timeout=PATIENCE)
    reads_before = server.request_count("GET", "/jobs")

    watches = [client.watch(job.id, timeout=30) for job in joiners]
    pending: list[asyncio.Future[Job]] = []
    for n, watch in enumerate(watches):
        if n:
            joined = joiners[n - 1].id
            await wait_until(
                lambda joined=joined: joined in client._hub._streams[0].entries,
                message=f"{joined} never joined the stream",
            )
            # Time is the behaviour here: the joins come as a trickle, 50 ms apart.
            await asyncio.sleep(0.05)
        pending.append(asyncio.ensure_future(anext(watch)))
    # The open connection keeps delivering the host's changes while the joiners wait.
    moved = server.update_job(host.id, progress=30)
    assert (await next_within(first, "the host's change")).version == moved.version
    firsts = await bounded(
        asyncio.gather(*pending), "the joiners' first states", timeout=2 * PATIENCE
    )
    assert [job.id for job in firsts] == [job.id for job in joiners]
    # Their first states came from one batched read; their changes come on the reconnect.
    for job, watch in zip(joiners, watches, strict=True):
        done = server.update_job(job.id, status="completed")
        assert (await next_within(watch, f"{job.id}'s end")).version == done.version
    assert server.streams_opened == 2
    assert server.request_count("GET", "/jobs") - reads_before == 1
    streams = [r for r in server.requests if r.path.endswith("/events")]
    assert set(streams[-1].query["ids"].split(",")) == {host.id} | {job.id for job in joiners}
    for watch in [first, *watches]:
        await watch.aclose()  # type: ignore[attr-defined]


async def test_a_huge_id_set_is_split_across_streams(
    fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wait on more jobs than one stream may carry (max_stream_ids) opens several streams,
    none of whose POST bodies holds more than max_stream_ids ids; together they carry every
    job, and each job's final state comes once."""
    monkeypatch.setattr(TUNING, "max_streams", 4)
    monkeypatch.setattr(TUNING, "max_stream_ids", 10)
    monkeypatch.setattr(TUNING, "max_query_ids", 20)  # long id lists go in a POST body
    bodies: list[list[str]] = []

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method == "POST" and request.path.endswith("/events"):
            bodies.append(json.loads(await request.read())["ids"])
        return await handler(request)

    server = JobServer(heartbeat=0.2, retry_ms=20)
    server.app.middlewares.append(record)
    async with server, Client(server.url) as client:
        ids = [server.create_job(status="running").id for _ in range(35)]
        waiter = asyncio.ensure_future(client.wait_for_jobs(ids, timeout=30))
        await until_streams_open(server, client, 4, len(ids))
        assert sorted(map(len, stream_ids(client))) == [5, 10, 10, 10]
        for job_id in ids:
            server.update_job(job_id, status="completed")
        results = await bounded(waiter, "the final states of 35 jobs")
    assert [job.id for job in results] == ids
    assert all(job.status is JobStatus.COMPLETED for job in results)
    assert len(bodies) == 4
    assert max(map(len, bodies)) <= 10
    assert sorted(job_id for body in bodies for job_id in body) == sorted(ids)
    assert server.request_count("GET", "/events") == 0


async def test_a_stream_refused_as_too_large_is_split_until_the_server_takes_it(
    fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server whose body limit is under one POST /events of every id answers 413: the
    client halves the ids a stream carries (and keeps that for later streams) until the server
    takes them, and the wait goes on over those streams, every job's final state once. Where
    the server takes them all, one stream carries them."""
    monkeypatch.setattr(TUNING, "max_streams", 4)
    monkeypatch.setattr(TUNING, "max_query_ids", 20)  # long id lists go in a POST body
    answers: list[int] = []  # the status of each POST /events, in order

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        response = await handler(request)
        if request.method == "POST" and request.path.endswith("/events"):
            answers.append(response.status)
        return response

    # 120 ids of 16 characters: a body of ~2.3 KB; the server takes 1 KB (up to ~50 ids).
    server = JobServer(heartbeat=0.2, retry_ms=20, max_body_size=1024)
    server.app.middlewares.insert(0, record)
    async with server, Client(server.url) as client:
        ids = [server.create_job(status="running").id for _ in range(120)]
        waiter = asyncio.ensure_future(client.wait_for_jobs(ids, timeout=30))
        await until_streams_open(server, client, 4, len(ids), f" (answers {answers})")
        assert sorted(map(len, stream_ids(client))) == [30, 30, 30, 30]
        for job_id in ids:
            server.update_job(job_id, status="completed")
        results = await bounded(waiter, "the final states of 120 jobs")
        later = await bounded(client.wait_for_jobs(ids[:40], timeout=30), "40 finished jobs")
    assert [job.id for job in results] == ids
    assert all(job.status is JobStatus.COMPLETED for job in results)
    assert [job.id for job in later] == ids[:40]
    # 120 refused, 60 refused (both halves), then 30s taken; the later wait starts at 30.
    assert answers.count(413) == 3, answers
    assert answers.count(200) == 4 + 2, answers

    async with JobServer(heartbeat=0.2, retry_ms=20) as server, Client(server.url) as client:
        ids = [server.create_job(status="completed").id for _ in range(120)]
        await bounded(client.wait_for_jobs(ids, timeout=30), "120 finished jobs")
        assert server.request_count("POST", "/events") == 1
        assert server.connections_opened == 1


async def test_more_jobs_than_the_streams_can_carry_are_polled_in_batches(
    fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past max_streams x max_stream_ids, the rest of the jobs are polled in batches: still
    no stream carries more than max_stream_ids, and every job ends."""
    monkeypatch.setattr(TUNING, "max_streams", 4)
    monkeypatch.setattr(TUNING, "max_stream_ids", 10)
    monkeypatch.setattr(TUNING, "max_streams", 2)
    monkeypatch.setattr(TUNING, "max_query_ids", 20)
    async with JobServer(heartbeat=0.2, retry_ms=20) as server, Client(server.url) as client:
        ids = [server.create_job(status="running").id for _ in range(25)]
        waiter = asyncio.ensure_future(client.wait_for_jobs(ids, timeout=30))
        await wait_until(
            lambda: server.open_streams == 2,
            message=lambda: (
                f"{server.open_streams} streams open for 25 jobs, "
                f"carrying {sorted(map(len, stream_ids(client)))} ids"
            ),
        )
        assert sorted(map(len, stream_ids(client))) == [10, 10]
        assert client._hub._poller is not None
        for job_id in ids:
            server.update_job(job_id, status="completed")
        results = await bounded(waiter, "the final states of 25 jobs")
        assert [job.id for job in results] == ids
        assert server.request_count("GET", "/jobs/*") == 0  # polled in batches, not per job


async def test_closing_the_client_fails_every_waiter_and_leaves_no_task(
    server: JobServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Client.close() ends the hub: every kind of waiter, on several streams and on a shared
    job, and a watch nobody is iterating, fails with an error saying the client was closed;
    no task is left once close() returns, no stream open, and a new watch is refused."""
    monkeypatch.setattr(TUNING, "max_streams", 4)  # the idle watch below gets its own stream
    jobs = [server.create_job(status="running") for _ in range(3)]
    client = Client(server.url)
    before = client_tasks()
    watches = [client.watch(job.id) for job in jobs]
    for job, watch in zip(jobs, watches, strict=True):
        await first_state(watch, job.id)
    second_viewer = client.watch(jobs[0].id)
    await first_state(second_viewer, jobs[0].id)
    watchers = [asyncio.ensure_future(anext(watch)) for watch in [*watches, second_viewer]]
    many = asyncio.ensure_future(client.wait_for_jobs([job.id for job in jobs]))
    finishing = client.as_completed([job.id for job in jobs])
    completed = asyncio.ensure_future(anext(finishing))
    one = asyncio.ensure_future(client.wait_for_job(jobs[1].id))
    waiters = [*watchers, many, completed, one]
    await wait_until(
        lambda: len(client._hub._entries[jobs[1].id].listeners) == 4,
        message="the waiters never all subscribed",
    )
    assert hub_streams(client) >= 2
    # A watch that nobody is iterating at the moment (a viewer between two reads): its
    # generator cannot clean up by itself, so close() must stop its stream.
    idle_job = server.create_job(status="running")
    idle = client.watch(idle_job.id)
    await first_state(idle, idle_job.id)
    await wait_until(
        lambda: {idle_job.id} in stream_ids(client),
        message="the idle watch never got a stream of its own",
    )

    await client.close()
    # Awaited close: the hub's feeds have ended by the time it returns, not a moment later.
    feeds = {task for task in client_tasks() - before - set(waiters) if not task.done()}
    assert not feeds, f"feed tasks still running after close(): {feeds}"
    for waiter in waiters:
        with pytest.raises(RuntimeError, match="client was closed while waiting"):
            await bounded(waiter, "a waiter of the closed client to fail")
    with pytest.raises(RuntimeError, match="client was closed while waiting"):
        await bounded(anext(idle), "the idle watch of the closed client to fail")
    assert not client._hub._entries
    assert hub_streams(client) == 0
    await assert_no_new_tasks(before | set(waiters))
    await server.wait_until(lambda: server.open_streams == 0, timeout=PATIENCE)
    with pytest.raises(RuntimeError, match="closed"):
        await anext(client.watch(jobs[0].id))


async def test_a_small_stream_budget_caps_the_hubs_streams(server: JobServer) -> None:
    """With max_connections below max_streams, watches started one by one still get their
    first state and every change: the hub opens no more streams than the budget lets open,
    later watches join them."""
    jobs = [server.create_job(status="running") for _ in range(TUNING.max_streams + 1)]
    async with Client(server.url, max_connections=2) as client:
        watches = [client.watch(job.id, timeout=30) for job in jobs]
        for job, watch in zip(jobs, watches, strict=True):
            await first_state(watch, job.id)
        assert hub_streams(client) <= 2
        for job, watch in zip(jobs, watches, strict=True):
            done = server.update_job(job.id, status="completed")
            final = await next_within(watch, f"the final state of {job.id}")
            assert (final.version, final.status) == (done.version, JobStatus.COMPLETED)
            await watch.aclose()  # type: ignore[attr-defined]
        assert server.open_streams <= 2


async def test_jobs_joining_and_leaving_one_stream_leave_nothing_behind(
    server: JobServer, fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hundreds of jobs join a stream one by one and end, while one job keeps it open (a
    stream that never runs empty, as a busy backend has): the live tasks, frames and aiohttp
    responses stay bounded, not one per join (a restarted stream must not keep the task it
    replaced, nor, through its traceback, every one before it)."""
    monkeypatch.setattr(TUNING, "max_streams", 1)  # every job joins the anchor's stream
    anchor = server.create_job(name="anchor", status="running")
    async with Client(server.url) as client:
        keeper = client.watch(anchor.id, timeout=60)
        await first_state(keeper, anchor.id)

        def census() -> tuple[int, int, int]:
            gc.collect()
            objects = gc.get_objects()
            frames = sum(1 for o in objects if isinstance(o, types.FrameType))
            responses = sum(1 for o in objects if isinstance(o, aiohttp.ClientResponse))
            return len(asyncio.all_tasks()), frames, responses

        for _ in range(20):  # warm up: caches, pools, the first restarts
            await _join_and_end(server, client)
        tasks, frames, responses = census()
        for _ in range(200):
            await _join_and_end(server, client)
        after = census()
        assert after[0] <= tasks + 2, f"tasks {tasks} -> {after[0]}"
        assert after[1] <= frames + 20, f"frames {frames} -> {after[1]}"
        assert after[2] <= responses + 2, f"aiohttp responses {responses} -> {after[2]}"
        assert hub_streams(client) == 1
        assert server.streams_opened >= 200  # each join reconnected the one stream
        await keeper.aclose()  # type: ignore[attr-defined]


async def _join_and_end(server: JobServer, client: Client) -> None:
    job = server.create_job(status="running")
    watch = client.watch(job.id, timeout=30)
    await first_state(watch, job.id)
    done = server.update_job(job.id, status="completed")
    final = await next_within(watch, f"the final state of {job.id}")
    assert final.version == done.version
    await watch.aclose()  # type: ignore[attr-defined]
