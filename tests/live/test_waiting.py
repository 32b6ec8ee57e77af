"""wait_for_job, wait_for_jobs, as_completed and watch_jobs against the reference server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from _client_apps import unused_port
from _live_helpers import act_when, bounded, wait_until, within

from asyncjobs import (
    Client,
    Job,
    JobCancelledError,
    JobFailedError,
    JobNotFoundError,
    JobStatus,
    JobTimeoutError,
    PermissionDeniedError,
    RetryPolicy,
    TransportError,
)
from asyncjobs._tuning import TUNING
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


def following(server: JobServer) -> Callable[[], bool]:
    """True once the client follows its jobs: a stream or a long poll is open, or a job was read
    twice (polling)."""
    return lambda: (
        server.open_streams > 0
        or server.open_polls > 0
        or server.request_count("GET", "/jobs/*") >= 2
    )


def when_following(server: JobServer, action: Callable[[], Any]) -> asyncio.Task[None]:
    """Run ``action`` in the background once the client follows its jobs (not before, so the
    change is one the wait has to see happen)."""
    return act_when(following(server), action, message="the client never followed its jobs")


def finish(
    server: JobServer, job_ids: Sequence[str], status: str = "completed", **fields: Any
) -> Callable[[], None]:
    """An action that ends the jobs with ``status``."""

    def action() -> None:
        for job_id in job_ids:
            server.update_job(job_id, status=status, **fields)

    return action


# -- wait_for_job --------------------------------------------------------------------------------


async def test_wait_for_job_returns_the_final_job(server: JobServer, client: Client) -> None:
    """The final state comes back, result included, over one shared stream."""
    job = server.create_job(status="running")
    driver = when_following(server, finish(server, [job.id], result={"ok": True}))
    final = await client.wait_for_job(job.id, timeout=5)
    await driver
    assert final.status is JobStatus.COMPLETED
    assert final.result == {"ok": True}
    assert final.version == server.get_job(job.id).version
    assert server.streams_opened == 1


async def test_wait_for_a_finished_job_takes_one_request(server: JobServer, client: Client) -> None:
    """A job already finished is answered by the stream's first snapshot alone."""
    job = server.create_job(status="completed", result=1)
    assert (await client.wait_for_job(job.id)).result == 1
    assert server.streams_opened <= 1  # the stream's snapshot, then its end
    assert server.request_count() == 1


async def test_wait_for_job_raises_job_failed_error_with_details(
    server: JobServer, client: Client
) -> None:
    """A failed job raises JobFailedError with {job_id, failure_reason}."""
    job = server.create_job(status="running")
    driver = when_following(server, finish(server, [job.id], "failed", error="disk full"))
    with pytest.raises(JobFailedError) as caught:
        await client.wait_for_job(job.id, timeout=5)
    await driver
    assert caught.value.details == {"job_id": job.id, "failure_reason": "disk full"}
    assert caught.value.job.status is JobStatus.FAILED
    assert "disk full" in str(caught.value)


async def test_wait_for_job_raises_job_cancelled_error_with_details(
    server: JobServer, client: Client
) -> None:
    """A cancelled job raises JobCancelledError with {job_id}."""
    job = server.create_job(status="running")
    driver = when_following(server, lambda: server.update_job(job.id, status="cancelled"))
    with pytest.raises(JobCancelledError) as caught:
        await client.wait_for_job(job.id, timeout=5)
    await driver
    assert caught.value.details == {"job_id": job.id}
    assert caught.value.job.status is JobStatus.CANCELLED


async def test_wait_for_job_without_raise_on_failure_returns_the_failed_job(
    server: JobServer, client: Client
) -> None:
    """raise_on_failure=False hands back failed and cancelled jobs."""
    failed = server.create_job(status="failed", error="x")
    cancelled = server.create_job(status="cancelled")
    assert (await client.wait_for_job(failed.id, raise_on_failure=False)).error == "x"
    got = await client.wait_for_job(cancelled.id, raise_on_failure=False)
    assert got.status is JobStatus.CANCELLED


async def test_wait_for_job_times_out_with_details(server: JobServer, client: Client) -> None:
    """The timeout bounds the whole wait; the error is also a builtin TimeoutError."""
    job = server.create_job(status="running", progress=5)
    with pytest.raises(TimeoutError) as caught:
        await client.wait_for_job(job.id, timeout=0.2)
    error = caught.value
    assert isinstance(error, JobTimeoutError)
    assert error.job_id == job.id
    assert error.timeout == 0.2
    assert error.details == {"job_id": job.id, "timeout": 0.2}
    assert error.job is not None
    assert error.job.progress == 5


async def test_wait_for_job_of_an_unknown_job_raises_not_found(client: Client) -> None:
    """An unknown id raises JobNotFoundError (and nothing is left waiting)."""
    with pytest.raises(JobNotFoundError):
        await client.wait_for_job("missing", timeout=5)
    assert repr(client._hub).startswith("<Hub jobs=0 streams=0")


async def test_wait_for_another_callers_job_raises_permission_denied() -> None:
    """A job of another token is a 403, as get_job says."""
    async with JobServer(tokens=["a", "b"]) as server:
        job = server.create_job(token="b", status="running")
        async with Client(server.url, token="a") as client:
            with pytest.raises(PermissionDeniedError):
                await client.wait_for_job(job.id, timeout=5)


@pytest.mark.parametrize(
    ("options", "streams"),
    [
        ({"transport": "long-poll"}, 0),
        ({"transport": "sse"}, 1),
        ({"transport": "poll", "poll_interval": 0.02}, 0),
        ({"poll_interval": 0.02}, 1),  # auto: the stream, polling only as a fallback
    ],
)
async def test_wait_for_job_with_an_explicit_transport_follows_the_job_alone(
    server: JobServer, client: Client, fast: None, options: dict[str, Any], streams: int
) -> None:
    """An explicit transport or poll interval is honoured."""
    job = server.create_job(status="running")
    driver = when_following(server, finish(server, [job.id]))
    assert (await client.wait_for_job(job.id, timeout=5, **options)).is_terminal
    await driver
    assert server.streams_opened == streams
    with pytest.raises(JobTimeoutError):
        await client.wait_for_job(server.create_job().id, timeout=0.1, **options)


async def test_wait_for_job_without_sse_uses_the_jobs_long_poll(fast: None) -> None:
    """No streams on the server: a single wait follows its job with long polls."""
    async with JobServer(transports=("long-poll",)) as server, Client(server.url) as client:
        job = server.create_job(status="running")
        driver = when_following(server, finish(server, [job.id]))
        assert (await client.wait_for_job(job.id, timeout=5)).is_terminal
        await driver
        assert server.request_count("GET", "/jobs/*/poll") >= 1
        assert server.request_count("GET", "/events") == 1  # probed once


# -- wait_for_jobs -------------------------------------------------------------------------------


async def test_wait_for_jobs_returns_results_in_input_order(
    server: JobServer, client: Client
) -> None:
    """Results follow the input order (duplicates included), not the finishing order."""
    jobs = [server.create_job(name=str(i), status="running") for i in range(5)]
    ids = [job.id for job in jobs]

    def finish_backwards() -> None:
        for job_id in reversed(ids):
            server.update_job(job_id, status="completed", result=job_id)

    driver = when_following(server, finish_backwards)
    results = await client.wait_for_jobs([*ids, ids[0]], timeout=5)
    await driver
    assert [r.result for r in results if isinstance(r, Job)] == [*ids, ids[0]]
    assert server.streams_opened == 1


async def test_wait_for_jobs_of_nothing_returns_an_empty_list(client: Client) -> None:
    """No ids, no requests."""
    assert await client.wait_for_jobs([]) == []


async def test_wait_for_jobs_fail_fast_raises_the_first_failure_at_once(
    server: JobServer, client: Client
) -> None:
    """fail_fast: a failure ends the wait while other jobs still run."""
    running = server.create_job(status="running")
    doomed = server.create_job(status="running")
    driver = when_following(server, finish(server, [doomed.id], "failed", error="bad input"))
    with pytest.raises(JobFailedError) as caught:
        await client.wait_for_jobs([running.id, doomed.id], timeout=5)
    await driver
    assert caught.value.details["job_id"] == doomed.id
    assert server.get_job(running.id).status is JobStatus.RUNNING
    await server.wait_until(lambda: server.open_streams == 0)


async def test_wait_for_jobs_without_fail_fast_waits_for_all_then_raises(
    server: JobServer, client: Client
) -> None:
    """fail_fast=False: every job is waited for, then the first failure is raised."""
    slow = server.create_job(status="running")
    doomed = server.create_job(status="running")
    when_following(server, finish(server, [doomed.id], "cancelled"))
    # The slow job ends after the stream sent the other's cancellation (two snapshots, then it):
    # the wait must go on past that failure.
    slow_driver = act_when(
        lambda: server.events_sent >= 3,
        finish(server, [slow.id]),
        message="the stream never sent the cancellation",
    )
    with pytest.raises(JobCancelledError) as caught:
        await client.wait_for_jobs([slow.id, doomed.id], timeout=5, fail_fast=False)
    assert slow_driver.done()
    assert caught.value.details == {"job_id": doomed.id}


async def test_wait_for_jobs_return_exceptions_puts_failures_in_the_list(
    server: JobServer, client: Client
) -> None:
    """return_exceptions: failures and unknown ids come back in place."""
    ok = server.create_job(status="completed")
    failed = server.create_job(status="failed", error="e")
    cancelled = server.create_job(status="cancelled")
    results = await client.wait_for_jobs(
        [ok.id, failed.id, "missing", cancelled.id], return_exceptions=True
    )
    assert isinstance(results[0], Job)
    assert results[0].id == ok.id
    assert isinstance(results[1], JobFailedError)
    assert results[1].details == {"job_id": failed.id, "failure_reason": "e"}
    assert isinstance(results[2], JobNotFoundError)
    assert isinstance(results[3], JobCancelledError)


async def test_wait_for_jobs_with_an_unknown_id_raises_not_found(
    server: JobServer, client: Client
) -> None:
    """An unknown id is a failure like any other."""
    job = server.create_job(status="running")
    with pytest.raises(JobNotFoundError):
        await client.wait_for_jobs([job.id, "missing"], timeout=5)


async def test_wait_for_jobs_timeout_names_the_first_unfinished_job(
    server: JobServer, client: Client
) -> None:
    """On timeout, job_id is the first unfinished id in input order, and all are listed."""
    done = server.create_job(status="completed")
    first = server.create_job(status="running", progress=1)
    second = server.create_job()
    with pytest.raises(JobTimeoutError) as caught:
        await client.wait_for_jobs([done.id, first.id, second.id], timeout=0.2)
    error = caught.value
    assert error.job_id == first.id
    assert error.details["pending_job_ids"] == [first.id, second.id]
    assert error.details["timeout"] == 0.2
    assert error.job is not None
    assert error.job.progress == 1
    assert server.get_job(first.id).status is JobStatus.RUNNING  # not cancelled


async def test_cancel_on_exit_cancels_exactly_the_unfinished_jobs_on_timeout(
    server: JobServer, client: Client
) -> None:
    """On timeout with cancel_on_exit, unfinished jobs are cancelled; finished ones untouched."""
    done = server.create_job(status="completed")
    failed = server.create_job(status="failed")
    running = server.create_job(status="running")
    pending = server.create_job()
    with pytest.raises(JobTimeoutError):
        await client.wait_for_jobs(
            [done.id, running.id, pending.id, failed.id],
            timeout=0.2,
            cancel_on_exit=True,
            return_exceptions=True,
        )
    assert server.get_job(running.id).status is JobStatus.CANCELLED
    assert server.get_job(pending.id).status is JobStatus.CANCELLED
    assert server.get_job(done.id).status is JobStatus.COMPLETED
    assert server.get_job(failed.id).status is JobStatus.FAILED
    assert server.request_count("POST", "/jobs/*/cancel") == 2


async def test_cancel_on_exit_cancels_the_unfinished_jobs_when_the_wait_is_cancelled(
    server: JobServer, client: Client
) -> None:
    """Cancelling the wait cancels the unfinished jobs on the server before it ends."""
    done = server.create_job(status="completed")
    running = [server.create_job(status="running") for _ in range(3)]
    ids = [done.id, *(job.id for job in running)]
    waiter = asyncio.ensure_future(client.wait_for_jobs(ids, cancel_on_exit=True))
    # Every snapshot read (the finished job's comes first), so the wait knows which ended.
    await server.wait_until(lambda: all(client._hub.current(job.id) is not None for job in running))
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert all(server.get_job(job.id).status is JobStatus.CANCELLED for job in running)
    assert server.get_job(done.id).status is JobStatus.COMPLETED
    assert server.request_count("POST", "/jobs/*/cancel") == 3


async def test_cancel_on_exit_finishes_its_cancels_despite_a_second_cancellation(
    server: JobServer, client: Client
) -> None:
    """Cancelling again while the cancels run returns at once, and does not cut them short:
    they go on in a task the client tracks, and every job ends cancelled."""
    running = [server.create_job(status="running") for _ in range(20)]
    waiter = asyncio.ensure_future(
        client.wait_for_jobs([job.id for job in running], cancel_on_exit=True)
    )
    await server.wait_until(lambda: server.open_streams == 1)
    waiter.cancel()
    # Two loop turns, so the second cancellation lands while the shielded cancels run: the
    # point of the test is where it lands, not waiting for something to happen.
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await wait_until(
        lambda: all(server.get_job(job.id).status is JobStatus.CANCELLED for job in running),
        message="the cancels did not go on after the second cancellation",
    )


async def test_cancel_on_exit_logs_cancel_errors_instead_of_raising(
    server: JobServer, client: Client, fast: None, caplog: pytest.LogCaptureFixture
) -> None:
    """A cancel the server refuses is logged, and the wait's timeout error says which jobs
    could not be cancelled (``details["not_cancelled"]`` and a note)."""
    running = server.create_job(status="running")
    server.fail_next(10, 500, method="POST", path="/jobs/*/cancel")
    with pytest.raises(JobTimeoutError) as caught:
        await client.wait_for_jobs([running.id], timeout=0.1, cancel_on_exit=True)
    assert any("could not cancel" in r.getMessage() for r in caplog.records)
    assert caught.value.details["not_cancelled"] == [running.id]
    assert any("could not be cancelled" in note for note in caught.value.__notes__)


async def test_cancel_on_exit_goes_on_in_the_background_and_close_waits_for_it(
    server: JobServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancels that outlast cancel_grace (the server answers 503 for a while) do not hold the
    wait: it raises at once with a note, the cancels go on with their retries in a task the
    client tracks, and Client.close() waits for them: the job ends cancelled."""
    monkeypatch.setattr(TUNING, "cancel_grace", 0.05)
    running = server.create_job(status="running")
    server.fail_next(3, 503, method="POST", path="/jobs/*/cancel")
    retry = RetryPolicy(attempts=6, backoff_base=0.1, backoff_cap=0.2, max_total=10)
    client = Client(server.url, retry=retry)
    try:
        with pytest.raises(JobTimeoutError) as caught:
            await client.wait_for_jobs([running.id], timeout=0.1, cancel_on_exit=True)
        assert any("goes on in the background" in note for note in caught.value.__notes__)
        assert len(client._hub._background) == 1
    finally:
        await bounded(client.close(), "close() waiting for the background cancels")
    assert server.get_job(running.id).status is JobStatus.CANCELLED
    assert server.request_count("POST", "/jobs/*/cancel") == 4


# -- as_completed and watch_jobs -----------------------------------------------------------------


async def test_as_completed_yields_final_states_in_finishing_order(
    server: JobServer, client: Client
) -> None:
    """Final states come in the order the jobs end; failures are yielded, not raised."""
    already = server.create_job(status="completed")
    a, b, c = (server.create_job(status="running") for _ in range(3))

    # Lockstep: each job ends once the previous final state was yielded.
    endings = iter([(b.id, "failed"), (c.id, "completed"), (a.id, "cancelled")])
    seen: list[tuple[str, JobStatus]] = []
    async for job in client.as_completed([a.id, b.id, c.id, already.id], timeout=10):
        seen.append((job.id, job.status))
        ending = next(endings, None)
        if ending is not None:
            server.update_job(ending[0], status=ending[1])
    assert seen == [
        (already.id, JobStatus.COMPLETED),
        (b.id, JobStatus.FAILED),
        (c.id, JobStatus.COMPLETED),
        (a.id, JobStatus.CANCELLED),
    ]


async def test_as_completed_raises_for_an_unknown_id(client: Client) -> None:
    """An unknown id ends the iteration with JobNotFoundError."""
    with pytest.raises(JobNotFoundError):
        async for _ in client.as_completed(["missing"]):
            pass


async def test_watch_jobs_yields_every_version_of_every_job(
    server: JobServer, client: Client
) -> None:
    """Current states first, then each later version of any job, until all are terminal."""
    a = server.create_job(name="a")
    b = server.create_job(name="b", status="running")
    expected = {a.id: [a.version], b.id: [b.version]}
    seen: dict[str, list[int | None]] = {a.id: [], b.id: []}
    steps = iter(
        [
            (a.id, {"status": "running"}),
            (b.id, {"progress": 50}),
            (a.id, {"status": "completed"}),
            (b.id, {"status": "failed", "error": "x"}),
        ]
    )
    async for job in client.watch_jobs([a.id, b.id, a.id], timeout=5):
        seen[job.id].append(job.version)
        if len(seen[a.id]) + len(seen[b.id]) >= 2:
            step = next(steps, None)
            if step is not None:
                expected[step[0]].append(server.update_job(step[0], **step[1]).version)
    assert seen == expected
    assert server.streams_opened == 1


async def test_many_jobs_without_sse_are_polled_in_batches(fast: None) -> None:
    """Without streams, many jobs share one batched polling loop (get_many), not one each."""
    async with JobServer(transports=("long-poll",)) as server, Client(server.url) as client:
        jobs = [server.create_job(status="running") for _ in range(150)]
        ids = [job.id for job in jobs]
        driver = act_when(
            lambda: server.request_count("GET", "/jobs") >= 2,
            finish(server, ids),
            message="the client never polled the jobs in batches",
        )
        results = await client.wait_for_jobs(ids, timeout=5)
        await driver
        assert all(isinstance(r, Job) and r.is_terminal for r in results)
        assert server.request_count("GET", "/jobs/*") == 0  # no single reads
        batches = server.request_count("GET", "/jobs")
        assert batches % 2 == 0  # 150 ids: two requests a round (the first tells 404s apart)
        assert batches <= 2 * 30
        assert server.request_count("GET", "/jobs/*/poll") == 0


# -- the shared stream survives faults -----------------------------------------------------------


async def test_a_cut_shared_stream_is_resumed_with_last_event_id(
    server: JobServer, client: Client, fast: None
) -> None:
    """Cutting the multiplexed stream loses no job: it reconnects from its last event."""
    ids = [server.create_job(status="running").id for _ in range(20)]
    finals: list[Job] = []

    async def follow() -> None:
        async for job in client.as_completed(ids, timeout=10):
            finals.append(job)

    waiter = asyncio.ensure_future(follow())
    await server.wait_until(lambda: server.open_streams == 1)
    for job_id in ids[:10]:
        server.update_job(job_id, status="completed")
    await wait_until(
        lambda: len(finals) == 10,
        message=lambda: f"only {len(finals)} of the first 10 final states arrived",
    )
    assert server.cut_streams() == 1
    for job_id in ids[10:]:
        server.update_job(job_id, status="completed")
    await bounded(waiter, "the final states after the cut")
    assert sorted(job.id for job in finals) == sorted(ids)
    assert all(job.status is JobStatus.COMPLETED for job in finals)
    streams = [r for r in server.requests if r.path.endswith("/events")]
    assert len(streams) == 2
    assert "Last-Event-ID" not in streams[0].headers
    assert int(streams[1].headers["Last-Event-ID"]) == server.get_job(ids[9]).version
    assert len(streams[1].query["ids"].split(",")) == 10  # only the jobs still running


async def test_a_stalled_shared_stream_is_detected_and_resumed(
    server: JobServer, client: Client, fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A silent multiplexed stream is dropped after the stall limit and resumed."""
    monkeypatch.setattr(TUNING, "stall_floor", 0.3)
    ids = [server.create_job(status="running").id for _ in range(3)]
    waiter = asyncio.ensure_future(client.wait_for_jobs(ids, timeout=10))
    await server.wait_until(lambda: server.open_streams == 1)
    server.stall_streams()
    for job_id in ids:
        server.update_job(job_id, status="completed")
    await server.wait_until(lambda: server.streams_opened >= 2, timeout=3)
    server.resume_streams()
    results = await waiter
    assert [r.status for r in results if isinstance(r, Job)] == [JobStatus.COMPLETED] * 3


async def test_transient_errors_opening_the_shared_stream_are_retried(
    server: JobServer, client: Client, fast: None
) -> None:
    """503s and a 429 with Retry-After on the stream route are retried; the wait goes on."""
    job = server.create_job(status="running")
    server.fail_next(2, 503, path="/events")
    server.fail_next(1, 429, headers={"Retry-After": "0"}, path="/events")
    driver = when_following(server, finish(server, [job.id]))
    assert (await client.wait_for_job(job.id, timeout=5)).is_terminal
    await driver
    assert server.request_count("GET", "/events") == 4


async def test_another_callers_job_fails_alone(fast: None) -> None:
    """A job of another token among many fails with PermissionDeniedError; the rest finish."""
    async with JobServer(tokens=["a", "b"]) as server:
        mine = [server.create_job(token="a", status="running").id for _ in range(3)]
        theirs = server.create_job(token="b", status="running").id
        async with Client(server.url, token="a") as client:
            driver = when_following(server, finish(server, mine))
            results = await client.wait_for_jobs([*mine, theirs], timeout=5, return_exceptions=True)
            await driver
        assert [r.status for r in results[:3] if isinstance(r, Job)] == [JobStatus.COMPLETED] * 3
        assert isinstance(results[3], PermissionDeniedError)
        assert server.streams_opened == 1


async def test_an_unreachable_server_fails_a_wait_as_fast_as_a_request() -> None:
    """A stream that never connected is as patient as one request (the retry policy)."""
    url = f"http://127.0.0.1:{unused_port()}/api/v1"
    # Far below the waits' own 30 s: a stream that never connected gives up like a request.
    async with (
        Client(url, retry=RetryPolicy(attempts=2, backoff_base=0.01)) as client,
        within(10, "an unreachable server did not fail the waits like a request"),
    ):
        with pytest.raises(TransportError, match="cannot connect"):
            await client.wait_for_jobs(["a", "b"], timeout=30)
        with pytest.raises(TransportError):
            await client.wait_for_job("a", timeout=30)
