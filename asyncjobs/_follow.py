"""What following jobs needs, whatever the transport: tuning, dedup, backoff, resumable SSE.

Shared by :mod:`._watch` (one job: SSE, long poll, polling) and :mod:`._live` (many jobs over a
multiplexed stream or batched reads). Nothing here decides *which* transport to use.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from typing import Any, Final, TypeVar

import aiohttp
import attrs

from ._converter import job_from_native
from ._exceptions import APIError, JobTimeoutError, ProtocolError, TransportError
from ._http import HTTPClient
from ._models import Job
from ._profiles import Profile
from ._response import translate_error
from ._sse import ServerSentEvent, SSEDecoder

__all__ = [
    "JOB_EVENTS",
    "NOT_OFFERED",
    "TUNING",
    "Backoff",
    "EventParser",
    "EventStream",
    "Expired",
    "NotOffered",
    "Tuning",
    "check_seconds",
    "check_transport",
    "event_parser",
    "is_newer",
    "is_transient",
    "timeout_error",
    "within",
]

logger = logging.getLogger("asyncjobs")

_T = TypeVar("_T")

_TRANSPORTS: Final = frozenset({"auto", "sse", "long-poll", "poll"})


@attrs.define
class Tuning:
    """The internal knobs of watching and waiting (tests shorten them with ``monkeypatch``).

    Attributes:
        stall_floor: A stream silent this long is dead (at least: three heartbeat intervals
            seen on the stream count if longer), so it is dropped and resumed.
        stall_heartbeats: How many of the server's heartbeat intervals of silence mean stalled.
        reconnect_base: The first delay before reconnecting or retrying (jittered, doubling);
            a stream's ``retry:`` field takes its place for reconnects.
        reconnect_cap: The longest such delay.
        failure_budget: Seconds of failing in a row (no connection, 5xx, 429) before a watch or
            wait gives up and raises the last error.
        long_poll: Seconds a long poll asks the server to hold the request.
        long_poll_margin: Added to ``long_poll`` for the request's own timeout.
        poll_start: The first interval of adaptive polling (also after any change).
        poll_growth: Adaptive polling grows the interval by this factor after a quiet poll.
        poll_cap: The longest adaptive polling interval.
        max_streams: The most multiplexed SSE streams one client opens; more jobs join the
            smallest stream (which reconnects with the larger id set).
        reopen_interval: The least time between two reconnects of one multiplexed stream caused
            by jobs joining it, so a trickle of joins does not reconnect it for each.
        read_concurrency: Batched reads run at once (initial states, batched polling).
        max_single_feeds: Without a multiplexed stream, a job waited on alone is followed on its
            own (per-job SSE or long poll) up to this many at once; beyond, batched polling.
        max_query_ids: The longest ``ids=`` query (characters) of a multiplexed stream opened
            with GET; longer id lists use POST.
        coalesce_window: While a multiplexed stream is busy (two reads that brought events
            came less than two windows apart), it is read at most once a window, its
            transport paused in between, so that one wake-up reads all that came meanwhile
            instead of one per packet: less CPU per update under load, for at most this much
            added delay. A stream whose updates come further apart is read at once. 0 turns
            it off.
    """

    stall_floor: float = 45.0
    stall_heartbeats: float = 3.0
    reconnect_base: float = 0.2
    reconnect_cap: float = 5.0
    failure_budget: float = 60.0
    long_poll: float = 30.0
    long_poll_margin: float = 10.0
    poll_start: float = 0.2
    poll_growth: float = 1.5
    poll_cap: float = 3.0
    max_streams: int = 4
    reopen_interval: float = 0.05
    read_concurrency: int = 4
    max_single_feeds: int = 8
    max_query_ids: int = 2000
    coalesce_window: float = 0.01


TUNING: Final = Tuning()
"""The knobs in use (one object, so ``monkeypatch.setattr(TUNING, ...)`` reaches every module)."""

NOT_OFFERED: Final = frozenset({404, 405, 406, 501})
"""Statuses with which a server says it has no such route (after the job itself was read)."""

JOB_EVENTS: Final = frozenset({"job", "message"})
"""SSE event types that carry a job (native streams send ``job``, data-only APIs ``message``)."""

_HEARTBEAT_CAP: Final = 300.0


class NotOffered(Exception):
    """The server does not offer this transport (404/405/406/501, or not an event stream).

    Attributes:
        remember: Whether the client should remember it (False when only this job cannot be
            served this way right now, e.g. a stream that answered with an error event).
    """

    def __init__(self, message: str, *, remember: bool = True) -> None:
        super().__init__(message)
        self.remember = remember


def is_transient(exc: BaseException) -> bool:
    """Whether an error is worth retrying later: no answer, 408, 425, 429, or a 5xx but 501."""
    if isinstance(exc, TransportError):
        return True
    if isinstance(exc, APIError):
        status = exc.status
        return status in (408, 425, 429) or (status >= 500 and status not in NOT_OFFERED)
    return False


_COMPARED: Final = (
    "progress",
    "message",
    "result",
    "error",
    "name",
    "priority",
    "started_at",
    "completed_at",
)


def is_newer(last: Job | None, job: Job) -> bool:
    """Whether ``job`` is a change after ``last`` (the de-duplication rule of every transport).

    With versions on both, only a greater version is. Without, a different status is, and so is
    any field the new state sets to another value; ``updated_at`` never counts (APIs fill it with
    "now") and a field the new state leaves empty is taken as "not reported", not as a change
    (stream events of some APIs carry only a few fields).
    """
    if last is None:
        return True
    version = job.version
    seen = last.version
    if version is not None and seen is not None:
        return version > seen
    if job.status is not last.status:
        return True
    for name in _COMPARED:
        value = getattr(job, name)
        if value is not None and value != getattr(last, name):
            return True
    return False


class Backoff:
    """Jittered exponential delays for one run of failures, and the budget of that run.

    Args:
        base: The first delay's upper bound in seconds; it doubles with each failure.
        cap: The largest upper bound.
        budget: Seconds a run of failures may last before :meth:`exhausted` is true.
    """

    __slots__ = ("_base", "_budget", "_cap", "_since", "failures")

    def __init__(self, *, base: float, cap: float, budget: float) -> None:
        self._base = base
        self._cap = cap
        self._budget = budget
        self._since: float | None = None
        self.failures = 0

    def reset(self) -> None:
        """Something worked: the next failure starts a new run."""
        self.failures = 0
        self._since = None

    def delay(self, hint: float | None = None) -> float:
        """Count a failure and return how long to wait before the next attempt.

        Args:
            hint: The server's preferred first delay (an SSE ``retry:``), in seconds.

        Returns:
            A random delay in the upper half of ``min(cap, first * 2 ** (failures - 1))``.
        """
        if self._since is None:
            self._since = time.monotonic()
        self.failures += 1
        first = self._base if hint is None else hint
        bound = min(max(self._cap, first), first * 2.0 ** min(self.failures - 1, 32))
        return random.uniform(bound / 2, bound)

    def exhausted(self) -> bool:
        """Whether the current run of failures has lasted longer than the budget."""
        return self._since is not None and time.monotonic() - self._since >= self._budget


def _json_loads() -> Callable[[str], Any]:
    """``orjson.loads`` when the ``fast`` extra is installed (with ``json.loads`` for what it
    refuses: NaN, integers past 64 bits), else ``json.loads``."""
    try:
        fast = importlib.import_module("orjson")
    except ImportError:
        return _std_loads()
    fast_loads = fast.loads
    refused = fast.JSONDecodeError
    slow_loads = json.loads

    def loads(data: str) -> Any:
        try:
            return fast_loads(data)
        except refused:
            return slow_loads(data)

    return loads


def _std_loads() -> Callable[[str], Any]:
    """``json.loads`` for event data, minus its wrapping: the decoder's ``raw_decode`` first,
    whose result is ``json.loads``'s whenever it parsed the whole text; anything else (leading
    or trailing whitespace, trailing garbage, a BOM, invalid JSON) goes to ``json.loads`` itself,
    so what is returned or raised never differs. It spares ~0.8 us an event (a third of it)."""
    raw_decode = json.JSONDecoder().raw_decode
    slow_loads = json.loads

    def loads(data: str) -> Any:
        try:
            value, end = raw_decode(data)
        except ValueError:
            return slow_loads(data)
        if end == len(data):
            return value
        return slow_loads(data)

    return loads


_loads: Final = _json_loads()

EventParser = Callable[[str, Job | None], Job | None]
"""Turns an event's data (and the job's last state) into a Job, or None to skip the event."""


def event_parser(profile: Profile) -> tuple[EventParser, bool]:
    """How to read the events of ``profile``'s streams.

    Returns:
        The parser, and whether it is the profile's own ``parse_event`` hook (which may raise
        :class:`ProtocolError` to say "this stream cannot serve the job"). The default parser
        is ``profile.parse_job(json.loads(data))`` (``orjson.loads`` when installed) and skips
        (logs) events that are not valid JSON or not a job, never raising.
    """
    hook = getattr(profile, "parse_event", None)
    if hook is not None:
        custom: EventParser = hook
        return custom, True
    parse_job = profile.parse_job
    if type(profile).parse_job is Profile.parse_job:
        parse_job = job_from_native  # what it calls, minus a call per event
    loads = _loads

    def parse(data: str, previous: Job | None) -> Job | None:
        try:
            return parse_job(loads(data))
        except (ValueError, ProtocolError) as exc:
            logger.warning("skipping a stream event that is not a job (%s): %.120r", exc, data)
            return None

    return parse, False


class EventStream:
    """One resumable Server-Sent Events subscription.

    Connections come and go (:meth:`connect`, :meth:`close`); the decoder and its last event id
    carry over, so each reconnect resumes with ``Last-Event-ID``. A connection that stays silent
    past the stall limit while :meth:`read` waits on it is dropped: the limit is
    ``max(TUNING.stall_floor, TUNING.stall_heartbeats * the heartbeat interval seen)``, the
    interval being the silence before the server's last ``: ping``. One watchdog timer per
    connection keeps that clock (a timeout around every read would cost a timer per chunk).

    With ``coalesce`` (seconds), a busy connection (its last two reads that brought events came
    less than two windows apart) is not read again until ``coalesce`` after the last such read:
    reading is paused at the transport meanwhile, so what arrives piles up in the socket and
    one wake-up decodes it all. A quiet connection is read as soon as data comes.

    Args:
        http: The client's request pipeline.
        coalesce: The longest a busy connection's data may wait to be read (0: never waits).
    """

    __slots__ = (
        "_busy",
        "_coalesce",
        "_content",
        "_events_at",
        "_heartbeat",
        "_http",
        "_last_chunk",
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
        "opened_at",
        "received",
    )

    def __init__(self, http: HTTPClient, *, coalesce: float = 0.0) -> None:
        self._http = http
        self._coalesce = coalesce
        self._busy = False
        self._events_at = -math.inf  # loop time of the last read that completed events
        self.decoder = SSEDecoder()
        self._stack: AsyncExitStack | None = None
        self._response: aiohttp.ClientResponse | None = None
        self._content: aiohttp.StreamReader | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._waiting_since: float | None = None  # loop time a read began waiting, if it is
        self._stalled = False
        self._where = ""
        self._heartbeat = 0.0
        self._last_chunk = 0.0
        self._sent: str | None = None
        self.connections = 0
        """How many connections succeeded so far."""
        self.opened_at = 0.0
        """``time.monotonic()`` when the last connection opened."""
        self.received = 0
        """Events received on the last connection."""
        self.closed_by_server = False
        """Whether the last connection ended with a clean end of stream (not a break or a
        stall): the server thinks it sent everything asked for."""

    @property
    def connected(self) -> bool:
        """Whether a connection is open."""
        return self._content is not None

    @property
    def resume_id(self) -> str | None:
        """Where a reconnect resumes: the id of the last event received on the last connection,
        or, when none came, the ``Last-Event-ID`` that connection was opened with."""
        if self.received:
            return self.decoder.last_event_id or None
        return self._sent

    def stall_limit(self) -> float:
        """Seconds of silence after which the connection counts as dead."""
        return max(TUNING.stall_floor, TUNING.stall_heartbeats * self._heartbeat)

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
            self._http.stream(
                operation, path_params=path_params, params=params, json=json, headers=headers
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
        self._stalled = False
        self._busy = False
        self._events_at = -math.inf
        self._waiting_since = None
        self._last_chunk = loop.time()
        self._watchdog = loop.call_at(self._last_chunk + self.stall_limit(), self._check_stall)
        self.connections += 1
        self.received = 0
        self.closed_by_server = False
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
        """Wait for the next chunk and return the events it completed (often none).

        Returns:
            The events, or None when the connection ended: closed by the server, broken, or
            silent past the stall limit. It is closed then; resuming is the caller's call.

        Raises:
            ProtocolError: an event larger than the decoder accepts.
        """
        content = self._content
        if content is None:
            return None
        loop = asyncio.get_running_loop()
        if self._busy:
            pause = self._events_at + self._coalesce - loop.time()
            if pause > 0:
                await self._gather(pause)
        self._waiting_since = loop.time()
        try:
            chunk = await content.readany()
        except aiohttp.ClientError as exc:
            if self._stalled:
                logger.warning(
                    "SSE stream %s silent for %.1f s (stall limit); reconnecting",
                    self._where,
                    self.stall_limit(),
                )
            else:
                error = translate_error(exc, method="read", path=self._where)
                logger.info("SSE stream %s broke (%s); resuming", self._where, error)
            await self.close()
            return None
        finally:
            self._waiting_since = None
        if not chunk:
            logger.debug("SSE stream %s closed by the server", self._where)
            self.closed_by_server = not self._stalled
            await self.close()
            return None
        now = loop.time()
        events = self.decoder.feed(chunk)
        if events:
            self.received += len(events)
            # Busy: events read twice within two windows (so a steady flow, read once a
            # window, stays busy); a ping or a lone event does not make a stream busy.
            self._busy = now - self._events_at < 2 * self._coalesce
            self._events_at = now
        else:
            # A chunk without events is a ping (or the retry: field, or part of an event): the
            # silence before it is at least the server's heartbeat interval.
            self._heartbeat = min(max(self._heartbeat, now - self._last_chunk), _HEARTBEAT_CAP)
        self._last_chunk = now
        return events

    async def _gather(self, seconds: float) -> None:
        """Let a busy connection's data pile up, unread, until its coalescing window ends."""
        response = self._response
        connection = None if response is None else response.connection
        transport = None if connection is None else connection.transport
        # Not where reading is off already: aiohttp pauses a transport itself when its buffer is
        # full (there is data to read then), and resuming it here would override that.
        if transport is None or transport.is_closing():
            return
        try:
            if not transport.is_reading():
                return
            transport.pause_reading()
        except (NotImplementedError, RuntimeError):  # a transport without flow control
            return
        try:
            await asyncio.sleep(seconds)
        finally:
            if not transport.is_closing():
                transport.resume_reading()

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
        self.decoder.close()
        await stack.aclose()


class Expired(Exception):
    """The watch's own deadline passed."""


async def within(deadline: float | None, awaitable: Awaitable[_T]) -> _T:
    """Await ``awaitable`` by ``deadline`` (event loop time; None: no limit).

    Raises:
        Expired: the deadline passed (told apart from any TimeoutError the awaitable raises).
    """
    if deadline is None:
        return await awaitable
    scope = asyncio.timeout_at(deadline)
    try:
        async with scope:
            return await awaitable
    except TimeoutError:
        if scope.expired():
            raise Expired from None
        raise


def check_transport(transport: object) -> str:
    """Validate a ``transport=`` argument.

    Raises:
        ValueError: not one of ``"auto"``, ``"sse"``, ``"long-poll"``, ``"poll"``.
    """
    if not isinstance(transport, str) or transport not in _TRANSPORTS:
        raise ValueError(
            f"transport must be 'auto', 'sse', 'long-poll' or 'poll', got {transport!r}"
        )
    return transport


def check_seconds(name: str, value: object, *, zero: bool) -> float | None:
    """Validate a ``timeout=`` or ``poll_interval=`` argument (None allowed).

    Raises:
        TypeError: not a number.
        ValueError: negative (or zero when ``zero`` is false), or not finite.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds or None, got {value!r}")
    seconds = float(value)
    if not (seconds >= 0 if zero else seconds > 0) or seconds == float("inf"):
        bound = ">= 0" if zero else "> 0"
        raise ValueError(
            f"{name} must be a finite number of seconds {bound} or None, got {value!r}"
        )
    return seconds


def timeout_error(job_id: str, timeout: float | None, job: Job | None) -> JobTimeoutError:
    """The :class:`JobTimeoutError` of a watch or wait on one job."""
    status = "never read" if job is None else f"last status {job.status.value}"
    return JobTimeoutError(
        f"job {job_id!r} did not finish within {timeout:g} s ({status})",
        job_id=job_id,
        timeout=timeout,
        job=job,
    )
