"""``watch()``: one job's current state, then one :class:`Job` per change, until it ends.

With ``transport="auto"`` and adaptive polling a watch is one more subscription of the client's
hub, so thousands of watches on distinct jobs share the hub's few multiplexed streams (or its
batched polling), and watches of the same job share one subscription. An explicit transport or
``poll_interval`` is the caller asking for that transport: the job is then followed on its own.

:func:`follow` is the same for many jobs (``watch_jobs``, ``as_completed``, see :mod:`._waiting`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Callable

from asyncjobs._models import TERMINAL, Job

from ._deadline import Expired, timeout_error, within
from ._hub import Hub
from ._single import JobFollower

__all__ = ["Inbox", "follow", "watch"]


class _Failed:
    __slots__ = ("error", "job_id")

    def __init__(self, job_id: str, error: BaseException) -> None:
        self.job_id = job_id
        self.error = error


class Inbox:
    """A listener that queues states (only final ones, for as_completed) for one consumer."""

    __slots__ = ("_final_only", "_waiter", "expired", "items")

    def __init__(self, *, final_only: bool) -> None:
        self.items: deque[Job | _Failed] = deque()
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
        self.items.append(_Failed(job_id, error))
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
            if isinstance(item, _Failed):
                raise item.error
            if item.status in TERMINAL:
                remaining.discard(item.id)
            yield item
    finally:
        if timer is not None:
            timer.cancel()
        hub.unsubscribe(job_ids, inbox)


def watch(
    hub: Hub,
    job_id: str,
    *,
    transport: str,
    timeout: float | None,
    poll_interval: float | None,
) -> AsyncGenerator[Job, None]:
    """Follow one job (arguments already checked; see :meth:`Client.watch`).

    Raises:
        UnsupportedOperationError: an explicit transport the API lacks (raised at once).
    """
    if transport == "auto" and poll_interval is None:
        return _watch_shared(hub, job_id, timeout)
    # Built first: an explicit transport the API lacks raises before anything is read.
    follower = JobFollower(
        hub.api, job_id, transport=transport, poll_interval=poll_interval, last=None
    )
    return _watch_alone(hub, follower, job_id, timeout)


class _Viewer:
    """The hub's listener for one ``watch()``: the states its consumer has not taken yet, the
    oldest in ``first`` and any others (rare: the consumer is slower than the job) in ``more``,
    a queue made only when needed (thousands of watches wait at once: an object less each)."""

    __slots__ = ("expired", "first", "more", "waiter")

    def __init__(self) -> None:
        self.first: Job | _Failed | None = None
        self.more: deque[Job | _Failed] | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.expired = False

    def on_job(self, job: Job) -> None:
        self._put(job)

    def on_jobs(self, jobs: list[Job]) -> None:
        if len(jobs) == 1:  # the common case: one state of its one job per read
            self._put(jobs[0])
            return
        items: list[Job | _Failed] = list(jobs)
        if self.first is None:
            self.first = items.pop(0)
        if items:
            if self.more is None:
                self.more = deque(items)
            else:
                self.more.extend(items)
        self._wake()

    def on_error(self, job_id: str, error: BaseException) -> None:
        self._put(_Failed(job_id, error))

    def expire(self) -> None:
        self.expired = True
        self._wake()

    def _put(self, item: Job | _Failed) -> None:
        if self.first is None:
            self.first = item
        elif self.more is None:
            self.more = deque((item,))
        else:
            self.more.append(item)
        self._wake()

    def take(self) -> Job | _Failed | None:
        """The oldest state not taken yet (or the error ending the watch), or None."""
        item = self.first
        more = self.more
        self.first = more.popleft() if more else None
        return item

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


async def _watch_shared(
    hub: Hub,
    job_id: str,
    timeout: float | None,  # noqa: ASYNC109 (one timer for the whole watch)
) -> AsyncGenerator[Job, None]:
    """One job through the hub: its current state, then each change, until it ends.

    :func:`follow` for one job, without what many jobs need (the set of jobs not ended, the
    list of ids, a queue): thousands of watches are thousands of these, alive at once.
    """
    viewer = _Viewer()
    hub.subscribe((job_id,), viewer)
    loop = asyncio.get_running_loop()
    timer = None if timeout is None else loop.call_at(loop.time() + timeout, viewer.expire)
    try:
        while True:
            item = viewer.take()
            if item is None:
                # A state that arrived with the deadline is still delivered: only an empty
                # viewer past the deadline ends the watch.
                if viewer.expired:
                    raise timeout_error(job_id, timeout, hub.current(job_id))
                waiter = viewer.waiter = loop.create_future()
                try:
                    await waiter
                finally:
                    viewer.waiter = None
                continue
            if isinstance(item, _Failed):
                raise item.error
            yield item
            if item.status in TERMINAL:
                return
    finally:
        if timer is not None:
            timer.cancel()
        hub.unsubscribe((job_id,), viewer)


async def _watch_alone(
    hub: Hub,
    follower: JobFollower,
    job_id: str,
    timeout: float | None,  # noqa: ASYNC109
) -> AsyncGenerator[Job, None]:
    """The job's current state from a plain read (so a 404 is JobNotFoundError), then the
    follower's changes; the follower's stream is closed however the iteration ends."""
    deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
    last: Job | None = None
    try:
        last = follower.last = await within(deadline, hub.api.get(job_id))
        yield last
        if last.is_terminal:
            return
        while True:
            for job in await within(deadline, follower.next(deadline)):
                last = job
                yield job
                if job.is_terminal:
                    return
    except Expired:
        raise timeout_error(job_id, timeout, last) from None
    finally:
        await follower.aclose()
