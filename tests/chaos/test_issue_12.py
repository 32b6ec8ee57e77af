"""The seven faults of issue 12 that must not hang or lie, each through FaultProxy.

Every wait is bounded and fails naming what did not happen. Malformed chunked framing (case 2)
runs in subprocesses, with each of aiohttp's parsers: ``test_pure_python_parser.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import pytest
from _live_helpers import (
    assert_no_new_tasks,
    bounded,
    client_tasks,
    next_within,
    shorten_timings,
    wait_until,
    within,
)
from _scenarios import assert_no_loop_errors

from asyncjobs import AsyncJobsError, Client, JobStatus, ProtocolError, RetryPolicy
from asyncjobs._tuning import TUNING
from asyncjobs.testing import FaultProxy, JobServer

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def proxied(
    server: JobServer, **client_options: Any
) -> AsyncIterator[tuple[FaultProxy, Client]]:
    """A FaultProxy in front of ``server`` and a Client through it."""
    async with (
        FaultProxy(server.host, server.port) as proxy,
        Client(proxy.url_for(server.url), **client_options) as client,
    ):
        yield proxy, client


# -- 1. a background error must reach its waiters ----------------------------------------------


async def test_a_corrupted_batched_poll_answer_does_not_hang_wait_for_jobs(
    monkeypatch: pytest.MonkeyPatch, loop_errors: list[dict[str, Any]]
) -> None:
    """One corrupted ``GET /jobs?ids=`` answer: the wait recovers or raises an AsyncJobsError
    within seconds, and no task dies unretrieved."""
    shorten_timings(monkeypatch)
    async with JobServer(transports=()) as server, proxied(server) as (proxy, client):
        ids = [server.create_job(name=f"p{i}").id for i in range(3)]
        before = client_tasks()
        waiting = asyncio.ensure_future(client.wait_for_jobs(ids, timeout=60))
        try:
            # The hub's poller is under way (its first reads went through) before the fault,
            # so the corrupted answer lands inside the background task, not the first read.
            await wait_until(
                lambda: server.request_count("GET", "/jobs") >= 3,
                message="the hub is not polling GET /jobs?ids=",
            )
            # Not JSON any more: '{"jobs":{...'.
            fault = proxy.replace(b'{"jobs":[', b'{"jobs":{', on_request="GET /api/v1/jobs?ids=")
            await wait_until(lambda: fault.applied == 1, message="no batched poll was corrupted")
            for job_id in ids:
                server.update_job(job_id, status="completed", result=job_id)
            outcome: list[Any] | BaseException
            try:
                outcome = await bounded(
                    asyncio.shield(waiting),
                    "wait_for_jobs hung after one corrupted batched poll answer",
                    timeout=8,
                )
            except AsyncJobsError as exc:  # a clear error is an acceptable outcome too
                outcome = exc
        finally:
            waiting.cancel()
            await asyncio.gather(waiting, return_exceptions=True)
        if not isinstance(outcome, BaseException):
            assert [job.result for job in outcome] == ids
        await assert_no_new_tasks(before)
    assert_no_loop_errors(loop_errors)


# -- 3. stall detection adapts to a fast heartbeat, also after slow gaps ---------------------


async def _stalled_stream_is_resumed(
    server: JobServer, proxy: FaultProxy, client: Client, *, slow_gaps: int
) -> None:
    job = server.create_job(name="stalled")
    updates = client.watch(job.id, timeout=30)
    try:
        await next_within(updates, "the watch's first state")
        await wait_until(lambda: server.open_streams == 1, message="no stream open")
        for _ in range(slow_gaps):
            # Slow gaps: the stream silent 1.5 s (six heartbeats), then pinging again.
            proxy.stall_open(1.5, on_request="/events")
            await asyncio.sleep(2.0)  # the gap and a few pings after it: time is the behaviour
        opened = server.streams_opened
        proxy.stall_open(60, on_request="/events")
        await wait_until(
            lambda: server.streams_opened > opened,
            timeout=3.0,
            message="a stream stalled at a 0.25 s heartbeat was not resumed",
        )
        server.update_job(job.id, status="completed", result="resumed")
        async with within(5, "the watch did not end after the stream was resumed"):
            seen = [update async for update in updates]
        assert seen[-1].status is JobStatus.COMPLETED and seen[-1].result == "resumed"
    finally:
        await updates.aclose()


async def test_a_stall_is_resumed_within_3_s_when_the_server_pings_every_quarter_second() -> None:
    """Heartbeat 0.25 s: a stream the proxy stalls is resumed within 3 s (no fixed 45 s
    floor)."""
    async with JobServer(heartbeat=0.25, retry_ms=20) as server, proxied(server) as (proxy, c):
        await _stalled_stream_is_resumed(server, proxy, c, slow_gaps=0)


async def test_a_stall_is_resumed_within_3_s_even_after_earlier_slow_gaps() -> None:
    """Heartbeat 0.25 s, after three 1.5 s silences: a stall is still resumed within 3 s (the
    learned limit decays; it does not ratchet up)."""
    async with JobServer(heartbeat=0.25, retry_ms=20) as server, proxied(server) as (proxy, c):
        await _stalled_stream_is_resumed(server, proxy, c, slow_gaps=3)


# -- 4. wrong answers are not accepted ---------------------------------------------------------


async def test_get_job_answered_with_another_jobs_json_raises_protocol_error() -> None:
    """``get_job(X)`` answered with job Y's JSON raises ProtocolError, not Y."""
    async with JobServer() as server, proxied(server) as (proxy, client):
        asked = server.create_job(name="asked")
        other = server.create_job(name="other")
        assert len(asked.id) == len(other.id)  # the swap keeps Content-Length right
        fault = proxy.replace(
            asked.id, other.id, times=5, on_request=f"GET /api/v1/jobs/{asked.id} "
        )
        try:
            job = await bounded(client.get_job(asked.id), "get_job did not end")
        except ProtocolError:
            pass
        else:
            raise AssertionError(f"get_job({asked.id!r}) accepted an answer for {job.id!r}")
        assert fault.applied >= 1


@pytest.mark.usefixtures("json_backend")
async def test_a_garbled_terminal_status_on_the_stream_ends_with_the_real_final_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stream says an unknown word where the job completed; a GET says completed at the
    same version: the watch ends with the completed job instead of reconnecting forever."""
    shorten_timings(monkeypatch)
    async with JobServer(heartbeat=0.25, retry_ms=20) as server, proxied(server) as (proxy, c):
        job = server.create_job(name="garbled")
        # Same length, so the chunk sizes stay right; only stream answers are garbled.
        proxy.replace(
            b'"status":"completed"',
            b'"status":"cpmoleted"',
            times=10,
            count=None,
            on_request="/events",
        )
        updates = c.watch(job.id, timeout=30)
        try:
            await next_within(updates, "the watch's first state")
            server.update_job(job.id, status="completed", result={"real": True})
            async with within(8, "the watch did not end on the real final state"):
                seen = [update async for update in updates]
        finally:
            await updates.aclose()
        final = seen[-1]
        stored = server.store.get(job.id)
        assert stored is not None
        assert final.status is JobStatus.COMPLETED, [(u.status, u.version) for u in seen]
        assert final.result == {"real": True} and final.version == stored.job.version


# -- 5. an unparsable event does not move the resume point ------------------------------------


@pytest.mark.usefixtures("json_backend")
async def test_an_unparsable_event_does_not_advance_the_resume_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A job's final event arrives corrupted, then the shared stream drops: its waiter still
    gets the final result within 3 s (the resume point stayed before the bad event)."""
    shorten_timings(monkeypatch)
    async with JobServer(heartbeat=0.25, retry_ms=20) as server, proxied(server) as (proxy, c):
        ending = server.create_job(name="ending")
        staying = server.create_job(name="staying", status="running")
        # Started in one event-loop iteration: both jobs share one multiplexed stream.
        ending_wait = asyncio.ensure_future(c.wait_for_job(ending.id, timeout=60))
        staying_wait = asyncio.ensure_future(c.wait_for_job(staying.id, timeout=60))
        try:
            await wait_until(
                lambda: server.open_streams == 1 and server.events_sent >= 2,
                message="the shared stream did not send both snapshots",
            )
            # The next event's data starts with '!' instead of ' {': not JSON.
            bad = proxy.corrupt(in_event=True, on_request="/events")
            server.update_job(ending.id, status="completed", result="final")
            await wait_until(lambda: bad.applied == 1, message="the final event not corrupted")
            passed = proxy.bytes_down
            # A ping after it: the corrupted event is through the proxy entirely.
            await wait_until(lambda: proxy.bytes_down > passed, message="no ping after it")
            assert proxy.reset_open(on_request="/events") == 1
            final = await bounded(
                asyncio.shield(ending_wait),
                "the waiter of a job whose final event was unparsable did not get it",
                timeout=3,
            )
            assert final.status is JobStatus.COMPLETED and final.result == "final"
            server.update_job(staying.id, status="completed")
            await bounded(asyncio.shield(staying_wait), "the other waiter did not end")
        finally:
            for task in (ending_wait, staying_wait):
                task.cancel()
            await asyncio.gather(ending_wait, staying_wait, return_exceptions=True)


# -- 6. a transport judged unusable is tried again after a while -------------------------------


async def test_one_odd_content_type_does_not_stop_per_job_sse_for_good(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One SSE answer with ``Content-Type: text/html``: that watch falls back, and a watch
    started after ``TUNING.unoffered_ttl`` uses per-job SSE again."""
    shorten_timings(monkeypatch)
    assert hasattr(TUNING, "unoffered_ttl"), (
        "expected a tunable TUNING.unoffered_ttl (seconds before a transport judged unusable "
        "is tried again); there is none"
    )
    monkeypatch.setattr(TUNING, "unoffered_ttl", 0.5)
    async with JobServer(heartbeat=0.25, retry_ms=20) as server, proxied(server) as (proxy, c):
        first = server.create_job(name="first")
        odd = proxy.replace(
            b"text/event-stream", b"text/html", on_request=f"GET /api/v1/jobs/{first.id}/events"
        )
        # poll_interval: followed alone (per-job SSE first, then long poll, then polling).
        updates = c.watch(first.id, poll_interval=0.05, timeout=20)
        try:
            await next_within(updates, "the first watch's first state")
            server.update_job(first.id, status="completed")
            async with within(5, "the first watch did not end after falling back"):
                _ = [update async for update in updates]
        finally:
            await updates.aclose()
        assert odd.applied == 1
        await asyncio.sleep(0.7)  # past unoffered_ttl: time is the behaviour here
        second = server.create_job(name="second")
        updates = c.watch(second.id, poll_interval=0.05, timeout=20)
        try:
            await next_within(updates, "the second watch's first state")
            server.update_job(second.id, status="completed")
            async with within(5, "the second watch did not end"):
                _ = [update async for update in updates]
        finally:
            await updates.aclose()
        tried = server.request_count("GET", f"/jobs/{second.id}/events")
        assert tried >= 1, (
            f"per-job SSE was not tried again {TUNING.unoffered_ttl} s after one odd "
            f"Content-Type (requests of the second watch: "
            f"{[r.path for r in server.requests if second.id in r.path]})"
        )


# -- 7. a failed submit can be retried safely --------------------------------------------------


async def test_a_submit_that_always_fails_gives_its_key_and_a_retry_with_it_makes_one_job() -> None:
    """Every attempt's answer is lost: the error carries ``details["idempotency_key"]``, and a
    submit with that key once the network is back returns the one job the server made."""
    retry = RetryPolicy(attempts=3, backoff_base=0.01, backoff_cap=0.05)
    async with JobServer() as server, proxied(server, retry=retry) as (proxy, client):
        lost = proxy.reset(on_request="POST /api/v1/jobs ", count=None)
        with pytest.raises(AsyncJobsError) as caught:
            await bounded(client.submit_job("precious", {"n": 1}), "the submit did not end")
        assert lost.applied == 3, lost
        details = getattr(caught.value, "details", None)
        assert isinstance(details, Mapping) and isinstance(details.get("idempotency_key"), str), (
            f"no details['idempotency_key'] on {caught.value!r} (details: {details!r})"
        )
        key = details["idempotency_key"]
        proxy.clear()
        job = await bounded(
            client.submit_job("precious", {"n": 1}, idempotency_key=key), "the retry did not end"
        )
        stored = [snapshot.job for snapshot in server.store.snapshots()]
        assert [j.id for j in stored] == [job.id], stored
        assert server.request_count("POST", "/jobs") == 4
