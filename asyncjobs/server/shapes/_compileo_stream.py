"""The compileo API's job stream, quirks included (used by :mod:`._compileo`).

What the real stream does, and this one too:

- ``data:`` lines only: no ``id:``, no ``event:``, no ``retry:``, no heartbeat comments;
- the first event is a snapshot ``{job_id, status, progress, current_step, timestamp}``, later
  ones are sent only when the status word, the progress or ``completed_at or created_at`` change
  (a new step message alone is not sent);
- the JSON is built with f-strings, so a step holding ``"`` makes an invalid event;
- the stream ends only after a change that leaves the job terminal: a job already terminal when
  the stream opens gets its snapshot and then a stream that never ends;
- an unknown or deleted job gets ``data: {"error": "Job <id> not found"}`` (with status 200).

It is an :class:`~asyncjobs.server.EventStream` so that the server's stream hooks (cut, stall,
counts) apply to it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable

from aiohttp import web

from asyncjobs.server._snapshot import Snapshot
from asyncjobs.server._sse import EventStream, StreamHub
from asyncjobs.server._store import JobStore

__all__ = ["CompileoStream"]

_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "Connection": "keep-alive",
    "Access-Control-Allow-Origin": "*",
}


def error_event(message: str) -> bytes:
    """The stream's error event (f-string built, as the API does)."""
    return f'data: {{"error": "{message}"}}\n\n'.encode()


class CompileoStream(EventStream):
    """One open compileo stream of one job.

    Args:
        hub: The server's stream hub.
        job_id: The job followed.
        encode: The event of a job version.
        change_key: What must differ between two versions for the second to be sent.
    """

    def __init__(
        self,
        hub: StreamHub,
        job_id: str,
        *,
        encode: Callable[[Snapshot], bytes],
        change_key: Callable[[Snapshot], Hashable],
    ) -> None:
        super().__init__(hub, encode=encode)
        self._job_id = job_id
        self._change_key = change_key
        self._deleted = False

    def deliver(self, snapshot: Snapshot) -> None:
        """Queue a change of the job."""
        self._pending.append(snapshot)
        self._wake.set()

    def job_deleted(self, job_id: str) -> None:
        """The job was deleted: the stream sends its error event and ends."""
        self._deleted = True
        self._wake.set()

    async def serve_job(self, request: web.Request, store: JobStore) -> web.StreamResponse:
        """Stream the job until a change leaves it terminal (or the client leaves)."""
        hub = self._hub
        store.subscribe(self, job_ids=[self._job_id])
        hub._streams.add(self)
        hub.streams_opened += 1
        try:
            self._transport = request.transport
            response = web.StreamResponse(headers=_HEADERS)
            await response.prepare(request)
            snapshot = store.get(self._job_id)
            if snapshot is None:
                await self._send(response, [error_event(f"Job {self._job_id} not found")])
                return response
            last = self._change_key(snapshot)
            if not await self._send(response, [self._encode(snapshot)]):
                return response
            while not self._done:
                if hub.stalled or not (self._pending or self._deleted):
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                batch, self._pending = self._pending, []
                events: list[bytes] = []
                for snapshot in batch:
                    key = self._change_key(snapshot)
                    if key == last:
                        continue
                    last = key
                    events.append(self._encode(snapshot))
                    if snapshot.is_terminal:
                        self._done = True
                        break
                if self._deleted and not self._done:
                    events.append(error_event(f"Job {self._job_id} not found"))
                    self._done = True
                if events and not await self._send(response, events):
                    return response
            if not self._cut:
                with contextlib.suppress(ConnectionError):
                    await response.write_eof()
            return response
        finally:
            hub._streams.discard(self)
            store.unsubscribe(self)

    async def _send(self, response: web.StreamResponse, events: list[bytes]) -> bool:
        """Write events (honouring the hub's cut budget); False once the connection is gone."""
        count, cut = self._hub._take_budget(len(events))
        self._hub.events_sent += count
        ok = await self._write(response, b"".join(events[:count]))
        if cut:
            self._hub.cut_all()
            return False
        return ok
