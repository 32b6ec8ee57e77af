"""The object a shared ``watch()`` returns (``transport="auto"``, adaptive polling): an async
generator in behaviour (``async for``, ``anext``, ``aclose``, ``asend``, ``athrow``), cheap per
update, and it lets go of the hub however the consumer stops.
"""

from __future__ import annotations

import asyncio
import collections.abc

import pytest
from _live_helpers import (
    assert_no_new_tasks,
    bounded,
    client_tasks,
    hub_listeners,
    next_within,
    wait_until,
)

from asyncjobs import Client, JobStatus, JobTimeoutError
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


async def test_it_is_an_async_generator_and_subscribes_only_when_iterated(
    server: JobServer, client: Client
) -> None:
    job = server.create_job(status="running")
    watch = client.watch(job.id)
    assert isinstance(watch, collections.abc.AsyncGenerator)
    assert hub_listeners(client, job.id) == []
    first = await next_within(watch, "the current state")
    assert first.version == job.version
    assert len(hub_listeners(client, job.id)) == 1
    await watch.aclose()
    assert hub_listeners(client, job.id) == []
    assert await bounded(anext(watch, None), "the end of a closed watch") is None


async def test_states_kept_while_the_consumer_is_busy_come_in_order_then_the_end(
    server: JobServer, client: Client
) -> None:
    """States that arrive while nobody waits are kept and yielded in order; after the
    terminal one the watch ends (anext with a default gets the default, not a crash)."""
    job = server.create_job(status="running")
    watch = client.watch(job.id)
    await next_within(watch, "the current state")
    made = [server.update_job(job.id, progress=p).version for p in (10, 20, 30)]
    made.append(server.update_job(job.id, status="completed").version)
    await wait_until(lambda: job.id not in client._hub._entries, message="the job never ended")
    seen = [(await next_within(watch, "a kept state")).version for _ in made]
    assert seen == made
    assert await bounded(anext(watch, None), "the end") is None
    assert await bounded(anext(watch, "again"), "the end, again") == "again"


async def test_break_unsubscribes_within_a_loop_turn_without_a_task(
    server: JobServer, client: Client
) -> None:
    job = server.create_job(status="running")
    before = client_tasks()
    async for state in client.watch(job.id):
        assert state.id == job.id
        break
    # No collection needed: the watch went away with the loop's reference to it, and lets
    # go of the hub at the next loop turn.
    await asyncio.sleep(0)
    assert hub_listeners(client, job.id) == []
    await assert_no_new_tasks(before)


async def test_a_consumer_cancelled_while_waiting_unsubscribes(
    server: JobServer, client: Client
) -> None:
    job = server.create_job(status="running")
    before = client_tasks()
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in client.watch(job.id):
            started.set()

    consumer = asyncio.ensure_future(consume())
    await bounded(started.wait(), "the first state")
    assert len(hub_listeners(client, job.id)) == 1
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await bounded(consumer, "the cancelled consumer")
    await asyncio.sleep(0)
    assert hub_listeners(client, job.id) == []  # the watch went away with the task's frame
    await assert_no_new_tasks(before | {consumer})


async def test_a_wait_cancelled_by_its_caller_loses_no_state(
    server: JobServer, client: Client
) -> None:
    """A consumer that survives the cancellation of one wait (asyncio.wait_for, a timeout
    scope) goes on with the next state: the one that arrives after the cancel is kept."""
    job = server.create_job(status="running")
    watch = client.watch(job.id)
    await next_within(watch, "the current state")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(watch), 0.01)
    moved = server.update_job(job.id, progress=50)
    assert (await next_within(watch, "the change after the cancel")).version == moved.version
    done = server.update_job(job.id, status="completed")
    assert (await next_within(watch, "the end")).version == done.version
    assert await bounded(anext(watch, None), "the end") is None
    assert hub_listeners(client, job.id) == []


async def test_closing_a_watch_that_never_started_makes_it_empty(
    server: JobServer, client: Client
) -> None:
    job = server.create_job(status="running")
    watch = client.watch(job.id)
    await watch.aclose()
    assert await bounded(anext(watch, None), "the end") is None
    assert hub_listeners(client, job.id) == []


async def test_athrow_ends_the_watch_with_the_exception(server: JobServer, client: Client) -> None:
    job = server.create_job(status="running")
    watch = client.watch(job.id)
    assert (await watch.asend(None)).id == job.id
    with pytest.raises(KeyError):
        await watch.athrow(KeyError("stop"))
    assert hub_listeners(client, job.id) == []
    assert await bounded(anext(watch, None), "the end") is None


async def test_the_timeout_comes_after_the_states_that_arrived_before_it(
    server: JobServer, client: Client
) -> None:
    job = server.create_job(status="running")
    watch = client.watch(job.id, timeout=0.3)
    await next_within(watch, "the current state")
    moved = server.update_job(job.id, progress=10)
    await wait_until(
        lambda: (
            client._hub.current(job.id) is not None
            and client._hub.current(job.id).version == moved.version
        ),  # type: ignore[union-attr]
        message="the change never reached the hub",
    )
    (viewer,) = hub_listeners(client, job.id)
    # The deadline passes with the change still kept (the watch's timer marks it expired).
    await wait_until(lambda: viewer.expired, message="the watch's deadline never passed")  # type: ignore[attr-defined]
    assert (await next_within(watch, "the kept change")).version == moved.version
    with pytest.raises(JobTimeoutError) as caught:
        await bounded(anext(watch), "the timeout")
    assert caught.value.job_id == job.id
    assert caught.value.job is not None and caught.value.job.status is JobStatus.RUNNING
    assert hub_listeners(client, job.id) == []
    assert await bounded(anext(watch, None), "the end") is None


async def test_a_waiting_consumer_gets_the_timeout_and_the_watch_lets_go(
    server: JobServer, client: Client
) -> None:
    job = server.create_job(status="running")
    watch = client.watch(job.id, timeout=0.2)
    await next_within(watch, "the current state")
    with pytest.raises(JobTimeoutError):
        await bounded(anext(watch), "the timeout")
    assert hub_listeners(client, job.id) == []


async def test_a_watch_on_a_closed_client_raises_when_iterated(server: JobServer) -> None:
    job = server.create_job(status="running")
    async with Client(server.url) as client:
        watch = client.watch(job.id)
    with pytest.raises(RuntimeError, match="closed"):
        await bounded(anext(watch), "the error")
    assert await bounded(anext(watch, None), "the end") is None
