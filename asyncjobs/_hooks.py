"""Event hooks: what the client tells your code about its requests, retries, reconnects and
transports (:class:`Hooks` and its events), and how it calls your code (:class:`HookRunner`).

The hooks see the client from outside, like httpx's ``event_hooks``, but they can never steer or
stall it: each event is handed to its hooks in a task of its own, started at once, so the
request (or the stream) goes on without waiting for them. A hook that raises is logged (with
its traceback, on the ``asyncjobs`` logger) and the next one still runs; the request never
sees the error. Hooks fire per request and per stream connection, never per SSE event.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Final, TypeAlias, TypeVar

import attrs

__all__ = [
    "Hook",
    "HookRunner",
    "Hooks",
    "ReconnectEvent",
    "RequestEvent",
    "ResponseEvent",
    "RetryEvent",
    "TransportEvent",
]

logger = logging.getLogger("asyncjobs")

_E = TypeVar("_E")

Hook: TypeAlias = Callable[[_E], Awaitable[None] | None]
"""A hook: an async callable taking one event (a plain function works too; it runs in the
event loop, so it must be quick)."""

MAX_PENDING: Final = 1000
"""The most hook tasks of one client running at once; events past that are dropped (logged),
so hooks that cannot keep up cost memory in bounds, never a stalled client."""

CLOSE_GRACE: Final = 1.0
"""Seconds ``Client.close()`` lets hook tasks still running finish before cancelling them."""


@attrs.frozen(kw_only=True)
class RequestEvent:
    """A request is about to be sent (each attempt of it: retries fire again).

    Attributes:
        method: The HTTP method.
        path: The path under the client's base URL, e.g. ``/jobs/7``.
        route: The profile's template of that path, e.g. ``/jobs/{job_id}`` (few distinct
            values: what to group metrics or name spans by).
        url: The full URL, query included.
        operation: The profile operation, e.g. ``"get"``, ``"submit"``, ``"events_many"``.
        attempt: 1 for the first attempt, 2 for the first retry...
        long_lived: An event stream or a long poll (its "response" comes with the headers,
            or when the server answers the poll).
    """

    method: str
    path: str
    route: str
    url: str
    operation: str
    attempt: int
    long_lived: bool = False


@attrs.frozen(kw_only=True)
class ResponseEvent:
    """An attempt ended: with an answer (``status``), or without one (``error``).

    Attributes:
        method, path, route, url, operation, attempt, long_lived: As in
            :class:`RequestEvent`.
        status: The HTTP status, or None when no answer came.
        error: Why no answer came (a :class:`~asyncjobs.TransportError`, or a
            :class:`~asyncjobs.ProtocolError` for a broken one), else None. An error status
            is not an error here: the status says it.
        started_at: When the attempt began (seconds since the epoch, ``time.time()``).
        elapsed: Seconds from then until the answer's body was read (for an event stream,
            until its headers came).
    """

    method: str
    path: str
    route: str
    url: str
    operation: str
    attempt: int
    status: int | None
    error: Exception | None = None
    started_at: float
    elapsed: float
    long_lived: bool = False


@attrs.frozen(kw_only=True)
class RetryEvent:
    """A request failed in a way worth repeating and will be sent again after ``delay``.

    Attributes:
        method, path, operation: As in :class:`RequestEvent`.
        attempt: The attempt that failed (the next one is ``attempt + 1``).
        attempts: The most attempts the retry policy allows.
        delay: Seconds until the next attempt (the server's ``Retry-After`` when it sent one).
        reason: Why, in words: ``"503"`` or the error's message.
        status: The status that is retried, or None for no answer.
        error: The error that is retried (no answer), or None.
    """

    method: str
    path: str
    operation: str
    attempt: int
    attempts: int
    delay: float
    reason: str
    status: int | None = None
    error: Exception | None = None


@attrs.frozen(kw_only=True)
class ReconnectEvent:
    """An event stream will be opened again after ``delay``: it ended before its jobs did
    (closed early, broke, or stalled), or the last attempt to open it failed.

    A multiplexed stream reopened on purpose (to carry jobs that joined it, or to shed jobs
    nobody waits for any more) is no reconnect; its request shows in ``on_request``.

    Attributes:
        stream: ``"multiplexed"`` (the client's shared stream of many jobs) or ``"job"`` (one
            job's own stream).
        job_ids: The jobs the stream carries.
        reason: Why, in words, e.g. ``"stalled: silent for 45.0 s"``, ``"closed by the
            server"``, ``"broke: ..."``, or the error of the failed attempt.
        resume_id: The ``Last-Event-ID`` the reconnect will send (None: from the start).
        delay: Seconds until the reconnect (jittered backoff, or the server's ``retry:``).
        attempt: Reconnects in a row without a healthy connection in between, from 1.
    """

    stream: str
    job_ids: tuple[str, ...]
    reason: str
    resume_id: str | None
    delay: float
    attempt: int


@attrs.frozen(kw_only=True)
class TransportEvent:
    """The client chose a transport to follow jobs with, or dropped one it found unusable.

    Transports: ``"sse"``, ``"long-poll"`` and ``"poll"`` follow one job alone;
    ``"sse-multiplexed"`` (one stream for many jobs) and ``"poll-batched"`` (batched reads)
    are the shared feeds of waits and auto watches.

    Attributes:
        action: ``"chosen"`` or ``"dropped"`` (the next choice follows as its own event).
        transport: The transport.
        job_ids: The jobs concerned.
        reason: Why it was dropped (what the server answered), or None for a choice.
    """

    action: str
    transport: str
    job_ids: tuple[str, ...]
    reason: str | None = None


def _as_tuple(field: str, value: Iterable[Hook[_E]]) -> tuple[Hook[_E], ...]:
    if callable(value):
        raise TypeError(f"Hooks.{field} takes a list of callables, got one callable: [{value!r}]")
    hooks = tuple(value)
    for hook in hooks:
        if not callable(hook):
            raise TypeError(f"Hooks.{field}: {hook!r} is not callable")
    return hooks


@attrs.frozen(init=False)
class Hooks:
    """Your callables, called on what the client does (pass ``Client(..., hooks=Hooks(...))``).

    ::

        async def log_response(event: ResponseEvent) -> None:
            print(event.method, event.path, event.status, f"{event.elapsed * 1000:.0f} ms")

        async with Client(url, hooks=Hooks(on_response=[log_response])) as client: ...

    Each list holds async callables taking the event (plain functions work too, and must be
    quick). Every event is handed to its hooks in a task of its own, started at once and in the
    order of the events; the hooks of one event run one after another, in list order, and the
    client never waits for them. So a hook cannot slow a request down or stall a stream, and
    an exception in a hook is logged on the ``asyncjobs`` logger (ERROR, with the traceback)
    and goes no further. The task runs in a copy of the context of the code that caused the
    event, so context variables (e.g. OpenTelemetry's current span) are the caller's. At most
    ``MAX_PENDING`` (1000) hook tasks run at once per client; events past that are dropped,
    with a warning. ``Client.close()`` gives hook tasks still running 1 s to end, then
    cancels them.

    Hooks fire per request and per stream connection, never per SSE event.

    Attributes:
        on_request: Each attempt of each request, streams and long polls included, before it
            is sent (:class:`RequestEvent`).
        on_response: Each attempt's end, with its status or its error (:class:`ResponseEvent`).
        on_retry: Each retry of a request, before its delay (:class:`RetryEvent`).
        on_reconnect: Each reconnect of an event stream, before its delay
            (:class:`ReconnectEvent`).
        on_transport: Each transport chosen or dropped (:class:`TransportEvent`).
    """

    on_request: tuple[Hook[RequestEvent], ...]
    on_response: tuple[Hook[ResponseEvent], ...]
    on_retry: tuple[Hook[RetryEvent], ...]
    on_reconnect: tuple[Hook[ReconnectEvent], ...]
    on_transport: tuple[Hook[TransportEvent], ...]

    def __init__(
        self,
        *,
        on_request: Iterable[Hook[RequestEvent]] = (),
        on_response: Iterable[Hook[ResponseEvent]] = (),
        on_retry: Iterable[Hook[RetryEvent]] = (),
        on_reconnect: Iterable[Hook[ReconnectEvent]] = (),
        on_transport: Iterable[Hook[TransportEvent]] = (),
    ) -> None:
        """Take each kind's callables (any iterable, kept as a tuple).

        Raises:
            TypeError: one callable where a list is expected, or an item that is not callable.
        """
        self.__attrs_init__(
            on_request=_as_tuple("on_request", on_request),
            on_response=_as_tuple("on_response", on_response),
            on_retry=_as_tuple("on_retry", on_retry),
            on_reconnect=_as_tuple("on_reconnect", on_reconnect),
            on_transport=_as_tuple("on_transport", on_transport),
        )


class HookRunner:
    """Calls one client's :class:`Hooks` (see its docstring for the guarantees).

    The call sites test the tuple of a kind before building an event, so a client without
    hooks pays one truth test per request::

        if hooks.request:
            hooks.emit(hooks.request, RequestEvent(...))
    """

    __slots__ = (
        "_closed",
        "_dropping",
        "_tasks",
        "dropped",
        "reconnect",
        "request",
        "response",
        "retry",
        "transport",
    )

    def __init__(self, hooks: Hooks | None) -> None:
        hooks = hooks or Hooks()
        self.request = hooks.on_request
        self.response = hooks.on_response
        self.retry = hooks.on_retry
        self.reconnect = hooks.on_reconnect
        self.transport = hooks.on_transport
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._dropping = False
        self.dropped = 0
        """Events dropped because ``MAX_PENDING`` hook tasks were running."""

    def emit(self, hooks: tuple[Hook[_E], ...], event: _E) -> None:
        """Hand ``event`` to ``hooks`` in a task of its own (nothing after :meth:`aclose`)."""
        if not hooks or self._closed:
            return
        if len(self._tasks) >= MAX_PENDING:
            self.dropped += 1
            if not self._dropping:
                self._dropping = True
                logger.warning(
                    "%d hook calls are still running: dropping %s and later events until they "
                    "catch up (hooks must not hold on to an event)",
                    len(self._tasks),
                    type(event).__name__,
                )
            return
        self._dropping = False
        # create_task copies the current context: the hooks see the caller's context variables.
        task = asyncio.get_running_loop().create_task(_call(hooks, event), name="asyncjobs hook")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self, grace: float = CLOSE_GRACE) -> None:
        """Let running hook tasks end within ``grace`` seconds, then cancel them (idempotent)."""
        self._closed = True
        tasks = list(self._tasks)
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=grace)
        for task in late:
            task.cancel()
        if late:
            logger.warning("closing the client: %d hook calls did not end in time", len(late))
            await asyncio.wait(late)


async def _call(hooks: tuple[Hook[_E], ...], event: _E) -> None:
    for hook in hooks:
        try:
            result = hook(event)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("hook %s failed on %r", getattr(hook, "__qualname__", hook), event)
