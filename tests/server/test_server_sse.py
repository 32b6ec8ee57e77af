"""The reference server's SSE streams: per job, multiplexed, resume, heartbeats, closing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import attrs
import pytest

from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


@attrs.frozen
class Block:
    """One blank-line-terminated block of an event stream, parsed."""

    id: str | None = None
    event: str | None = None
    data: str | None = None
    retry: int | None = None
    comment: str | None = None

    @property
    def job(self) -> dict[str, Any]:
        assert self.data is not None
        value: dict[str, Any] = json.loads(self.data)
        return value


async def next_block(response: aiohttp.ClientResponse, wait: float = 5.0) -> Block | None:
    """The next block of the stream (waiting at most ``wait`` seconds); None at its end."""
    raw = await asyncio.wait_for(response.content.readuntil(b"\n\n"), wait)
    if not raw.endswith(b"\n\n"):
        assert raw == b"", f"stream ended inside a block: {raw!r}"
        return None
    fields: dict[str, Any] = {}
    for line in raw.decode().split("\n"):
        if not line:
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "":
            fields["comment"] = value
        elif name == "retry":
            fields["retry"] = int(value)
        else:
            assert name not in fields, f"repeated field in {raw!r}"
            fields[name] = value
    return Block(**fields)


async def next_event(response: aiohttp.ClientResponse, wait: float = 5.0) -> Block | None:
    """The next job event (skipping retry fields and comments); None at the end."""
    while True:
        block = await next_block(response, wait)
        if block is None or block.data is not None:
            return block


async def rest(response: aiohttp.ClientResponse) -> list[Block]:
    """Every job event until the stream ends."""
    events = []
    while (block := await next_event(response)) is not None:
        events.append(block)
    return events


# -- per-job streams -----------------------------------------------------------------------------


async def test_job_stream_sends_retry_snapshot_then_changes_and_ends_after_terminal(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """retry first, then the snapshot, every change, and the end after the terminal event."""
    job = server.create_job("x")
    async with http.get(f"{server.url}/jobs/{job.id}/events") as response:
        assert response.status == 200
        assert response.content_type == "text/event-stream"
        first = await next_block(response)
        assert first is not None and first.retry is not None and first.data is None
        snapshot = await next_event(response)
        assert snapshot is not None
        assert (snapshot.event, snapshot.id) == ("job", str(job.version))
        assert snapshot.job["status"] == "pending"
        server.update_job(job.id, status="running", progress=50, message="half")
        server.update_job(job.id, status="completed", result={"ok": True})
        events = await rest(response)
    assert [e.job["status"] for e in events] == ["running", "completed"]
    assert [int(e.id or 0) for e in events] == [e.job["version"] for e in events]
    async with http.get(f"{server.url}/jobs/{job.id}") as answer:
        assert events[-1].data == await answer.text()


async def test_job_stream_of_a_finished_job_ends_after_its_snapshot(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """A terminal job's stream is its snapshot and the end."""
    job = server.create_job(status="failed", error="bad")
    async with http.get(f"{server.url}/jobs/{job.id}/events") as response:
        events = await rest(response)
    assert [e.job["status"] for e in events] == ["failed"]


async def test_job_stream_errors(server: JobServer, http: aiohttp.ClientSession) -> None:
    """An unknown job is 404; a garbage Last-Event-ID is 400."""
    async with http.get(f"{server.url}/jobs/nope/events") as response:
        assert response.status == 404
        body = await response.json()
        assert body["job_ids"] == ["nope"]
    job = server.create_job()
    async with http.get(
        f"{server.url}/jobs/{job.id}/events", headers={"Last-Event-ID": "abc"}
    ) as response:
        assert response.status == 400
        assert "Last-Event-ID" in (await response.json())["details"]


async def test_heartbeat_pings_while_nothing_changes() -> None:
    """A silent stream sends ': ping' every heartbeat interval."""
    async with JobServer(heartbeat=0.05) as server, aiohttp.ClientSession() as http:
        job = server.create_job()
        async with http.get(f"{server.url}/jobs/{job.id}/events") as response:
            await next_event(response)
            pings = [await next_block(response) for _ in range(3)]
        assert all(block is not None and block.comment == "ping" for block in pings)


# -- multiplexed streams ---------------------------------------------------------------------------


async def test_multi_stream_by_get_ends_after_the_last_terminal_event(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """Snapshots in version order, then every change, ending at the last terminal event."""
    jobs = [server.create_job(f"j{i}") for i in range(3)]
    a, b, c = (job.id for job in jobs)
    async with http.get(f"{server.url}/events?ids={c},{a},{b}") as response:
        snapshots = [await next_event(response) for _ in range(3)]
        assert [s.job["id"] for s in snapshots if s] == [a, b, c]
        server.update_job(a, status="running")
        server.update_job(b, status="completed")
        server.update_job(a, status="completed")
        server.update_job(c, status="cancelled")
        server.update_job(a, message="after the end")  # never sent: the stream has ended
        events = await rest(response)
    assert [(e.job["id"], e.job["status"]) for e in events] == [
        (a, "running"),
        (b, "completed"),
        (a, "completed"),
        (c, "cancelled"),
    ]
    versions = [e.job["version"] for e in events]
    assert versions == sorted(versions)


async def test_multi_stream_of_jobs_already_finished_sends_every_snapshot_then_ends(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """Jobs terminal at connect: each snapshot is sent (not just the first), then the end."""
    ids = [server.create_job(f"done{i}", status="completed").id for i in range(3)]
    pending = server.create_job("half", status="failed").id
    async with http.get(f"{server.url}/events?ids={','.join([*ids, pending])}") as response:
        events = await rest(response)
    assert sorted(e.job["id"] for e in events) == sorted([*ids, pending])


async def test_multi_stream_by_post_takes_any_number_of_jobs(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """POST /events follows 2,000 jobs on one connection until all of them finish."""
    jobs = [server.create_job(f"j{i}") for i in range(2000)]
    ids = [job.id for job in jobs]

    async def finish() -> None:
        await server.wait_until(lambda: server.open_streams == 1)
        for index, job_id in enumerate(ids):
            server.update_job(job_id, status="running")
            if index % 100 == 0:
                await asyncio.sleep(0.01)
        for job_id in ids:
            server.update_job(job_id, status="completed" if hash(job_id) % 2 else "failed")

    task = asyncio.create_task(finish())
    async with http.post(f"{server.url}/events", json={"ids": ids}) as response:
        assert response.status == 200
        events = await rest(response)
    await task
    assert len(events) == 3 * 2000
    per_job: dict[str, list[int]] = {}
    for event in events:
        per_job.setdefault(event.job["id"], []).append(event.job["version"])
    assert set(per_job) == set(ids)
    assert all(len(v) == 3 and v == sorted(v) for v in per_job.values())
    assert server.connections_opened == 1


async def test_stream_of_all_jobs_includes_later_jobs_and_stays_open(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """Without ids the stream follows every job of the caller, new ones too, and stays open."""
    old = server.create_job("old", status="completed")
    server.set_heartbeat(0.05)
    async with http.get(f"{server.url}/events") as response:
        snapshot = await next_event(response)
        assert snapshot is not None and snapshot.job["id"] == old.id
        new = server.create_job("new")
        server.update_job(new.id, status="completed")
        events = [await next_event(response) for _ in range(2)]
        assert [(e.job["id"], e.job["status"]) for e in events if e] == [
            (new.id, "pending"),
            (new.id, "completed"),
        ]
        block = await next_block(response)
        assert block is not None and block.comment == "ping"
        assert server.open_streams == 1
    await server.wait_until(lambda: server.open_streams == 0)


async def test_multi_stream_rejects_unknown_empty_and_too_many_ids(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """Unknown ids are 404 listing them; empty ids= and over 100 ids on GET are 400."""
    job = server.create_job()
    async with http.get(f"{server.url}/events?ids={job.id},x,y") as response:
        assert response.status == 404
        assert (await response.json())["job_ids"] == ["x", "y"]
    async with http.get(f"{server.url}/events?ids=") as response:
        assert response.status == 400
    many = ",".join([job.id] * 50 + [f"j{i}" for i in range(101)])
    async with http.get(f"{server.url}/events?ids={many}") as response:
        assert response.status == 400
        assert "POST /events" in (await response.json())["details"]
    bodies: list[dict[str, Any]] = [{"ids": []}, {"ids": "a,b"}, {"ids": [1]}]
    for body in bodies:
        async with http.post(f"{server.url}/events", json=body) as response:
            assert response.status == 400
            assert "ids" in (await response.json())["details"]
    assert server.streams_opened == 0


async def test_multi_stream_of_another_callers_jobs_is_403() -> None:
    """Another caller's ids are 403 listing them; the caller's all-jobs stream omits them."""
    async with JobServer(tokens=["alice", "bob"]) as server, aiohttp.ClientSession() as http:
        alices = server.create_job("a", token="alice")
        bobs = server.create_job("b", token="bob")
        bob = {"Authorization": "Bearer bob"}
        async with http.get(
            f"{server.url}/events?ids={alices.id},{bobs.id}", headers=bob
        ) as response:
            assert response.status == 403
            assert (await response.json())["job_ids"] == [alices.id]
        async with http.get(f"{server.url}/jobs/{alices.id}/events", headers=bob) as response:
            assert response.status == 403
        async with http.get(f"{server.url}/events", headers=bob) as response:
            first = await next_event(response)
            server.update_job(alices.id, status="running")
            server.update_job(bobs.id, status="running")
            second = await next_event(response)
        assert first is not None and second is not None
        assert [first.job["id"], second.job["id"]] == [bobs.id, bobs.id]


# -- resuming --------------------------------------------------------------------------------------


async def test_last_event_id_resume_sends_exactly_the_missed_snapshots(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """Reconnecting with Last-Event-ID gets the current state of each job changed since."""
    a, b, c = (server.create_job(name).id for name in "abc")
    async with http.get(f"{server.url}/events?ids={a},{b},{c}") as response:
        seen = [await next_event(response) for _ in range(3)]
    last_id = seen[-1].id if seen[-1] else None
    assert last_id is not None
    server.update_job(c, progress=10)
    server.update_job(a, progress=20)
    server.update_job(c, progress=30)
    await server.wait_until(lambda: server.open_streams == 0)
    async with http.get(
        f"{server.url}/events?ids={a},{b},{c}", headers={"Last-Event-ID": last_id}
    ) as response:
        missed = [await next_event(response) for _ in range(2)]
        assert [(e.job["id"], e.job["progress"]) for e in missed if e] == [(a, 20), (c, 30)]
        for job_id in (a, b, c):
            server.update_job(job_id, status="completed")
        events = await rest(response)
    assert [e.job["id"] for e in events] == [a, b, c]


async def test_resume_after_the_connection_drops_mid_stream(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """A cut stream leaves the client an error, and resuming loses and repeats nothing."""
    a, b = server.create_job("a").id, server.create_job("b").id
    received: list[Block] = []
    async with http.get(f"{server.url}/events?ids={a},{b}") as response:
        received += [e for e in [await next_event(response) for _ in range(2)] if e]
        server.update_job(a, status="running")
        event = await next_event(response)
        assert event is not None
        received.append(event)
        assert server.cut_streams() == 1
        with pytest.raises(aiohttp.ClientPayloadError):
            await rest(response)
    server.update_job(b, status="running", progress=1)
    server.update_job(b, progress=2)
    server.update_job(a, status="completed")
    async with http.get(
        f"{server.url}/events?ids={a},{b}", headers={"Last-Event-ID": received[-1].id or ""}
    ) as response:
        resumed = [await next_event(response) for _ in range(2)]
        assert [(e.job["id"], e.job["status"], e.job["progress"]) for e in resumed if e] == [
            (b, "running", 2),
            (a, "completed", None),
        ]
        server.update_job(b, status="completed")
        tail = await rest(response)
    assert [(e.job["id"], e.job["status"]) for e in tail] == [(b, "completed")]


async def test_resume_of_a_job_already_seen_finished_ends_at_once(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """Last-Event-ID at or past the terminal version: no events, the stream just ends."""
    job = server.create_job(status="completed")
    async with http.get(
        f"{server.url}/jobs/{job.id}/events", headers={"Last-Event-ID": str(job.version)}
    ) as response:
        assert await rest(response) == []


async def test_changes_queued_in_a_burst_arrive_in_version_order(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """Many changes made at once arrive complete, each once, in version order."""
    ids = [server.create_job().id for _ in range(50)]
    async with http.get(f"{server.url}/events") as response:
        for _ in ids:
            await next_event(response)
        for round_ in range(1, 4):
            for job_id in reversed(ids):
                server.update_job(job_id, progress=round_ * 10)
        events = [await next_event(response) for _ in range(150)]
    versions = [e.job["version"] for e in events if e]
    assert versions == sorted(set(versions))
    assert len(versions) == 150


async def test_client_disconnect_closes_the_stream_on_the_server(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """A stream whose client leaves ends at once (no wait for a heartbeat)."""
    job = server.create_job()
    async with http.get(f"{server.url}/jobs/{job.id}/events") as response:
        await next_event(response)
        assert server.open_streams == 1
    await server.wait_until(lambda: server.open_streams == 0, timeout=2)
    assert server.store.subscriber_count == 0


async def test_a_stream_opened_during_a_flood_of_changes_misses_and_repeats_nothing(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """Subscribing, snapshotting and queueing meet exactly: consecutive versions, no gap."""
    job = server.create_job()
    stop = asyncio.Event()

    async def flood() -> None:
        progress = 0
        while not stop.is_set():
            progress = (progress + 1) % 100
            server.update_job(job.id, progress=progress)
            await asyncio.sleep(0)

    task = asyncio.create_task(flood())
    try:
        for _ in range(3):
            async with http.get(f"{server.url}/jobs/{job.id}/events") as response:
                versions = []
                for _ in range(100):
                    event = await next_event(response)
                    assert event is not None
                    versions.append(event.job["version"])
            assert versions == list(range(versions[0], versions[0] + 100))
    finally:
        stop.set()
        await task
