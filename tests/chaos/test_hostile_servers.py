"""watch() and wait_for_job() against small hostile servers, one misbehaviour each.

Each server is a tiny aiohttp.web app on 127.0.0.1 (run with handler cancellation, so a
handler ends when the client goes away and the open-stream count is the server's truth): a
scripted native job whose states a test advances, and stream / long-poll handlers that cut,
stall, mangle or refuse. Every test asserts the exact states seen, what the server received,
and that no task or stream is left behind.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any

import pytest
from _client_apps import serve
from _live_helpers import PATIENCE, assert_no_new_tasks, bounded, client_tasks, wait_until, within
from aiohttp import web

from asyncjobs import (
    Client,
    Job,
    JobFailedError,
    JobStatus,
    JobTimeoutError,
    RetryPolicy,
    UnsupportedOperationError,
)
from asyncjobs._tuning import TUNING

# Every scenario runs once per JSON backend (orjson, the standard library): the events'
# data is decoded by the backend in use.
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("json_backend")]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def native(version: int | None, status: str = "running", **fields: Any) -> dict[str, Any]:
    job: dict[str, Any] = {"id": "j", "status": status, **fields}
    if version is not None:
        job["version"] = version
    return job


def event(job: dict[str, Any], *, eol: str = "\n", with_id: bool = True) -> bytes:
    lines = []
    if with_id and job.get("version") is not None:
        lines.append(f"id: {job['version']}")
    lines += ["event: job", "data: " + json.dumps(job, ensure_ascii=False)]
    return (eol.join(lines) + eol + eol).encode()


class Api:
    """A native API serving one job ``j`` whose state a test sets, with replaceable routes.

    Attributes:
        job: What ``GET /jobs/j`` answers now.
        events, poll: The handlers of the stream and long-poll routes (default: 404).
        hits: ``(route, Last-Event-ID or query)`` of every request, in arrival order.
        open_streams: Stream handlers running now.
    """

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.events: Handler = self._not_found
        self.poll: Handler = self._not_found
        self.hits: list[tuple[str, str | None]] = []
        self.open_streams = 0
        self.streams_opened = 0

    @staticmethod
    async def _not_found(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": "Not Found", "details": "no route"}, status=404)

    def count(self, route: str) -> int:
        return sum(1 for hit, _ in self.hits if hit == route)

    def app(self) -> web.Application:
        async def get(request: web.Request) -> web.StreamResponse:
            self.hits.append(("get", None))
            return web.json_response(self.job)

        async def events(request: web.Request) -> web.StreamResponse:
            self.hits.append(("events", request.headers.get("Last-Event-ID")))
            self.open_streams += 1
            self.streams_opened += 1
            try:
                return await self.events(request)
            finally:
                self.open_streams -= 1

        async def poll(request: web.Request) -> web.StreamResponse:
            self.hits.append(("poll", request.query_string))
            return await self.poll(request)

        app = web.Application()
        app.router.add_get("/jobs/{job_id}", get)
        app.router.add_get("/jobs/{job_id}/events", events)
        app.router.add_get("/jobs/{job_id}/poll", poll)
        return app


async def open_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    return response


def cut(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Close the connection mid-stream (no end of the chunked body)."""
    assert request.transport is not None
    request.transport.close()
    return response


async def forever() -> None:
    await asyncio.sleep(3600)


async def watch_all(client: Client, job_id: str = "j", **options: Any) -> list[Job]:
    async with aclosing(client.watch(job_id, **options)) as updates:
        return [job async for job in updates]


async def watch_into(seen: list[Job], client: Client, job_id: str = "j", **options: Any) -> None:
    """Watch to the end (or the error), keeping every state in ``seen``."""
    async with aclosing(client.watch(job_id, **options)) as updates:
        async for job in updates:
            seen.append(job)


def versions(jobs: list[Job]) -> list[int | None]:
    return [job.version for job in jobs]


# -- the event stream on the wire ----------------------------------------------------------------


async def test_bom_crlf_cr_comments_retry_and_utf8_split_across_chunks(fast: None) -> None:
    """Every line ending, a BOM, comments, ``retry:`` and a character split over chunks."""
    api = Api(native(1, "pending"))
    done = native(4, "completed", name="r\u00e9sum\u00e9 \u2603", result={"ok": True})

    async def events(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(b"\xef\xbb\xbfretry: 10\r\n: ping\r\n\r\n")
        await response.write(event(native(2, progress=10), eol="\r\n"))
        await response.write(event(native(3, progress=20), eol="\r"))
        for byte in event(done):  # one byte per chunk, so UTF-8 sequences are split
            await response.write(bytes([byte]))
            await asyncio.sleep(0)
        await response.write_eof()
        return response

    api.events = events
    async with serve(api.app()) as url, Client(url) as client:
        seen = await watch_all(client, transport="sse")
    assert versions(seen) == [1, 2, 3, 4]
    assert [j.progress for j in seen[1:3]] == [10, 20]
    assert seen[-1].name == "r\u00e9sum\u00e9 \u2603"
    assert seen[-1].result == {"ok": True}
    assert api.count("events") == 1


async def test_a_stream_cut_mid_event_resumes_from_the_last_whole_event(fast: None) -> None:
    """The half event is dropped; the reconnect sends the id of the last complete one."""
    api = Api(native(1, "pending"))

    async def events(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        if request.headers.get("Last-Event-ID") is None:
            await response.write(event(native(2)))
            whole = event(native(3, progress=50))
            await response.write(whole[: len(whole) - 20])
            await asyncio.sleep(0.01)  # the half event leaves before the cut
            return cut(request, response)
        await response.write(event(native(3, progress=50)))
        await response.write(event(native(4, "completed")))
        await response.write_eof()
        return response

    api.events = events
    async with serve(api.app()) as url, Client(url) as client:
        seen = await watch_all(client, transport="sse")
    assert versions(seen) == [1, 2, 3, 4]
    assert api.hits == [("get", None), ("events", None), ("events", "2")]


async def test_an_early_clean_close_is_resumed_never_taken_as_the_end(fast: None) -> None:
    """A stream that ends (cleanly) before the terminal event is resumed."""
    api = Api(native(1, "pending"))

    async def events(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        last = request.headers.get("Last-Event-ID")
        await response.write(
            event(native(2 if last is None else 3, "completed" if last else "running"))
        )
        await response.write_eof()
        return response

    api.events = events
    async with serve(api.app()) as url, Client(url) as client:
        seen = await watch_all(client, transport="sse")
    assert [(j.version, j.status) for j in seen] == [
        (1, JobStatus.PENDING),
        (2, JobStatus.RUNNING),
        (3, JobStatus.COMPLETED),
    ]
    assert [hit for hit in api.hits if hit[0] == "events"] == [("events", None), ("events", "2")]


async def test_a_stream_that_ends_empty_is_confirmed_with_a_get(fast: None) -> None:
    """A server that closes its streams without sending the terminal event (here: an empty
    stream after the job ended): the watch reads the job and ends, instead of reconnecting
    forever."""
    api = Api(native(1, "pending"))

    async def events(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        if request.headers.get("Last-Event-ID") is None:
            await response.write(event(native(2)))
            api.job = native(3, "completed", result=5)  # ends; the stream never says so
        await response.write(b": bye\n\n")
        await response.write_eof()
        return response

    api.events = events
    async with serve(api.app()) as url, Client(url) as client:
        seen = await asyncio.wait_for(watch_all(client, transport="sse"), 2)
    assert [(j.version, j.status) for j in seen] == [
        (1, JobStatus.PENDING),
        (2, JobStatus.RUNNING),
        (3, JobStatus.COMPLETED),
    ]
    assert seen[-1].result == 5
    assert api.count("events") <= 3


async def test_events_of_other_types_other_jobs_and_bad_json_are_skipped(
    fast: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Pings, ``progress`` events, another job's event, invalid JSON and a repeated version."""
    api = Api(native(1, "pending"))
    other = {"id": "other", "status": "completed", "version": 2}

    async def events(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(b': ping\n\nevent: progress\ndata: {"id": "j"}\n\n')
        await response.write(b"id: 2\nevent: job\ndata: " + json.dumps(other).encode() + b"\n\n")
        await response.write(b'id: 3\nevent: job\ndata: {"id": "j", "status": "run\n\n')
        await response.write(b"id: 3\ndata: \n\n")  # empty data: a message event that is no job
        await response.write(event(native(4, progress=1)))
        await response.write(event(native(4, progress=1)))  # the same version again
        await response.write(event(native(1, "pending")))  # an older one
        await response.write(event(native(5, "failed", error="boom")))
        await response.write_eof()
        return response

    api.events = events
    async with serve(api.app()) as url, Client(url) as client:
        with caplog.at_level(logging.WARNING, logger="asyncjobs"):
            seen = await watch_all(client, transport="sse")
    assert versions(seen) == [1, 4, 5]
    assert seen[-1].status is JobStatus.FAILED
    assert seen[-1].error == "boom"
    assert api.count("events") == 1


async def test_unknown_status_words_are_unknown_and_not_the_end(fast: None) -> None:
    api = Api(native(1, "queued_for_gpu"))

    async def events(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(event(native(2, "warming-up")))
        await response.write(event(native(3, "completed")))
        await response.write_eof()
        return response

    api.events = events
    async with serve(api.app()) as url, Client(url) as client:
        seen = await watch_all(client, transport="sse")
    assert [j.status for j in seen] == [JobStatus.UNKNOWN, JobStatus.UNKNOWN, JobStatus.COMPLETED]
    assert seen[0].raw["status"] == "queued_for_gpu"


# -- routes that are not offered ------------------------------------------------------------------


def _refusal(kind: str) -> Handler:
    async def refuse(request: web.Request) -> web.StreamResponse:
        if kind == "html":
            return web.Response(text="<html>hi</html>", content_type="text/html")
        if kind == "json":
            return web.json_response(native(1, "pending"))
        status = int(kind)
        return web.json_response({"error": "nope"}, status=status)

    return refuse


@pytest.mark.parametrize("kind", ["404", "405", "501", "html", "json"])
async def test_auto_takes_a_refused_stream_as_not_offered_and_long_polls(
    fast: None, kind: str
) -> None:
    api = Api(native(1, "pending"))
    api.events = _refusal(kind)

    async def poll(request: web.Request) -> web.StreamResponse:
        after = int(request.query.get("after", "0"))
        if after < 1:
            return web.json_response(native(1, "pending"))
        return web.json_response(native(after + 1, "completed" if after >= 2 else "running"))

    api.poll = poll
    async with serve(api.app()) as url, Client(url) as client:
        for _ in range(2):
            seen = await watch_all(client)
            assert versions(seen) == [1, 2, 3]
        assert api.count("events") == 1  # remembered: not probed for the second watch
        with pytest.raises(UnsupportedOperationError):
            await watch_all(client, transport="sse")


@pytest.mark.parametrize("kind", ["404", "405", "501"])
async def test_auto_falls_back_to_polling_when_no_stream_and_no_long_poll(
    fast: None, kind: str
) -> None:
    api = Api(native(1, "pending"))
    api.events = _refusal(kind)
    api.poll = _refusal(kind)
    gets = 0

    async def advance() -> None:
        nonlocal gets
        await wait_until(lambda: api.count("get") >= 1, message="the job was never read")
        while True:
            await asyncio.sleep(0.03)  # the job moves on by itself, on the API's clock
            gets += 1
            api.job = native(1 + gets, "completed" if gets >= 2 else "running")

    async with serve(api.app()) as url, Client(url) as client:
        mover = asyncio.create_task(advance())
        try:
            seen = await watch_all(client)
        finally:
            mover.cancel()
    assert versions(seen)[0] == 1
    assert seen[-1].status is JobStatus.COMPLETED
    assert len(set(versions(seen))) == len(seen)
    assert (api.count("events"), api.count("poll")) == (1, 1)


async def test_an_explicit_long_poll_on_a_server_without_one_raises(fast: None) -> None:
    api = Api(native(1, "pending"))
    async with serve(api.app()) as url, Client(url) as client:
        with pytest.raises(UnsupportedOperationError):
            await watch_all(client, transport="long-poll")
    assert api.count("poll") == 1


# -- rate limits and unavailability ---------------------------------------------------------------


async def test_a_429_with_retry_after_on_the_stream_is_waited_out(fast: None) -> None:
    api = Api(native(1, "pending"))
    opened: list[float] = []

    async def events(request: web.Request) -> web.StreamResponse:
        opened.append(time.monotonic())
        if len(opened) == 1:
            return web.json_response(
                {"error": "Too Many Requests"}, status=429, headers={"Retry-After": "0.3"}
            )
        response = await open_stream(request)
        await response.write(event(native(2, "completed")))
        await response.write_eof()
        return response

    api.events = events
    async with serve(api.app()) as url, Client(url) as client:
        seen = await watch_all(client, transport="sse")
    assert versions(seen) == [1, 2]
    assert len(opened) == 2
    assert opened[1] - opened[0] >= 0.28


async def test_a_503_with_retry_after_on_the_long_poll_is_waited_out(fast: None) -> None:
    api = Api(native(1, "pending"))
    polled: list[float] = []

    async def poll(request: web.Request) -> web.StreamResponse:
        polled.append(time.monotonic())
        if len(polled) == 1:
            return web.json_response({"error": "busy"}, status=503, headers={"Retry-After": "0.3"})
        return web.json_response(native(2, "completed"))

    api.poll = poll
    async with serve(api.app()) as url, Client(url) as client:
        seen = await watch_all(client, transport="long-poll")
    assert versions(seen) == [1, 2]
    assert len(polled) == 2
    assert polled[1] - polled[0] >= 0.28


# -- slow, silent and held answers ----------------------------------------------------------------


async def test_a_slow_but_healthy_stream_is_never_cut_by_the_client_timeout(fast: None) -> None:
    """Gaps between events longer than ``Client(timeout=)`` do not break the stream."""
    api = Api(native(1, "pending"))

    async def events(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        for version in (2, 3):
            await asyncio.sleep(0.3)
            await response.write(event(native(version, progress=version)))
        await asyncio.sleep(0.3)
        await response.write(event(native(4, "completed")))
        await response.write_eof()
        return response

    api.events = events
    async with serve(api.app()) as url, Client(url, timeout=0.15) as client:
        seen = await watch_all(client, transport="sse")
    assert versions(seen) == [1, 2, 3, 4]
    assert api.count("events") == 1


async def test_a_silent_stream_is_dropped_after_the_stall_limit_and_resumed(
    fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TUNING, "stall_floor", 0.2)
    api = Api(native(1, "pending"))

    async def events(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        if request.headers.get("Last-Event-ID") is None:
            await response.write(event(native(2)))
            await forever()  # silent, connection open
        await response.write(event(native(3, "completed")))
        await response.write_eof()
        return response

    api.events = events
    async with serve(api.app()) as url, Client(url) as client:
        seen = await watch_all(client, transport="sse")
        await wait_until(
            lambda: api.open_streams == 0, message="the stream's connection was left open"
        )  # the stalled connection was closed
    assert versions(seen) == [1, 2, 3]
    assert [hit for hit in api.hits if hit[0] == "events"] == [("events", None), ("events", "2")]


async def test_a_held_long_poll_is_not_cut_by_the_client_timeout(fast: None) -> None:
    api = Api(native(1, "pending"))

    async def poll(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.4)
        return web.json_response(native(2, "completed"))

    api.poll = poll
    async with serve(api.app()) as url, Client(url, timeout=0.1) as client:
        seen = await watch_all(client, transport="long-poll")
    assert versions(seen) == [1, 2]
    assert api.count("poll") == 1


async def test_a_long_poll_that_never_holds_is_not_hammered(fast: None) -> None:
    """A poll route that answers at once with the unchanged job (it ignores ``after``): the
    client must not loop on it as fast as the network allows."""
    api = Api(native(1, "pending"))

    async def poll(request: web.Request) -> web.StreamResponse:
        return web.json_response(api.job)

    api.poll = poll
    async with serve(api.app()) as url, Client(url) as client:
        task = asyncio.create_task(watch_all(client, transport="long-poll"))
        await asyncio.sleep(0.5)  # the behaviour: how often it polls over 0.5 s
        api.job = native(2, "completed")
        seen = await asyncio.wait_for(task, 2)
    assert versions(seen) == [1, 2]
    assert api.count("poll") <= 25


# -- polling ----------------------------------------------------------------------------------


async def test_a_caller_given_poll_interval_is_fixed(fast: None) -> None:
    api = Api(native(None, "running", progress=0))
    stamps: list[float] = []
    app_get = api.app

    def app() -> web.Application:
        application = app_get()

        @web.middleware
        async def stamp(request: web.Request, handler: Handler) -> web.StreamResponse:
            stamps.append(time.monotonic())
            if len(stamps) == 8:
                api.job = native(None, "completed", progress=100)
            return await handler(request)

        application.middlewares.append(stamp)
        return application

    api.app = app  # type: ignore[method-assign]
    async with serve(api.app()) as url, Client(url) as client:
        seen = await watch_all(client, transport="poll", poll_interval=0.05)
    assert [j.status for j in seen] == [JobStatus.RUNNING, JobStatus.COMPLETED]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(gaps) == 7
    assert all(0.045 <= gap <= 0.09 for gap in gaps), gaps


async def test_updated_at_filled_with_now_is_not_a_change(fast: None) -> None:
    """A versionless API that stamps every answer with "now": only real changes come out."""
    api = Api(native(None, "running", progress=0))
    app_get = api.app
    reads = 0

    def app() -> web.Application:
        application = app_get()

        @web.middleware
        async def now(request: web.Request, handler: Handler) -> web.StreamResponse:
            nonlocal reads
            reads += 1
            if reads == 6:
                api.job = native(None, "running", progress=50)
            if reads == 10:
                api.job = native(None, "completed", progress=100)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{reads:06d}Z"
            api.job = {**api.job, "updated_at": stamp}
            return await handler(request)

        application.middlewares.append(now)
        return application

    api.app = app  # type: ignore[method-assign]
    async with serve(api.app()) as url, Client(url) as client:
        seen = await watch_all(client, transport="poll", poll_interval=0.01)
    assert [(j.status, j.progress) for j in seen] == [
        (JobStatus.RUNNING, 0),
        (JobStatus.RUNNING, 50),
        (JobStatus.COMPLETED, 100),
    ]


# -- timeouts, cancellation and leftovers ---------------------------------------------------------


@pytest.mark.parametrize("transport", ["sse", "long-poll", "poll", "auto"])
async def test_timeout_raises_job_timeout_error_and_leaves_nothing(
    fast: None, transport: str
) -> None:
    api = Api(native(1, "pending"))

    async def events(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(event(native(2)))
        await forever()
        return response

    async def poll(request: web.Request) -> web.StreamResponse:
        if request.query.get("after") == "1":
            return web.json_response(native(2))
        await forever()
        return web.json_response(native(2))

    api.events = events
    api.poll = poll
    if transport == "poll":
        api.job = native(2)
    async with serve(api.app()) as url, Client(url) as client:
        before = client_tasks()
        seen: list[Job] = []
        started = time.monotonic()
        with pytest.raises(JobTimeoutError) as caught:
            async with within(PATIENCE, "the watch's 0.3 s timeout never fired"):
                await watch_into(seen, client, transport=transport, timeout=0.3)
        assert time.monotonic() - started >= 0.25  # it did wait out its timeout
        await assert_no_new_tasks(before)
        await wait_until(
            lambda: api.open_streams == 0, message="the stream's connection was left open"
        )
    assert caught.value.job_id == "j"
    assert caught.value.timeout == 0.3
    assert caught.value.job == seen[-1]
    expected = [2] if transport == "poll" else [1, 2]
    assert versions(seen) == expected


async def test_wait_for_job_timeout_on_a_silent_stream(fast: None) -> None:
    api = Api(native(1, "running"))

    async def events(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await forever()
        return response

    api.events = events
    async with serve(api.app()) as url, Client(url) as client:
        before = client_tasks()
        with pytest.raises(JobTimeoutError) as caught:
            await client.wait_for_job("j", timeout=0.3)
        await assert_no_new_tasks(before)
        await wait_until(
            lambda: api.open_streams == 0, message="the stream's connection was left open"
        )
    assert caught.value.job is not None
    assert caught.value.job.version == 1


@pytest.mark.parametrize("how", ["cancel", "break"])
async def test_cancelling_or_leaving_a_watch_closes_its_stream(fast: None, how: str) -> None:
    api = Api(native(1, "pending"))

    async def events(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(event(native(2)))
        await forever()
        return response

    api.events = events
    async with serve(api.app()) as url, Client(url) as client:
        before = client_tasks()
        seen: list[Job] = []

        async def follow() -> None:
            async with aclosing(client.watch("j", transport="sse")) as updates:
                async for job in updates:
                    seen.append(job)
                    if how == "break" and job.version == 2:
                        break

        task = asyncio.create_task(follow())
        if how == "cancel":
            await wait_until(
                lambda: len(seen) == 2, message=lambda: f"version 2 never came; saw {seen}"
            )
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await bounded(task, "the cancelled watch to end")
        else:
            await bounded(task, "the watch to reach version 2")
        assert versions(seen) == [1, 2]
        await assert_no_new_tasks(before)
        await wait_until(
            lambda: api.open_streams == 0, message="the stream's connection was left open"
        )


async def test_wait_for_job_on_a_stream_that_keeps_closing_early(fast: None) -> None:
    """Each connection carries one event then closes; the wait still gets the failure."""
    api = Api(native(1, "pending"))

    async def events(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        last = int(request.headers.get("Last-Event-ID") or "1")
        nxt = last + 1
        job = native(nxt, "failed", error="disk full") if nxt == 4 else native(nxt)
        await response.write(event(job))
        return cut(request, response)

    api.events = events
    async with serve(api.app()) as url, Client(url) as client:
        with pytest.raises(JobFailedError) as caught:
            await client.wait_for_job("j", timeout=2)
    assert caught.value.details["failure_reason"] == "disk full"
    assert [hit for hit in api.hits if hit[0] == "events"] == [
        ("events", None),
        ("events", "2"),
        ("events", "3"),
    ]


async def test_a_job_deleted_while_watched_raises_not_found(fast: None) -> None:
    """After the stream worked, a 404 on reconnect is checked with a GET: gone means gone."""
    from asyncjobs import JobNotFoundError

    api = Api(native(1, "pending"))

    async def events(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Last-Event-ID") is None:
            response = await open_stream(request)
            await response.write(event(native(2)))
            return cut(request, response)
        api.job = {"error": "Not Found"}
        return web.json_response({"error": "Not Found"}, status=404)

    api.events = events
    app_get = api.app

    def app() -> web.Application:
        application = app_get()

        @web.middleware
        async def gone(request: web.Request, handler: Handler) -> web.StreamResponse:
            if api.job.get("error") and request.path == "/jobs/j":
                return web.json_response({"error": "Not Found"}, status=404)
            return await handler(request)

        application.middlewares.append(gone)
        return application

    api.app = app  # type: ignore[method-assign]
    async with serve(api.app()) as url, Client(url, retry=RetryPolicy(attempts=1)) as client:
        seen: list[Job] = []
        with pytest.raises(JobNotFoundError):
            await watch_into(seen, client)
    assert versions(seen) == [1, 2]


async def test_wait_for_job_shared_on_a_stream_that_ends_empty(fast: None) -> None:
    """The shared wait (no multiplexed route here) gets the final state the stream never sent."""
    api = Api(native(1, "pending"))

    async def events(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        if request.headers.get("Last-Event-ID") is None:
            await response.write(event(native(2)))
            api.job = native(3, "completed", result=1)
        await response.write_eof()
        return response

    api.events = events
    async with serve(api.app()) as url, Client(url) as client:
        before = client_tasks()
        final = await client.wait_for_job("j", timeout=2)
        await assert_no_new_tasks(before)
    assert (final.version, final.status, final.result) == (3, JobStatus.COMPLETED, 1)


@pytest.mark.parametrize("status", [204, 200])
async def test_a_long_poll_answering_no_content_is_no_change(fast: None, status: int) -> None:
    """A long poll that times out with 204 (or an empty 200) means "nothing new", not an error."""
    api = Api(native(1, "pending"))
    polls = 0

    async def poll(request: web.Request) -> web.StreamResponse:
        nonlocal polls
        polls += 1
        if polls < 3:
            return web.Response(status=status)
        return web.json_response(native(2, "completed"))

    api.poll = poll
    async with serve(api.app()) as url, Client(url) as client:
        seen = await watch_all(client, transport="long-poll")
    assert versions(seen) == [1, 2]
    assert polls == 3


async def test_breaking_out_without_aclosing_still_closes_the_stream(fast: None) -> None:
    """A plain ``break`` leaves the generator to the loop's finalizer: the stream still closes."""
    api = Api(native(1, "pending"))

    async def events(request: web.Request) -> web.StreamResponse:
        response = await open_stream(request)
        await response.write(event(native(2)))
        await forever()
        return response

    api.events = events
    async with serve(api.app()) as url, Client(url) as client:
        before = client_tasks()
        async for job in client.watch("j", transport="sse"):
            if job.version == 2:
                break
        await assert_no_new_tasks(before)
        await wait_until(
            lambda: api.open_streams == 0, message="the stream's connection was left open"
        )
