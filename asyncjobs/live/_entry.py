"""What the hub and its feeds share: a followed job (:class:`Entry`), and the protocols of a
waiter (:class:`Listener`) and of a feed (:class:`Feed`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Literal, Protocol

from asyncjobs._exceptions import AsyncJobsError, ProtocolError
from asyncjobs._hooks import HookRunner, ReconnectEvent, TransportEvent
from asyncjobs._models import Job
from asyncjobs._transport import Backoff, is_transient
from asyncjobs._tuning import TUNING

__all__ = [
    "Entry",
    "Failed",
    "Feed",
    "Listener",
    "note_reconnect",
    "note_transport",
    "retries",
    "stop_task",
    "waiter_error",
]

logger = logging.getLogger("asyncjobs")


class Listener(Protocol):
    """What the hub tells a waiter. The calls are synchronous and must not call the hub."""

    def on_job(self, job: Job) -> None:
        """A new state of a subscribed job (the current one first; never the same twice)."""

    def on_jobs(self, jobs: list[Job]) -> None:
        """What one read of a feed brought that concerns this listener, oldest first (as
        :meth:`on_job` for each, waking the consumer once). The list is the listener's own."""

    def on_error(self, job_id: str, error: BaseException) -> None:
        """The job cannot be followed (e.g. not found, or the server failed past the budget)."""


class Failed:
    """A job that cannot be followed (what :meth:`Listener.on_error` was told), as an item
    of a listener's queue for its consumer."""

    __slots__ = ("error", "job_id")

    def __init__(self, job_id: str, error: BaseException) -> None:
        self.job_id = job_id
        self.error = error


class Feed(Protocol):
    """What the hub needs of a feed."""

    def discard(self, entry: Entry, finished: bool) -> None: ...

    def task(self) -> asyncio.Task[None] | None: ...


class Entry:
    """One followed job: its last state, its listeners, and the feed following it.

    The last state (``state``) is kept as the text of the stream event it was read from
    where there is one (a string of ~300 bytes, not a Job of ~2 KB with its ``raw`` dict,
    datetimes and key strings: 100,000 followed jobs cost tens of MB, not hundreds), read
    again by :meth:`Hub.last` in the rare case it is needed (a late joiner, a timeout's
    error); ``version`` is kept beside it, so telling a change from a repeat needs no Job.

    Most jobs have one listener: it sits in ``listener``, and only the others in a list
    (``more``, made for a second listener): thousands of watches are an object less each.
    ``listener`` is None only once the last listener has left.
    """

    __slots__ = ("feed", "id", "listener", "more", "state", "version")

    def __init__(self, job_id: str, listener: Listener) -> None:
        self.id = job_id
        self.state: Job | str | None = None
        """The last state: a Job, the event text it was read from, or None (none yet)."""
        self.version: int | None = None
        """The last state's version (None: none yet, or the API has no versions)."""
        self.listener: Listener | None = listener
        self.more: list[Listener] | None = None
        self.feed: Feed | None = None

    @property
    def listeners(self) -> list[Listener]:
        """Every listener, the first one first (a new list)."""
        first = self.listener
        if first is None:
            return []
        return [first] if self.more is None else [first, *self.more]

    def add(self, listener: Listener) -> None:
        if self.listener is None:
            self.listener = listener
        elif self.more is None:
            self.more = [listener]
        else:
            self.more.append(listener)

    def remove(self, listener: Listener) -> bool:
        """Drop ``listener`` (its first subscription); returns whether it was one."""
        more = self.more
        if self.listener is listener:
            self.listener = more.pop(0) if more else None
        elif more is None:
            return False
        else:
            try:
                more.remove(listener)
            except ValueError:
                return False
        if not more:
            self.more = None
        return True


def stop_task(task: asyncio.Task[None] | None) -> None:
    """Cancel a feed's task, unless it is the one calling (it then ends by itself)."""
    if task is not None and task is not asyncio.current_task():
        task.cancel()


def retries(error: BaseException, backoff: Backoff) -> bool:
    """Whether a feed tries again after ``error`` (else its waiters are given the error).

    Transient errors (no answer, 429, 5xx) are retried within the backoff's budget; a garbled
    answer (:class:`ProtocolError`) a few times only, since one that persists is no network
    hiccup and the waiters should hear of it within seconds, not at the end of the budget.
    """
    if isinstance(error, ProtocolError):
        return backoff.failures < TUNING.protocol_retries
    return is_transient(error) and not backoff.exhausted()


def waiter_error(error: BaseException) -> AsyncJobsError:
    """``error`` as the waiters of a feed that failed receive it: an :class:`AsyncJobsError`
    (anything else, a bug included, is wrapped, the original as its cause), never lost."""
    if isinstance(error, AsyncJobsError):
        return error
    wrapped = AsyncJobsError(f"following the jobs failed unexpectedly: {error!r}")
    wrapped.__cause__ = error
    return wrapped


def note_reconnect(
    hooks: HookRunner,
    *,
    stream: Literal["multiplexed", "job"],
    job_ids: Iterable[str],
    where: str,
    reason: str,
    resume_id: str | None,
    delay: float,
    attempt: int,
) -> None:
    """Log (INFO) and tell the ``on_reconnect`` hooks that a stream will be reopened."""
    logger.info(
        "%s: reconnecting in %.2f s from event id %r (%s; attempt %d)",
        where,
        delay,
        resume_id,
        reason,
        attempt,
    )
    if hooks.reconnect:
        event = ReconnectEvent(
            stream=stream,
            job_ids=tuple(job_ids),
            reason=reason,
            resume_id=resume_id,
            delay=delay,
            attempt=attempt,
        )
        hooks.emit(hooks.reconnect, event)


def note_transport(
    hooks: HookRunner,
    action: Literal["chosen", "dropped"],
    transport: str,
    job_ids: Iterable[str],
    reason: str | None = None,
) -> None:
    """Log (a choice at DEBUG, a drop at INFO) and tell the ``on_transport`` hooks."""
    ids = tuple(job_ids)
    what = f"job {ids[0]!r}" if len(ids) == 1 else f"{len(ids)} jobs"
    if action == "chosen":
        logger.debug("%s: following over %s", what, transport)
    else:
        logger.info("%s: %s not usable (%s); falling back", what, transport, reason)
    if hooks.transport:
        event = TransportEvent(action=action, transport=transport, job_ids=ids, reason=reason)
        hooks.emit(hooks.transport, event)
