"""Change fan-out: who hears of a change to a job, without scanning every listener.

The :class:`~asyncjobs.server.JobStore` calls :class:`Fanout` inside each change. Subscribers (SSE
streams, shapes) are indexed by the job ids they follow and by the scope (an owner, or
:data:`~asyncjobs.server.EVERYONE`) they follow; long-poll waiters are indexed by job id. A change
reaches exactly the subscribers of that job id, of its owner and of everyone, and wakes that job's
waiters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from ._snapshot import EVERYONE, Scope, Snapshot, Subscriber

__all__ = ["Fanout"]


class Fanout:
    """The subscribers and long-poll waiters of one store, indexed by job id and by scope."""

    def __init__(self) -> None:
        self._by_job: dict[str, set[Subscriber]] = {}
        self._by_owner: dict[Scope, set[Subscriber]] = {}
        self._subscriptions: dict[Subscriber, tuple[tuple[str, ...], Scope | None]] = {}
        self._waiters: dict[str, set[asyncio.Future[Snapshot | None]]] = {}

    # -- telling -------------------------------------------------------------------------------

    def publish(self, snapshot: Snapshot) -> None:
        """Deliver a new version to its subscribers and wake its long-poll waiters."""
        job_id = snapshot.job.id
        subscribers = self._by_job.get(job_id)
        if subscribers:
            for subscriber in tuple(subscribers):
                subscriber.deliver(snapshot)
        subscribers = self._by_owner.get(snapshot.owner)
        if subscribers:
            for subscriber in tuple(subscribers):
                subscriber.deliver(snapshot)
        subscribers = self._by_owner.get(EVERYONE)
        if subscribers:
            for subscriber in tuple(subscribers):
                subscriber.deliver(snapshot)
        if job_id in self._waiters:
            self.wake(job_id, snapshot)

    def deleted(self, snapshot: Snapshot) -> None:
        """Tell the subscribers of a deleted job (its last version) and wake its waiters."""
        job_id = snapshot.job_id
        subscribers: list[Subscriber] = [*self._by_job.get(job_id, ())]
        subscribers += self._by_owner.get(snapshot.owner, ())
        subscribers += self._by_owner.get(EVERYONE, ())
        for subscriber in subscribers:
            subscriber.job_deleted(job_id)
        self.wake(job_id, None)

    # -- subscribers ---------------------------------------------------------------------------

    def subscribe(
        self, subscriber: Subscriber, job_ids: Iterable[str], scope: Scope | None
    ) -> None:
        """Index ``subscriber`` under ``job_ids`` and ``scope`` (see ``JobStore.subscribe``,
        which has the defaults).

        Raises:
            ValueError: ``subscriber`` is already subscribed.
        """
        if subscriber in self._subscriptions:
            raise ValueError("already subscribed; unsubscribe first")
        ids = tuple(job_ids)
        for job_id in ids:
            self._by_job.setdefault(job_id, set()).add(subscriber)
        if scope is not None:
            self._by_owner.setdefault(scope, set()).add(subscriber)
        self._subscriptions[subscriber] = (ids, scope)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Remove ``subscriber`` from every index (idempotent)."""
        entry = self._subscriptions.pop(subscriber, None)
        if entry is None:
            return
        ids, scope = entry
        for job_id in ids:
            subscribers = self._by_job.get(job_id)
            if subscribers is not None:
                subscribers.discard(subscriber)
                if not subscribers:
                    del self._by_job[job_id]
        if scope is not None:
            subscribers = self._by_owner.get(scope)
            if subscribers is not None:
                subscribers.discard(subscriber)
                if not subscribers:
                    del self._by_owner[scope]

    @property
    def subscriber_count(self) -> int:
        """How many subscribers are registered."""
        return len(self._subscriptions)

    # -- long-poll waiters ---------------------------------------------------------------------

    async def wait(self, job_id: str, seconds: float) -> Snapshot | None:
        """Wait for the job's next change, at most ``seconds``.

        Returns:
            The new version; None when the job is deleted meanwhile.

        Raises:
            TimeoutError: nothing changed within ``seconds``.
        """
        future: asyncio.Future[Snapshot | None] = asyncio.get_running_loop().create_future()
        waiters = self._waiters.setdefault(job_id, set())
        waiters.add(future)
        try:
            async with asyncio.timeout(seconds):
                return await future
        finally:
            waiters.discard(future)
            if not waiters and self._waiters.get(job_id) is waiters:
                del self._waiters[job_id]

    def wake(self, job_id: str, snapshot: Snapshot | None) -> None:
        """Answer every waiter of ``job_id`` with ``snapshot``."""
        waiters = self._waiters.pop(job_id, None)
        if waiters:
            for future in waiters:
                if not future.done():
                    future.set_result(snapshot)

    def wake_all(self, current: Callable[[str], Snapshot | None]) -> None:
        """Answer every waiter now with ``current(job_id)``."""
        for job_id in list(self._waiters):
            self.wake(job_id, current(job_id))

    @property
    def waiter_count(self) -> int:
        """How many long polls are waiting."""
        return sum(len(waiters) for waiters in self._waiters.values())
