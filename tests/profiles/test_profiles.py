"""Every built-in profile end to end: the client against JobServer serving that API's shape.

One matrix (:data:`CASES`) runs every client operation, ``watch`` and ``wait_for_jobs`` against a
real server on loopback for ``native`` and the five seed APIs; an operation an API lacks must
raise :class:`UnsupportedOperationError` naming the profile and the operation. The tests after
the matrix pin each API's quirks (compileo's stream and long poll, the job-management login,
mammoth's failure reasons, fiddler's error reason, dataiku's prefixes and abort-all).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import attrs
import pytest
from _live_helpers import act_when, wait_until

from asyncjobs import (
    AuthenticationError,
    BadRequestError,
    Client,
    ConflictError,
    Job,
    JobCancelledError,
    JobFailedError,
    JobNotFoundError,
    JobStatus,
    JobTimeoutError,
    PermissionDeniedError,
    UnsupportedOperationError,
)
from asyncjobs._tuning import TUNING
from asyncjobs.profiles import get_profile
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio

ALL_OPERATIONS = frozenset(
    {
        "submit_job",
        "list_jobs",
        "cancel_job",
        "restart_job",
        "delete_job",
        "get_log",
        "queue_stats",
        "cleanup",
    }
)
"""Client methods an API may lack (get_job, get_jobs, watch and the waits always work)."""

ROUTE_OF = {
    "submit_job": "submit",
    "list_jobs": "list",
    "cancel_job": "cancel",
    "restart_job": "restart",
    "delete_job": "delete",
    "get_log": "log",
    "queue_stats": "stats",
    "cleanup": "cleanup",
}


@attrs.frozen
class Case:
    """One API: how to serve it, how to talk to it, and what it offers."""

    profile: str
    operations: frozenset[str]
    transport: str  # what watch(transport="auto") uses
    routes: dict[str, str]  # each transport offered: the path pattern it requests
    shared: str | None = None  # the route of the hub's shared feed watch(auto) uses, if any
    client: dict[str, Any] = attrs.field(factory=dict)
    tokens: tuple[str, str] = ("t1", "t2")
    names: bool = True  # the API reports the job's name
    progress: bool = True  # the API reports progress
    result: Any = attrs.field(factory=lambda: {"rows": 3})  # given to the server
    result_read: Any = attrs.field(factory=lambda: {"rows": 3})  # what Job.result reads
    error: str = "disk full"  # given to the server
    failure_reason: str | None = "disk full"  # what JobFailedError.details holds
    others_job: type[Exception] | None = JobNotFoundError  # reading another caller's job
    submit_config: dict[str, Any] = attrs.field(factory=dict)
    error_keys: frozenset[str] = frozenset({"error", "details", "timestamp"})  # its 404 body

    def __str__(self) -> str:
        return self.profile


CASES = [
    Case(
        "native",
        ALL_OPERATIONS,
        "sse",
        {"sse": "/jobs/*/events", "long-poll": "/jobs/*/poll", "poll": "/jobs/*"},
        shared="/events",  # the multiplexed stream
        client={"token": "t1"},
        others_job=PermissionDeniedError,
    ),
    Case(
        "compileo",
        frozenset({"cancel_job", "restart_job", "queue_stats"}),
        "sse",
        {"sse": "/status/*/stream", "long-poll": "/status/*/poll", "poll": "/status/*"},
        client={"token": "t1"},
        names=False,
        error_keys=frozenset({"detail"}),
        others_job=None,  # API keys authenticate but own nothing
    ),
    Case(
        "job-management",
        frozenset(
            {"submit_job", "list_jobs", "cancel_job", "delete_job", "queue_stats", "cleanup"}
        ),
        "poll",
        {"poll": "/jobs/*"},
        client={"token": "t1"},
        result=["/results/out.json"],
        result_read=["/results/out.json"],
        others_job=PermissionDeniedError,
    ),
    Case(
        "mammoth",
        frozenset(),
        "poll",
        {"poll": "/jobs/*"},
        shared="/jobs",  # batched polling
        client={"token": "t1", "headers": {"X-API-SECRET": "s3cret"}},
        progress=False,
        error_keys=frozenset({"detail"}),
    ),
    Case(
        "fiddler",
        frozenset(),
        "poll",
        {"poll": "/jobs/*"},
        client={"token": "t1"},
        error="ValueError: disk full",
        error_keys=frozenset({"error", "api_version", "kind"}),
    ),
    Case(
        "dataiku",
        frozenset({"submit_job", "list_jobs", "cancel_job", "get_log"}),
        "poll",
        {"poll": "/jobs/*/"},
        client={"token": "t1"},
        progress=False,
        result_read=None,  # the API reports no result
        failure_reason=None,  # nor a failure reason (read the log)
        error_keys=frozenset({"errorType", "message", "detailedMessage"}),
        submit_config={
            "type": "NON_RECURSIVE_FORCED_BUILD",
            "outputs": [{"id": "dataset_to_build", "type": "DATASET", "partition": "NP"}],
        },
    ),
]

UNSUPPORTED = [
    pytest.param(case, operation, id=f"{case}-{operation}")
    for case in CASES
    for operation in sorted(ALL_OPERATIONS - case.operations)
]


def offering(operation: str) -> list[Any]:
    """The cases whose API offers ``operation``."""
    return [pytest.param(case, id=str(case)) for case in CASES if operation in case.operations]


@pytest.fixture(autouse=True)
def quick_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adaptive polling that stays fast, so poll-only APIs finish tests quickly."""
    monkeypatch.setattr(TUNING, "poll_start", 0.05)
    monkeypatch.setattr(TUNING, "poll_cap", 0.2)
    monkeypatch.setattr(TUNING, "reconnect_base", 0.05)


@pytest.fixture(params=CASES, ids=str)
def case(request: pytest.FixtureRequest) -> Case:
    """Each API of the matrix."""
    param: Case = request.param
    return param


@pytest.fixture
async def server(case: Case) -> AsyncIterator[JobServer]:
    """JobServer serving the case's API, with two callers."""
    async with JobServer(profile=case.profile, tokens=case.tokens, heartbeat=1.0) as server:
        yield server


@pytest.fixture
async def client(case: Case, server: JobServer) -> AsyncIterator[Client]:
    """A client with the case's profile and credentials."""
    async with Client(server.url, profile=case.profile, **case.client) as client:
        yield client


async def drive(server: JobServer, job_id: str, *, final: dict[str, Any]) -> None:
    """Move a running job through three steps, then to its final state.

    The sleeps are the job's own pace (polling profiles see its steps over time), not a wait
    for the client: every test using it asserts what the client saw, whatever the timing.
    """
    for progress in (25, 50, 75):
        await asyncio.sleep(0.15)
        server.update_job(job_id, progress=progress, message=f"step at {progress}")
    await asyncio.sleep(0.15)
    server.update_job(job_id, **final)


@pytest.fixture
def background() -> Iterator[list[asyncio.Task[Any]]]:
    """Tasks started by a test, cancelled if it ends early."""
    tasks: list[asyncio.Task[Any]] = []
    yield tasks
    for task in tasks:
        task.cancel()


# -- reading -----------------------------------------------------------------------------------


async def test_get_job_reads_the_job(case: Case, server: JobServer, client: Client) -> None:
    """get_job returns the job's id, status and what the API reports of it."""
    made = server.create_job(name="export", status="running", progress=40, message="step 2")
    job = await client.get_job(made.id)
    assert job.id == made.id
    assert job.status is JobStatus.RUNNING
    assert job.name == ("export" if case.names else None)
    assert job.progress == (40 if case.progress else None)
    assert job.raw


async def test_get_job_of_an_unknown_id_raises_job_not_found(case: Case, client: Client) -> None:
    """Every API's 404, in that API's own error body, becomes JobNotFoundError naming the id."""
    with pytest.raises(JobNotFoundError) as caught:
        await client.get_job("4242")
    assert caught.value.job_ids == ("4242",)
    assert set(caught.value.body) >= case.error_keys
    assert caught.value.details  # read from wherever the API's body keeps it


async def test_get_jobs_keeps_input_order_and_names_unknown_ids(
    case: Case, server: JobServer, client: Client
) -> None:
    """A batch route where the API has one, else concurrent bounded single reads."""
    first = server.create_job(name="a")
    second = server.create_job(name="b", status="completed", result=case.result)
    jobs = await client.get_jobs([second.id, first.id, second.id])
    assert [job.id for job in jobs] == [second.id, first.id, second.id]
    assert jobs[0].status is JobStatus.COMPLETED
    assert jobs[0].result == case.result_read
    with pytest.raises(JobNotFoundError) as caught:
        await client.get_jobs([first.id, "4242", "4343"])
    assert set(caught.value.job_ids) == {"4242", "4343"}


async def test_a_bad_credential_raises_authentication_error(case: Case, server: JobServer) -> None:
    """Each API's auth scheme is checked by its shape: an unknown credential is a 401."""
    made = server.create_job()
    credentials = {**case.client, "token": "wrong"}
    async with Client(server.url, profile=case.profile, **credentials) as client:
        with pytest.raises(AuthenticationError):
            await client.get_job(made.id)


async def test_another_callers_job(case: Case, server: JobServer, client: Client) -> None:
    """403 where the API isolates users, 404 where it hides them, visible where keys own nothing."""
    theirs = server.create_job(token=case.tokens[1])
    if case.others_job is None:
        assert (await client.get_job(theirs.id)).id == theirs.id
    else:
        with pytest.raises(case.others_job):
            await client.get_job(theirs.id)


# -- operations an API may lack ------------------------------------------------------------------


@pytest.mark.parametrize(("case", "operation"), UNSUPPORTED)
async def test_an_operation_the_api_lacks_raises_unsupported(
    case: Case, operation: str, server: JobServer, client: Client
) -> None:
    """No silent emulation: the error names the profile and the operation, nothing is sent."""
    made = server.create_job(status="completed")
    calls: dict[str, Any] = {
        "submit_job": lambda: client.submit_job("x", {"a": 1}),
        "list_jobs": lambda: client.list_jobs(),
        "cancel_job": lambda: client.cancel_job(made.id),
        "restart_job": lambda: client.restart_job(made.id),
        "delete_job": lambda: client.delete_job(made.id),
        "get_log": lambda: client.get_log(made.id),
        "queue_stats": lambda: client.queue_stats(),
        "cleanup": lambda: client.cleanup(),
    }

    async def invoke() -> None:
        result = calls[operation]()
        if asyncio.iscoroutine(result):
            await result

    server.clear_requests()
    with pytest.raises(UnsupportedOperationError) as caught:
        await invoke()
    assert caught.value.profile == case.profile
    assert caught.value.operation == ROUTE_OF[operation]
    assert case.profile in str(caught.value)
    assert server.requests == []


@pytest.mark.parametrize("case", offering("submit_job"), indirect=True)
async def test_submit_job_returns_the_new_job(
    case: Case, server: JobServer, client: Client
) -> None:
    """Where the API answers only an id, the client reads the job it created."""
    job = await client.submit_job("nightly", {**case.submit_config, "steps": 2}, priority=3)
    assert job.status is JobStatus.PENDING
    assert job.name == "nightly"
    stored = server.get_job(job.id)
    assert stored.config["steps"] == 2
    if case.profile != "dataiku":  # the DSS API has no priorities
        assert job.priority == stored.priority == 3


@pytest.mark.parametrize("case", offering("list_jobs"), indirect=True)
async def test_list_jobs_filters_by_status_and_limits_the_total(
    case: Case, server: JobServer, client: Client
) -> None:
    """Newest first; a status filter (the server's, or the client's where the API has none)."""
    old = server.create_job(name="old", status="running")
    done = server.create_job(name="done", status="completed", result=case.result)
    new = server.create_job(name="new", status="running")
    assert [job.id async for job in client.list_jobs()] == [new.id, done.id, old.id]
    running = [job.id async for job in client.list_jobs(status="running")]
    assert running == [new.id, old.id]
    assert [job.id async for job in client.list_jobs(limit=2)] == [new.id, done.id]
    assert [job.id async for job in client.list_jobs(status=JobStatus.COMPLETED)] == [done.id]


@pytest.mark.parametrize("case", offering("cancel_job"), indirect=True)
async def test_cancel_job_returns_the_cancelled_job(
    case: Case, server: JobServer, client: Client
) -> None:
    """APIs that answer a message get the job read back."""
    made = server.create_job(status="running", progress=10)
    job = await client.cancel_job(made.id)
    assert job.id == made.id
    assert job.status is JobStatus.CANCELLED
    assert server.get_job(made.id).status is JobStatus.CANCELLED


FINISHED_CANCEL = {
    "native": ConflictError,  # 409
    "compileo": JobNotFoundError,  # 404 "not found or cannot be cancelled"
    "job-management": BadRequestError,  # 400 "Cannot cancel job ..."
    "dataiku": None,  # abort leaves a finished job as it is
}


@pytest.mark.parametrize("case", offering("cancel_job"), indirect=True)
async def test_cancelling_a_finished_job_fails_the_apis_way(
    case: Case, server: JobServer, client: Client
) -> None:
    """Each API's own answer, faithfully: 409, 404, 400, or nothing happens."""
    made = server.create_job(status="completed", result=case.result)
    expected = FINISHED_CANCEL[case.profile]
    if expected is None:
        assert (await client.cancel_job(made.id)).status is JobStatus.COMPLETED
    else:
        with pytest.raises(expected):
            await client.cancel_job(made.id)
    assert server.get_job(made.id).status is JobStatus.COMPLETED


@pytest.mark.parametrize("case", offering("restart_job"), indirect=True)
async def test_restart_job_makes_a_failed_job_pending(
    case: Case, server: JobServer, client: Client
) -> None:
    """Progress and error are reset; the job is pending again."""
    made = server.create_job(status="failed", error=case.error)
    job = await client.restart_job(made.id)
    assert job.status is JobStatus.PENDING
    assert job.error is None


@pytest.mark.parametrize("case", offering("delete_job"), indirect=True)
async def test_delete_job_removes_a_finished_job_only(
    case: Case, server: JobServer, client: Client
) -> None:
    """A running job cannot be deleted (409 or the API's 400); a finished one is gone."""
    running = server.create_job(status="running")
    with pytest.raises(ConflictError if case.profile == "native" else BadRequestError):
        await client.delete_job(running.id)
    done = server.create_job(status="completed")
    await client.delete_job(done.id)
    with pytest.raises(JobNotFoundError):
        await client.get_job(done.id)


@pytest.mark.parametrize("case", offering("get_log"), indirect=True)
async def test_get_log_returns_the_text(case: Case, server: JobServer, client: Client) -> None:
    """The log is plain text, one line per entry."""
    made = server.create_job(status="running", log=["loading", "building dataset"])
    assert (await client.get_log(made.id)).splitlines() == ["loading", "building dataset"]


@pytest.mark.parametrize("case", offering("queue_stats"), indirect=True)
async def test_queue_stats_counts_jobs_by_status(
    case: Case, server: JobServer, client: Client
) -> None:
    """Whatever the API's keys (total_jobs, pending_jobs...), QueueStats reads them."""
    server.create_job()
    server.create_job(status="running")
    server.create_job(status="running")
    server.create_job(status="completed")
    stats = await client.queue_stats()
    assert (stats.total, stats.pending, stats.running, stats.completed) == (4, 1, 2, 1)
    assert (stats.failed, stats.cancelled) == (0, 0)


@pytest.mark.parametrize("case", offering("cleanup"), indirect=True)
async def test_cleanup_deletes_old_finished_jobs(
    case: Case, server: JobServer, client: Client
) -> None:
    """cleaned_jobs (native) or removed_jobs (the API's source) is CleanupResult.cleaned_jobs."""
    long_ago = datetime.now(UTC) - timedelta(hours=48)
    old = server.create_job(status="completed", completed_at=long_ago)
    recent = server.create_job(status="completed")
    result = await client.cleanup(max_age_hours=24)
    assert result.cleaned_jobs == 1
    assert [job.id for job in server.jobs] == [recent.id]
    with pytest.raises(JobNotFoundError):
        await client.get_job(old.id)


# -- watching and waiting ------------------------------------------------------------------------


async def test_watch_follows_the_job_to_its_final_state(
    case: Case, server: JobServer, client: Client, background: list[asyncio.Task[Any]]
) -> None:
    """The current state first, changes without repeats, the full final state last, over the
    transport the API offers (through the client's shared multiplexed stream or batched
    polling where the API has them)."""
    made = server.create_job(name="w", status="running", progress=0)
    final = {"status": "completed", "progress": 100, "result": case.result}
    background.append(asyncio.create_task(drive(server, made.id, final=final)))
    seen = [job async for job in client.watch(made.id, timeout=10)]
    assert seen[0].status is JobStatus.RUNNING
    assert seen[-1].status is JobStatus.COMPLETED
    assert seen[-1].result == case.result_read
    assert all(not job.is_terminal for job in seen[:-1])
    assert all(seen[i] != seen[i + 1] for i in range(len(seen) - 1))
    if case.progress:
        progress = [job.progress for job in seen]
        assert progress == sorted(progress)
        if case.transport == "sse":
            assert progress == [0, 25, 50, 75, 100]
    sse = case.transport == "sse"
    route = case.routes[case.transport] if case.shared is None else case.shared
    assert server.request_count("GET", route) >= (1 if sse else 2)
    assert server.streams_opened == (1 if sse else 0)


@pytest.mark.parametrize("transport", ["sse", "long-poll", "poll"])
async def test_watch_with_an_explicit_transport(
    case: Case,
    server: JobServer,
    client: Client,
    transport: str,
    background: list[asyncio.Task[Any]],
) -> None:
    """Polling works everywhere; SSE and long poll where the API has them, else unsupported."""
    made = server.create_job(status="running")
    if transport not in case.routes:
        with pytest.raises(UnsupportedOperationError, match=case.profile):
            async for _ in client.watch(made.id, transport=transport):  # type: ignore[arg-type]
                pass
        return
    final = {"status": "failed", "error": case.error}
    background.append(asyncio.create_task(drive(server, made.id, final=final)))
    seen = [job async for job in client.watch(made.id, transport=transport, timeout=10)]  # type: ignore[arg-type]
    assert seen[-1].status is JobStatus.FAILED
    assert len(seen) >= 2
    sse = transport == "sse"
    assert server.request_count("GET", case.routes[transport]) >= (1 if sse else 2)
    assert server.streams_opened == (1 if sse else 0)


async def test_watch_polls_at_a_fixed_interval_when_given(
    case: Case, server: JobServer, client: Client
) -> None:
    """poll_interval is a fixed interval: about duration / interval reads, not adaptive ones."""
    made = server.create_job(status="running")
    server.clear_requests()
    with pytest.raises(TimeoutError):
        async for _ in client.watch(made.id, transport="poll", poll_interval=0.25, timeout=1.1):
            pass
    reads = server.request_count("GET", case.routes["poll"])
    assert 3 <= reads <= 6  # the first read, then one every 0.25 s (adaptive: 8 or more)


async def test_wait_for_job_times_out_naming_the_job(
    case: Case, server: JobServer, client: Client
) -> None:
    """JobTimeoutError (a TimeoutError) carries the id, the timeout and the last state seen."""
    made = server.create_job(status="running")
    with pytest.raises(TimeoutError) as caught:
        await client.wait_for_job(made.id, timeout=0.3)
    error = caught.value
    assert isinstance(error, JobTimeoutError)
    assert error.details["job_id"] == error.job_id == made.id
    assert error.details["timeout"] == 0.3
    assert error.job is not None and error.job.status is JobStatus.RUNNING


async def test_wait_for_jobs_times_out_naming_the_first_unfinished_job(
    case: Case, server: JobServer, client: Client
) -> None:
    """job_id is the first unfinished id in input order; pending_job_ids lists them all. (The
    timeout leaves the finished job's first read a second, so a loaded machine does not count
    it as unfinished.)"""
    done = server.create_job(status="completed")
    first, second = server.create_job(status="running"), server.create_job(status="pending")
    with pytest.raises(JobTimeoutError) as caught:
        await client.wait_for_jobs([done.id, first.id, second.id], timeout=1.0)
    assert caught.value.job_id == first.id
    assert caught.value.details["pending_job_ids"] == [first.id, second.id]


async def test_wait_for_job_raises_with_the_apis_failure_reason(
    case: Case, server: JobServer, client: Client, background: list[asyncio.Task[Any]]
) -> None:
    """JobFailedError.details["failure_reason"] comes from wherever the API puts it."""
    made = server.create_job(status="running")
    background.append(
        asyncio.create_task(drive(server, made.id, final={"status": "failed", "error": case.error}))
    )
    with pytest.raises(JobFailedError) as caught:
        await client.wait_for_job(made.id, timeout=10)
    assert caught.value.details["job_id"] == made.id
    assert caught.value.details["failure_reason"] == case.failure_reason
    assert caught.value.job.status is JobStatus.FAILED


async def test_wait_for_job_returns_a_completed_job(
    case: Case, server: JobServer, client: Client, background: list[asyncio.Task[Any]]
) -> None:
    """The final job, result included where the API reports one."""
    made = server.create_job(status="pending")
    final = {"status": "completed", "result": case.result}
    background.append(asyncio.create_task(drive(server, made.id, final=final)))
    job = await client.wait_for_job(made.id, timeout=10)
    assert job.status is JobStatus.COMPLETED
    assert job.result == case.result_read


async def test_wait_for_jobs_returns_final_jobs_in_input_order(
    case: Case, server: JobServer, client: Client, background: list[asyncio.Task[Any]]
) -> None:
    """Jobs ending in any order come back in input order; failures in place when asked."""
    made = [server.create_job(name=f"j{i}", status="running") for i in range(4)]
    background.append(asyncio.create_task(drive(server, made[2].id, final={"status": "completed"})))
    server.update_job(made[0].id, status="completed", result=case.result)

    async def finish_rest() -> None:
        # The jobs' own pace, so they end in another order than the input (0, 3, 1, 2).
        await asyncio.sleep(0.3)
        server.update_job(made[3].id, status="completed")
        await asyncio.sleep(0.2)
        server.update_job(made[1].id, status="failed", error=case.error)

    background.append(asyncio.create_task(finish_rest()))
    ids = [job.id for job in made]
    results = await client.wait_for_jobs(ids, timeout=10, return_exceptions=True)
    assert [r.id if isinstance(r, Job) else r.job.id for r in results] == ids  # type: ignore[union-attr]
    assert isinstance(results[1], JobFailedError)
    assert results[1].details["failure_reason"] == case.failure_reason
    assert [r.status for r in results if isinstance(r, Job)] == [JobStatus.COMPLETED] * 3


async def test_as_completed_yields_each_final_state_as_it_ends(
    case: Case, server: JobServer, client: Client, background: list[asyncio.Task[Any]]
) -> None:
    """Failed and cancelled-or-failed jobs come too, unraised, in the order they end."""
    first, second = server.create_job(status="running"), server.create_job(status="running")

    # Lockstep: the second job fails, and the first completes once that failure was yielded.
    server.update_job(second.id, status="failed", error=case.error)
    ended: list[Job] = []
    async for job in client.as_completed([first.id, second.id], timeout=10):
        ended.append(job)
        if job.id == second.id:
            server.update_job(first.id, status="completed")
    assert [(job.id, job.status) for job in ended] == [
        (second.id, JobStatus.FAILED),
        (first.id, JobStatus.COMPLETED),
    ]


async def test_wait_for_job_raises_job_cancelled_error(
    case: Case, server: JobServer, client: Client, background: list[asyncio.Task[Any]]
) -> None:
    """A cancelled (revoked, aborted) job raises JobCancelledError; mammoth has no such state
    and reports it as ``error``, a failure."""
    made = server.create_job(status="running")
    background.append(asyncio.create_task(drive(server, made.id, final={"status": "cancelled"})))
    expected = JobFailedError if case.profile == "mammoth" else JobCancelledError
    with pytest.raises(expected):
        await client.wait_for_job(made.id, timeout=10)


# -- compileo ------------------------------------------------------------------------------------


async def test_compileo_stream_of_an_already_terminal_job_never_closes() -> None:
    """The server's quirk, reproduced: the snapshot, then an open stream with nothing on it."""
    async with JobServer(profile="compileo") as server, aiohttp.ClientSession() as session:
        made = server.create_job(status="completed", result={"rows": 1})
        async with session.get(f"{server.url}/status/{made.id}/stream") as response:
            assert response.content_type == "text/event-stream"
            first = await response.content.readuntil(b"\n\n")
            assert first.startswith(b'data: {"job_id": "') and b'"completed"' in first
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    await response.content.read(1)
            assert server.open_streams == 1


async def test_compileo_watch_closes_a_stream_that_would_stay_open(
    background: list[asyncio.Task[Any]],
) -> None:
    """A reconnect after the job ended gets a never-ending stream: watch still ends, reads the
    full final state, and leaves no stream open."""
    async with (
        JobServer(profile="compileo") as server,
        Client(server.url, profile="compileo") as client,
    ):
        made = server.create_job(status="running", progress=10)
        seen: list[Job] = []

        async def watch() -> None:
            async for job in client.watch(made.id, transport="sse", timeout=10):
                seen.append(job)

        task = asyncio.create_task(watch())
        background.append(task)
        await server.wait_until(lambda: server.open_streams == 1)
        server.stall_streams()  # the change below is held back...
        server.update_job(made.id, status="completed", progress=100, result={"rows": 2})
        server.cut_streams()  # ...and the connection dropped before it is sent
        server.resume_streams()
        await asyncio.wait_for(task, 5)
        assert server.streams_opened == 2
        assert seen[-1].status is JobStatus.COMPLETED
        assert seen[-1].result == {"rows": 2}
        await server.wait_until(lambda: server.open_streams == 0)


async def test_compileo_stream_skips_invalid_json_events(
    background: list[asyncio.Task[Any]], caplog: pytest.LogCaptureFixture
) -> None:
    """A step holding '"' makes the API send invalid JSON: skipped, the watch goes on."""
    async with (
        JobServer(profile="compileo") as server,
        Client(server.url, profile="compileo") as client,
    ):
        made = server.create_job(status="running", progress=0)

        async def steps() -> None:
            await server.wait_until(lambda: server.open_streams == 1)
            changes: list[dict[str, Any]] = [
                {"progress": 30, "message": 'reading "a.pdf"'},
                {"progress": 60, "message": "reading b.pdf"},
                {"status": "completed", "progress": 100},
            ]
            for change in changes:  # each change its own event: the next once it was sent
                sent = server.events_sent
                server.update_job(made.id, **change)
                await wait_until(
                    lambda sent=sent: server.events_sent > sent,  # type: ignore[misc]
                    message=f"the stream never sent {change}",
                )

        background.append(asyncio.create_task(steps()))
        seen = [job async for job in client.watch(made.id, transport="sse", timeout=10)]
        assert [job.progress for job in seen] == [0, 60, 100]
        assert "not JSON" in caplog.text


async def test_compileo_long_poll_sends_current_status_and_sees_extra_words() -> None:
    """``scheduled`` and ``retrying`` are pending and running; the long poll carries the word."""
    async with JobServer(profile="compileo") as server:
        assert server.shape is not None
        async with Client(server.url, profile="compileo") as client:
            made = server.create_job()
            server.shape.set_status(made.id, "scheduled")
            job = await client.get_job(made.id)
            assert job.status is JobStatus.PENDING and job.raw["status"] == "scheduled"

            async def later() -> None:
                await server.wait_until(lambda: server.open_polls == 1)
                assert server.shape is not None
                server.shape.set_status(made.id, "retrying", progress=20)
                await server.wait_until(lambda: server.open_polls == 1)
                server.update_job(made.id, status="completed", progress=100)

            task = asyncio.create_task(later())
            seen = [job async for job in client.watch(made.id, transport="long-poll", timeout=10)]
            await task
            assert [(job.status, job.raw["status"]) for job in seen] == [
                (JobStatus.PENDING, "scheduled"),
                (JobStatus.RUNNING, "retrying"),
                (JobStatus.COMPLETED, "completed"),
            ]
            polls = [r for r in server.requests if r.path.endswith("/poll")]
            assert polls[0].query["current_status"] == "scheduled"
            assert polls[1].query["current_status"] == "retrying"


async def test_compileo_poll_timeout_out_of_range_is_fastapis_422() -> None:
    """``timeout`` must be 1..300: the API's validation answer names the query field."""
    async with JobServer(profile="compileo") as server, aiohttp.ClientSession() as session:
        made = server.create_job(status="running")
        async with session.get(f"{server.url}/status/{made.id}/poll?timeout=301") as response:
            assert response.status == 422
            (problem,) = (await response.json())["detail"]
            assert problem["loc"] == ["query", "timeout"]
        async with session.get(f"{server.url}/status/{made.id}/poll?timeout=1") as response:
            assert (await response.json())["status"] == "running"  # unchanged, after 1 s


async def test_compileo_rate_limit_pauses_the_client_then_succeeds() -> None:
    """429 with Retry-After: the client waits as told and its reads still succeed."""
    options = {"rate_limit": (3, 1.0)}
    async with (
        JobServer(profile="compileo", profile_options=options) as server,
        Client(server.url, profile="compileo") as client,
    ):
        made = server.create_job(status="running")
        jobs = await asyncio.gather(*(client.get_job(made.id) for _ in range(5)))
        assert {job.id for job in jobs} == {made.id}
        assert len(server.requests) > 5  # some were answered 429 and retried


async def test_compileo_stream_error_event_for_a_deleted_job() -> None:
    """``data: {"error": "Job ... not found"}`` ends the stream; the watch then finds the job
    gone and raises JobNotFoundError."""
    async with (
        JobServer(profile="compileo") as server,
        Client(server.url, profile="compileo") as client,
    ):
        made = server.create_job(status="running")

        async def remove() -> None:
            await server.wait_until(lambda: server.open_streams == 1)
            server.delete_job(made.id)

        task = asyncio.create_task(remove())
        with pytest.raises(JobNotFoundError):
            async for _ in client.watch(made.id, timeout=10):
                pass
        await task


# -- job-management ------------------------------------------------------------------------------


async def test_job_management_login_token_isolates_users() -> None:
    """POST /auth/login issues a JWT; each user sees only their jobs (403 for another's)."""
    async with JobServer(profile="job-management", tokens=["admin-token"]) as server:
        async with aiohttp.ClientSession() as session:
            tokens = {}
            for user in ("alice", "bob"):
                async with session.post(
                    f"{server.url}/auth/login", json={"username": user, "password": "pw"}
                ) as response:
                    body = await response.json()
                    assert body["expires_in"] == 86400
                    tokens[user] = body["access_token"]
                    assert tokens[user].count(".") == 2
        async with (
            Client(server.url, profile="job-management", token=tokens["alice"]) as alice,
            Client(server.url, profile="job-management", token=tokens["bob"]) as bob,
        ):
            job = await alice.submit_job("match", {"threshold": 80}, priority=4)
            assert job.priority == 4 and job.raw["user_id"] == "alice"
            with pytest.raises(PermissionDeniedError, match="Access denied"):
                await bob.get_job(job.id)
            assert [j.id async for j in bob.list_jobs()] == []
            assert (await bob.queue_stats()).total == 1  # the API's stats are global


async def test_job_management_submit_needs_a_name_and_a_config() -> None:
    """The API's 400s, worded as its handlers word them."""
    async with (
        JobServer(profile="job-management") as server,
        Client(server.url, profile="job-management", token="x") as client,
    ):
        with pytest.raises(BadRequestError, match="Job name is required"):
            await client.submit_job(None, {"a": 1})
        with pytest.raises(BadRequestError, match="Job configuration is required"):
            await client.submit_job("x", {})


async def test_job_management_auto_run_job_runs_to_completion() -> None:
    """A submitted job runs on the server; wait_for_job polls it to its end."""
    async with (
        JobServer(profile="job-management", auto_run=True) as server,
        Client(server.url, profile="job-management", token="x") as client,
    ):
        jobs = await asyncio.gather(
            *(client.submit_job(f"batch {i}", {"duration": 0.2, "steps": 2}) for i in range(3))
        )
        assert len({job.id for job in jobs}) == 3
        done = await client.wait_for_jobs([job.id for job in jobs], timeout=10)
        assert [job.status for job in done] == [JobStatus.COMPLETED] * 3
        assert {job.progress for job in done} == {100}


# -- mammoth ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("place", ["failure_reason", "error", "response.detail", "response.error"])
async def test_mammoth_failure_reason_in_each_historical_place(
    place: str, background: list[asyncio.Task[Any]]
) -> None:
    """Wherever a version of the API put the reason, JobFailedError names it."""
    options = {"failure_reason_at": place}
    async with (
        JobServer(profile="mammoth", profile_options=options) as server,
        Client(server.url, profile="mammoth") as client,
    ):
        made = server.create_job(status="running")
        final = {"status": "failed", "error": "Invalid file format"}
        background.append(asyncio.create_task(drive(server, made.id, final=final)))
        with pytest.raises(JobFailedError) as caught:
            await client.wait_for_job(int(made.id), timeout=10)
        assert caught.value.details == {
            "job_id": made.id,
            "failure_reason": "Invalid file format",
        }


async def test_mammoth_integer_ids_error_status_and_batched_waits() -> None:
    """Ids are integers; ``error`` is a failure; many jobs are read with ``job_ids=``."""
    async with JobServer(profile="mammoth", tokens=["k"]) as server:
        assert server.shape is not None
        headers = {"X-API-SECRET": "s", "X-WORKSPACE-ID": "1"}
        async with Client(server.url, profile="mammoth", token="k", headers=headers) as client:
            made = [server.create_job(name="upload", status="running") for _ in range(3)]
            assert [job.id for job in made] == ["1000", "1001", "1002"]
            server.shape.set_status(made[0].id, "error", error="quota exceeded")
            server.update_job(made[1].id, status="completed", result={"ds_id": 77})

            task = act_when(
                lambda: server.request_count() >= 1,
                lambda: server.update_job(made[2].id, status="completed", result={"ds_id": 78}),
                message="the wait never read the jobs",
            )
            results = await client.wait_for_jobs(
                [job.id for job in made], timeout=10, return_exceptions=True
            )
            await task
            failed = results[0]
            assert isinstance(failed, JobFailedError)
            assert failed.job.raw["status"] == "error"
            assert failed.details["failure_reason"] == "quota exceeded"
            assert [r.result for r in results[1:]] == [{"ds_id": 77}, {"ds_id": 78}]  # type: ignore[union-attr]
            singles = server.request_count("GET", "/jobs/*")
            batches = [r for r in server.requests if r.path == "/api/v2/jobs"]
            assert batches and singles == 0
            assert batches[0].query["job_ids"] == "1000,1001,1002"


async def test_mammoth_needs_the_secret_beside_the_key() -> None:
    """X-API-KEY alone is refused."""
    async with JobServer(profile="mammoth", tokens=["k"]) as server:
        made = server.create_job()
        async with Client(server.url, profile="mammoth", token="k") as client:
            with pytest.raises(AuthenticationError):
                await client.get_job(made.id)


# -- fiddler ---------------------------------------------------------------------------------------


async def test_fiddler_error_reason_and_retry_state(background: list[asyncio.Task[Any]]) -> None:
    """RETRY is running; a FAILURE's error_reason joins JobFailedError.details."""
    async with JobServer(profile="fiddler", tokens=["tok"]) as server:
        assert server.shape is not None
        async with Client(server.url, profile="fiddler", token="tok") as client:
            made = server.create_job(name="publish", status="running")
            server.shape.set_status(made.id, "RETRY")
            job = await client.get_job(made.id)
            assert job.status is JobStatus.RUNNING and job.raw["status"] == "RETRY"
            final = {"status": "failed", "error": "KeyError: 'age'"}
            background.append(asyncio.create_task(drive(server, made.id, final=final)))
            with pytest.raises(JobFailedError) as caught:
                await client.wait_for_job(made.id, timeout=10)
            assert caught.value.details == {
                "job_id": made.id,
                "failure_reason": "'age'",
                "error_reason": "KeyError",
            }


async def test_fiddler_verbose_get_brings_the_task_details() -> None:
    """``Job.get(id_, verbose=True)``: a profile with ``verbose=True`` sends it on every read."""
    verbose = attrs.evolve(get_profile("fiddler"), verbose=True)
    async with (
        JobServer(profile="fiddler") as server,
        Client(server.url, profile=verbose) as client,
    ):
        made = server.create_job(status="running", log=["task started"])
        job = await client.get_job(made.id)
        assert job.raw["info"] == {"log": ["task started"]}
        assert server.requests[-1].query["verbose"] == "True"


async def test_fiddler_verbose_query_and_error_envelope() -> None:
    """The server reads verbose=True/False as the SDK sends it; errors use the envelope."""
    async with JobServer(profile="fiddler") as server, aiohttp.ClientSession() as session:
        made = server.create_job(status="running", log=["task started"])
        async with session.get(f"{server.url}/jobs/{made.id}?verbose=True") as response:
            body = await response.json()
            assert body["kind"] == "NORMAL" and body["data"]["info"]["log"] == ["task started"]
        async with session.get(f"{server.url}/jobs/nope?verbose=False") as response:
            assert response.status == 404
            assert (await response.json())["kind"] == "ERROR"


# -- dataiku ---------------------------------------------------------------------------------------


async def test_dataiku_abort_every_running_job() -> None:
    """The document's recipe: list, keep what is not stable, abort each by def.id."""
    async with (
        JobServer(profile="dataiku", tokens=["key"]) as server,
        Client(server.url, profile="dataiku", token="key") as client,
    ):
        running = [server.create_job(status="running") for _ in range(2)]
        done = server.create_job(status="completed")
        unstable = [job.id async for job in client.list_jobs() if not job.raw["stableState"]]
        assert sorted(unstable) == sorted(job.id for job in running)
        aborted = await asyncio.gather(*(client.cancel_job(job_id) for job_id in unstable))
        assert {job.status for job in aborted} == {JobStatus.CANCELLED}
        assert server.get_job(done.id).status is JobStatus.COMPLETED
        paths = {r.path for r in server.requests}
        assert f"/dip/publicapi/projects/DEMO/jobs/{running[0].id}/abort" in paths
        assert "/dip/publicapi/projects/DEMO/jobs/" in paths


async def test_dataiku_public_api_prefix_and_trailing_slashes() -> None:
    """Both prefixes are served; a status path without its trailing slash is a 404."""
    options = {"api_prefix": "/public/api", "project_key": "SALES"}
    async with JobServer(profile="dataiku", profile_options=options, auto_run=True) as server:
        assert server.url.endswith("/public/api/projects/SALES")
        async with Client(server.url, profile="dataiku") as client:
            definition = {
                "type": "NON_RECURSIVE_FORCED_BUILD",
                "outputs": [{"id": "dataset_to_build", "type": "DATASET", "partition": "NP"}],
                "duration": 0.2,
                "steps": 2,
            }
            job = await client.submit_job(config=definition)
            assert job.name == "build_dataset_to_build_NP"
            assert job.config["outputs"] == definition["outputs"]
            done = await client.wait_for_job(job.id, timeout=10)
            assert done.status is JobStatus.COMPLETED
            assert "step 2/2" in await client.get_log(job.id)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{server.url}/jobs/{job.id}") as response:
                assert response.status == 404
                assert "errorType" in await response.json()
            sdk = f"{server.origin}/dip/publicapi/projects/SALES/jobs/{job.id}/"
            async with session.get(sdk) as response:
                assert (await response.json())["baseStatus"]["state"] == "DONE"
