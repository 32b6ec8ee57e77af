"""One multiplexed SSE stream of many jobs (``events_many`` / ``events_many_post``): a feed of
the hub (:mod:`._hub`). New jobs come on a fresh stream of their own (its snapshots are their
first states); the hub folds two streams into one (:meth:`MultiStream.absorb`) to keep their
number bounded, and jobs that join an open stream are read, then carried by its next connection.

A feed passes the states each read brought to :meth:`Hub.deliver_many` (a big read in slices of
``TUNING.events_per_turn``), which drops repeats and tells each listener once per slice; the hub
calls :meth:`MultiStream.discard` when a job leaves, and a stream without jobs stops its task.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Final, Literal

from asyncjobs._exceptions import APIError, ProtocolError, TransportError
from asyncjobs._transport import NOT_OFFERED, EventStream, NotOffered, is_transient
from asyncjobs._tuning import TUNING

from ._entry import Entry, note_reconnect, note_transport, retries, stop_task, waiter_error
from ._events import event_parser
from ._multi_pump import pump
from ._reads import MULTIPLEXED, admit, confirm, covered, earlier, refused
from ._single import new_backoff

if TYPE_CHECKING:
    from ._hub import Hub

__all__ = ["MULTIPLEXED", "TOO_LARGE", "MultiStream"]

TOO_LARGE: Final = frozenset({413, 414})
"""Statuses of a request too large for the server (body, URI): fewer ids per stream then."""

logger = logging.getLogger("asyncjobs")


class MultiStream:
    """One multiplexed SSE stream and the jobs it carries.

    A fresh stream connects without ``Last-Event-ID``: the server's snapshots are the jobs'
    first states. Jobs joining a stream that is past its snapshots are read first (in batches,
    while the stream is closed) and the stream reconnects from its own last event id. Versions
    are server-wide, so a read made after that event reflects every change up to then: what
    the joined jobs do after their read comes on the reconnect, and the stream's other jobs
    resume where they were, without their history being sent again.

    A stream folded into another (:meth:`absorb`) hands it its jobs and closes; the other
    reconnects with both id sets from the earlier of the two resume points (event ids are the
    server's versions, so the earlier point misses nothing of either; what the later one had
    already delivered comes again and the hub drops it). Event ids that do not compare as
    numbers resume from the snapshots instead.

    Args:
        hub: The hub it feeds.
        delay: Seconds to gather jobs before the first connection (the hub opens new streams
            at most once per ``TUNING.reopen_interval``): jobs added meanwhile join it.
    """

    def __init__(self, hub: Hub, *, delay: float = 0.0) -> None:
        self._hub = hub
        self._api = hub.api
        self.entries: dict[str, Entry] = {}
        self._unread: list[Entry] = []  # joined after the snapshots: to read before resuming
        self._dirty = False  # the id set changed since the last connection began
        self._stream = EventStream(hub.api.http, coalesce=TUNING.coalesce_window)
        self._backoff = new_backoff()
        self._parse, self._custom = event_parser(hub.api.profile)
        self._task: asyncio.Task[None] | None = None
        self._phase: Literal["idle", "gather", "read", "connect", "stream", "sleep", "restart"] = (
            "idle"
        )
        self._delay = delay
        self.gathering = delay > 0
        """Whether it waits before its first connection: jobs added now are carried by it."""
        # A fold under way: the folded streams' ends, and for this stream and each folded one,
        # its event stream (its resume point once its task has ended) and its floor.
        self._absorbed: list[asyncio.Task[None]] = []
        self._folding: list[tuple[EventStream, int | None]] = []
        self._floor: int | None = None  # see _floor_if_complete
        self._resend_all = False  # a job joined whose version is unknown: no Last-Event-ID
        self._carried = 0  # jobs the connection was opened with
        self._abandoned = 0  # of those, how many left unfinished (their events are noise)
        self._opened = 0.0
        self._timer: asyncio.TimerHandle | None = None  # a pending reconnect for joined jobs

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def joining(self) -> bool:
        """Whether jobs joined it that its next connection will carry (a reconnect is due)."""
        return bool(self._unread) or self._timer is not None

    @property
    def foldable(self) -> bool:
        """Whether it can be folded into another stream now: connected, with a point to resume
        from (its snapshots began to come), and no join or fold under way."""
        return (
            self._phase == "stream"
            and self._stream.resume_id is not None
            and not self._resend_all
            and not self._unread
            and self._timer is None
            and not self._folding
        )

    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def tasks(self) -> list[asyncio.Task[None]]:
        """Its task and those of the streams folded into it that may still be closing."""
        tasks = [task for task in self._absorbed if not task.done()]
        if self._task is not None:
            tasks.append(self._task)
        return tasks

    def add(self, batch: list[Entry]) -> None:
        for entry in batch:
            entry.feed = self
            self.entries[entry.id] = entry
        if self.gathering and self._task is not None:
            return  # its first connection, still to come, carries them
        if self._task is None:
            if self._stream.resume_id is not None:
                self._unread.extend(batch)
            elif not self._stream.connections:
                note_transport(
                    self._api.http.hooks, "chosen", "sse-multiplexed", [e.id for e in batch]
                )
            self._task = asyncio.create_task(self._run(None))
            return
        # Not in the connection open or being opened: read, then carried by the next one.
        self._unread.extend(batch)
        self._dirty = True
        self._restart_soon()

    def _restart_soon(self) -> None:
        """Reconnect with the grown id set once the connection is ``reopen_interval`` old, so
        that jobs joining in a trickle (watches starting one by one) share one batched read
        and one reconnect; the open connection keeps delivering meanwhile."""
        if self._timer is None:
            delay = self._opened + TUNING.reopen_interval - time.monotonic()
            self._timer = asyncio.get_running_loop().call_later(max(0.0, delay), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._task is not None and self._dirty and self._phase in ("stream", "sleep"):
            self._restart()
        # Reading or connecting: the run loop reads the new jobs, or schedules this again.

    def absorb(self, other: MultiStream) -> None:
        """Fold ``other`` (connected, see :attr:`foldable`) into this stream: it stops, its jobs
        move here, and this stream reconnects with both id sets from the earlier of the two
        resume points."""
        other._cancel_timer()
        self._hub.slots.stopped(other)
        task, other._task = other._task, None
        if task is not None:
            task.cancel()
            self._absorbed.append(task)
        if not self._folding:
            self._folding.append((self._stream, self._floor_if_complete()))
        self._folding.append((other._stream, other._floor_if_complete()))
        for entry in other.entries.values():
            entry.feed = self
        self.entries.update(other.entries)
        other.entries.clear()
        self._dirty = True
        self._restart()

    def _floor_if_complete(self) -> int | None:
        """A point this stream's jobs are known to be up to date at, beyond its last event id:
        for a connection opened without ``Last-Event-ID``, the newest event id the client had
        seen on any stream before opening it (the snapshots were taken after that event, and
        every later change has a greater id), once every job has its snapshot."""
        floor = self._floor
        if floor is None or any(entry.state is None for entry in self.entries.values()):
            return None
        return floor

    def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def discard(self, entry: Entry, finished: bool) -> None:
        if self.entries.pop(entry.id, None) is None:
            return
        if not self.entries:
            self.stop()
            return
        if not finished:
            self._abandoned += 1
            if self._phase == "stream" and self._abandoned * 2 > self._carried:
                self._restart()  # most of what the stream carries is no longer wanted

    def shed(self, count: int) -> list[Entry]:
        """Give up the ``count`` jobs that joined last (for other feeds to take)."""
        if count <= 0:
            return []  # (a slice from -0 would take them all)
        moved = [self.entries.pop(job_id) for job_id in list(self.entries)[-count:]]
        for entry in moved:
            entry.feed = None
        if self._unread:
            self._unread = [entry for entry in self._unread if entry.feed is self]
        return moved

    def stop(self) -> None:
        self._cancel_timer()
        self._hub.slots.stopped(self)
        task, self._task = self._task, None
        stop_task(task)

    def _restart(self) -> None:
        previous = self._task
        self._phase = "restart"
        if previous is not None:
            previous.cancel()
        self._task = asyncio.create_task(self._run(previous))

    async def _run(self, previous: asyncio.Task[None] | None) -> None:
        stream = self._stream
        backoff = self._backoff
        try:
            if previous is not None:
                await asyncio.wait([previous])
                # The ended task (with its cancellation's traceback, whose frames hold the task
                # before it) must not live as long as this one: a stream that never runs empty
                # would keep every connection it ever had.
                del previous
            if self._delay > 0:
                self._phase = "gather"
                await asyncio.sleep(self._delay)
                self._delay = 0.0
            self.gathering = False
            folded = self._absorbed[:]
            if folded:
                # The folded streams' connections close, and their resume points are final.
                await asyncio.wait(folded)
                del folded
            while self.entries:
                if self._unread:
                    if self._resume_from() is None:
                        self._unread.clear()  # the next connection sends every snapshot
                    else:
                        self._phase = "read"
                        await admit(self)
                        continue
                self._phase = "connect"
                self._dirty = False
                try:
                    await self._connect()
                except NotOffered as exc:
                    self._phase = "read"
                    await refused(self, exc, None)
                    continue
                except APIError as exc:
                    if exc.status in TOO_LARGE and len(self.entries) > 1:
                        self._hub.slots.too_large(self, exc)  # part of the jobs move to other feeds
                        continue
                    if exc.status in NOT_OFFERED or exc.status == 403:
                        self._phase = "read"
                        await refused(self, NotOffered(str(exc)), exc)
                        continue
                    if self._give_up(exc):
                        raise
                    await self._reconnect_later(str(exc), backoff.delay())
                    continue
                except TransportError as exc:
                    if self._give_up(exc):
                        raise
                    await self._reconnect_later(str(exc), backoff.delay())
                    continue
                except ProtocolError as exc:
                    # A broken answer (e.g. garbled chunked framing) is worth a few more tries.
                    if not retries(exc, backoff):
                        raise
                    await self._reconnect_later(str(exc), backoff.delay())
                    continue
                if self._dirty:
                    self._restart_soon()  # jobs joined while connecting: add them soon
                self._phase = "stream"
                if stream.resume_id is not None:
                    self._hub.slots.settled(self)
                await pump(self)
                if self.entries and stream.closed_by_server:
                    # Closed early, yet jobs are not finished as far as we know: confirm their
                    # states with a read rather than reconnecting for jobs that have ended.
                    self._phase = "read"
                    await confirm(self)
                if not self.entries:
                    break
                if stream.healthy():
                    backoff.reset()
                await self._reconnect_later(stream.end_reason, backoff.delay(stream.retry_hint()))
        except (APIError, TransportError, ProtocolError) as exc:
            self._fail_all(exc)
        except Exception as exc:  # a bug must reach the waiters, not die in the task
            logger.exception("multiplexed stream of %d jobs failed", len(self.entries))
            self._fail_all(waiter_error(exc))
        finally:
            await stream.close()
            if self._task is asyncio.current_task():
                self._task = None
                self._phase = "idle"

    async def _reconnect_later(self, reason: str, delay: float) -> None:
        self._phase = "sleep"
        note_reconnect(
            self._api.http.hooks,
            stream="multiplexed",
            job_ids=self.entries,
            where=f"multiplexed stream of {len(self.entries)} jobs",
            reason=reason,
            resume_id=self._resume_from(),
            delay=delay,
            attempt=self._backoff.failures,
        )
        await asyncio.sleep(delay)

    def _give_up(self, error: APIError | TransportError) -> bool:
        if not is_transient(error):
            return True
        if not self._stream.connections:
            # Never reached the server: as patient as one request (the client's retry policy),
            # so an unreachable server fails a wait in seconds, like get_job would.
            return self._backoff.failures + 1 >= self._api.http.retry.attempts
        return self._backoff.exhausted()

    def _resume_from(self) -> str | None:
        if self._resend_all:
            return None  # from the start: every job's snapshot
        folding = self._folding
        if not folding:
            return self._stream.resume_id
        point = covered(*folding[0])
        for stream, floor in folding[1:]:
            point = earlier(point, covered(stream, floor))
        return point

    async def _connect(self) -> None:
        profile = self._api.profile
        routes = profile.routes
        ids = list(self.entries)
        resume = self._resume_from()
        # Taken before the request goes out: the server's snapshots come after this event.
        floor = self._hub.watermark if resume is None else None
        query = None
        if "events_many" in routes and (
            "events_many_post" not in routes or len(ids) <= profile.max_batch
        ):
            query = profile.many_params(ids)
            if (
                "events_many_post" in routes
                and sum(map(len, query.values())) > TUNING.max_query_ids
            ):
                query = None
        if query is not None:
            await self._stream.connect("events_many", params=query, last_event_id=resume)
        else:
            await self._stream.connect("events_many_post", json={"ids": ids}, last_event_id=resume)
        self._resend_all = False
        self._absorbed.clear()
        self._folding.clear()
        self._floor = floor
        self._carried = len(ids)
        self._abandoned = 0
        self._opened = time.monotonic()

    def _fail_all(self, error: BaseException) -> None:
        self._unread.clear()
        for job_id in list(self.entries):
            self._hub.fail(job_id, error)
