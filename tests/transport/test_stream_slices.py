"""A big chunk is decoded a slice per read (``EventStream.read``): every event once, in order,
whatever the cut; the resume point never passes an event not yet handed out; a close drops the
rest."""

from __future__ import annotations

import json

import pytest
from _client_apps import serve
from aiohttp import web

from asyncjobs import Client
from asyncjobs._sse import ServerSentEvent, SSEDecoder
from asyncjobs._transport import EventStream
from asyncjobs._transport._stream import _SLICE, _slice_end

pytestmark = pytest.mark.anyio


def _stream(count: int, *, eol: str = "\n") -> bytes:
    parts = []
    for n in range(1, count + 1):
        data = json.dumps({"id": "job-1", "version": n, "pad": "x" * (n % 300)})
        if n % 97 == 0:  # now and then a block of another form
            parts.append(f": a comment{eol}retry: {n}{eol}")
        parts.append(f"id: {n}{eol}event: job{eol}data: {data}{eol}{eol}")
    return "".join(parts).encode()


async def _serve_once(body: bytes) -> web.Application:
    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(body)  # one write: the client's first reads are big chunks
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/jobs/{job_id}/events", events)
    return app


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
async def test_a_big_chunk_is_read_a_slice_at_a_time_and_loses_nothing(eol: str) -> None:
    body = _stream(4000, eol=eol)
    assert len(body) > 8 * _SLICE
    expected = SSEDecoder().feed(body)
    async with serve(await _serve_once(body)) as origin, Client(origin) as client:
        stream = EventStream(client._http)
        await stream.connect("events", path_params={"job_id": "job-1"})
        seen: list[ServerSentEvent] = []
        sliced = 0  # reads that left part of their chunk for the next ones
        while True:
            events = await stream.read()
            if events is None:
                break
            sliced += bool(stream._backlog)
            seen.extend(events)
            if events:
                # Never past what was handed out: a reconnect resends the rest.
                assert stream.resume_id == events[-1].id
            assert len(events) <= _SLICE // 20  # a slice's worth at most
        assert stream.closed_by_server
    assert sliced
    assert seen == expected
    assert len(seen) == 4000
    assert sum(event.retry is not None for event in seen) == 4000 // 97


async def test_a_close_drops_the_rest_of_a_big_chunk() -> None:
    body = _stream(3000)
    async with serve(await _serve_once(body)) as origin, Client(origin) as client:
        stream = EventStream(client._http)
        await stream.connect("events", path_params={"job_id": "job-1"})
        first: list[ServerSentEvent] = []
        while not first:
            events = await stream.read()
            assert events is not None
            first = events
        last = first[-1].id
        await stream.close()
        assert await stream.read() is None
        assert stream.resume_id == last  # the rest comes again on the next connection
        await stream.connect("events", path_params={"job_id": "job-1"}, last_event_id=last)
        again: list[ServerSentEvent] = []
        while (events := await stream.read()) is not None:
            again.extend(events)
    # The server here ignores Last-Event-ID: the new connection starts over, cleanly (nothing
    # of the old connection's rest leaked into it).
    assert [e.id for e in again] == [e.id for e in SSEDecoder().feed(body)]


def test_slices_end_after_a_blank_line_when_one_is_near() -> None:
    body = _stream(1000)
    cut = _slice_end(body)
    assert _SLICE - 4096 < cut <= _SLICE
    assert body[cut - 2 : cut] == b"\n\n"
    assert _slice_end(memoryview(body)) == cut
    assert _slice_end(body[:100]) == 100
    no_blank = b"data: " + b"x" * (2 * _SLICE)
    assert _slice_end(no_blank) == _SLICE
