"""Server-Sent Events for the reference server: encoding, and the open streams.

An :class:`EventStream` is one open ``text/event-stream`` response: a store subscriber that queues
each change it is told about and a writer loop that sends everything queued in one write, a
``: ping`` comment after each silent heartbeat interval, and ends after the last requested job's
terminal event (streams of "all my jobs" stay open). A :class:`StreamHub` knows every open stream:
the heartbeat interval, shutdown, and the test hooks (cut, stall) act through it.

Resuming is exact because the stream subscribes first, then takes the snapshots to send, and drops
any queued change whose version is not newer than the store's version at subscription: the
snapshot already covers it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Final

from aiohttp import web

from ._snapshot import Scope, Snapshot
from ._store import JobStore

__all__ = ["PING", "SSE_HEADERS", "EventStream", "StreamHub", "encode_event", "native_event"]

PING: Final = b": ping\n\n"
"""The heartbeat comment."""

SSE_HEADERS: Final = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


def encode_event(
    data: str | bytes, *, event: str | None = None, event_id: str | int | None = None
) -> bytes:
    """Encode one event (a multi-line ``data`` becomes several ``data:`` lines)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    parts: list[bytes] = []
    if event_id is not None:
        parts.append(b"id: %s\n" % str(event_id).encode("utf-8"))
    if event is not None:
        parts.append(b"event: %s\n" % event.encode("utf-8"))
    for line in data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"):
        parts.append(b"data: %s\n" % line)
    parts.append(b"\n")
    return b"".join(parts)


def native_event(snapshot: Snapshot) -> bytes:
    """The native protocol's event for a job version (cached on the snapshot)."""
    return snapshot.sse


class StreamHub:
    """Every open SSE stream of one server, and the settings they share.

    Args:
        heartbeat: Seconds of silence after which a stream sends ``: ping``.
        retry_ms: The ``retry:`` value sent at the start of each stream, in milliseconds.
    """

    def __init__(self, *, heartbeat: float = 15.0, retry_ms: int = 1000) -> None:
        _check_heartbeat(heartbeat)
        self._heartbeat = float(heartbeat)
        self.retry_ms = retry_ms
        self._streams: set[EventStream] = set()
        self._stalled = False
        self._closing = False
        self._cut_budget: int | None = None
        self.streams_opened = 0
        """How many streams were opened so far."""
        self.events_sent = 0
        """How many job events all streams have written so far (pings not counted)."""

    @property
    def heartbeat(self) -> float:
        """Seconds of silence after which a stream sends ``: ping``."""
        return self._heartbeat

    def set_heartbeat(self, seconds: float) -> None:
        """Change the heartbeat interval of every stream, open ones included (from now on)."""
        _check_heartbeat(seconds)
        self._heartbeat = float(seconds)
        self._wake_all()

    @property
    def open_streams(self) -> int:
        """How many streams are open now."""
        return len(self._streams)

    @property
    def stalled(self) -> bool:
        """True while streams are stalled (see :meth:`stall`)."""
        return self._stalled

    @property
    def closing(self) -> bool:
        """True once the server is shutting down."""
        return self._closing

    def stall(self) -> None:
        """Make every stream, open or opened later, silent: no events, no pings, still open."""
        self._stalled = True

    def resume(self) -> None:
        """End a :meth:`stall`: streams send what they queued meanwhile, then carry on."""
        self._stalled = False
        self._wake_all()

    def cut_all(self) -> int:
        """Close the connection of every open stream mid-stream (no terminal event, no end).

        Returns:
            How many streams were cut.
        """
        streams = list(self._streams)
        for stream in streams:
            stream.cut()
        return len(streams)

    def cut_after(self, events: int) -> None:
        """Cut every open stream once ``events`` more job events have been written (in total).

        A stream writing a burst writes exactly up to the limit, then is cut. One shot: the
        next cut needs another call.
        """
        if events < 0:
            raise ValueError(f"events: expected >= 0, got {events}")
        if events == 0:
            self._cut_budget = None
            self.cut_all()
        else:
            self._cut_budget = events

    def close_all(self) -> None:
        """End every stream cleanly (shutdown); streams opened later end at once."""
        self._closing = True
        for stream in list(self._streams):
            stream.finish()

    def _wake_all(self) -> None:
        for stream in self._streams:
            stream.wake()

    def _take_budget(self, wanted: int) -> tuple[int, bool]:
        """How many of ``wanted`` events may be written, and whether to cut after them."""
        budget = self._cut_budget
        if budget is None:
            return wanted, False
        if wanted < budget:
            self._cut_budget = budget - wanted
            return wanted, False
        self._cut_budget = None
        return budget, True


def _check_heartbeat(seconds: float) -> None:
    if not seconds > 0:
        raise ValueError(f"heartbeat: expected seconds > 0, got {seconds!r}")


class EventStream:
    """One open SSE response following some jobs (a :class:`~._store.Subscriber`).

    Args:
        hub: The server's stream hub.
        encode: Turns a job version into the bytes of its event.
    """

    def __init__(
        self, hub: StreamHub, *, encode: Callable[[Snapshot], bytes] = native_event
    ) -> None:
        self._hub = hub
        self._encode = encode
        self._pending: list[Snapshot] = []
        self._wake = asyncio.Event()
        self._floor = 0
        self._remaining: set[str] | None = None
        self._done = False
        self._cut = False
        self._transport: asyncio.BaseTransport | None = None

    # -- Subscriber ----------------------------------------------------------------------------

    def deliver(self, snapshot: Snapshot) -> None:
        """Queue a change (one the initial snapshots already cover is dropped)."""
        if snapshot.version > self._floor:
            self._pending.append(snapshot)
            self._wake.set()

    def job_deleted(self, job_id: str) -> None:
        """A followed job was deleted: stop waiting for its terminal event."""
        if self._remaining is not None and job_id in self._remaining:
            self._remaining.discard(job_id)
            self._wake.set()

    # -- control -------------------------------------------------------------------------------

    def wake(self) -> None:
        """Make the writer look at the hub's settings again."""
        self._wake.set()

    def finish(self) -> None:
        """End the stream cleanly after what is queued."""
        self._done = True
        self._wake.set()

    def cut(self) -> None:
        """Close the connection now, without ending the stream."""
        self._cut = self._done = True
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.close()
        self._wake.set()

    # -- running -------------------------------------------------------------------------------

    async def serve(
        self,
        request: web.Request,
        store: JobStore,
        *,
        snapshots: Callable[[], Iterable[Snapshot]],
        job_ids: Iterable[str] | None = None,
        scope: Scope | None = None,
        last_event_id: int | None = None,
    ) -> web.StreamResponse:
        """Subscribe, send the snapshots, then every later change, until the stream ends.

        Args:
            request: The request being answered.
            store: The store to subscribe to.
            snapshots: Called once subscribed: the current versions of the followed jobs.
            job_ids: Follow these jobs; the stream ends after the last one's terminal event.
            scope: Follow all jobs of this scope, later ones included; the stream stays open.
            last_event_id: Send only snapshots newer than this version.

        Returns:
            The (already written) response.
        """
        hub = self._hub
        if job_ids is not None:
            store.subscribe(self, job_ids=job_ids)
        else:
            store.subscribe(self, scope=scope)
        hub._streams.add(self)
        hub.streams_opened += 1
        try:
            self._floor = store.version
            current = list(snapshots())
            if job_ids is not None:
                self._remaining = {s.job_id for s in current if not s.is_terminal}
            after = -1 if last_event_id is None else last_event_id
            initial = sorted((s for s in current if s.version > after), key=lambda s: s.version)
            self._transport = request.transport
            response = web.StreamResponse(headers=SSE_HEADERS)
            await response.prepare(request)
            if hub.closing:
                self._done = True
            self._pending[:0] = initial
            # The heartbeat is announced in a comment (ignored by SSE clients that do not look
            # for it), so a client can tell a stalled stream from a quiet one before any ping.
            head = b"retry: %d\n: heartbeat %g\n\n" % (hub.retry_ms, hub.heartbeat)
            if await self._run(response, head):
                with contextlib.suppress(ConnectionError):
                    await response.write_eof()
            elif self._cut:
                self.cut()
            return response
        finally:
            hub._streams.discard(self)
            store.unsubscribe(self)

    async def _run(self, response: web.StreamResponse, head: bytes) -> bool:
        """The writer loop; False when the connection was cut or went away."""
        hub = self._hub
        wake = self._wake
        data = head
        while True:
            if not hub.stalled or self._done:
                cut = False
                if self._pending:
                    chunk, cut = self._take()
                    data += chunk
                if data:
                    if not await self._write(response, data):
                        return False
                    data = b""
                    if cut:
                        hub.cut_all()
                        return False
                    continue
            if self._done or (self._remaining is not None and not self._remaining):
                return not self._cut
            wake.clear()
            if self._pending and not hub.stalled:
                continue
            try:
                async with asyncio.timeout(None if hub.stalled else hub.heartbeat):
                    await wake.wait()
            except TimeoutError:
                if not hub.stalled:
                    data += PING

    def _take(self) -> tuple[bytes, bool]:
        """Encode what is queued, up to the terminal event that ends the stream."""
        batch = self._pending
        self._pending = []
        end = len(batch)
        remaining = self._remaining
        if remaining is not None:
            for index, snapshot in enumerate(batch):
                # Only a job still awaited can end the stream: snapshots of jobs that were
                # already terminal at connect are all sent before it closes.
                if snapshot.is_terminal and snapshot.job_id in remaining:
                    remaining.discard(snapshot.job_id)
                    if not remaining:
                        end = index + 1
                        self._done = True
                        break
        count, cut = self._hub._take_budget(end)
        encode = self._encode
        chunks = [encode(snapshot) for snapshot in batch[:count]]
        self._hub.events_sent += count
        return b"".join(chunks), cut

    async def _write(self, response: web.StreamResponse, data: bytes) -> bool:
        if self._cut:
            return False
        try:
            await response.write(data)
        except ConnectionError:
            return False
        return True
