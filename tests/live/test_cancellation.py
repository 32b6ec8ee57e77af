"""Cancellation and sharing: no task or stream outlives a wait, and waiters share subscriptions.

Each test notes the client's tasks before (the server runs in the same event loop; its tasks are
left out) and checks that within a moment of the wait returning, raising, being cancelled or
being abandoned, every task it started has ended and the server's stream count fell back.
"""

from __future__ import annotations

import asyncio
import gc

import pytest
from _live_helpers import assert_no_new_tasks, bounded, client_tasks, hub_listeners, wait_until

from asyncjobs import Client, JobFailedError, JobStatus, JobTimeoutError
from asyncjobs._tuning import TUNING
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


async def test_cancelling_wait_for_job_ends_its_tasks_and_its_stream(
    server: JobServer, client: Client
) -> None:
    """The shared stream of a cancelled wait is closed, and no task is left, client open."""
    job = server.create_job(status="running")
    before = client_tasks()
    waiter = asyncio.ensure_future(client.wait_for_job(job.id))
    await server.wait_until(lambda: server.open_streams == 1)
    connections = server.open_connections
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await bounded(waiter, "the cancelled waiter to end")
    await assert_no_new_tasks(before | {waiter})
    await server.wait_until(lambda: server.open_streams == 0, timeout=1)
    await server.wait_until(lambda: server.open_connections == connections - 1, timeout=1)
    assert not client.closed


async def test_cancelling_wait_for_jobs_ends_its_tasks_and_its_stream(
    server: JobServer, client: Client
) -> None:
    """Cancelling a wait on many jobs releases the one stream they shared."""
    ids = [server.create_job(status="running").id for _ in range(300)]
    before = client_tasks()
    waiter = asyncio.ensure_future(client.wait_for_jobs(ids))
    await server.wait_until(lambda: server.open_streams == 1)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await bounded(waiter, "the cancelled waiter to end")
    await assert_no_new_tasks(before | {waiter})
    await server.wait_until(lambda: server.open_streams == 0, timeout=1)
    assert repr(client._hub) == "<Hub jobs=0 streams=0 polling=False single=0>"


async def test_cancelling_before_the_stream_opened_leaves_nothing(
    server: JobServer, client: Client
) -> None:
    """A wait cancelled while its stream is being opened leaves nothing behind."""
    ids = [server.create_job(status="running").id for _ in range(500)]
    before = client_tasks()
    for rounds in range(4):
        waiter = asyncio.ensure_future(client.wait_for_jobs(ids))
        for _ in range(rounds):
            await asyncio.sleep(0)  # cancel at a different point of the opening each round
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await bounded(waiter, "the cancelled waiter to end")
        await assert_no_new_tasks(before | {waiter})
    await server.wait_until(lambda: server.open_streams == 0, timeout=1)


async def test_cancelling_while_jobs_are_read_to_join_a_stream_leaves_nothing(
    server: JobServer, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jobs joining an open stream are read first; cancelling during that read is clean."""
    monkeypatch.setattr(TUNING, "max_streams", 1)
    first = server.create_job(status="running")
    ids = [server.create_job(status="running").id for _ in range(500)]
    before = client_tasks()
    one = asyncio.ensure_future(client.wait_for_job(first.id))
    await server.wait_until(lambda: server.open_streams == 1)
    moved = server.update_job(first.id, progress=1)
    hub = client._hub
    await wait_until(
        lambda: (job := hub.current(first.id)) is not None and job.version == moved.version,
        message=f"the stream never delivered version {moved.version}: it is not past its snapshots",
    )
    many = asyncio.ensure_future(client.wait_for_jobs(ids))
    await server.wait_until(lambda: server.request_count("GET", "/jobs") >= 1)
    many.cancel()
    with pytest.raises(asyncio.CancelledError):
        await bounded(many, "the cancelled many to end")
    await server.wait_until(lambda: server.open_streams == 1)
    server.update_job(first.id, status="completed")
    assert (await bounded(one, "the first job's final state")).status is JobStatus.COMPLETED
    await assert_no_new_tasks(before | {one, many})
    await server.wait_until(lambda: server.open_streams == 0, timeout=1)


async def test_a_wait_that_times_out_leaves_no_task(server: JobServer, client: Client) -> None:
    """Timing out releases everything, like a cancellation."""
    job = server.create_job(status="running")
    before = client_tasks()
    with pytest.raises(JobTimeoutError):
        await client.wait_for_jobs([job.id], timeout=0.2)
    await assert_no_new_tasks(before)
    await server.wait_until(lambda: server.open_streams == 0, timeout=1)


async def test_a_fail_fast_failure_leaves_no_task(server: JobServer, client: Client) -> None:
    """fail_fast raising ends the other waits and their stream."""
    doomed = server.create_job(status="running")
    others = [server.create_job(status="running").id for _ in range(5)]
    before = client_tasks()

    async def fail_soon() -> None:
        await server.wait_until(lambda: server.open_streams == 1)
        server.update_job(doomed.id, status="failed", error="x")

    driver = asyncio.ensure_future(fail_soon())
    with pytest.raises(JobFailedError):
        await client.wait_for_jobs([*others, doomed.id])
    await driver
    await assert_no_new_tasks(before | {driver})
    await server.wait_until(lambda: server.open_streams == 0, timeout=1)


async def test_breaking_out_of_watch_closes_its_stream(server: JobServer, client: Client) -> None:
    """An abandoned watch() generator closes its stream (no task or stream remains)."""
    job = server.create_job(status="running")
    before = client_tasks()
    async for state in client.watch(job.id, transport="sse"):
        if state.progress is None:
            server.update_job(job.id, progress=1)  # the next state comes over the stream
            continue
        assert server.open_streams == 1
        break
    gc.collect()
    await assert_no_new_tasks(before)
    await server.wait_until(lambda: server.open_streams == 0, timeout=1)


async def test_cancelling_a_task_inside_watch_closes_its_stream(
    server: JobServer, client: Client
) -> None:
    """A consumer cancelled mid-watch releases the stream."""
    job = server.create_job(status="running")
    before = client_tasks()

    async def consume() -> None:
        async for _ in client.watch(job.id):
            pass

    consumer = asyncio.ensure_future(consume())
    await server.wait_until(lambda: server.open_streams == 1)
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await bounded(consumer, "the cancelled consumer to end")
    gc.collect()
    await assert_no_new_tasks(before | {consumer})
    await server.wait_until(lambda: server.open_streams == 0, timeout=1)


@pytest.mark.parametrize("method", ["watch_jobs", "as_completed"])
async def test_breaking_out_of_a_many_job_iterator_releases_the_shared_stream(
    server: JobServer, client: Client, method: str
) -> None:
    """Leaving watch_jobs/as_completed early unsubscribes; the hub's stream task ends."""
    done = server.create_job(status="completed")
    ids = [done.id, *(server.create_job(status="running").id for _ in range(10))]
    before = client_tasks()
    async for _ in getattr(client, method)(ids):
        await server.wait_until(lambda: server.open_streams == 1)
        break
    gc.collect()
    await assert_no_new_tasks(before)
    await server.wait_until(lambda: server.open_streams == 0, timeout=1)


async def test_waiters_on_one_job_share_one_subscription(server: JobServer, client: Client) -> None:
    """Five waiters on one job: one read, one stream; leaving waiters do not end it for the
    others, and it ends with the last one."""
    job = server.create_job(status="running")
    before = client_tasks()
    waiters = [asyncio.ensure_future(client.wait_for_job(job.id)) for _ in range(5)]
    await server.wait_until(lambda: server.open_streams == 1)
    late = asyncio.ensure_future(client.wait_for_job(job.id))  # joins the open subscription
    await wait_until(
        lambda: len(hub_listeners(client, job.id)) == 6,
        message=lambda: f"{len(hub_listeners(client, job.id))} of 6 waiters subscribed",
    )
    for waiter in waiters[:2]:
        waiter.cancel()
    for waiter in waiters[:2]:
        with pytest.raises(asyncio.CancelledError):
            await bounded(waiter, "the cancelled waiter to end")
    assert len(hub_listeners(client, job.id)) == 4
    assert server.open_streams == 1
    final = server.update_job(job.id, status="completed", result=42)
    results = await bounded(asyncio.gather(*waiters[2:], late), "the remaining waiters' results")
    assert {r.version for r in results} == {final.version}
    assert server.streams_opened == 1
    assert server.request_count() == 1  # the stream's snapshot is the first read
    await assert_no_new_tasks(before | set(waiters) | {late})
    await server.wait_until(lambda: server.open_streams == 0, timeout=1)


async def test_many_kinds_of_waiters_share_the_clients_stream(
    server: JobServer, client: Client
) -> None:
    """wait_for_job, wait_for_jobs and watch_jobs started together use one stream."""
    jobs = [server.create_job(status="running").id for _ in range(4)]

    async def watch_all() -> int:
        return len([job async for job in client.watch_jobs(jobs)])

    tasks = [
        asyncio.ensure_future(client.wait_for_job(jobs[0])),
        asyncio.ensure_future(client.wait_for_jobs(jobs[1:])),
        asyncio.ensure_future(watch_all()),
    ]
    await server.wait_until(lambda: server.open_streams == 1)
    for job_id in jobs:
        server.update_job(job_id, status="completed")
    await bounded(asyncio.gather(*tasks), "every waiter's final state")
    assert server.streams_opened == 1
    assert tasks[2].result() == 8


async def test_the_last_waiter_leaving_closes_the_stream_of_a_later_batch(
    server: JobServer, client: Client, fast: None
) -> None:
    """Jobs joining an open stream reconnect it with the larger id set; leaving shrinks it."""
    first = server.create_job(status="running")
    second = server.create_job(status="running")
    before = client_tasks()
    one = asyncio.ensure_future(client.wait_for_job(first.id))
    await server.wait_until(lambda: server.open_streams == 1)
    two = asyncio.ensure_future(client.wait_for_job(second.id))
    await server.wait_until(lambda: server.streams_opened == 2 and server.open_streams == 2)
    one.cancel()
    with pytest.raises(asyncio.CancelledError):
        await one
    await server.wait_until(lambda: server.open_streams == 1, timeout=1)
    server.update_job(second.id, status="completed")
    assert (await bounded(two, "the second job's final state")).status is JobStatus.COMPLETED
    await assert_no_new_tasks(before | {one, two})
    await server.wait_until(lambda: server.open_streams == 0, timeout=1)


async def test_closing_the_client_fails_its_waiters_and_stops_everything(
    server: JobServer,
) -> None:
    """Client.close() ends the hub: waiters get an error, no task remains."""
    job = server.create_job(status="running")
    client = Client(server.url)
    before = client_tasks()
    waiter = asyncio.ensure_future(client.wait_for_job(job.id))
    await server.wait_until(lambda: server.open_streams == 1)
    await client.close()
    with pytest.raises(RuntimeError, match="closed"):
        await bounded(waiter, "the waiter of a closed client to fail")
    await assert_no_new_tasks(before | {waiter})
    await server.wait_until(lambda: server.open_streams == 0, timeout=1)
