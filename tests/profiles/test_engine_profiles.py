"""The ``ray`` and ``flower`` profiles end to end against ``JobServer`` serving each engine's
shape (the fast twin of ``tests/engines``, which runs against the real engines): every operation,
the waits, the engines' quirks, and the requests it takes to wait on many jobs."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from _live_helpers import bounded

from asyncjobs import (
    AuthenticationError,
    Client,
    ConflictError,
    Hooks,
    JobCancelledError,
    JobFailedError,
    JobNotFoundError,
    JobStatus,
    RequestEvent,
)
from asyncjobs._tuning import TUNING
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def quick_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adaptive polling that stays fast (both engines are watched by polling)."""
    monkeypatch.setattr(TUNING, "poll_start", 0.05)
    monkeypatch.setattr(TUNING, "poll_cap", 0.2)


class Requests:
    """Counts the requests a client sends, by operation (an ``on_request`` hook)."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    async def __call__(self, event: RequestEvent) -> None:
        self.seen[event.operation] += 1

    def hooks(self) -> Hooks:
        return Hooks(on_request=[self])


def ray_config(duration: float = 0.2, **metadata: str) -> dict[str, Any]:
    """A Ray submit's config; the shape's simulated job reads ``metadata``."""
    return {
        "entrypoint": "python job.py",
        "metadata": {"duration": str(duration), "steps": "2", **metadata},
    }


# -- ray ---------------------------------------------------------------------------------------


@pytest.fixture
async def ray() -> AsyncIterator[JobServer]:
    async with JobServer(profile="ray", auto_run=True) as server:
        yield server


async def test_ray_submit_is_keyed_by_submission_id_and_a_repeat_returns_the_same_job(
    ray: JobServer,
) -> None:
    async with Client(ray.url, profile="ray") as client:
        job = await client.submit_job("train", ray_config(), idempotency_key="nightly-1")
        again = await client.submit_job("train", ray_config(), idempotency_key="nightly-1")
        other = await client.submit_job("train", ray_config())
    assert job.id == again.id == "nightly-1"
    assert job.name == "train"
    assert job.config["entrypoint"] == "python job.py"
    assert other.id not in ("nightly-1", "train")
    assert job.raw["submission_id"] == "nightly-1"


async def test_ray_watch_wait_log_and_delete(ray: JobServer) -> None:
    async with Client(ray.url, profile="ray") as client:
        job = await client.submit_job("train", ray_config())
        seen = [update async for update in client.watch(job.id, timeout=10)]
        assert seen[-1].status is JobStatus.COMPLETED
        assert [update.status for update in seen] == sorted(
            {update.status: None for update in seen}, key=list(JobStatus).index
        )
        final = await bounded(client.wait_for_job(job.id), "a finished Ray job")
        assert final.completed_at is not None
        log = await client.get_log(job.id)
        assert "step 2/2" in log and not log.startswith("{")
        listed = [listed.id async for listed in client.list_jobs(status=JobStatus.COMPLETED)]
        assert job.id in listed
        await client.delete_job(job.id)
        with pytest.raises(JobNotFoundError):
            await client.get_job(job.id)


async def test_ray_failure_cancel_and_delete_of_a_running_job(ray: JobServer) -> None:
    async with Client(ray.url, profile="ray") as client:
        failing = await client.submit_job(None, ray_config(0.05, fail="out of memory"))
        with pytest.raises(JobFailedError) as failed:
            await bounded(client.wait_for_job(failing.id), "a failing Ray job")
        assert "out of memory" in failed.value.details["failure_reason"]
        assert failed.value.details["error_type"] == "JOB_ENTRYPOINT_COMMAND_ERROR"

        running = await client.submit_job(None, ray_config(30))
        with pytest.raises(ConflictError):
            await client.delete_job(running.id)
        await client.cancel_job(running.id)
        with pytest.raises(JobCancelledError):
            await bounded(client.wait_for_job(running.id), "a stopped Ray job")


async def test_ray_wait_on_twenty_jobs_and_as_completed(ray: JobServer) -> None:
    async with Client(ray.url, profile="ray") as client:
        jobs = [await client.submit_job(None, ray_config(0.1 + n / 50)) for n in range(20)]
        ids = [job.id for job in jobs]
        finals = await bounded(client.wait_for_jobs(ids, timeout=20), "20 Ray jobs", timeout=30)
        assert [final.id for final in finals] == ids
        assert {final.status for final in finals} == {JobStatus.COMPLETED}
        done = [job.id async for job in client.as_completed(ids[:5], timeout=10)]
        assert sorted(done) == sorted(ids[:5])


async def test_ray_refuses_a_config_without_entrypoint_before_sending(ray: JobServer) -> None:
    requests = Requests()
    async with Client(ray.url, profile="ray", hooks=requests.hooks()) as client:
        with pytest.raises(ValueError, match="entrypoint"):
            await client.submit_job("train", {"script": "train.py"})
    assert not requests.seen


# -- flower ------------------------------------------------------------------------------------


@pytest.fixture
async def flower() -> AsyncIterator[JobServer]:
    async with JobServer(profile="flower", auto_run=True) as server:
        yield server


def flower_client(server: JobServer, **options: Any) -> Client:
    return Client(server.url, profile="flower", token="user:password", **options)


async def test_flower_submit_then_result_as_python_data(flower: JobServer) -> None:
    async with flower_client(flower) as client:
        job = await client.submit_job("tasks.add", {"args": [2, 3]})
        assert job.status is JobStatus.PENDING
        final = await bounded(client.wait_for_job(job.id), "tasks.add")
    assert (final.status, final.result, final.name) == (JobStatus.COMPLETED, 5, "tasks.add")
    assert final.config == {"args": [2, 3], "kwargs": {}}


async def test_flower_a_task_read_right_after_its_submit_is_pending(flower: JobServer) -> None:
    shape: Any = flower.shape
    shape.visibility_delay = 60.0  # Flower has not heard of the task yet
    async with flower_client(flower) as client:
        job = await client.submit_job("tasks.sleep", {"args": [0.05]})
        read = await client.get_job(job.id)
        assert (read.status, read.name) == (JobStatus.PENDING, "tasks.sleep")
        shape.visibility_delay = 0.0
        final = await bounded(client.wait_for_job(job.id), "a task once Flower knows it")
    assert final.status is JobStatus.COMPLETED


async def test_flower_failure_carries_the_exception_and_traceback(flower: JobServer) -> None:
    async with flower_client(flower) as client:
        job = await client.submit_job("tasks.fail", {"args": ["boom"]})
        with pytest.raises(JobFailedError) as caught:
            await bounded(client.wait_for_job(job.id), "a failing task")
    details = caught.value.details
    assert "boom" in details["failure_reason"]
    assert "ValueError" in details["traceback"]


async def test_flower_cancel_terminates_a_running_task(flower: JobServer) -> None:
    async with flower_client(flower) as client:
        job = await client.submit_job("tasks.sleep", {"args": [30]})
        await bounded(_until_running(client, job.id), "the task to start")
        await client.cancel_job(job.id)
        with pytest.raises(JobCancelledError):
            await bounded(client.wait_for_job(job.id), "a revoked task")


async def _until_running(client: Client, job_id: str) -> None:
    async for update in client.watch(job_id):
        if update.status is JobStatus.RUNNING:
            return


async def test_flower_list_filters_by_state_and_pages_by_offset(flower: JobServer) -> None:
    requests = Requests()
    async with flower_client(flower, hooks=requests.hooks()) as client:
        ids = [(await client.submit_job("tasks.add", {"args": [n, n]})).id for n in range(7)]
        failing = await client.submit_job("tasks.fail", {"args": ["x"]})
        await bounded(client.wait_for_jobs([*ids, failing.id], return_exceptions=True), "8 tasks")
        requests.seen.clear()
        failed = [job.id async for job in client.list_jobs(status=JobStatus.FAILED)]
        newest = [job.id async for job in client.list_jobs(limit=3)]
    assert failed == [failing.id]
    assert newest == [failing.id, *reversed(ids[-2:])]
    assert requests.seen["list"] == 2


async def test_flower_waits_on_many_tasks_through_the_list(flower: JobServer) -> None:
    requests = Requests()
    shape: Any = flower.shape
    shape.visibility_delay = 0.0  # else the tasks Flower does not know yet are read alone
    async with flower_client(flower, hooks=requests.hooks()) as client:
        ids = [
            (await client.submit_job("tasks.sleep", {"args": [0.1 + n / 100]})).id
            for n in range(50)
        ]
        requests.seen.clear()
        finals = await bounded(client.wait_for_jobs(ids, timeout=20), "50 tasks", timeout=30)
        stats = await client.queue_stats()
    assert {job.status for job in finals} == {JobStatus.COMPLETED}
    assert stats.pending == 0
    # Each round of polling reads the tasks from the list's first page (a last one left alone
    # is read alone): fewer requests in all than one round of reading each task.
    assert requests.seen["list"] >= 1
    assert requests.seen["get"] + requests.seen["list"] < 50


async def test_flower_needs_both_user_and_password(flower: JobServer) -> None:
    async with Client(flower.url, profile="flower", token="user") as client:
        with pytest.raises(AuthenticationError):
            await client.get_job("x")
