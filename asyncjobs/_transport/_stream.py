"""An event stream as the transport sees it: one resumable SSE subscription over aiohttp.

:class:`EventStream` opens connections through the request pipeline, reads them chunk by chunk
into the SSE decoder, watches for stalls, and paces busy connections (see its docstring). It
hands out decoded events and nothing aiohttp: a broken, cut or stalled connection is an ended
read, and the caller decides how to resume.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections import deque
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any, Final

import aiohttp

from asyncjobs._sse import ServerSentEvent, SSEDecoder
from asyncjobs._tuning import TUNING

from ._errors import FOREIGN_ERRORS, translate_error
from ._http import HTTPClient
from ._open import open_stream
from ._pacing import hold_reading
from ._retry import NotOffered

__all__ = ["EventStream"]

logger = logging.getLogger("asyncjobs")

_HEARTBEAT_CAP: Final = 300.0
_ANNOUNCED: Final = re.compile(rb"^: ?heartbeat[ =]([0-9]+(?:\.[0-9]+)?)\r?$", re.MULTILINE)
"""A server's announcement of its heartbeat interval in seconds, as a comment line at the start
of a stream (``: heartbeat 15``; the reference server sends it)."""

_PINGS_KEPT: Final = 8
"""How many of the latest ping intervals the stall limit is learned from."""

_FULL_READ: Final = 64 * 1024
"""A read this large is a batch already: the next one is not held back (holding a saturated
connection would only cap its throughput at what the socket buffer holds per window)."""


_SLICE: Final = _FULL_READ  # the most bytes of a chunk one read decodes (see read)
_EMPTY: Final = memoryview(b"")


def _slice_end(chunk: bytes | memoryview) -> int:
    """Where the first slice of ``chunk`` ends: after its last blank line (LF LF) in the last
    4 KiB before ``_SLICE``, else at ``_SLICE`` (any cut decodes the same; this one is cheaper)."""
    if len(chunk) <= _SLICE:
        return len(chunk)
    blank = bytes(chunk[_SLICE - 4096 : _SLICE]).rfind(b"\n\n")
    return _SLICE if blank < 0 else _SLICE - 4096 + blank + 2


class EventStream:
    """One resumable Server-Sent Events subscription.

    Connections come and go (:meth:`connect`, :meth:`close`); the decoder and its last event id
    carry over, so each reconnect resumes with ``Last-Event-ID``. A connection that stays silent
    past the stall limit while :meth:`read` waits on it is dropped. The limit follows the
    server's heartbeat as the stream shows it: ``TUNING.stall_heartbeats`` times the longest
    silence before a ``:`` comment (a ping) among the last few, and at least
    ``TUNING.stall_min``; before any ping is seen, the heartbeat the server announced (a
    ``: heartbeat S`` comment at the start of the stream), else ``TUNING.stall_floor``. Old
    gaps drop out of the window, so the limit comes down again after a slow spell (it never
    ratchets up for good). One watchdog timer per connection keeps that clock (a timeout around
    every read would cost a timer per chunk).

    With ``coalesce`` (seconds), a busy connection (its last two reads that brought events came
    less than two windows apart) is not read again until ``coalesce`` after the last such read:
    reading is paused at the transport meanwhile, so what arrives piles up in the socket and
    one wake-up decodes it all. A quiet connection is read as soon as data comes.

    Args:
        http: The client's request pipeline.
        coalesce: The longest a busy connection's data may wait to be read (0: never waits).
    """

    __slots__ = (
        "_announced",
        "_backlog",
        "_busy",
        "_coalesce",
        "_content",
        "_early",
        "_events_at",
        "_http",
        "_last_chunk",
        "_pings",
        "_pinned",
        "_response",
        "_sent",
        "_stack",
        "_stalled",
        "_waiting_since",
        "_watchdog",
        "_where",
        "closed_by_server",
        "connections",
        "decoder",
        "end_reason",
        "opened_at",
        "received",
    )

    def __init__(self, http: HTTPClient, *, coalesce: float = 0.0) -> None:
        self._http = http
        self._coalesce = coalesce
        self._busy = False
        self._events_at = -math.inf  # loop time of the last read that completed events
        self.decoder = SSEDecoder()
        self._backlog = _EMPTY  # the undecoded rest of the last chunk (see read)
        self._stack: AsyncExitStack | None = None
        self._response: aiohttp.ClientResponse | None = None
        self._content: aiohttp.StreamReader | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._waiting_since: float | None = None  # loop time a read began waiting, if it is
        self._stalled = False
        self._where = ""
        self._pings: deque[float] = deque(maxlen=_PINGS_KEPT)  # silences before pings
        self._announced: float | None = None  # the heartbeat the server announced
        self._early = 0  # chunks of this connection still looked at for an announcement
        self._last_chunk = 0.0
        self._sent: str | None = None
        self._pinned: tuple[str | None] | None = None  # set by pin(): the resume point
        self.connections = 0
        """How many connections succeeded so far."""
        self.opened_at = 0.0
        """``time.monotonic()`` when the last connection opened."""
        self.received = 0
        """Events received on the last connection."""
        self.closed_by_server = False
        """Whether the last connection ended with a clean end of stream (not a break or a
        stall): the server thinks it sent everything asked for."""
        self.end_reason = ""
        """How the last connection ended, in words (``"closed by the server"``, ``"stalled:
        silent for 45.0 s"``, ``"broke: ..."``), or ``""`` while it is open."""

    @property
    def connected(self) -> bool:
        """Whether a connection is open."""
        return self._content is not None

    @property
    def resume_id(self) -> str | None:
        """Where a reconnect resumes: the id of the last event received on the last connection,
        or, when none came, the ``Last-Event-ID`` that connection was opened with."""
        if self._pinned is not None:
            return self._pinned[0]
        if self.received:
            return self.decoder.last_event_id or None
        return self._sent

    @property
    def pinned(self) -> bool:
        """Whether :meth:`pin` set the resume point (since the last :meth:`connect`)."""
        return self._pinned is not None

    def pin(self, event_id: str | None) -> None:
        """Resume from ``event_id`` (the last event the caller could use) instead of from the
        last one received: an event after it could not be used, and must be sent again. Holds
        until the next :meth:`connect`; a later pin never moves the point forward."""
        if self._pinned is None:
            self._pinned = (event_id,)

    def stall_limit(self) -> float:
        """Seconds of silence after which the connection counts as dead."""
        pings = self._pings
        heartbeat = max(pings) if pings else self._announced
        if heartbeat is None:
            return TUNING.stall_floor
        return max(TUNING.stall_min, TUNING.stall_heartbeats * heartbeat)

    def retry_hint(self) -> float | None:
        """The server's reconnection delay (its ``retry:`` field) in seconds, or None."""
        retry = self.decoder.retry
        return None if retry is None else retry / 1000.0

    def healthy(self) -> bool:
        """Whether the last connection was worth having: it delivered events or lasted a while
        (so a reconnect after it starts a fresh run of backoff)."""
        return self.received > 0 or time.monotonic() - self.opened_at >= TUNING.reconnect_cap

    async def connect(
        self,
        operation: str,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        last_event_id: str | None = None,
    ) -> None:
        """Open a connection (closing any open one first).

        Raises:
            NotOffered: the answer is not ``text/event-stream``.
            APIError: a non-2xx answer.
            TransportError: no answer.
        """
        await self.close()
        headers = {"Last-Event-ID": last_event_id} if last_event_id else None
        stack = AsyncExitStack()
        response = await stack.enter_async_context(
            open_stream(
                self._http,
                operation,
                path_params=path_params,
                params=params,
                json=json,
                headers=headers,
            )
        )
        where = f"{response.method} {response.url.path}"
        content_type = response.content_type
        if content_type != "text/event-stream":
            await stack.aclose()
            raise NotOffered(
                f"expected Content-Type text/event-stream from {where}, got {content_type!r}"
            )
        loop = asyncio.get_running_loop()
        self._stack = stack
        self._response = response
        self._content = response.content
        self._where = where
        self._sent = last_event_id
        self._pinned = None
        self._early = 2
        self._stalled = False
        self._busy = False
        self._events_at = -math.inf
        self._waiting_since = None
        self._last_chunk = loop.time()
        self._watchdog = loop.call_at(self._last_chunk + self.stall_limit(), self._check_stall)
        self.connections += 1
        self.received = 0
        self.closed_by_server = False
        self.end_reason = ""
        self.opened_at = time.monotonic()
        logger.debug("SSE stream %s open (Last-Event-ID %r)", where, last_event_id)

    def _check_stall(self) -> None:
        response = self._response
        if response is None:
            self._watchdog = None
            return
        loop = asyncio.get_running_loop()
        limit = self.stall_limit()
        since = self._waiting_since
        if since is not None and loop.time() - since >= limit:
            # Silent while a read waited: closing the response wakes that read with an error.
            self._watchdog = None
            self._stalled = True
            response.close()
            return
        start = loop.time() if since is None else since
        self._watchdog = loop.call_at(start + limit, self._check_stall)

    async def read(self) -> list[ServerSentEvent] | None:
        """Wait for the next chunk and return the events it completed (often none). A chunk
        larger than 64 KiB is decoded a slice per read (the next reads decode the rest, each
        after a turn of the loop), so only a slice's events are alive at once.

        Returns:
            The events, or None when the connection ended: closed by the server, broken, or
            silent past the stall limit. It is closed then; resuming is the caller's call.

        Raises:
            ProtocolError: an event larger than the decoder accepts.
        """
        content = self._content
        if content is None:
            return None
        if self._backlog:
            return await self._read_backlog()
        loop = asyncio.get_running_loop()
        if self._busy:
            # Until the end of the window the last read fell in, on a grid shared by every
            # stream of the process: busy streams are read in the same loop iteration, so the
            # waiters they wake run together too (not one iteration per stream).
            window = self._coalesce
            pause = (self._events_at // window + 1) * window - loop.time()
            if pause > 0:
                await hold_reading(self._response, pause)
        self._waiting_since = loop.time()
        try:
            chunk = await content.readany()
        except FOREIGN_ERRORS as exc:
            if self._stalled:
                self._note_stall()
            else:
                error = translate_error(exc, method="read", path=self._where)
                self.end_reason = f"broke: {error}"
                logger.debug("SSE stream %s broke (%s)", self._where, error)
            await self.close()
            return None
        finally:
            self._waiting_since = None
        if not chunk:
            if self._stalled:
                self._note_stall()
            else:
                self.end_reason = "closed by the server"
                logger.debug("SSE stream %s closed by the server", self._where)
            self.closed_by_server = not self._stalled
            await self.close()
            return None
        now = loop.time()
        if self._early:
            self._early -= 1
            announced = _ANNOUNCED.search(chunk)
            if announced is not None:
                self._announced = min(float(announced[1]), _HEARTBEAT_CAP) or None
                self._early = 0
                self._rearm(now)
        if len(chunk) > _SLICE:  # a backlog that piled up: decoded a slice a read
            view = memoryview(chunk)
            cut = _slice_end(chunk)
            self._backlog = view[cut:]
            events = self.decoder.feed(view[:cut])
        else:
            events = self.decoder.feed(chunk)
        if events:
            self.received += len(events)
            # Busy: events read twice within two windows (so a steady flow, read once a
            # window, stays busy); a ping or a lone event does not make a stream busy.
            self._busy = now - self._events_at < 2 * self._coalesce and len(chunk) < _FULL_READ
            self._events_at = now
        elif chunk[:1] == b":":
            # A comment alone (a ping): the silence before it is what the server's heartbeat
            # is. (A chunk that is only part of an event says nothing about it.)
            self._pings.append(min(now - self._last_chunk, _HEARTBEAT_CAP))
            self._rearm(now)
        self._last_chunk = now
        return events

    async def _read_backlog(self) -> list[ServerSentEvent] | None:
        """The events of the next slice of the last chunk, once other tasks have had a turn
        (what the consumer of a big read would do between slices anyway)."""
        await asyncio.sleep(0)
        backlog = self._backlog
        if self._content is None or not backlog:  # closed meanwhile
            return None if self._content is None else []
        cut = _slice_end(backlog)
        self._backlog = backlog[cut:]
        events = self.decoder.feed(backlog[:cut])
        self.received += len(events)
        return events

    def _note_stall(self) -> None:
        limit = self.stall_limit()
        self.end_reason = f"stalled: silent for {limit:.1f} s"
        logger.info(
            "SSE stream %s silent for %.1f s (its stall limit): dropped, to be resumed from "
            "event id %r",
            self._where,
            limit,
            self.resume_id,
        )

    def _rearm(self, now: float) -> None:
        """The stall limit may have come down: let the watchdog look again by then."""
        watchdog = self._watchdog
        if watchdog is None:
            return
        due = now + self.stall_limit()
        if due < watchdog.when():
            watchdog.cancel()
            self._watchdog = asyncio.get_running_loop().call_at(due, self._check_stall)

    async def close(self) -> None:
        """Close the open connection, if any (idempotent); the last event id is kept."""
        stack = self._stack
        if stack is None:
            return
        watchdog = self._watchdog
        if watchdog is not None:
            watchdog.cancel()
        self._watchdog = None
        self._stack = None
        self._response = None
        self._content = None
        self._backlog = _EMPTY
        self.decoder.close()
        await stack.aclose()
