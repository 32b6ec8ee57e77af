"""Read coalescing of busy SSE connections (``EventStream(coalesce=...)``), against JobServer.

A busy connection is not read again before the coalescing window has passed, so one wake-up
reads many events; a quiet one is read as soon as data comes. Nothing is lost either way.
"""

from __future__ import annotations

import asyncio

import pytest
from _live_helpers import wait_until

from asyncjobs import Client
from asyncjobs._transport import EventStream
from asyncjobs._tuning import TUNING
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


async def _read_until_terminal(stream: EventStream, seen: list[int], reads: list[int]) -> None:
    """Read the stream, noting each event's version and how many events each read brought."""
    while True:
        events = await stream.read()
        assert events is not None, "the stream ended before the terminal event"
        if events:
            reads.append(len(events))
        for event in events:
            seen.append(int(event.id))
            if '"status":"completed"' in event.data:
                return


async def test_a_busy_stream_is_read_in_batches_and_loses_nothing(server: JobServer) -> None:
    job = server.create_job(name="busy")
    async with Client(server.url) as client:
        stream = EventStream(client._http, coalesce=0.05)
        await stream.connect("events", path_params={"job_id": job.id})
        seen: list[int] = []
        reads: list[int] = []
        reader = asyncio.create_task(_read_until_terminal(stream, seen, reads))
        expected = [job.version]
        for step in range(1, 100):
            expected.append(server.update_job(job.id, progress=step).version)
            await asyncio.sleep(0.002)  # each change is its own write, ~0.2 s in all
        expected.append(server.update_job(job.id, status="completed").version)
        await asyncio.wait_for(reader, 10)
        await stream.close()
    # Every version once, in order, whatever the batching.
    assert seen == expected
    # 101 events written one by one over >= 0.2 s: read uncoalesced, that is about one read
    # per event; with a 50 ms window, a handful of reads (the bound leaves a wide margin).
    assert len(reads) <= 30, reads


async def test_a_quiet_stream_is_read_at_once(server: JobServer) -> None:
    job = server.create_job(name="quiet")
    async with Client(server.url) as client:
        stream = EventStream(client._http, coalesce=0.15)
        await stream.connect("events", path_params={"job_id": job.id})
        assert [int(e.id) for e in await stream.read() or []] in ([], [job.version])
        for progress in (10, 20):
            await asyncio.sleep(0.4)  # quieter than two windows
            changed = server.update_job(job.id, progress=progress)
            events: list[int] = []
            while not events:
                # Quiet (the last events were read over two windows ago, a ping between them
                # notwithstanding): this read is not held back for the window.
                assert not stream._busy
                batch = await asyncio.wait_for(stream.read(), 5)
                assert batch is not None
                events = [int(e.id) for e in batch]
            assert events[-1] == changed.version
        await stream.close()


async def test_a_read_cancelled_while_gathering_leaves_nothing(server: JobServer) -> None:
    job = server.create_job(name="cancelled")
    async with Client(server.url) as client:
        stream = EventStream(client._http, coalesce=5.0)
        await stream.connect("events", path_params={"job_id": job.id})
        job = server.update_job(job.id, progress=1)
        seen = 0
        while seen < 2:  # two reads with events in quick succession: the stream is busy
            seen += bool(await stream.read())
            if seen == 1:
                server.update_job(job.id, progress=2)
        reader = asyncio.create_task(stream.read())
        response = stream._response
        assert response is not None and response.connection is not None
        transport = response.connection.transport
        assert transport is not None
        await wait_until(
            lambda: not transport.is_reading(), message="the busy read never paused to gather"
        )
        assert not reader.done()  # gathering, for up to 5 s
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reader
        await stream.close()
        assert not stream.connected
    await wait_until(lambda: server.open_streams == 0, message="the stream was left open")


async def test_watch_jobs_sees_every_version_of_a_burst_once(server: JobServer) -> None:
    # Through the hub (which coalesces): 50 jobs, three changes each, in bursts.
    assert TUNING.coalesce_window > 0
    jobs = [server.create_job(name=f"j{i}") for i in range(50)]
    expected = {job.id: [job.version] for job in jobs}
    seen: dict[str, list[int | None]] = {job.id: [] for job in jobs}
    async with Client(server.url) as client:

        async def change() -> None:
            await server.wait_until(lambda: server.open_streams == 1)
            for step in ("running", "progress", "completed"):
                for job in jobs:
                    if step == "running":
                        updated = server.update_job(job.id, status="running")
                    elif step == "progress":
                        updated = server.update_job(job.id, progress=50)
                    else:
                        updated = server.update_job(job.id, status="completed")
                    expected[job.id].append(updated.version)
                    await asyncio.sleep(0.0005)  # bursts of separate writes: the behaviour

        changer = asyncio.create_task(change())
        async for update in client.watch_jobs([job.id for job in jobs], timeout=20):
            seen[update.id].append(update.version)
        await changer
    assert seen == expected
