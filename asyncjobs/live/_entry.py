"""What the hub and its feeds share: a followed job (:class:`Entry`), and the protocols of a
waiter (:class:`Listener`) and of a feed (:class:`Feed`)."""

from __future__ import annotations

import asyncio
from typing import Protocol

from asyncjobs._models import Job

__all__ = ["Entry", "Feed", "Listener", "stop_task"]


class Listener(Protocol):
    """What the hub tells a waiter. Both calls are synchronous and must not call the hub."""

    def on_job(self, job: Job) -> None:
        """A new state of a subscribed job (the current one first; never the same twice)."""

    def on_error(self, job_id: str, error: BaseException) -> None:
        """The job cannot be followed (e.g. not found, or the server failed past the budget)."""


class Feed(Protocol):
    """What the hub needs of a feed."""

    def discard(self, entry: Entry, finished: bool) -> None: ...

    def task(self) -> asyncio.Task[None] | None: ...


class Entry:
    """One followed job: its last state, its listeners, and the feed following it."""

    __slots__ = ("feed", "id", "job", "listeners")

    def __init__(self, job_id: str) -> None:
        self.id = job_id
        self.job: Job | None = None
        self.listeners: list[Listener] = []
        self.feed: Feed | None = None


def stop_task(task: asyncio.Task[None] | None) -> None:
    """Cancel a feed's task, unless it is the one calling (it then ends by itself)."""
    if task is not None and task is not asyncio.current_task():
        task.cancel()
