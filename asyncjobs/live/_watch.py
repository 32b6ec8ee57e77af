"""``watch()``: one job's current state, then one :class:`Job` per change, until it ends.

With ``transport="auto"`` and adaptive polling a watch is one more subscription of the client's
hub, so thousands of watches on distinct jobs share the hub's few multiplexed streams (or its
batched polling), and watches of the same job share one subscription. An explicit transport or
``poll_interval`` is the caller asking for that transport: the job is then followed on its own.

:func:`~._follow_many.follow` is the same for many jobs (``watch_jobs``, ``as_completed``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Awaitable
from typing import Any

from asyncjobs._models import TERMINAL, Job

from ._deadline import Expired, timeout_error, within
from ._entry import Failed
from ._follower import JobFollower
from ._hub import Hub

__all__ = ["watch"]

_Future = asyncio.Future  # made directly: loop.create_future() is a Python call more per update


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
        return _Watch(hub, job_id, timeout)
    # Built first: an explicit transport the API lacks raises before anything is read.
    follower = JobFollower(
        hub.api, job_id, transport=transport, poll_interval=poll_interval, last=None
    )
    return _watch_alone(hub, follower, job_id, timeout)


class _Viewer:
    """The hub's listener for one shared ``watch()``, and its state: the states its consumer
    has not taken yet (the oldest in ``first``, any others, rare, in ``more``, a queue made
    only when needed), the future its consumer waits on, and its timer.

    A state that arrives while the consumer waits is handed straight to its future (the
    future's result *is* the next item: no queue, no second wake-up); one that arrives
    while the consumer is busy is kept until it asks. The hub holds this object, the
    consumer holds the :class:`_Watch` around it: an abandoned watch is noticed when the
    :class:`_Watch` goes away (see :meth:`_Watch.__del__`).
    """

    __slots__ = (
        "closed",
        "ended",
        "expired",
        "first",
        "hub",
        "job_id",
        "loop",
        "more",
        "timeout",
        "timer",
        "waiter",
    )

    def __init__(self, hub: Hub, job_id: str, timeout: float | None) -> None:
        self.hub = hub
        self.job_id = job_id
        self.timeout = timeout
        self.loop: asyncio.AbstractEventLoop | None = None  # set when the watch starts
        self.timer: asyncio.TimerHandle | None = None
        self.first: Job | Failed | None = None
        self.more: deque[Job | Failed] | None = None
        self.waiter: asyncio.Future[Job] | None = None
        self.ended = False
        """Whether the last item is in (a terminal state or an error): once the consumer has
        taken everything, the watch is over."""
        self.expired = False
        self.closed = False

    def on_job(self, job: Job) -> None:
        self.on_jobs([job])

    def on_jobs(self, jobs: list[Job]) -> None:
        # Runs for every update of every watch: kept flat.
        for job in jobs:
            if job.status in TERMINAL:
                self.ended = True
            waiter = self.waiter
            if waiter is not None:
                self.waiter = None
                if not waiter.done():  # else its consumer was cancelled: keep the state
                    waiter.set_result(job)
                    continue
            if self.first is None:
                self.first = job
            elif self.more is None:
                self.more = deque((job,))
            else:
                self.more.append(job)

    def on_error(self, job_id: str, error: BaseException) -> None:
        # The hub has dropped the job already.
        self.ended = True
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_exception(error)
                return
        failed = Failed(job_id, error)
        if self.first is None:
            self.first = failed
        elif self.more is None:
            self.more = deque((failed,))
        else:
            self.more.append(failed)

    def expire(self) -> None:
        """The watch's timer: the deadline passed. A state that arrived with the deadline is
        still delivered: only an empty viewer past the deadline ends the watch."""
        self.timer = None
        self.expired = True
        waiter = self.waiter
        if waiter is not None and not self.ended:
            self.waiter = None
            if not waiter.done():
                waiter.set_exception(self.timeout_error())
            self.close()

    def timeout_error(self) -> BaseException:
        self.ended = True
        return timeout_error(self.job_id, self.timeout, self.hub.current(self.job_id))

    def close(self) -> None:
        """Stop following the job (idempotent); a consumer still waiting is cancelled."""
        if self.closed:
            return
        self.closed = self.ended = True
        self.first = self.more = None
        timer = self.timer
        if timer is not None:
            self.timer = None
            timer.cancel()
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            waiter.cancel()
        self.hub.unsubscribe((self.job_id,), self)


class _Watch(AsyncGenerator[Job, None]):
    """``watch()`` of one job through the hub: its current state, then each change, until it
    ends. Thousands of these are alive at once, each consumed by a task of its own, so an
    update costs its consumer no more than asyncio's own wake-up: :meth:`__anext__` returns
    the future the next state is handed to (or, when one is kept already, a future that is
    done), with no generator layer and no per-update timer work.

    ``aclose()``, the terminal state, an error and the timeout unsubscribe at once; the
    consumer's ``break`` or the end of a cancelled task (the watch goes away with its frame)
    at the next loop turn, without a task.
    """

    __slots__ = ("_started", "_viewer")

    def __init__(self, hub: Hub, job_id: str, timeout: float | None) -> None:
        self._viewer = _Viewer(hub, job_id, timeout)
        self._started = False

    def __aiter__(self) -> _Watch:
        return self

    # A future, not a coroutine (what typeshed declares): any awaitable does for ``async for``.
    # Errors and the end go through the future too: ``anext(watch, default)`` crashes
    # CPython 3.11 when ``__anext__`` itself raises.
    def __anext__(self) -> Awaitable[Job]:  # type: ignore[override]
        viewer = self._viewer
        item = viewer.first
        future: asyncio.Future[Job]
        if item is None:
            if not self._started:
                return self._start()
            future = _Future(loop=viewer.loop)
            if viewer.ended:
                viewer.close()
                future.set_exception(StopAsyncIteration())
            elif viewer.expired:
                future.set_exception(viewer.timeout_error())
                viewer.close()
            else:
                viewer.waiter = future
            return future
        more = viewer.more
        viewer.first = more.popleft() if more else None
        future = _Future(loop=viewer.loop)
        if isinstance(item, Failed):
            viewer.close()
            future.set_exception(item.error)
        else:
            future.set_result(item)
        return future

    def _start(self) -> Awaitable[Job]:
        self._started = True
        viewer = self._viewer
        loop = viewer.loop = asyncio.get_running_loop()
        if viewer.ended:  # closed before it started
            viewer.closed = True
            ended: asyncio.Future[Job] = _Future(loop=loop)
            ended.set_exception(StopAsyncIteration())
            return ended
        try:
            viewer.hub.subscribe((viewer.job_id,), viewer)
        except Exception as exc:  # the client is closed
            viewer.closed = viewer.ended = True
            failed: asyncio.Future[Job] = _Future(loop=loop)
            failed.set_exception(exc)
            return failed
        if viewer.timeout is not None:
            viewer.timer = loop.call_at(loop.time() + viewer.timeout, viewer.expire)
        return self.__anext__()

    def asend(self, value: None) -> Awaitable[Job]:  # type: ignore[override]
        return self.__anext__()

    async def athrow(self, typ: Any, val: Any = None, tb: Any = None) -> Job:
        """As a generator's: the watch ends, raising the exception given."""
        await self.aclose()
        if val is None:
            raise typ
        raise val.with_traceback(tb) if tb is not None else val

    async def aclose(self) -> None:
        if self._started:
            self._viewer.close()
        else:
            self._viewer.ended = True

    def __del__(self) -> None:
        # Abandoned (a ``break``, a cancelled consumer): stop following at the next loop turn,
        # from the loop's thread. Never here and now: a collection may run this in the middle
        # of the hub's own work, or in another thread.
        viewer = self._viewer
        if viewer.closed or not self._started:
            return
        loop = viewer.loop
        if loop is None or loop.is_closed():
            return
        # call_soon_threadsafe from any thread, the loop's own included: a finalizer cannot
        # tell cheaply which thread it runs in, and the wake-up it may add is harmless.
        loop.call_soon_threadsafe(viewer.close)


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
