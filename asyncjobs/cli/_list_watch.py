"""``list --watch``: the listed jobs, kept up to date as they change, until ``--timeout``.

Two sources keep the view current, both bounded by ``--limit``:

- a live watch per listed job that has not ended (``client.watch``): the client's hub carries
  them all over its shared multiplexed stream(s), so a change shows at once;
- the list read again every ``--interval`` seconds (one request for up to 100 jobs), for jobs
  that are new, or that entered or left the ``--status`` filter; watches of jobs no longer
  listed are stopped.

Each change is shown like ``watch`` and ``wait`` show them: bars on a terminal, else a line per
change, or a JSON object per new state with ``--json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable

from asyncjobs import AsyncJobsError, Client, Job

from ._base import EXIT_OK, UsageError
from ._format import Tally, format_seconds
from ._views import make_view

__all__ = ["MAX_WATCHED", "list_watch"]

MAX_WATCHED = 1000
"""The most jobs ``list --watch`` follows (its ``--limit``)."""


def _state(job: Job) -> Hashable:
    """What makes a new state worth showing (the version, where the API has one)."""
    if job.version is not None:
        return job.version
    return (job.status, job.progress, job.message, repr(job.result), job.error)


def _label(job: Job) -> str:
    return f"{job.name} {job.id}" if job.name else job.id


class _Listing:
    """The jobs shown, newest first, and the watches that keep the unfinished ones current."""

    def __init__(self, client: Client, args: argparse.Namespace) -> None:
        self._client = client
        self._status: str | None = args.status
        self._limit: int = args.limit
        self.jobs: dict[str, Job] = {}
        self._seen: dict[str, Hashable] = {}
        self._watches: dict[str, asyncio.Task[None]] = {}
        self.changes: asyncio.Queue[Job | AsyncJobsError] = asyncio.Queue()

    async def read(self) -> list[Job]:
        """Read the list again; the jobs that are new or changed since last seen."""
        listed = [
            job async for job in self._client.list_jobs(status=self._status, limit=self._limit)
        ]
        self.jobs = {job.id: job for job in listed}
        for job_id in [job_id for job_id in self._watches if job_id not in self.jobs]:
            self._watches.pop(job_id).cancel()
        for job in listed:
            if not job.is_terminal and job.id not in self._watches:
                self._watches[job.id] = asyncio.create_task(self._watch(job.id))
        return [job for job in listed if self.seen(job)]

    def seen(self, job: Job) -> bool:
        """Record the job's state; whether it is new (not shown yet)."""
        state = _state(job)
        if self._seen.get(job.id) == state:
            return False
        self._seen[job.id] = state
        if job.id in self.jobs:
            self.jobs[job.id] = job
        return True

    async def _watch(self, job_id: str) -> None:
        try:
            async with contextlib.aclosing(self._client.watch(job_id)) as updates:
                async for job in updates:
                    self.changes.put_nowait(job)
        except AsyncJobsError as exc:
            # A job deleted meanwhile is no error of the listing: the next read drops it.
            self.changes.put_nowait(exc)

    async def changes_until(self, until: float) -> AsyncIterator[Job]:
        """The new states of listed jobs that the watches bring, until the loop time ``until``."""
        loop = asyncio.get_running_loop()
        while (left := until - loop.time()) > 0:
            # asyncio.timeout, not wait_for: on Python 3.11, wait_for loses a cancellation
            # (Ctrl-C) that arrives as the queue hands over an item, and the command runs on.
            try:
                async with asyncio.timeout(left):
                    change = await self.changes.get()
            except TimeoutError:
                return
            if isinstance(change, Job) and change.id in self.jobs and self.seen(change):
                yield change

    async def close(self) -> None:
        """Stop every watch and wait for them."""
        watches = list(self._watches.values())
        self._watches.clear()
        for task in watches:
            task.cancel()
        await asyncio.gather(*watches, return_exceptions=True)


async def list_watch(client: Client, args: argparse.Namespace) -> int:
    """``list --watch``: show the listed jobs and every change until ``--timeout`` (exit 0)."""
    if not 1 <= args.limit <= MAX_WATCHED:
        raise UsageError(
            f"--watch follows at most {MAX_WATCHED} jobs: give --limit 1..{MAX_WATCHED}, "
            f"got {args.limit}"
        )
    loop = asyncio.get_running_loop()
    deadline = None if args.timeout is None else loop.time() + args.timeout
    listing = _Listing(client, args)
    filtered = f"status {args.status}, " if args.status else ""
    title = f"jobs ({filtered}newest {args.limit}), read every {format_seconds(args.interval)}"
    view = make_view(
        json_lines=args.json,
        plain=args.plain,
        force_terminal=args.force_terminal,
        label=_label,
        title=title,
        tally=lambda: Tally.of(listing.jobs.values(), f"{len(listing.jobs)} listed"),
    )
    try:
        with view:
            while True:
                for job in await listing.read():
                    view.update(job)
                until = loop.time() + args.interval
                if deadline is not None:
                    until = min(until, deadline)
                async for job in listing.changes_until(until):
                    view.update(job)
                if deadline is not None and loop.time() >= deadline:
                    return EXIT_OK
    finally:
        await listing.close()
