"""The hub's feeds without a multiplexed stream: batched polling of many jobs
(:class:`Poller`), and one job followed on its own (:class:`SingleFeed`)."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING

from asyncjobs._exceptions import APIError, ProtocolError, TransportError
from asyncjobs._tuning import TUNING

from ._entry import Entry, retries, stop_task, waiter_error
from ._follower import JobFollower
from ._single import new_backoff

if TYPE_CHECKING:
    from ._hub import Hub

__all__ = ["Poller", "SingleFeed"]

logger = logging.getLogger("asyncjobs")


class Poller:
    """Batched polling of every job of the client that has no stream."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self.entries: dict[str, Entry] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None
        self._interval = TUNING.poll_start
        self._backoff = new_backoff()

    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def add(self, batch: list[Entry]) -> None:
        for entry in batch:
            entry.feed = self
            self.entries[entry.id] = entry
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        else:
            self._interval = TUNING.poll_start
            wake = self._wake
            if wake is not None and not wake.done():
                wake.set_result(None)  # read the new jobs now

    def discard(self, entry: Entry, finished: bool) -> None:
        self.entries.pop(entry.id, None)
        if not self.entries:
            self._hub.poller_stopped(self)
            task, self._task = self._task, None
            stop_task(task)

    async def _run(self) -> None:
        hub = self._hub
        try:
            while self.entries:
                try:
                    jobs, errors = await hub.api.read_many(list(self.entries), confirm_missing=True)
                except (APIError, TransportError, ProtocolError) as exc:
                    if not retries(exc, self._backoff):
                        self._fail_all(exc)
                        return
                    logger.info("polling %d jobs: %s; retrying", len(self.entries), exc)
                    await self._sleep(self._backoff.delay())
                    continue
                self._backoff.reset()
                changed = hub.deliver_many(jobs) > 0
                for job_id, error in errors.items():
                    hub.fail(job_id, error)
                if changed:
                    self._interval = TUNING.poll_start
                else:
                    self._interval = min(TUNING.poll_cap, self._interval * TUNING.poll_growth)
                if self.entries:
                    await self._sleep(self._interval * random.uniform(0.8, 1.2))
        except Exception as exc:  # a bug must reach the waiters, not die in the task
            logger.exception("polling %d jobs failed", len(self.entries))
            self._fail_all(waiter_error(exc))
        finally:
            if self._task is asyncio.current_task():
                self._task = None
                self._hub.poller_stopped(self)

    def _fail_all(self, error: BaseException) -> None:
        for job_id in list(self.entries):
            self._hub.fail(job_id, error)

    async def _sleep(self, seconds: float) -> None:
        wake = self._wake = asyncio.get_running_loop().create_future()
        scope = asyncio.timeout(seconds)
        try:
            async with scope:
                await wake
        except TimeoutError:
            if not scope.expired():
                raise
        finally:
            self._wake = None


class SingleFeed:
    """One job followed on its own (per-job SSE or long poll), shared by all its waiters."""

    def __init__(self, hub: Hub, entry: Entry) -> None:
        self._hub = hub
        self._entry = entry
        entry.feed = self
        self._task: asyncio.Task[None] | None = asyncio.create_task(self._run())

    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def discard(self, entry: Entry, finished: bool) -> None:
        self._hub.single_stopped(self)
        task, self._task = self._task, None
        stop_task(task)

    async def _run(self) -> None:
        hub = self._hub
        entry = self._entry
        api = hub.api
        follower: JobFollower | None = None
        try:
            if entry.state is None:
                hub.deliver(await api.get(entry.id))
            follower = JobFollower(
                api, entry.id, transport="auto", poll_interval=None, last=hub.last(entry)
            )
            while entry.feed is self:
                hub.deliver_many(await follower.next())
        except Exception as exc:
            if entry.feed is self:
                hub.fail(entry.id, waiter_error(exc))
        finally:
            if follower is not None:
                await follower.aclose()
            hub.single_stopped(self)
