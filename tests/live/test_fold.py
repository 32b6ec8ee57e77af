"""Folding the hub's multiplexed streams (``asyncjobs/live/_hub.py``, ``_multi.py``).

Jobs subscribed later than a stream's snapshots come on a fresh stream of their own; once every
stream slot is taken, the hub folds two streams into one, which reconnects with both id sets
from the earlier of their resume points. These tests count the streams, look at the id sets and
``Last-Event-ID`` of each connection the server saw, and check, change by change, that nothing
is lost or repeated across a fold.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from _live_helpers import PATIENCE, bounded, next_within, wait_until

from asyncjobs import Client, Job
from asyncjobs._tuning import TUNING
from asyncjobs.live._reads import earlier
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


def stream_requests(server: JobServer) -> list[tuple[set[str], str | None]]:
    """Each multiplexed stream connection the server saw: its ids and its Last-Event-ID."""
    seen = []
    for request in server.requests:
        if request.path.endswith("/events") and "ids" in request.query:
            ids = set(request.query["ids"].split(","))
            seen.append((ids, request.headers.get("Last-Event-ID")))
    return seen


async def watching(client: Client, job_id: str, seen: list[int]) -> AsyncIterator[Job]:
    """A watch of ``job_id`` whose first state was taken (recorded in ``seen``)."""
    watch = client.watch(job_id, timeout=30)
    first = await next_within(watch, f"the first state of {job_id}")
    seen.append(first.version or 0)
    return watch


async def test_batches_of_watches_are_folded_within_max_streams_losing_nothing(
    server: JobServer, client: Client, fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight batches of watches, each started once the one before has its first states, while
    every earlier job changes after each batch (each change seen before the next): the hub
    never holds more than max_streams streams, streams are folded (a connection carries jobs
    of several batches, resuming from an event id rather than resending every snapshot), no
    batch is read with a request, and every watch sees every version once, in order."""
    monkeypatch.setattr(TUNING, "max_streams", 3)
    batches = [[server.create_job(status="running") for _ in range(4)] for _ in range(8)]
    expected: dict[str, list[int]] = {j.id: [j.version] for b in batches for j in b}
    seen: dict[str, list[int]] = {job_id: [] for job_id in expected}
    most = 0
    viewers: list[asyncio.Task[None]] = []

    async def view(watch: AsyncIterator[Job], job_id: str) -> None:
        async for job in watch:
            seen[job_id].append(job.version or 0)

    started: list[str] = []
    for batch in batches:
        watches = [client.watch(job.id, timeout=30) for job in batch]
        firsts = await bounded(
            asyncio.gather(*(anext(watch) for watch in watches)), "a batch's first states"
        )
        for job, watch, first in zip(batch, watches, firsts, strict=True):
            seen[job.id].append(first.version or 0)
            viewers.append(asyncio.ensure_future(view(watch, job.id)))
        most = max(most, len(client._hub._streams))
        for job_id in started:
            expected[job_id].append(server.update_job(job_id, progress=len(started)).version)
            await wait_until(
                lambda job_id=job_id: seen[job_id][-1:] == expected[job_id][-1:],
                message=lambda job_id=job_id: f"a change of {job_id} was lost: {seen[job_id]}",
            )
            most = max(most, len(client._hub._streams))
        started.extend(job.id for job in batch)
    for job_id in started:
        expected[job_id].append(server.update_job(job_id, status="completed").version)
    await bounded(asyncio.gather(*viewers), "every watch's end", timeout=3 * PATIENCE)
    assert seen == expected
    assert most <= TUNING.max_streams
    groups = [{job.id for job in batch} for batch in batches]
    folded = [
        (ids, resume)
        for ids, resume in stream_requests(server)
        if sum(1 for group in groups if ids & group) > 1
    ]
    assert folded, "no connection ever carried jobs of two batches: nothing was folded"
    assert all(resume is not None for _, resume in folded)
    assert server.request_count("GET", "/jobs") == 0  # the batches' snapshots, not reads


async def test_a_fold_resumes_from_the_earlier_point_of_the_two_streams(
    server: JobServer, client: Client, fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stream A has read up to version a, stream B (opened later) up to b > a; a third batch
    takes the last slot, so A and B are folded: the new connection carries both id sets and
    resumes from a (from b, A's changes between a and b would be lost)."""
    monkeypatch.setattr(TUNING, "max_streams", 3)
    x, y, z = (server.create_job(status="running") for _ in range(3))
    seen: dict[str, list[int]] = {x.id: [], y.id: [], z.id: []}
    watch_x = await watching(client, x.id, seen[x.id])
    a = server.update_job(x.id, progress=10).version
    assert (await next_within(watch_x, "x's change")).version == a
    watch_y = await watching(client, y.id, seen[y.id])
    b = server.update_job(y.id, progress=10).version
    assert (await next_within(watch_y, "y's change")).version == b
    assert len(client._hub._streams) == 2
    watch_z = await watching(client, z.id, seen[z.id])
    await wait_until(
        lambda: any(ids == {x.id, y.id} for ids, _ in stream_requests(server)),
        message=lambda: f"A and B were never folded: {stream_requests(server)}",
    )
    resumes = [resume for ids, resume in stream_requests(server) if ids == {x.id, y.id}]
    assert resumes == [str(a)]
    for job, watch in ((x, watch_x), (y, watch_y), (z, watch_z)):
        done = server.update_job(job.id, status="completed")
        assert (await next_within(watch, f"{job.id}'s end")).version == done.version
        await watch.aclose()  # type: ignore[attr-defined]


async def test_a_fresh_stream_is_folded_from_the_event_seen_before_it_opened(
    server: JobServer, client: Client, fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream opened without Last-Event-ID holds snapshots taken after the newest event the
    client had seen: folded while its own job is quiet (its last event id is the job's old
    version), it resumes from that newer event, not from the old version (which would send
    every job changed since again)."""
    monkeypatch.setattr(TUNING, "max_streams", 2)
    quiet = server.create_job(status="running")  # its version is older than the change below
    busy = server.create_job(status="running")
    watch_busy = client.watch(busy.id, timeout=30)
    await next_within(watch_busy, "the busy job's first state")
    moved = server.update_job(busy.id, progress=10).version
    assert (await next_within(watch_busy, "the busy job's change")).version == moved
    watch_quiet = client.watch(quiet.id, timeout=30)
    assert (await next_within(watch_quiet, "the quiet job's first state")).version == quiet.version
    await wait_until(
        lambda: any(ids == {busy.id, quiet.id} for ids, _ in stream_requests(server)),
        message=lambda: f"the streams were never folded: {stream_requests(server)}",
    )
    resumes = [resume for ids, resume in stream_requests(server) if ids == {busy.id, quiet.id}]
    assert resumes == [str(moved)]
    for job, watch in ((quiet, watch_quiet), (busy, watch_busy)):
        done = server.update_job(job.id, status="completed")
        assert (await next_within(watch, f"{job.id}'s end")).version == done.version
        await watch.aclose()  # type: ignore[attr-defined]


async def test_a_stream_restarted_between_the_slices_of_a_read_loses_no_event(
    server: JobServer, client: Client, fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read of many events is handed on in slices; a stream stopped between two slices (a
    fold, a restart) resumes from the last event it handed on, so the events of the rest of
    the read come again instead of being skipped."""
    monkeypatch.setattr(TUNING, "events_per_turn", 1)
    jobs = [server.create_job(status="running") for _ in range(6)]
    ids = [job.id for job in jobs]
    seen: dict[str, list[int]] = {job_id: [] for job_id in ids}
    restarted = False

    async def follow() -> None:
        nonlocal restarted
        async for job in client.watch_jobs(ids, timeout=30):
            seen[job.id].append(job.version or 0)
            if job.progress == 50 and not restarted:
                # The first event of the burst: restart the stream while it hands it on.
                restarted = True
                client._hub._streams[0]._restart()

    follower = asyncio.ensure_future(follow())
    await wait_until(
        lambda: all(seen[job_id] for job_id in ids), message="the first states never came"
    )
    server.stall_streams()
    burst = [server.update_job(job_id, progress=50).version for job_id in ids]
    server.resume_streams()
    await wait_until(
        lambda: all(seen[job_id][-1:] == [v] for job_id, v in zip(ids, burst, strict=True)),
        message=lambda: f"events of the burst were lost: {seen}",
    )
    assert restarted
    for job_id in ids:
        server.update_job(job_id, status="completed")
    await bounded(follower, "the wait's end")
    assert all(len(versions) == len(set(versions)) == 3 for versions in seen.values()), seen


def test_resume_points_compare_as_numbers_or_not_at_all() -> None:
    """The earlier of two resume points: numerically, or the snapshots (None) when either is
    missing or they are not numbers."""
    assert earlier("9", "10") == "9"
    assert earlier("10", "9") == "9"
    assert earlier("7", "7") == "7"
    assert earlier(None, "7") is None
    assert earlier("7", None) is None
    assert earlier("abc", "abd") is None


async def test_new_streams_open_at_once_after_a_quiet_spell_then_at_a_bounded_rate(
    server: JobServer, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first few watches of a quiet client each get a stream (and their first state) at
    once; past that burst, new streams wait for their turn (one per reopen_interval), and the
    jobs subscribed meanwhile gather on the one waiting stream instead of opening more."""
    monkeypatch.setattr(TUNING, "max_streams", 8)
    monkeypatch.setattr(TUNING, "reopen_interval", 60.0)  # the next turn is far off
    jobs = [server.create_job(status="running") for _ in range(5)]
    watches = [client.watch(job.id, timeout=120) for job in jobs]
    for job, watch in zip(jobs[:3], watches[:3], strict=True):
        first = await next_within(watch, f"{job.id}'s first state, within the burst")
        assert first.version == job.version
    waiting = [asyncio.ensure_future(anext(watch)) for watch in watches[3:]]
    # Subscribed, and handed to a stream (the hub assigns new jobs at the next loop turn).
    await wait_until(
        lambda: all(
            job.id in client._hub._entries and client._hub._entries[job.id].feed is not None
            for job in jobs
        ),
        message="the later watches never subscribed",
    )
    streams = client._hub._streams
    assert [stream.gathering for stream in streams] == [False, False, False, True]
    assert set(streams[-1].entries) == {jobs[3].id, jobs[4].id}
    assert server.streams_opened == 3
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    for watch in watches:
        await watch.aclose()  # type: ignore[attr-defined]
    assert not client._hub._streams
