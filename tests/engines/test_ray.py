"""The ``ray`` profile against a real Ray head node: the Job Submission API of its dashboard.

Entrypoints are shell commands run by Ray's job supervisor on this machine: plain shell
(``echo``, ``sleep``, ``exit 3``) or the engines venv's python by its full path (a bare
``python`` would be the system one). A trivial job takes about 1.5 s from submit to SUCCEEDED.
"""

from __future__ import annotations

import itertools
import shlex
import uuid
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
    Client,
    ConflictError,
    Job,
    JobCancelledError,
    JobFailedError,
    JobNotFoundError,
    JobStatus,
)

pytestmark = [pytest.mark.anyio, pytest.mark.engine]


def python(ray_env: SimpleNamespace, code: str) -> str:
    """An entrypoint running ``code`` with the engines venv's python."""
    return f"{shlex.quote(ray_env.python)} -c {shlex.quote(code)}"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def submit(client: Client, entrypoint: str, *, idempotency_key: str | None = None) -> Job:
    """Submit a job running ``entrypoint``."""
    return await client.submit_job(
        config={"entrypoint": entrypoint}, idempotency_key=idempotency_key
    )


async def test_submit_returns_the_job_named_by_its_submission_id(ray: Client) -> None:
    """A submit returns Ray's job: id is the submission_id, raw is Ray's record, a get reads it."""
    job = await ray.submit_job("greeting", {"entrypoint": "echo hi", "metadata": {"k": "v"}})
    assert job.id == job.raw["submission_id"]
    assert job.raw["entrypoint"] == "echo hi"
    assert job.status in (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.COMPLETED)
    assert job.config["entrypoint"] == "echo hi"

    again = await ray.get_job(job.id)
    assert again.id == job.id
    assert again.name == "greeting"  # kept in Ray's metadata
    assert again.raw["metadata"]["k"] == "v"
    done = await ray.wait_for_job(job.id, timeout=ENGINE_PATIENCE)
    assert done.status is JobStatus.COMPLETED
    assert done.raw["status"] == "SUCCEEDED"
    assert done.completed_at is not None


async def test_get_of_an_unknown_job_raises_job_not_found(ray: Client) -> None:
    """Ray's plain-text 404 "Job x does not exist" is a JobNotFoundError."""
    with pytest.raises(JobNotFoundError):
        await ray.get_job(unique("no-such-job"))


async def test_list_jobs_returns_the_submitted_jobs(ray: Client) -> None:
    """list_jobs yields every job (Ray's one bare array), ours among them; limit caps it."""
    first = await submit(ray, "echo one")
    second = await submit(ray, "echo two")
    listed = [job async for job in ray.list_jobs()]
    ids = [job.id for job in listed]
    assert {first.id, second.id} <= set(ids)
    assert len(ids) == len(set(ids)), "a job listed twice"
    assert all(job.raw.get("entrypoint") for job in listed if job.id in (first.id, second.id))

    capped = [job async for job in ray.list_jobs(limit=1)]
    assert len(capped) == 1
    await ray.wait_for_jobs([first.id, second.id], timeout=ENGINE_PATIENCE)


async def test_watch_yields_each_change_in_order_and_ends_terminal(ray: Client) -> None:
    """watch() yields the current state, then each change in order, and ends on SUCCEEDED."""
    job = await submit(ray, "sleep 2; echo done")
    seen: list[Job] = []
    with anyio.fail_after(ENGINE_PATIENCE + 5):
        async with aclosing(ray.watch(job.id, timeout=ENGINE_PATIENCE)) as updates:
            async for update in updates:
                seen.append(update)
    statuses = [update.status for update in seen]
    assert seen[-1].status is JobStatus.COMPLETED, statuses
    assert all(not update.is_terminal for update in seen[:-1]), statuses
    assert [rank(update) for update in seen] == sorted(rank(update) for update in seen), statuses
    assert JobStatus.RUNNING in statuses, "a 2 s job was never seen running"
    for before, after in itertools.pairwise(seen):
        assert before.raw != after.raw, f"the same state yielded twice: {before.raw}"


async def test_wait_for_jobs_on_twenty_jobs(ray: Client, counter: RequestCounter) -> None:
    """wait_for_jobs returns the 20 finished jobs in input order, reading them in batches."""
    jobs = [await submit(ray, f"echo job-{n}") for n in range(20)]
    ids = [job.id for job in jobs]
    mark = counter.mark()
    # Each job starts a supervisor process: 20 take about 20 s on 2 cores (pytest-timeout: 120).
    with anyio.fail_after(105):
        done = await ray.wait_for_jobs(ids, timeout=100)
    record_requests("ray", "wait_for_jobs", len(ids), counter, mark)
    assert [job.id for job in done] == ids
    assert all(job.status is JobStatus.COMPLETED for job in done)
    # DESIGN.md section 3: no request loop per job. Ray's GET /api/jobs/ reads every job at
    # once; one read per job and a last one to confirm its end is the most a wait may cost.
    requests = counter.by_route(mark)
    assert requests["GET /api/jobs/{id}"] <= 2 * len(ids), f"a polling loop per job: {requests}"


async def test_as_completed_yields_each_final_job_once(ray: Client) -> None:
    """as_completed yields each job once, final, a failed one too (without raising)."""
    jobs = [
        await submit(ray, "sleep 2; echo slow"),
        await submit(ray, "echo quick"),
        await submit(ray, "exit 3"),
    ]
    ids = {job.id for job in jobs}
    finished: list[Job] = []
    with anyio.fail_after(ENGINE_PATIENCE + 5):
        async with aclosing(
            ray.as_completed([job.id for job in jobs], timeout=ENGINE_PATIENCE)
        ) as ends:
            async for job in ends:
                finished.append(job)
    assert sorted(job.id for job in finished) == sorted(ids)
    assert all(job.is_terminal for job in finished)
    by_id = {job.id: job for job in finished}
    assert by_id[jobs[2].id].status is JobStatus.FAILED
    assert by_id[jobs[0].id].status is JobStatus.COMPLETED


async def test_cancel_of_a_running_job_makes_waiting_raise_cancelled(ray: Client) -> None:
    """cancel_job stops a running job; its wait raises JobCancelledError on Ray's STOPPED."""
    job = await submit(ray, "sleep 300")
    await watch_until(ray, job.id, is_running, "the job to start")
    cancelled = await ray.cancel_job(job.id)
    assert cancelled.id == job.id
    with pytest.raises(JobCancelledError) as raised:
        await ray.wait_for_job(job.id, timeout=ENGINE_PATIENCE)
    assert raised.value.job.status is JobStatus.CANCELLED
    assert raised.value.job.raw["status"] == "STOPPED"


async def test_cancel_of_a_finished_job_raises_conflict(ray: Client) -> None:
    """Ray answers a stop of a finished job {"stopped": false}: that is a ConflictError."""
    job = await submit(ray, "echo finished")
    await ray.wait_for_job(job.id, timeout=ENGINE_PATIENCE)
    with pytest.raises(ConflictError):
        await ray.cancel_job(job.id)


async def test_a_failing_entrypoint_raises_job_failed_with_its_reason(
    ray: Client, ray_env: SimpleNamespace
) -> None:
    """A failing entrypoint: JobFailedError, its reason Ray's message (exit code, last logs)."""
    job = await submit(ray, python(ray_env, "raise ValueError('boom' + '-ray')"))
    with pytest.raises(JobFailedError) as raised:
        await ray.wait_for_job(job.id, timeout=ENGINE_PATIENCE)
    failed = raised.value
    reason = failed.details["failure_reason"]
    assert "exit code 1" in reason
    assert "ValueError: boom-ray" in reason
    assert failed.details["job_id"] == job.id
    assert failed.job.status is JobStatus.FAILED
    assert failed.job.error is not None and "boom-ray" in failed.job.error

    exited = await submit(ray, "exit 3")
    with pytest.raises(JobFailedError) as raised:
        await ray.wait_for_job(exited.id, timeout=ENGINE_PATIENCE)
    assert "exit code 3" in raised.value.details["failure_reason"]


async def test_get_log_returns_what_the_entrypoint_printed(
    ray: Client, ray_env: SimpleNamespace
) -> None:
    """get_log returns the log as plain text, with the lines the entrypoint printed."""
    # Built at run time, so that Ray's own "Running entrypoint ..." line cannot hold it.
    job = await submit(ray, python(ray_env, "print('hello' + ' from ray'); print('line', 2)"))
    await ray.wait_for_job(job.id, timeout=ENGINE_PATIENCE)
    log = await ray.get_log(job.id)
    assert isinstance(log, str)
    assert "hello from ray\n" in log
    assert "line 2\n" in log
    assert not log.lstrip().startswith("{"), "the log came as Ray's JSON, not as text"


async def test_delete_job_removes_a_finished_job(ray: Client) -> None:
    """delete_job removes a finished job: reading it then raises JobNotFoundError."""
    job = await submit(ray, "echo deleted")
    await ray.wait_for_job(job.id, timeout=ENGINE_PATIENCE)
    await ray.delete_job(job.id)
    with pytest.raises(JobNotFoundError):
        await ray.get_job(job.id)


async def test_delete_of_a_running_job_raises_conflict(ray: Client) -> None:
    """Deleting a job not yet finished (Ray's 500) is a ConflictError; the job is untouched."""
    job = await submit(ray, "sleep 300")
    try:
        await watch_until(ray, job.id, is_running, "the job to start")
        with pytest.raises(ConflictError):
            await ray.delete_job(job.id)
        assert (await ray.get_job(job.id)).status is JobStatus.RUNNING
    finally:
        await ray.cancel_job(job.id)


async def test_submit_with_the_same_idempotency_key_returns_the_same_job(ray: Client) -> None:
    """The idempotency key is the submission_id: a second submit returns the first job."""
    key = unique("asyncjobs-idem")
    first = await submit(ray, "echo once", idempotency_key=key)
    second = await submit(ray, "echo twice", idempotency_key=key)
    assert first.id == second.id == key
    assert second.raw["entrypoint"] == "echo once"
    listed = [job.id async for job in ray.list_jobs()]
    assert listed.count(key) == 1
    await ray.wait_for_job(key, timeout=ENGINE_PATIENCE)
