"""The ``flower`` profile against real Celery: Redis, a worker (``-c 2 -E``) and Flower.

The worker runs the tasks of ``celery_app/tasks.py``: ``tasks.add(x, y)``, ``tasks.echo(value)``,
``tasks.sleep(seconds)`` (returns ``{"slept": seconds}``) and ``tasks.fail(message)`` (raises
``ValueError(message)``). Its two pool processes are the whole capacity: a test that fills them
with long sleeps cancels them before it ends.
"""

from __future__ import annotations

import itertools
from contextlib import aclosing
from types import SimpleNamespace

import anyio
import pytest
from _engine_helpers import (
    ENGINE_PATIENCE,
    RequestCounter,
    is_running,
    rank,
    record_requests,
    watch_until,
)

from asyncjobs import (
    AuthenticationError,
    Client,
    Job,
    JobCancelledError,
    JobFailedError,
    JobStatus,
    QueueStats,
)

pytestmark = [pytest.mark.anyio, pytest.mark.engine]


async def apply(client: Client, task: str, *args: object, **kwargs: object) -> Job:
    """Submit the registered ``task`` with these arguments."""
    return await client.submit_job(task, {"args": list(args), "kwargs": kwargs})


async def cancel_all(client: Client, jobs: list[Job]) -> None:
    """Revoke (terminate) the jobs and wait until Flower reports them ended."""
    for job in jobs:
        await client.cancel_job(job.id)
    await client.wait_for_jobs(
        [job.id for job in jobs], timeout=ENGINE_PATIENCE, return_exceptions=True
    )


async def test_submit_returns_the_task_and_its_result_is_python_data(flower: Client) -> None:
    """A submit returns the task by its id; once done, Job.result is the return value itself."""
    job = await apply(flower, "tasks.add", 2, 3)
    assert job.name in (None, "tasks.add")
    assert job.status in (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.COMPLETED)
    done = await flower.wait_for_job(job.id, timeout=ENGINE_PATIENCE)
    assert done.id == job.id
    assert done.status is JobStatus.COMPLETED
    assert done.result == 5
    assert done.name == "tasks.add"
    assert done.raw["state"] == "SUCCESS"

    value = {"a": [1, 2], "b": None, "c": "text", "d": 1.5, "e": True}
    echoed = await apply(flower, "tasks.echo", value)
    assert (await flower.wait_for_job(echoed.id, timeout=ENGINE_PATIENCE)).result == value
    assert (await flower.get_job(echoed.id)).result == value


async def test_a_task_read_right_after_its_submit_is_pending_not_unknown(flower: Client) -> None:
    """A task read at once after its submit is pending, never JobNotFoundError, even while
    Flower has not yet heard of it; one queued behind busy workers stays pending."""
    quick = [await apply(flower, "tasks.add", n, n) for n in range(10)]
    read = [await flower.get_job(job.id) for job in quick]
    assert [job.id for job in read] == [job.id for job in quick]
    assert all(job.status is not JobStatus.UNKNOWN for job in read), [j.status for j in read]

    # Both pool processes busy: a new task waits in the queue (or reserved by the worker).
    blockers = [await apply(flower, "tasks.sleep", 300) for _ in range(2)]
    try:
        waiting = await apply(flower, "tasks.add", 20, 22)
        assert (await flower.get_job(waiting.id)).status is JobStatus.PENDING
        for blocker in blockers:
            await watch_until(flower, blocker.id, is_running, "the blocker to start")
        assert (await flower.get_job(waiting.id)).status is JobStatus.PENDING
    finally:
        await cancel_all(flower, blockers)
    assert (await flower.wait_for_job(waiting.id, timeout=ENGINE_PATIENCE)).result == 42
    await flower.wait_for_jobs([job.id for job in quick], timeout=ENGINE_PATIENCE)


async def test_list_jobs_filters_by_status_and_follows_pages(flower: Client) -> None:
    """list_jobs(status=, limit=) yields only that state, at most limit of them, no repeats,
    and all of them when followed page after page."""
    jobs = [await apply(flower, "tasks.add", n, 1) for n in range(5)]
    failing = await apply(flower, "tasks.fail", "listed")
    ids = {job.id for job in jobs}
    await flower.wait_for_jobs([job.id for job in jobs], timeout=ENGINE_PATIENCE)
    with pytest.raises(JobFailedError):
        await flower.wait_for_job(failing.id, timeout=ENGINE_PATIENCE)

    three = [job async for job in flower.list_jobs(status="completed", limit=3)]
    assert len(three) == 3
    assert all(job.status is JobStatus.COMPLETED for job in three)
    assert len({job.id for job in three}) == 3

    completed = [job async for job in flower.list_jobs(status=JobStatus.COMPLETED)]
    completed_ids = [job.id for job in completed]
    assert ids <= set(completed_ids)
    assert len(completed_ids) == len(set(completed_ids)), "a task listed twice across pages"
    assert failing.id not in completed_ids

    failed = [job async for job in flower.list_jobs(status="failed")]
    assert failing.id in {job.id for job in failed}
    assert all(job.status is JobStatus.FAILED for job in failed)
    assert not ids & {job.id for job in failed}

    everything = [job.id async for job in flower.list_jobs()]
    assert ids | {failing.id} <= set(everything)


async def test_watch_yields_each_change_in_order_and_ends_terminal(flower: Client) -> None:
    """watch() yields the current state, then each change in order, ending on SUCCESS."""
    job = await apply(flower, "tasks.sleep", 2)
    seen: list[Job] = []
    with anyio.fail_after(ENGINE_PATIENCE + 5):
        async with aclosing(flower.watch(job.id, timeout=ENGINE_PATIENCE)) as updates:
            async for update in updates:
                seen.append(update)
    statuses = [update.status for update in seen]
    assert seen[-1].status is JobStatus.COMPLETED, statuses
    assert seen[-1].result == {"slept": 2}
    assert all(not update.is_terminal for update in seen[:-1]), statuses
    assert [rank(update) for update in seen] == sorted(rank(update) for update in seen), statuses
    assert JobStatus.RUNNING in statuses, "a 2 s task was never seen running"
    for before, after in itertools.pairwise(seen):
        assert before.raw != after.raw, f"the same state yielded twice: {before.raw}"


async def test_wait_for_jobs_on_twenty_tasks(flower: Client, counter: RequestCounter) -> None:
    """wait_for_jobs returns the 20 results in input order, reading the tasks in batches."""
    jobs = [await apply(flower, "tasks.add", n, n) for n in range(20)]
    ids = [job.id for job in jobs]
    mark = counter.mark()
    with anyio.fail_after(ENGINE_PATIENCE + 5):
        done = await flower.wait_for_jobs(ids, timeout=ENGINE_PATIENCE)
    record_requests("flower", "wait_for_jobs", len(ids), counter, mark)
    assert [job.id for job in done] == ids
    assert [job.result for job in done] == [2 * n for n in range(20)]
    # DESIGN.md section 3: no request loop per task (Flower's /api/tasks reads many at once).
    requests = counter.by_route(mark)
    assert requests["GET /api/task/info/{id}"] <= 2 * len(ids), f"a loop per task: {requests}"


async def test_as_completed_yields_each_final_task_once(flower: Client) -> None:
    """as_completed yields each task once, final, a failed one too (without raising)."""
    jobs = [
        await apply(flower, "tasks.sleep", 1.5),
        await apply(flower, "tasks.add", 1, 2),
        await apply(flower, "tasks.fail", "as-completed"),
        await apply(flower, "tasks.sleep", 0.2),
    ]
    finished: list[Job] = []
    with anyio.fail_after(ENGINE_PATIENCE + 5):
        async with aclosing(
            flower.as_completed([job.id for job in jobs], timeout=ENGINE_PATIENCE)
        ) as ends:
            async for job in ends:
                finished.append(job)
    assert sorted(job.id for job in finished) == sorted(job.id for job in jobs)
    assert all(job.is_terminal for job in finished)
    by_id = {job.id: job for job in finished}
    assert by_id[jobs[1].id].result == 3
    assert by_id[jobs[2].id].status is JobStatus.FAILED
    assert by_id[jobs[0].id].result == {"slept": 1.5}


async def test_cancel_terminates_running_tasks(flower: Client) -> None:
    """cancel_job revokes with terminate: waiting raises JobCancelledError, and the worker's
    two processes, each stuck in a 300 s sleep, are free again at once."""
    sleepers = [await apply(flower, "tasks.sleep", 300) for _ in range(2)]
    try:
        for sleeper in sleepers:
            await watch_until(flower, sleeper.id, is_running, "the sleeper to start")
        for sleeper in sleepers:
            await flower.cancel_job(sleeper.id)
        for sleeper in sleepers:
            with pytest.raises(JobCancelledError) as raised:
                await flower.wait_for_job(sleeper.id, timeout=ENGINE_PATIENCE)
            assert raised.value.job.status is JobStatus.CANCELLED
            assert raised.value.job.raw["state"] == "REVOKED"
        # Were the sleeps only marked revoked, both processes would sleep on for minutes.
        after = [await apply(flower, "tasks.add", n, 0) for n in range(2)]
        done = await flower.wait_for_jobs([job.id for job in after], timeout=ENGINE_PATIENCE)
        assert [job.result for job in done] == [0, 1]
    finally:
        for sleeper in sleepers:
            await flower.cancel_job(sleeper.id)


async def test_a_failing_task_raises_job_failed_with_reason_and_traceback(
    flower: Client,
) -> None:
    """tasks.fail("boom"): JobFailedError, the exception in failure_reason, its traceback."""
    job = await apply(flower, "tasks.fail", "boom")
    with pytest.raises(JobFailedError) as raised:
        await flower.wait_for_job(job.id, timeout=ENGINE_PATIENCE)
    failed = raised.value
    assert failed.details["job_id"] == job.id
    assert "boom" in failed.details["failure_reason"]
    assert "ValueError" in failed.details["failure_reason"]
    assert "Traceback (most recent call last)" in failed.details["traceback"]
    assert "ValueError: boom" in failed.details["traceback"]
    assert failed.job.status is JobStatus.FAILED
    assert failed.job.error is not None and "boom" in failed.job.error
    assert failed.job.result is None


async def test_queue_stats_counts_the_tasks_waiting_in_the_queue(flower: Client) -> None:
    """queue_stats() reads Flower's queue lengths: pending counts the messages still queued."""
    idle = await flower.queue_stats()
    assert isinstance(idle, QueueStats)
    assert isinstance(idle.pending, int)
    assert idle.raw["active_queues"]

    blockers = [await apply(flower, "tasks.sleep", 300) for _ in range(2)]
    queued: list[Job] = []
    try:
        for blocker in blockers:
            await watch_until(flower, blocker.id, is_running, "the blocker to start")
        # The worker reserves a few (prefetch); the rest stay in Redis.
        queued = [await apply(flower, "tasks.add", n, n) for n in range(8)]
        busy = await flower.queue_stats()
        assert busy.pending is not None and busy.pending >= 1, busy.raw
    finally:
        await cancel_all(flower, blockers)
    await flower.wait_for_jobs([job.id for job in queued], timeout=ENGINE_PATIENCE)


async def test_a_wrong_password_raises_authentication_error(
    flower_env: SimpleNamespace,
) -> None:
    """Flower's basic auth: a wrong password is an AuthenticationError, not a missing task."""
    user = flower_env.auth.partition(":")[0]
    async with Client(flower_env.url, profile="flower", token=f"{user}:wrong") as client:
        with pytest.raises(AuthenticationError):
            await client.queue_stats()
        with pytest.raises(AuthenticationError):
            await client.get_job("00000000-0000-0000-0000-000000000000")
