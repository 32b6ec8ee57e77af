""":func:`follow`: many jobs through the client's hub (``watch_jobs``, ``as_completed``, see
:mod:`._waiting`), each job's current state then each change, until every job has ended. One
:class:`Inbox` listener queues the states for the one consumer, with one timer for the whole
follow.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Callable

from asyncjobs._models import TERMINAL, Job

from ._entry import Failed
from ._hub import Hub

__all__ = ["Inbox", "follow"]


class Inbox:
    """A listener that queues states (only final ones, for as_completed) for one consumer."""

    __slots__ = ("_final_only", "_waiter", "expired", "items")

    def __init__(self, *, final_only: bool) -> None:
        self.items: deque[Job | Failed] = deque()
        self._final_only = final_only
        self._waiter: asyncio.Future[None] | None = None
        self.expired = False
        """Whether the consumer's deadline passed (set by its one timer, see :func:`follow`)."""

    def on_job(self, job: Job) -> None:
        if self._final_only and job.status not in TERMINAL:
            return
        self.items.append(job)
        waiter = self._waiter  # _wake(), inlined: this runs for every update
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def on_jobs(self, jobs: list[Job]) -> None:
        if self._final_only:
            self.items.extend(job for job in jobs if job.status in TERMINAL)
        else:
            self.items.extend(jobs)
        waiter = self._waiter
        if waiter is not None and self.items and not waiter.done():
            waiter.set_result(None)

    def on_error(self, job_id: str, error: BaseException) -> None:
        self.items.append(Failed(job_id, error))
        self._wake()

    def expire(self) -> None:
        """The consumer's deadline passed: wake it if it waits."""
        self.expired = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


async def follow(
    hub: Hub,
    job_ids: list[str],
    *,
    timeout: float | None,  # noqa: ASYNC109 (one timer for the whole follow, see below)
    final_only: bool,
    expired: Callable[[list[str], Job | None], BaseException],
) -> AsyncGenerator[Job, None]:
    """Follow distinct jobs through the hub: each job's current state, then each change (only
    final states with ``final_only``), until every job has ended.

    The many-job methods return this generator itself (no wrapper generator per item: each
    layer costs every update an extra resumption).

    Args:
        hub: The client's hub.
        job_ids: The jobs, distinct.
        timeout: Seconds from the first iteration to give up after, or None.
        final_only: Yield only final states.
        expired: Makes the error raised when ``timeout`` passes first, from the jobs not
            finished (in the order given) and the last state seen of the first of them.

    Raises:
        BaseException: what ``expired`` made, once the timeout passed.
        JobNotFoundError, PermissionDeniedError, APIError, TransportError: a job cannot be
            followed.
    """
    if not job_ids:
        return
    inbox = Inbox(final_only=final_only)
    items = inbox.items
    remaining = set(job_ids)
    hub.subscribe(job_ids, inbox)
    # One timer for the whole follow, rather than a timeout scope (and its timer) around each
    # wait: the consumer waits once per batch of states, which is often.
    loop = asyncio.get_running_loop()
    timer = None if timeout is None else loop.call_at(loop.time() + timeout, inbox.expire)
    try:
        while remaining:
            if not items:
                # A state that arrived with the deadline is still delivered: only an empty
                # inbox past the deadline ends the follow.
                if inbox.expired:
                    pending = [job_id for job_id in job_ids if job_id in remaining]
                    raise expired(pending, hub.current(pending[0]))
                # Waited on here rather than in a method of the inbox: a coroutine less per wait.
                waiter = inbox._waiter = loop.create_future()
                try:
                    await waiter
                finally:
                    inbox._waiter = None
                continue
            item = items.popleft()
            if isinstance(item, Failed):
                raise item.error
            if item.status in TERMINAL:
                remaining.discard(item.id)
            yield item
    finally:
        if timer is not None:
            timer.cancel()
        hub.unsubscribe(job_ids, inbox)
