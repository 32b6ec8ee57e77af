"""What keeps a multiplexed stream's jobs whole across its connections
(:class:`~._multi.MultiStream`): the reads of the jobs that joined it (before it resumes from
its own last event id), of all its jobs (after the server closed it early, or a garbled event),
and of the jobs of a refused stream (to tell "no such job" from "no such streams"); and the
point a fold of two streams resumes from.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from asyncjobs._exceptions import APIError, ProtocolError, TransportError
from asyncjobs._transport import EventStream, NotOffered

from ._entry import note_transport, retries

if TYPE_CHECKING:
    from ._multi import MultiStream

__all__ = ["MULTIPLEXED", "admit", "confirm", "covered", "earlier", "refused"]

logger = logging.getLogger("asyncjobs")

MULTIPLEXED = "events_many"
"""The operation remembered in ``JobAPI.unoffered`` when the server has no multiplexed streams."""


async def admit(stream: MultiStream) -> None:
    """Read the jobs that joined, pass their states on, and note where to resume from."""
    batch = stream._unread[:]
    ids = [entry.id for entry in batch if stream.entries.get(entry.id) is entry]
    hub = stream._hub
    try:
        jobs, errors = await stream._api.read_many(ids, confirm_missing=True)
    except (APIError, TransportError, ProtocolError) as exc:
        if not retries(exc, stream._backoff):
            del stream._unread[: len(batch)]
            for job_id in ids:
                hub.fail(job_id, exc)
            return
        logger.info("reading %d jobs: %s; retrying", len(ids), exc)
        await asyncio.sleep(stream._backoff.delay())
        return
    del stream._unread[: len(batch)]
    hub.deliver_many(jobs)
    for job_id, error in errors.items():
        hub.fail(job_id, error)
    for entry in batch:
        if stream.entries.get(entry.id) is entry and (entry.state is None or entry.version is None):
            stream._resend_all = True  # an API without versions: resume with every snapshot


async def confirm(stream: MultiStream) -> None:
    """Read all the stream's jobs and pass their states on (a failed read that may be retried
    is left to the reconnect, which resumes them anyway)."""
    hub = stream._hub
    try:
        jobs, errors = await stream._api.read_many(list(stream.entries), confirm_missing=True)
    except (APIError, TransportError, ProtocolError) as exc:
        if not retries(exc, stream._backoff):
            raise
        logger.info("confirming %d jobs after the stream closed: %s", len(stream.entries), exc)
        return  # the reconnect resumes them anyway
    hub.deliver_many(jobs)
    for job_id, error in errors.items():
        hub.fail(job_id, error)


async def refused(stream: MultiStream, reason: NotOffered, error: APIError | None) -> None:
    """The stream was refused: some jobs gone or not ours, or no such streams at all?

    The jobs are read to tell (a 404 or non-stream answer is "not offered" only once the
    jobs are known to exist): the ones that fail are dropped and the stream is tried again
    without them; if none fails, a 403 is raised and anything else means "not offered".
    """
    hub = stream._hub
    jobs, errors = await stream._api.read_many(list(stream.entries), confirm_missing=True)
    hub.deliver_many(jobs)
    for job_id, failure in errors.items():
        hub.fail(job_id, failure)
    if errors or not stream.entries:
        return
    if error is not None and error.status == 403:
        raise error
    if reason.remember:
        hub.api.unoffered.add(MULTIPLEXED)
    batch = list(stream.entries.values())
    note_transport(hub.api.http.hooks, "dropped", "sse-multiplexed", stream.entries, str(reason))
    stream.entries.clear()
    stream._unread.clear()
    stream.stop()
    for entry in batch:
        entry.feed = None
    hub.fallback(batch)


def covered(stream: EventStream, floor: int | None) -> str | None:
    """Where a stream's jobs can resume from: its resume point, or its floor where that is
    later (see :meth:`~._multi.MultiStream._floor_if_complete`), unless an event was pinned."""
    point = stream.resume_id
    if (
        floor is not None
        and point is not None
        and not stream.pinned
        and point.isascii()
        and point.isdigit()
        and int(point) < floor
    ):
        return str(floor)
    return point


def earlier(one: str | None, other: str | None) -> str | None:
    """The earlier of two resume points (event ids that are versions), or None (from the
    snapshots) where either is None or they do not compare as numbers."""
    if one is None or other is None:
        return None
    if one == other:
        return one
    if one.isascii() and one.isdigit() and other.isascii() and other.isdigit():
        return one if int(one) <= int(other) else other
    return None
