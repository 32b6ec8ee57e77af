"""The hub: one client's shared subscriptions, behind every wait and every many-job watch.

Waiters subscribe *listeners* to job ids; the hub keeps one entry per job id (its last state and
its listeners, so several waiters on one job share one subscription) and feeds every entry from
as few connections as the API allows:

- a *multiplexed SSE stream* (``events_many``, or ``events_many_post`` for long id lists): jobs
  subscribed together join one new stream, whose snapshots on connect are their first states.
  New streams open at most once per ``TUNING.reopen_interval`` on average (jobs subscribed
  meanwhile wait for the next one; a few open at once after a quiet spell), and up to
  ``TUNING.max_streams``: once that many are open, the two
  smallest neighbours are folded into one (it reconnects with both id sets), so a slot stays
  free for the next batch and each id is sent again about log(batches) times, not at every
  join. Only where no stream can be folded do new jobs join an open one: they are read first
  (batched), and it reconnects with the larger id set. 10,000 jobs waited at once cost one
  request and one connection (which stream takes which jobs, and the folds:
  :mod:`._stream_slots`);
- where the server offers no such stream: *batched polling* (``get_many`` in batches, one loop
  for all jobs of the client, adaptive interval), or for a job waited on alone, a
  :class:`~._follower.JobFollower` (per-job SSE or long poll) while there are only a few of those.

A refused stream (404, 403, not an event stream) makes the hub read the jobs: unknown ids fail
with the read's own error (JobNotFoundError, PermissionDeniedError) and the stream is retried
without them; if every job exists, the server has no multiplexed streams, which the client then
remembers (in ``JobAPI.unoffered``). An entry leaves when its job ends (its listeners have the
final state) or when its last listener unsubscribes; a feed whose last entry left stops, so no
task outlives the waits that needed it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Coroutine, Iterable, Sequence
from typing import Any, TypeVar

from asyncjobs._api import JobAPI
from asyncjobs._models import TERMINAL, Job, supersedes
from asyncjobs._tuning import TUNING

from ._entry import Entry, Feed, Listener, note_transport, waiter_error
from ._events import EventParser, event_parser
from ._multi import MultiStream
from ._poller import Poller, SingleFeed
from ._stream_slots import StreamSlots

__all__ = ["Entry", "Feed", "Hub", "Listener"]

logger = logging.getLogger("asyncjobs")

_T = TypeVar("_T")


class Hub:
    """One client's shared subscriptions (see the module docstring).

    Args:
        api: The client's job operations; the client closes the hub with itself.
    """

    def __init__(self, api: JobAPI) -> None:
        self.api = api
        self._entries: dict[str, Entry] = {}
        self._pending: list[Entry] = []
        self._flush_scheduled = False
        self._streams: list[MultiStream] = []  # oldest first
        self.slots = StreamSlots(self, self._streams)
        """Which multiplexed stream carries which new jobs, and the folds of streams."""
        self.watermark = 0
        """The greatest numeric event id seen on any multiplexed stream (see :meth:`saw`)."""
        self._poller: Poller | None = None
        self._singles: set[SingleFeed] = set()
        self.closed = False
        """Whether :meth:`aclose` has begun."""
        self._background: set[asyncio.Task[Any]] = set()
        self._reparse: EventParser | None = None  # see last()

    def __repr__(self) -> str:
        return (
            f"<Hub jobs={len(self._entries)} streams={len(self._streams)} "
            f"polling={self._poller is not None} single={len(self._singles)}>"
        )

    # -- waiters ---------------------------------------------------------------------------

    def subscribe(self, job_ids: Iterable[str], listener: Listener) -> None:
        """Follow ``job_ids`` (distinct) for ``listener``.

        A job already followed gives the listener its last state at once. New ones are handed
        to a feed at the next event-loop iteration, together with every other job subscribed
        in this one; their first state is the stream's snapshot (or a batched read).

        Raises:
            RuntimeError: the client is closed.
        """
        if self.closed or self.api.http.closed:
            raise RuntimeError("Client is closed: create a new Client to wait for jobs")
        entries = self._entries
        pending = self._pending
        for job_id in job_ids:
            entry = entries.get(job_id)
            if entry is None:
                entry = entries[job_id] = Entry(job_id, listener)
                pending.append(entry)
            else:
                entry.add(listener)
                last = self.last(entry)
                if last is not None:
                    listener.on_job(last)
        if pending and not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def unsubscribe(self, job_ids: Iterable[str], listener: Listener) -> None:
        """Stop following ``job_ids`` for ``listener``; a job nobody follows any more is
        dropped, and a feed left without jobs stops (idempotent)."""
        entries = self._entries
        for job_id in job_ids:
            entry = entries.get(job_id)
            if entry is None:
                continue
            if entry.remove(listener) and entry.listener is None:
                self._release(entry, finished=False)

    def current(self, job_id: str) -> Job | None:
        """The last state seen of a followed job, or None."""
        entry = self._entries.get(job_id)
        return None if entry is None else self.last(entry)

    def last(self, entry: Entry) -> Job | None:
        """``entry``'s last state as a Job (read again from its event's text if kept as one;
        it is not kept as a Job then, so a late joiner costs a parse, not the memory)."""
        state = entry.state
        if isinstance(state, str):
            reparse = self._reparse
            if reparse is None:
                reparse = self._reparse = event_parser(self.api.profile)[0]
            return reparse(state, None)
        return state

    # -- feeds -----------------------------------------------------------------------------

    def deliver(self, job: Job) -> bool:
        """A feed read ``job``: pass it on if it is a change (or, at the same version, tells
        another state than the one passed on: see :func:`supersedes`). Returns whether it was
        passed on. A feed that read several jobs at once hands them to :meth:`deliver_many`."""
        return self.deliver_many((job,)) > 0

    def deliver_many(self, jobs: Sequence[Job], texts: Sequence[str] | None = None) -> int:
        """A feed read ``jobs`` (in the order read): :meth:`deliver` each, but each listener is
        handed everything of the read that concerns it in one call (:meth:`Listener.on_jobs`),
        so its consumer wakes once per read, not once per state. Returns how many were passed
        on.

        ``texts``, where given, are the stream events' texts the jobs were parsed from (with
        the profile's default parser), one per job: the entries keep those as their last
        state, not the Jobs (see :class:`Entry`)."""
        entries = self._entries
        batches: dict[Listener, list[Job]] = {}
        passed = 0
        kept: Iterable[str | None] = itertools.repeat(None) if texts is None else texts
        for job, text in zip(jobs, kept, strict=False):
            entry = entries.get(job.id)
            if entry is None:
                continue
            state = entry.state
            version = job.version
            if state is not None:
                # supersedes(), its common case inline (the one place the hub applies the
                # change rule; it runs for every event): versions that differ decide alone.
                seen = entry.version
                if version is None or seen is None or version == seen:
                    if state == text or not supersedes(self.last(entry), job):
                        continue
                elif version < seen:
                    continue
            entry.state = job if text is None else text
            entry.version = version
            passed += 1
            listener = entry.listener
            if listener is not None:
                batch = batches.get(listener)
                if batch is None:
                    batches[listener] = [job]
                else:
                    batch.append(job)
                if entry.more is not None:
                    for other in entry.more:
                        batch = batches.get(other)
                        if batch is None:
                            batches[other] = [job]
                        else:
                            batch.append(job)
            if job.status in TERMINAL:
                self._release(entry, finished=True)
        for listener, batch in batches.items():
            listener.on_jobs(batch)
        return passed

    def fail(self, job_id: str, error: BaseException) -> None:
        """The job cannot be followed: tell its listeners and drop it."""
        entry = self._entries.get(job_id)
        if entry is None:
            return
        self._release(entry, finished=True)
        for listener in entry.listeners:
            listener.on_error(job_id, error)

    def _release(self, entry: Entry, *, finished: bool) -> None:
        if self._entries.get(entry.id) is entry:
            del self._entries[entry.id]
        feed, entry.feed = entry.feed, None
        if feed is not None:
            feed.discard(entry, finished)

    def _flush(self) -> None:
        self._flush_scheduled = False
        entries = self._entries
        batch = [entry for entry in self._pending if entries.get(entry.id) is entry]
        self._pending = []
        if batch and not self.closed:
            try:
                self.slots.assign(batch)
            except Exception as exc:  # runs as a loop callback: nobody else would see it
                logger.exception("following %d jobs failed", len(batch))
                for entry in batch:
                    self.fail(entry.id, waiter_error(exc))

    def saw(self, event_id: str) -> None:
        """A multiplexed stream read events up to ``event_id``: the server's versions have
        reached it (the floor of the next stream opened without ``Last-Event-ID``)."""
        if event_id.isdigit() and event_id.isascii():
            seen = int(event_id)
            if seen > self.watermark:
                self.watermark = seen

    def fallback(self, batch: list[Entry]) -> None:
        """Follow ``batch`` without a multiplexed stream."""
        if (
            len(batch) == 1
            and len(self._singles) < min(TUNING.max_single_feeds, self.api.http.connections.budget)
            and (self.api.can_follow("sse") or self.api.can_follow("long-poll"))
        ):
            self._singles.add(SingleFeed(self, batch[0]))
            return
        if self._poller is None:
            self._poller = Poller(self)
        note_transport(self.api.http.hooks, "chosen", "poll-batched", [e.id for e in batch])
        self._poller.add(batch)

    def poller_stopped(self, poller: Poller) -> None:
        """The polling loop has no jobs left."""
        if self._poller is poller:
            self._poller = None

    def single_stopped(self, single: SingleFeed) -> None:
        """A job followed on its own has ended or lost its waiters."""
        self._singles.discard(single)

    # -- closing ---------------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, _T]) -> asyncio.Task[_T]:
        """Run ``work`` (e.g. the cancels of a wait's jobs) in a task the client tracks until it
        ends: :meth:`aclose` waits for it, bounded by ``TUNING.close_grace``."""
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def aclose(self) -> None:
        """Stop every feed and fail every waiter still waiting (the client is closing); let
        background work finish first, within ``TUNING.close_grace``."""
        background = list(self._background)
        if background:
            _, late = await asyncio.wait(background, timeout=TUNING.close_grace)
            for unfinished in late:
                logger.error("closing the client: %r did not end in time; stopped", unfinished)
                unfinished.cancel()
            if late:
                await asyncio.wait(late)
        self.closed = True
        feeds: list[Feed] = [*self._singles]
        if self._poller is not None:
            feeds.append(self._poller)
        tasks = [task for feed in feeds if (task := feed.task()) is not None]
        tasks.extend(task for stream in self._streams for task in stream.tasks())
        error = RuntimeError("the client was closed while waiting for jobs")
        for job_id in list(self._entries):
            self.fail(job_id, error)
        self._pending = []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
