"""Observability: ``Client(hooks=Hooks(...))`` against a real JobServer on loopback, and what
the ``asyncjobs`` logger records.

Each hook fires with the right event (a request/response pair per attempt, a retry, a stream's
reconnect, a transport chosen and dropped), never per SSE event; a failing hook is logged and
the call still succeeds; a slow one holds nothing up and is cancelled at close. Hook calls run
in tasks that ``Client.close()`` waits for, so the events are all in once a client has closed.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import socket
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from _live_helpers import bounded, wait_until, within
from anyio.from_thread import start_blocking_portal

from asyncjobs import (
    Client,
    Hooks,
    Job,
    JobStatus,
    ReconnectEvent,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    RetryPolicy,
    SyncClient,
    TransportError,
    TransportEvent,
)
from asyncjobs.testing import JobServer

FAST = RetryPolicy(attempts=3, backoff_base=0.01, backoff_cap=0.02, max_total=5.0)


class Recorder:
    """Hooks that record every event, in order, and wake waiters on each."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self._changed = asyncio.Event()

    async def __call__(self, event: Any) -> None:
        self.events.append(event)
        self._changed.set()

    def hooks(self) -> Hooks:
        return Hooks(
            on_request=[self],
            on_response=[self],
            on_retry=[self],
            on_reconnect=[self],
            on_transport=[self],
        )

    def of(self, kind: type[Any]) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]

    async def wait_for(self, kind: type[Any], what: str) -> Any:
        async with within(5.0, what):
            while not self.of(kind):
                self._changed.clear()
                await self._changed.wait()
        return self.of(kind)[0]


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- requests, responses, retries -------------------------------------------------------------


@pytest.mark.anyio
async def test_each_request_fires_a_request_and_a_response_hook() -> None:
    """One GET: a RequestEvent, then a ResponseEvent with its status and timing."""
    recorder = Recorder()
    async with JobServer() as server:
        job = server.create_job(name="x")
        async with Client(server.url, hooks=recorder.hooks()) as client:
            assert (await client.get_job(job.id)).name == "x"
    request, response = recorder.events
    assert request == RequestEvent(
        method="GET",
        path=f"/jobs/{job.id}",
        route="/jobs/{job_id}",
        url=f"{server.url}/jobs/{job.id}",
        operation="get",
        attempt=1,
        long_lived=False,
    )
    assert isinstance(response, ResponseEvent)
    assert (response.method, response.path, response.operation) == ("GET", request.path, "get")
    assert (response.status, response.error, response.attempt) == (200, None, 1)
    assert 0 <= response.elapsed < 5
    assert response.started_at > 0


@pytest.mark.anyio
async def test_a_503_fires_the_retry_hook_between_two_attempts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``fail_next(1, 503)``: request, 503, retry (attempt 1, its delay), request, 200; the
    retry is logged at DEBUG with the attempt and the delay."""
    caplog.set_level(logging.DEBUG, logger="asyncjobs")
    recorder = Recorder()
    async with JobServer() as server:
        job = server.create_job(name="x")
        server.fail_next(1, 503)
        async with Client(server.url, hooks=recorder.hooks(), retry=FAST) as client:
            await client.get_job(job.id)
    kinds = [(type(e).__name__, getattr(e, "attempt", None)) for e in recorder.events]
    assert kinds == [
        ("RequestEvent", 1),
        ("ResponseEvent", 1),
        ("RetryEvent", 1),
        ("RequestEvent", 2),
        ("ResponseEvent", 2),
    ]
    retry = recorder.of(RetryEvent)[0]
    assert (retry.method, retry.path, retry.operation) == ("GET", f"/jobs/{job.id}", "get")
    assert (retry.status, retry.reason, retry.attempts, retry.error) == (503, "503", 3, None)
    assert 0 <= retry.delay <= FAST.max_backoff(1)
    assert [r.status for r in recorder.of(ResponseEvent)] == [503, 200]
    logged = [
        r for r in caplog.records if r.getMessage().startswith(f"retrying GET /jobs/{job.id}")
    ]
    assert [r.levelno for r in logged] == [logging.DEBUG]
    assert "after 503 (attempt 2 of 3)" in logged[0].getMessage()


@pytest.mark.anyio
async def test_no_answer_fires_responses_with_the_error_and_giving_up_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing listens: each attempt's ResponseEvent has no status and the TransportError;
    the retries fire with it; the last failure is logged at INFO as given up."""
    caplog.set_level(logging.INFO, logger="asyncjobs")
    recorder = Recorder()
    url = f"http://127.0.0.1:{unused_port()}/api"
    async with Client(url, hooks=recorder.hooks(), retry=FAST) as client:
        with pytest.raises(TransportError):
            await bounded(client.get_job("x"), "the get did not give up")
    responses = recorder.of(ResponseEvent)
    assert [(r.attempt, r.status) for r in responses] == [(1, None), (2, None), (3, None)]
    assert all(isinstance(r.error, TransportError) for r in responses)
    retries = recorder.of(RetryEvent)
    assert [(r.attempt, r.status) for r in retries] == [(1, None), (2, None)]
    assert all(isinstance(r.error, TransportError) for r in retries)
    given_up = [r for r in caplog.records if r.getMessage().startswith("giving up on GET /jobs/x")]
    assert [r.levelno for r in given_up] == [logging.INFO]
    assert "after 3 attempts" in given_up[0].getMessage()


# -- streams: reconnects, transports, and nothing per event ------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(("transport", "stream"), [("auto", "multiplexed"), ("sse", "job")])
async def test_a_cut_stream_fires_the_reconnect_hook_with_its_resume_id(
    fast: None,
    caplog: pytest.LogCaptureFixture,
    transport: Literal["auto", "sse"],
    stream: str,
) -> None:
    """``cut_streams()``: a ReconnectEvent naming the stream, its jobs, why, and the id it
    resumes from (the last event received); an INFO record says the same."""
    caplog.set_level(logging.INFO, logger="asyncjobs")
    recorder = Recorder()
    async with JobServer() as server, Client(server.url, hooks=recorder.hooks()) as client:
        job = server.create_job(name="x")
        seen: list[Job] = []

        async def follow() -> None:
            async for update in client.watch(job.id, transport=transport):
                seen.append(update)

        watching = asyncio.create_task(follow())
        await wait_until(lambda: seen and server.open_streams == 1, message="no stream open")
        first = seen[0]
        assert server.cut_streams() == 1
        event = await recorder.wait_for(ReconnectEvent, "no reconnect hook after the cut")
        server.update_job(job.id, status="completed")
        await bounded(watching, "the watch did not end")
        assert seen[-1].status is JobStatus.COMPLETED
    assert event.stream == stream
    assert event.job_ids == (job.id,)
    assert event.resume_id == str(first.version)
    assert event.reason  # "closed by the server" or "broke: ..."
    assert event.delay >= 0
    assert event.attempt >= 1
    logged = [r for r in caplog.records if "reconnecting in" in r.getMessage()]
    assert logged
    assert logged[0].levelno == logging.INFO
    assert f"from event id '{first.version}'" in logged[0].getMessage()


@pytest.mark.anyio
async def test_a_stalled_stream_is_logged_and_reconnects(
    fast: None, caplog: pytest.LogCaptureFixture
) -> None:
    """A silent stream: the stall and the reconnect it causes are INFO records; the hook's
    reason says it stalled."""
    caplog.set_level(logging.INFO, logger="asyncjobs")
    recorder = Recorder()
    async with (
        JobServer(heartbeat=0.1) as server,
        Client(server.url, hooks=recorder.hooks()) as client,
    ):
        job = server.create_job(name="x")
        updates = client.watch_jobs([job.id])
        await bounded(anext(updates), "no first state")
        server.stall_streams()
        event = await recorder.wait_for(ReconnectEvent, "no reconnect after the stall")
        server.resume_streams()
        server.update_job(job.id, status="completed")
        async with within(5.0, "the watch did not end"):
            assert [j.status async for j in updates][-1] is JobStatus.COMPLETED
    assert event.reason.startswith("stalled: silent for")
    stalls = [r for r in caplog.records if "(its stall limit)" in r.getMessage()]
    assert stalls
    assert stalls[0].levelno == logging.INFO


@pytest.mark.anyio
async def test_a_server_without_sse_fires_each_transport_chosen_and_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``transports=("long-poll",)``: the shared stream is chosen then dropped (404), the
    job's own SSE likewise, then long polling is chosen; the drops are INFO records."""
    caplog.set_level(logging.DEBUG, logger="asyncjobs")
    recorder = Recorder()
    async with (
        JobServer(transports=("long-poll",)) as server,
        Client(server.url, hooks=recorder.hooks()) as client,
    ):
        job = server.create_job(name="x")
        waiting = asyncio.create_task(client.wait_for_job(job.id, timeout=10))
        await wait_until(
            lambda: any(e.transport == "long-poll" for e in recorder.of(TransportEvent)),
            message="long polling never chosen",
        )
        server.update_job(job.id, status="completed")
        assert (await bounded(waiting, "the wait did not end")).status is JobStatus.COMPLETED
    changes = recorder.of(TransportEvent)
    assert [(e.action, e.transport) for e in changes] == [
        ("chosen", "sse-multiplexed"),
        ("dropped", "sse-multiplexed"),
        ("chosen", "sse"),
        ("dropped", "sse"),
        ("chosen", "long-poll"),
    ]
    assert all(e.job_ids == (job.id,) for e in changes)
    assert all("404" in (e.reason or "") for e in changes if e.action == "dropped")
    assert all(e.reason is None for e in changes if e.action == "chosen")
    drops = [r for r in caplog.records if "not usable" in r.getMessage()]
    assert [r.levelno for r in drops] == [logging.INFO, logging.INFO]
    chosen = [r for r in caplog.records if "following over" in r.getMessage()]
    assert [r.levelno for r in chosen] == [logging.DEBUG] * 3


@pytest.mark.anyio
async def test_hooks_fire_per_request_never_per_stream_event() -> None:
    """Fifty updates over one multiplexed stream: one stream request, no hook per event."""
    recorder = Recorder()
    async with JobServer() as server, Client(server.url, hooks=recorder.hooks()) as client:
        job = server.create_job(name="x")
        updates = client.watch_jobs([job.id])
        await bounded(anext(updates), "no first state")
        for step in range(1, 50):
            server.update_job(job.id, status="running", progress=step)
        server.update_job(job.id, status="completed")
        async with within(5.0, "the watch did not end"):
            seen = [j async for j in updates]
    assert seen[-1].status is JobStatus.COMPLETED
    requests = recorder.of(RequestEvent)
    assert [r.operation for r in requests] == ["events_many"]
    assert requests[0].long_lived
    assert len(recorder.events) == 3  # transport chosen, the stream's request and response


# -- hooks that misbehave ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_failing_hook_is_logged_and_the_call_succeeds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A hook that raises: the get returns its job, the error is an ERROR record with its
    traceback, and the next hook of the list still runs."""
    caplog.set_level(logging.ERROR, logger="asyncjobs")
    after: list[ResponseEvent] = []

    async def broken(event: ResponseEvent) -> None:
        raise RuntimeError("the hook is broken")

    async def next_one(event: ResponseEvent) -> None:
        after.append(event)

    async with JobServer() as server:
        job = server.create_job(name="x")
        hooks = Hooks(on_response=[broken, next_one])
        async with Client(server.url, hooks=hooks) as client:
            assert (await client.get_job(job.id)).id == job.id
    failures = [r for r in caplog.records if r.getMessage().startswith("hook ")]
    assert len(failures) == 1
    assert "broken" in failures[0].getMessage()
    assert failures[0].exc_info is not None
    assert isinstance(failures[0].exc_info[1], RuntimeError)
    assert [e.status for e in after] == [200]


@pytest.mark.anyio
async def test_a_slow_hook_holds_no_request_up_and_is_cancelled_at_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Hooks that never return: twenty gets go through at once, and ``close()`` cancels the
    hook calls after its 1 s grace (with a warning) instead of hanging."""
    caplog.set_level(logging.WARNING, logger="asyncjobs")
    entered = 0
    cancelled = 0

    async def stuck(event: RequestEvent) -> None:
        nonlocal entered, cancelled
        entered += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled += 1
            raise

    async with JobServer() as server:
        job = server.create_job(name="x")
        client = Client(server.url, hooks=Hooks(on_request=[stuck]))
        async with within(2.0, "requests waited for a stuck hook"):
            for _ in range(20):
                await client.get_job(job.id)
        await wait_until(lambda: entered == 20, message="the hook was not called per request")
        async with within(5.0, "close() hung on a stuck hook"):
            await client.close()
    assert cancelled == 20
    assert any("did not end in time" in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
async def test_hooks_run_in_the_context_of_the_call() -> None:
    """A context variable set around a call is what its hooks see (so a tracing library's
    current span is the caller's)."""
    current: contextvars.ContextVar[str] = contextvars.ContextVar("current", default="none")
    seen: list[str] = []

    def note(event: RequestEvent) -> None:  # a plain function works too
        seen.append(current.get())

    async with JobServer() as server:
        job = server.create_job(name="x")
        async with Client(server.url, hooks=Hooks(on_request=[note])) as client:
            current.set("handler 1")
            await client.get_job(job.id)
            current.set("handler 2")
            await client.get_job(job.id)
    assert seen == ["handler 1", "handler 2"]


def test_hooks_take_lists_of_callables() -> None:
    """One callable instead of a list, a non-callable item, or hooks that are no Hooks: a
    TypeError that says so."""

    async def hook(event: RequestEvent) -> None:
        return None

    with pytest.raises(TypeError, match=r"Hooks.on_request takes a list of callables"):
        Hooks(on_request=hook)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"Hooks.on_retry: 1 is not callable"):
        Hooks(on_retry=[1])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="hooks must be a Hooks"):
        Client("http://127.0.0.1:1/api", hooks={"on_request": [hook]})  # type: ignore[arg-type]
    assert Hooks(on_request=[hook]).on_request == (hook,)


# -- SyncClient ------------------------------------------------------------------------------


@pytest.fixture
def sync_server() -> Iterator[str]:
    """A JobServer (with one job, id in the URL's fragment-free tuple) in a loop of its own."""
    with start_blocking_portal(backend="asyncio") as portal:
        server = portal.call(lambda: JobServer(auto_run=True))
        with portal.wrap_async_context_manager(server):
            yield server.url


def test_sync_client_calls_its_hooks_in_its_loop(sync_server: str) -> None:
    """``SyncClient(hooks=...)``: the same events, from the client's own loop thread."""
    seen: list[tuple[str, str]] = []

    async def note(event: ResponseEvent) -> None:
        seen.append((event.method, event.path))

    with SyncClient(sync_server, hooks=Hooks(on_response=[note])) as client:
        job = client.submit_job("x", {"duration": 0})
    assert ("POST", "/jobs") in seen
    assert job.name == "x"
