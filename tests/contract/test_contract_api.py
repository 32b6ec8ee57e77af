"""DESIGN.md section 3, as an outside test suite would check it: names, signatures, defaults,
return values, exceptions and their attributes, against a real JobServer on loopback."""

from __future__ import annotations

import asyncio
import inspect
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from _live_helpers import act_when, bounded, wait_until

from asyncjobs import (
    APIError,
    AsyncJobsError,
    BadRequestError,
    CleanupResult,
    Client,
    ConflictError,
    Job,
    JobCancelledError,
    JobFailedError,
    JobNotFoundError,
    JobStatus,
    JobTimeoutError,
    QueueStats,
    RateLimitError,
    RetryPolicy,
    SyncClient,
)
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio

NO_RETRY = RetryPolicy(attempts=1)


def when_following(server: JobServer, action: Any) -> asyncio.Task[None]:
    """Run ``action()`` in the background once the client follows its jobs (a stream or a long
    poll is open), so the change is one the wait sees happen."""
    return act_when(
        lambda: server.open_streams > 0 or server.open_polls > 0,
        action,
        message="the client never opened a stream or a long poll",
    )


# -- signatures and defaults ---------------------------------------------------------------------


def _params(func: Any) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(func).parameters)


@pytest.mark.parametrize("cls", [Client, SyncClient])
def test_client_signature_matches_the_design(cls: type) -> None:
    """Client(base_url, *, token, headers, session, profile, timeout, retry, max_connections,
    hooks), and SyncClient takes the same options."""
    params = _params(cls)
    assert list(params) == [
        "base_url",
        "token",
        "headers",
        "session",
        "profile",
        "timeout",
        "retry",
        "max_connections",
        "hooks",
    ]
    assert params["base_url"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    defaults = {name: p.default for name, p in params.items() if name != "base_url"}
    assert defaults == {
        "token": None,
        "headers": None,
        "session": None,
        "profile": "native",
        "timeout": 30.0,
        "retry": None,
        "max_connections": 100,
        "hooks": None,
    }
    assert all(
        p.kind is inspect.Parameter.KEYWORD_ONLY for n, p in params.items() if n != "base_url"
    )


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("submit_job", {"name": None, "config": None, "priority": 2, "idempotency_key": None}),
        ("list_jobs", {"status": None, "limit": None}),
        ("cleanup", {"max_age_hours": 24}),
        ("watch", {"transport": "auto", "timeout": None, "poll_interval": None}),
        ("watch_jobs", {"timeout": None}),
        (
            "wait_for_job",
            {"timeout": 300, "poll_interval": None, "transport": "auto", "raise_on_failure": True},
        ),
        (
            "wait_for_jobs",
            {
                "timeout": 300,
                "fail_fast": True,
                "return_exceptions": False,
                "cancel_on_exit": False,
            },
        ),
        ("as_completed", {"timeout": None}),
    ],
)
@pytest.mark.parametrize("cls", [Client, SyncClient])
def test_method_defaults_match_the_design(
    cls: type, method: str, expected: dict[str, object]
) -> None:
    """Every documented default, on Client and on SyncClient alike."""
    params = _params(getattr(cls, method))
    defaults = {n: p.default for n, p in params.items() if p.default is not inspect.Parameter.empty}
    assert defaults == expected


def test_sync_client_has_every_client_method() -> None:
    """SyncClient offers the same public methods as Client."""
    names = {
        "submit_job",
        "get_job",
        "get_jobs",
        "list_jobs",
        "cancel_job",
        "restart_job",
        "delete_job",
        "get_log",
        "queue_stats",
        "cleanup",
        "watch",
        "watch_jobs",
        "wait_for_job",
        "wait_for_jobs",
        "as_completed",
        "close",
    }
    for name in names:
        assert callable(getattr(SyncClient, name)), name
        assert callable(getattr(Client, name)), name


def test_job_server_signature() -> None:
    """JobServer(*, tokens=None, auto_run=False, heartbeat=15.0)."""
    params = _params(JobServer)
    for name, default in (("tokens", None), ("auto_run", False), ("heartbeat", 15.0)):
        assert params[name].default == default
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY


def test_models_are_frozen_slotted_attrs_classes() -> None:
    """Job, QueueStats, CleanupResult: attrs, frozen, slotted; raw is not compared."""
    for cls in (Job, QueueStats, CleanupResult):
        assert attrs.has(cls)
        assert "__slots__" in cls.__dict__
    job = Job(id="a", status=JobStatus.PENDING)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        job.status = JobStatus.RUNNING  # type: ignore[misc]
    assert [f.name for f in attrs.fields(Job)] == [
        "id",
        "status",
        "name",
        "progress",
        "message",
        "result",
        "error",
        "priority",
        "config",
        "created_at",
        "started_at",
        "completed_at",
        "updated_at",
        "version",
        "raw",
    ]
    assert Job(id="a", status=JobStatus.FAILED, raw={"x": 1}) == Job(
        id="a", status=JobStatus.FAILED
    )
    assert [f.name for f in attrs.fields(QueueStats)] == [
        "total",
        "pending",
        "running",
        "completed",
        "failed",
        "cancelled",
        "active_workers",
        "total_workers",
        "raw",
    ]
    assert [f.name for f in attrs.fields(CleanupResult)] == ["cleaned_jobs", "raw"]


def test_job_status_values_and_terminal_states() -> None:
    """Values are the native words; UNKNOWN is neither terminal nor pending."""
    assert [s.value for s in JobStatus if s is not JobStatus.UNKNOWN] == [
        "pending",
        "running",
        "completed",
        "failed",
        "cancelled",
    ]
    assert {s for s in JobStatus if s.is_terminal} == {
        JobStatus.COMPLETED,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
    }
    assert not JobStatus.UNKNOWN.is_terminal
    assert Job(id="a", status=JobStatus.CANCELLED).is_terminal
    assert not Job(id="a", status=JobStatus.UNKNOWN).is_terminal


def test_job_timeout_error_is_a_builtin_timeout_error() -> None:
    """JobTimeoutError is a TimeoutError (and so an asyncio.TimeoutError) and an AsyncJobsError."""
    error = JobTimeoutError("late", job_id="j", timeout=1.5)
    assert isinstance(error, TimeoutError)
    assert isinstance(error, asyncio.TimeoutError)
    assert isinstance(error, AsyncJobsError)
    assert (error.job_id, error.timeout, error.job) == ("j", 1.5, None)
    assert error.details["job_id"] == "j"


# -- request operations --------------------------------------------------------------------------


async def test_submit_job_returns_the_created_job(client: Client, server: JobServer) -> None:
    """submit_job(name, config) positionally; priority defaults to 2; config is kept."""
    job = await client.submit_job("resize", {"width": 640})
    assert isinstance(job, Job)
    assert (job.name, job.status, job.priority, dict(job.config)) == (
        "resize",
        JobStatus.PENDING,
        2,
        {"width": 640},
    )
    assert job.created_at is not None and job.created_at.tzinfo is not None
    assert job.created_at.utcoffset() == UTC.utcoffset(None)
    assert isinstance(job.version, int)
    assert job.raw["id"] == job.id
    urgent = await client.submit_job(name="u", priority=4)
    assert urgent.priority == 4
    assert server.get_job(urgent.id).priority == 4


async def test_submit_job_with_the_same_idempotency_key_returns_the_first_job(
    client: Client, server: JobServer
) -> None:
    """A repeated Idempotency-Key gives the first job back, and the server holds one job."""
    first = await client.submit_job("x", idempotency_key="key-1")
    again = await client.submit_job("x", idempotency_key="key-1")
    assert again.id == first.id
    assert len(server.jobs) == 1


async def test_get_job_of_an_unknown_id_raises_job_not_found(client: Client) -> None:
    """404: JobNotFoundError with status, error, details and the parsed body."""
    with pytest.raises(JobNotFoundError) as caught:
        await client.get_job("nope")
    error = caught.value
    assert isinstance(error, APIError)
    assert error.status == 404
    assert error.error == "Not Found"
    assert isinstance(error.details, str) and "nope" in error.details
    assert isinstance(error.body, dict)
    assert error.body["error"] == "Not Found"
    assert error.body["details"] == error.details
    assert "timestamp" in error.body


async def test_get_jobs_keeps_input_order_and_duplicates(client: Client, server: JobServer) -> None:
    """get_jobs answers in input order, a duplicate twice."""
    jobs = [server.create_job(name=f"j{i}") for i in range(5)]
    ids = [jobs[3].id, jobs[0].id, jobs[4].id, jobs[0].id]
    got = await client.get_jobs(ids)
    assert [job.id for job in got] == ids
    assert await client.get_jobs([]) == []


async def test_get_jobs_of_150_ids_keeps_order(client: Client, server: JobServer) -> None:
    """More ids than one batch (100) still come back in input order."""
    jobs = [server.create_job(name=f"j{i}") for i in range(150)]
    ids = [job.id for job in reversed(jobs)]
    got = await client.get_jobs(ids)
    assert [job.id for job in got] == ids


async def test_get_jobs_names_every_unknown_id(client: Client, server: JobServer) -> None:
    """JobNotFoundError names all the unknown ids, not just the first."""
    known = server.create_job(name="k")
    with pytest.raises(JobNotFoundError) as caught:
        await client.get_jobs(["ghost-1", known.id, "ghost-2"])
    error = caught.value
    assert set(error.job_ids) == {"ghost-1", "ghost-2"}
    assert "ghost-1" in str(error) and "ghost-2" in str(error)
    assert error.status == 404


async def test_list_jobs_limit_counts_jobs_across_pages(client: Client, server: JobServer) -> None:
    """limit= is the total yielded across pages; newest first; no limit yields all."""
    created = [server.create_job(name=f"j{i}") for i in range(130)]
    newest_first = [job.id for job in reversed(created)]
    got = [job.id async for job in client.list_jobs(limit=120)]
    assert got == newest_first[:120]
    assert [job.id async for job in client.list_jobs()] == newest_first
    assert [job.id async for job in client.list_jobs(limit=3)] == newest_first[:3]


async def test_list_jobs_status_takes_a_job_status_or_its_string(
    client: Client, server: JobServer
) -> None:
    """status= filters by a JobStatus or by its string."""
    running = [server.create_job(name=f"r{i}", status="running") for i in range(3)]
    server.create_job(name="p")
    expected = [job.id for job in reversed(running)]
    assert [j.id async for j in client.list_jobs(status=JobStatus.RUNNING)] == expected
    assert [j.id async for j in client.list_jobs(status="running")] == expected
    assert [j.id async for j in client.list_jobs(status="running", limit=2)] == expected[:2]


async def test_cancel_restart_delete_and_their_conflicts(client: Client, server: JobServer) -> None:
    """cancel -> CANCELLED; cancel again 409; restart -> PENDING; delete a finished job."""
    job = server.create_job(name="x", status="running")
    cancelled = await client.cancel_job(job.id)
    assert cancelled.status is JobStatus.CANCELLED
    with pytest.raises(ConflictError) as caught:
        await client.cancel_job(job.id)
    assert caught.value.status == 409
    restarted = await client.restart_job(job.id)
    assert restarted.status is JobStatus.PENDING
    with pytest.raises(ConflictError):
        await client.restart_job(job.id)
    with pytest.raises(ConflictError):
        await client.delete_job(job.id)
    server.update_job(job.id, status="completed")
    assert await client.delete_job(job.id) is None  # type: ignore[func-returns-value]
    with pytest.raises(JobNotFoundError):
        await client.get_job(job.id)


async def test_get_log_queue_stats_and_cleanup(client: Client, server: JobServer) -> None:
    """get_log is text; queue_stats counts; cleanup returns a CleanupResult."""
    job = server.create_job(name="x", log=["one", "two"])
    server.create_job(name="y", status="failed", error="boom")
    text = await client.get_log(job.id)
    assert isinstance(text, str) and "one" in text and "two" in text
    stats = await client.queue_stats()
    assert isinstance(stats, QueueStats)
    assert (stats.total, stats.pending, stats.failed, stats.completed) == (2, 1, 1, 0)
    assert isinstance(stats.active_workers, int) and isinstance(stats.total_workers, int)
    assert stats.raw["total"] == 2
    old = datetime(2000, 1, 1, tzinfo=UTC)
    server.create_job(name="old", status="completed", completed_at=old)
    result = await client.cleanup(max_age_hours=1)
    assert isinstance(result, CleanupResult)
    assert result.cleaned_jobs == 1
    assert result.raw == {"cleaned_jobs": 1}
    assert (await client.cleanup()).cleaned_jobs == 0


async def test_rate_limit_error_carries_retry_after(server: JobServer) -> None:
    """A 429 with Retry-After, retries off: RateLimitError.retry_after is the header's value."""
    job = server.create_job(name="x")
    server.fail_next(1, 429, headers={"Retry-After": "0"}, path="/jobs/*")
    async with Client(server.url, retry=NO_RETRY) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.get_job(job.id)
    assert caught.value.status == 429
    assert caught.value.retry_after == 0.0


async def test_bad_request_error_names_the_bad_field(server: JobServer) -> None:
    """A 400 from the server is a BadRequestError with .details naming the field."""
    server.fail_next(
        1,
        400,
        body={"error": "Bad Request", "details": "priority: expected 1..4", "timestamp": "t"},
    )
    async with Client(server.url, retry=NO_RETRY) as client:
        with pytest.raises(BadRequestError) as caught:
            await client.submit_job("x")
    assert caught.value.error == "Bad Request"
    assert caught.value.details == "priority: expected 1..4"


# -- watching and waiting ------------------------------------------------------------------------


async def test_watch_yields_current_state_then_each_change_and_ends(
    client: Client, server: JobServer
) -> None:
    """watch: the current state first, one Job per change, ends after the terminal one."""
    job = server.create_job(name="x")

    def drive() -> None:
        server.update_job(job.id, status="running", progress=10)
        server.update_job(job.id, progress=50, message="half")
        server.update_job(job.id, status="failed", error="boom")

    seen: list[Job] = []
    async for update in client.watch(job.id, timeout=5):
        seen.append(update)
        if len(seen) == 1:
            # Once the stream is open: changes made before it are one snapshot.
            when_following(server, drive)
    assert seen[0].status is JobStatus.PENDING
    assert seen[-1].status is JobStatus.FAILED and seen[-1].error == "boom"
    versions = [j.version or 0 for j in seen]
    assert versions == sorted(set(versions))
    assert len(seen) == 4


@pytest.mark.parametrize("transport", ["sse", "long-poll", "poll"])
async def test_watch_times_out_with_job_timeout_error(
    client: Client, server: JobServer, transport: str
) -> None:
    """A watch's timeout bounds it: JobTimeoutError with job_id, timeout and the last job."""
    job = server.create_job(name="x", status="running")
    with pytest.raises(JobTimeoutError) as caught:
        async for _ in client.watch(job.id, transport=transport, timeout=0.2):  # type: ignore[arg-type]
            pass
    error = caught.value
    assert isinstance(error, TimeoutError)
    assert error.job_id == job.id
    assert error.timeout == 0.2
    assert error.job is not None and error.job.id == job.id


async def test_wait_for_job_returns_the_final_job(client: Client, server: JobServer) -> None:
    """wait_for_job returns the completed Job with its result."""
    job = server.create_job(name="x", status="running")
    when_following(server, lambda: server.update_job(job.id, status="completed", result={"n": 1}))
    final = await client.wait_for_job(job.id, timeout=5)
    assert final.status is JobStatus.COMPLETED
    assert final.result == {"n": 1}


async def test_wait_for_job_failed_and_cancelled_details(client: Client, server: JobServer) -> None:
    """JobFailedError and JobCancelledError carry .job and .details with the job id."""
    failed = server.create_job(name="f", status="failed", error="disk full")
    with pytest.raises(JobFailedError) as caught_failed:
        await client.wait_for_job(failed.id, timeout=5)
    assert caught_failed.value.job.id == failed.id
    assert caught_failed.value.details["job_id"] == failed.id
    assert caught_failed.value.details["failure_reason"] == "disk full"
    cancelled = server.create_job(name="c", status="cancelled")
    with pytest.raises(JobCancelledError) as caught_cancelled:
        await client.wait_for_job(cancelled.id, timeout=5)
    assert caught_cancelled.value.job.status is JobStatus.CANCELLED
    assert caught_cancelled.value.details["job_id"] == cancelled.id
    returned = await client.wait_for_job(failed.id, timeout=5, raise_on_failure=False)
    assert returned.status is JobStatus.FAILED


async def test_wait_for_job_timeout(client: Client, server: JobServer) -> None:
    """A wait that runs out raises JobTimeoutError naming the job and the timeout."""
    job = server.create_job(name="x")
    with pytest.raises(TimeoutError) as caught:
        await client.wait_for_job(job.id, timeout=0.1)
    assert isinstance(caught.value, JobTimeoutError)
    assert caught.value.job_id == job.id
    assert caught.value.timeout == 0.1


async def test_wait_for_jobs_in_input_order(client: Client, server: JobServer) -> None:
    """wait_for_jobs returns the final jobs in input order whatever order they finish in."""
    jobs = [server.create_job(name=f"j{i}", status="running") for i in range(3)]

    def finish() -> None:
        for job in reversed(jobs):
            server.update_job(job.id, status="completed", result=job.name)

    when_following(server, finish)
    final = await client.wait_for_jobs([j.id for j in jobs], timeout=5)
    assert [j.id for j in final] == [j.id for j in jobs]
    assert [j.result for j in final] == ["j0", "j1", "j2"]


async def test_wait_for_jobs_return_exceptions(client: Client, server: JobServer) -> None:
    """return_exceptions: failures come back in the list, in place."""
    ok = server.create_job(name="ok", status="completed")
    bad = server.create_job(name="bad", status="failed", error="x")
    gone = server.create_job(name="gone", status="cancelled")
    got = await client.wait_for_jobs([ok.id, bad.id, gone.id], return_exceptions=True)
    assert isinstance(got[0], Job) and got[0].id == ok.id
    assert isinstance(got[1], JobFailedError) and got[1].job.id == bad.id
    assert isinstance(got[2], JobCancelledError) and got[2].job.id == gone.id


async def test_wait_for_jobs_fail_fast_raises_before_the_others_finish(
    client: Client, server: JobServer
) -> None:
    """fail_fast: the first failure is raised while the other jobs still run."""
    slow = server.create_job(name="slow", status="running")
    bad = server.create_job(name="bad", status="running")
    when_following(server, lambda: server.update_job(bad.id, status="failed", error="boom"))
    with pytest.raises(JobFailedError) as caught:
        await client.wait_for_jobs([slow.id, bad.id], timeout=5)
    assert caught.value.job.id == bad.id
    assert server.get_job(slow.id).status is JobStatus.RUNNING


async def test_wait_for_jobs_without_fail_fast_waits_for_all(
    client: Client, server: JobServer
) -> None:
    """fail_fast=False: every job is waited for, then the failure is raised."""
    slow = server.create_job(name="slow", status="running")
    bad = server.create_job(name="bad", status="failed", error="boom")
    when_following(server, lambda: server.update_job(slow.id, status="completed"))
    with pytest.raises(JobFailedError):
        await client.wait_for_jobs([slow.id, bad.id], timeout=5, fail_fast=False)
    assert server.get_job(slow.id).status is JobStatus.COMPLETED


async def test_wait_for_jobs_timeout_details_and_cancel_on_exit(
    client: Client, server: JobServer
) -> None:
    """On timeout: job_id is the first unfinished id in input order, pending_job_ids all of
    them; cancel_on_exit cancels exactly those on the server."""
    done = server.create_job(name="done", status="completed")
    a = server.create_job(name="a", status="running")
    b = server.create_job(name="b")
    with pytest.raises(JobTimeoutError) as caught:
        await client.wait_for_jobs([done.id, a.id, b.id], timeout=0.2, cancel_on_exit=True)
    error = caught.value
    assert error.job_id == a.id
    assert error.details["pending_job_ids"] == [a.id, b.id]
    assert error.timeout == 0.2
    assert server.get_job(a.id).status is JobStatus.CANCELLED
    assert server.get_job(b.id).status is JobStatus.CANCELLED
    assert server.get_job(done.id).status is JobStatus.COMPLETED


async def test_wait_for_jobs_cancelled_with_cancel_on_exit(
    client: Client, server: JobServer
) -> None:
    """Cancelling the awaiting task with cancel_on_exit cancels the unfinished jobs."""
    a = server.create_job(name="a", status="running")
    task = asyncio.ensure_future(client.wait_for_jobs([a.id], timeout=5, cancel_on_exit=True))
    await wait_until(lambda: server.open_streams == 1, message="the wait never opened its stream")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await bounded(task, "the cancelled wait to end")
    assert server.get_job(a.id).status is JobStatus.CANCELLED


async def test_as_completed_yields_in_finishing_order(client: Client, server: JobServer) -> None:
    """as_completed yields final states in the order the jobs end, failures included."""
    jobs = [server.create_job(name=f"j{i}", status="running") for i in range(3)]

    def drive() -> None:  # one after the other: the versions order them
        server.update_job(jobs[2].id, status="failed", error="x")
        server.update_job(jobs[0].id, status="cancelled")
        server.update_job(jobs[1].id, status="completed")

    driver = when_following(server, drive)
    order = [job.id async for job in client.as_completed([j.id for j in jobs], timeout=5)]
    await bounded(driver, "the jobs to end")
    assert order == [jobs[2].id, jobs[0].id, jobs[1].id]


async def test_as_completed_timeout_names_pending_jobs(client: Client, server: JobServer) -> None:
    """as_completed's timeout raises JobTimeoutError listing the unfinished jobs."""
    done = server.create_job(name="d", status="completed")
    a = server.create_job(name="a")
    seen: list[str] = []

    async def consume() -> None:
        async for job in client.as_completed([a.id, done.id], timeout=0.2):
            seen.append(job.id)

    with pytest.raises(JobTimeoutError) as caught:
        await consume()
    assert seen == [done.id]
    assert caught.value.job_id == a.id
    assert caught.value.details["pending_job_ids"] == [a.id]


async def test_watch_jobs_yields_current_states_then_changes(
    client: Client, server: JobServer
) -> None:
    """watch_jobs: each job's current state, then later versions, ends when all are terminal."""
    a = server.create_job(name="a")
    b = server.create_job(name="b", status="running")

    def drive() -> None:
        server.update_job(a.id, status="running")
        server.update_job(b.id, status="completed")
        server.update_job(a.id, status="failed", error="e")

    seen: list[Job] = []
    async for job in client.watch_jobs([a.id, b.id], timeout=5):
        seen.append(job)
        if len(seen) == 2:
            drive()
    assert {j.id for j in seen[:2]} == {a.id, b.id}
    assert len(seen) == 5
    assert {(j.id, j.status) for j in seen[2:]} == {
        (a.id, JobStatus.RUNNING),
        (b.id, JobStatus.COMPLETED),
        (a.id, JobStatus.FAILED),
    }


# -- the test harness ----------------------------------------------------------------------------


async def test_job_server_create_and_update_job() -> None:
    """create_job(name=..., **fields) and update_job(id, status=, progress=, message=)."""
    async with JobServer() as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.url.endswith("/api/v1")
        job = server.create_job(name="x", priority=3, config={"a": 1})
        assert isinstance(job, Job)
        assert (job.name, job.status, job.priority) == ("x", JobStatus.PENDING, 3)
        updated = server.update_job(job.id, status="running", progress=40, message="step 2")
        assert (updated.status, updated.progress, updated.message) == (
            JobStatus.RUNNING,
            40,
            "step 2",
        )
        assert updated.version is not None and job.version is not None
        assert updated.version > job.version
        async with Client(server.url) as client:
            read = await client.get_job(job.id)
        assert (read.status, read.progress, read.message) == (JobStatus.RUNNING, 40, "step 2")


async def test_auto_run_simulates_steps_result_and_failure() -> None:
    """auto_run: steps progress updates over duration, then the result, or fail."""
    async with JobServer(auto_run=True) as server, Client(server.url) as client:
        job = await client.submit_job("sim", {"duration": 0.1, "steps": 4, "result": {"r": 2}})
        updates = [u async for u in client.watch(job.id, timeout=5)]
        final = updates[-1]
        assert final.status is JobStatus.COMPLETED
        assert final.result == {"r": 2}
        assert final.progress == 100
        progresses = [u.progress for u in updates if u.status is JobStatus.RUNNING]
        assert progresses[-1] == 100 or len(progresses) >= 4
        bad = await client.submit_job("sim", {"duration": 0.05, "steps": 1, "fail": True})
        with pytest.raises(JobFailedError) as caught:
            await client.wait_for_job(bad.id, timeout=5)
        assert caught.value.details["failure_reason"]


async def test_tokens_separate_callers() -> None:
    """With tokens, each token sees only its own jobs: 401 without one, 403 for another's."""
    from asyncjobs import AuthenticationError, PermissionDeniedError

    async with JobServer(tokens=["alice", "bob"]) as server:
        async with Client(server.url, token="alice") as alice:
            job = await alice.submit_job("mine")
        async with Client(server.url, token="bob") as bob:
            with pytest.raises(PermissionDeniedError) as caught:
                await bob.get_job(job.id)
            assert caught.value.status == 403
            assert [j async for j in bob.list_jobs()] == []
        async with Client(server.url, retry=NO_RETRY) as anonymous:
            with pytest.raises(AuthenticationError) as caught_auth:
                await anonymous.get_job(job.id)
            assert caught_auth.value.status == 401


# -- argument checks -----------------------------------------------------------------------------


async def test_iterating_methods_check_their_arguments_when_called(
    client: Client, server: JobServer
) -> None:
    """watch, watch_jobs and as_completed raise a bad argument at the call, like list_jobs,
    naming it, before any request."""
    job = server.create_job(name="x")
    server.clear_requests()
    with pytest.raises(ValueError, match="transport"):
        client.watch(job.id, transport="websocket")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="job_id"):
        client.watch("")
    with pytest.raises(ValueError, match="timeout"):
        client.watch(job.id, timeout=-1)
    with pytest.raises(ValueError, match="poll_interval"):
        client.watch(job.id, poll_interval=0)
    with pytest.raises(TypeError, match="job_ids"):
        client.watch_jobs(job.id)
    with pytest.raises(ValueError, match="timeout"):
        client.watch_jobs([job.id], timeout=-1)
    with pytest.raises(TypeError, match=r"job_ids\[1\]"):
        client.as_completed([job.id, None])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="status"):
        client.list_jobs(status="bogus")
    assert server.requests == []


@pytest.mark.parametrize("bad", [None, 5, object()])
async def test_many_job_methods_name_job_ids_when_it_is_not_iterable(
    client: Client, bad: Any
) -> None:
    """A job_ids that is not an iterable raises TypeError naming job_ids."""
    with pytest.raises(TypeError, match="job_ids"):
        await client.get_jobs(bad)
    with pytest.raises(TypeError, match="job_ids"):
        await client.wait_for_jobs(bad)
    with pytest.raises(TypeError, match="job_ids"):
        client.watch_jobs(bad)
    with pytest.raises(TypeError, match="job_ids"):
        client.as_completed(bad)


async def test_job_not_found_error_of_get_job_names_the_id(client: Client) -> None:
    """JobNotFoundError.job_ids holds the id of a get_job that found nothing."""
    with pytest.raises(JobNotFoundError) as caught:
        await client.get_job("ghost")
    assert caught.value.job_ids == ("ghost",)


def test_job_server_update_of_an_unknown_job_raises_key_error() -> None:
    """update_job/get_job of an unknown id raise UnknownJobError, a KeyError with a plain
    message."""
    from asyncjobs.testing import UnknownJobError

    server = JobServer()
    with pytest.raises(KeyError) as caught:
        server.update_job("ghost", status="running")
    assert isinstance(caught.value, UnknownJobError)
    assert isinstance(caught.value, LookupError)
    assert str(caught.value) == "no job with id 'ghost'"
    with pytest.raises(KeyError):
        server.get_job("ghost")


async def test_submit_job_names_a_config_that_is_not_json(
    client: Client, server: JobServer
) -> None:
    """A config that cannot be sent as JSON is a TypeError naming config, before any request."""
    server.clear_requests()
    with pytest.raises(TypeError, match="config"):
        await client.submit_job("x", {"when": object()})
    assert server.requests == []


def test_job_server_refuses_a_single_string_as_tokens() -> None:
    """tokens="secret" would be six one-letter tokens: TypeError naming tokens."""
    with pytest.raises(TypeError, match="tokens"):
        JobServer(tokens="secret")
