"""The test hooks on the network: what arrived, what is open, faults to inject, waiting.

:class:`NetworkHooks` is the part of :class:`~asyncjobs.testing.JobServer` that counts requests,
connections, streams and long polls, injects faults (error answers, dropped connections, cut or
stalled streams, another heartbeat) and waits for a condition. It is a thin, synchronous face on
the server's :class:`~asyncjobs.server.ServerHooks` and :class:`~asyncjobs.server.StreamHub`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from asyncjobs.server import JobService, RecordedRequest, ServerHooks, StreamHub

__all__ = ["NetworkHooks"]


class NetworkHooks:
    """Requests, connections, streams and polls counted; faults injected; conditions awaited (a
    base of :class:`~asyncjobs.testing.JobServer`)."""

    _hooks: ServerHooks
    _streams: StreamHub
    _service: JobService

    # -- requests and connections --------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in arrival order (faulted ones included)."""
        return self._hooks.requests

    def request_count(self, method: str | None = None, path: str | None = None) -> int:
        """How many requests arrived with this method and path.

        Args:
            method: e.g. ``"GET"`` (any case); None: any method.
            path: A path relative to :attr:`url` (``"/jobs"``) or absolute (``"/api/v1/jobs"``),
                with shell-style wildcards (``"/jobs/*/events"``); None: any path.
        """
        return len(self._hooks.matching(method, path))

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        self._hooks.requests.clear()

    @property
    def connections_opened(self) -> int:
        """How many TCP connections the server has accepted so far."""
        return self._hooks.connections_opened

    @property
    def open_connections(self) -> int:
        """How many TCP connections are open now."""
        return self._hooks.open_connections

    @property
    def open_streams(self) -> int:
        """How many SSE responses are streaming now."""
        return self._streams.open_streams

    @property
    def streams_opened(self) -> int:
        """How many SSE streams were opened so far."""
        return self._streams.streams_opened

    @property
    def events_sent(self) -> int:
        """How many job events the SSE streams have written so far (pings not counted)."""
        return self._streams.events_sent

    @property
    def open_polls(self) -> int:
        """How many long polls are waiting now."""
        return self._service.store.waiter_count

    # -- faults --------------------------------------------------------------------------------

    def fail_next(
        self,
        count: int = 1,
        status: int = 503,
        *,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status`` instead of handling them.

        Faults apply before authentication, in the order they were added; a request takes the
        first matching one.

        Args:
            count: How many requests.
            status: The status to answer with (e.g. 503, 429, 500).
            headers: Extra headers, e.g. ``{"Retry-After": "1"}``. A 429 without Retry-After
                gets ``Retry-After: 0``.
            body: The body: bytes or str as is, anything else as JSON; None: the native error
                body.
            method: Only requests with this method (None: any).
            path: Only requests with this path (see :meth:`request_count`).
        """
        self._hooks.add_fault(
            "fail", count, status=status, headers=headers, body=body, method=method, path=path
        )

    def drop_next(
        self,
        count: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        after_handling: bool = False,
    ) -> None:
        """Close the connection of the next ``count`` matching requests without an answer.

        Args:
            count: How many requests.
            method: Only requests with this method (None: any).
            path: Only requests with this path (see :meth:`request_count`).
            after_handling: Handle the request first (a submit creates its job), then drop the
                connection instead of answering: how a test proves a retried submit creates one
                job.

        Note:
            aiohttp's client repeats an idempotent request (GET, HEAD, OPTIONS, PUT, DELETE...)
            once by itself when the server disconnects, before any retry policy of yours sees
            an error: to make such a request fail, drop it twice (``count=2``).
        """
        self._hooks.add_fault(
            "drop_after" if after_handling else "drop", count, method=method, path=path
        )

    def clear_faults(self) -> None:
        """Forget every injected fault not yet applied."""
        self._hooks.clear_faults()

    def cut_streams(self) -> int:
        """Close every open SSE stream's connection mid-stream, with no terminal event.

        Returns:
            How many streams were cut.
        """
        return self._streams.cut_all()

    def cut_streams_after(self, n_events: int) -> None:
        """Cut every open SSE stream once ``n_events`` more job events have been written.

        Events are counted across all streams; a burst is written exactly up to the limit.
        One shot: call again for another cut. ``0`` cuts now.
        """
        self._streams.cut_after(n_events)

    def stall_streams(self) -> None:
        """Make every SSE stream (open or opened later) silent: no events and no pings, but the
        connection stays open. Changes queue up until :meth:`resume_streams`."""
        self._streams.stall()

    def resume_streams(self) -> None:
        """End :meth:`stall_streams`: streams send what queued up, then carry on."""
        self._streams.resume()

    @property
    def heartbeat(self) -> float:
        """The SSE heartbeat interval in seconds."""
        return self._streams.heartbeat

    def set_heartbeat(self, seconds: float) -> None:
        """Change the SSE heartbeat interval, for open streams too."""
        self._streams.set_heartbeat(seconds)

    # -- waiting -------------------------------------------------------------------------------

    async def wait_until(
        self,
        condition: Callable[[], bool],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the condition
        interval: float = 0.005,
    ) -> None:
        """Wait until ``condition()`` is true, e.g. ``lambda: server.open_streams == 1``.

        Raises:
            TimeoutError: it is still false after ``timeout`` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if loop.time() >= deadline:
                raise TimeoutError(f"condition still false after {timeout} s")
            await asyncio.sleep(interval)
