"""The hub's multiplexed streams (:class:`StreamSlots`): which stream takes a batch of new jobs
(a new one, one still gathering its jobs, or an open one they join), how often new streams
open, how many ids one carries, and the folds of two streams into one that keep their number
within ``TUNING.max_streams`` (see :mod:`._hub`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
from typing import TYPE_CHECKING

from asyncjobs._exceptions import APIError
from asyncjobs._tuning import TUNING

from ._entry import Entry
from ._multi import MULTIPLEXED, MultiStream

if TYPE_CHECKING:
    from ._hub import Hub

__all__ = ["StreamSlots"]

logger = logging.getLogger("asyncjobs")

_NEW_STREAM_BURST = 3
"""How many new streams may open at once after a quiet spell (see :meth:`StreamSlots._when_new`)."""


class StreamSlots:
    """The hub's multiplexed streams: which one each batch of new jobs goes to, and the folds.

    Args:
        hub: The hub the streams feed.
        streams: The hub's list of its streams (oldest first), which this keeps.
    """

    def __init__(self, hub: Hub, streams: list[MultiStream]) -> None:
        self._hub = hub
        self._api = hub.api
        self._streams = streams
        self._next_new = -math.inf  # loop time before which no new stream opens
        self._fold_scheduled = False
        self._room_cap: int | None = None  # the most ids a stream may carry (see too_large())

    def offered(self) -> bool:
        """Whether the API offers multiplexed streams (as far as the client knows)."""
        profile = self._api.profile
        routes = profile.routes
        return (
            "sse" in profile.transports
            and ("events_many" in routes or "events_many_post" in routes)
            and MULTIPLEXED not in self._api.unoffered
        )

    def _room(self) -> int:
        """The most ids one stream carries: a query's worth, or what a POST body can hold (at
        most what the server has taken, see :meth:`too_large`)."""
        profile = self._api.profile
        room = TUNING.max_stream_ids if "events_many_post" in profile.routes else profile.max_batch
        cap = self._room_cap
        return max(1, room if cap is None else min(room, cap))

    def too_large(self, stream: MultiStream, error: APIError) -> None:
        """The server refused to open ``stream`` as too large (413, 414): from now on a stream
        carries at most half as many ids, and the jobs over that leave it for other feeds
        (new streams, or batched polling once every stream slot is taken)."""
        room = max(1, len(stream) // 2)
        if self._room_cap is not None:
            room = min(room, self._room_cap)
        self._room_cap = room
        logger.info(
            "a multiplexed stream of %d jobs was refused as too large (%s): %d ids a stream "
            "from now on",
            len(stream),
            error,
            room,
        )
        moved = stream.shed(len(stream) - room)
        if moved:
            self.assign(moved)

    def _most_streams(self) -> int:
        # Never more streams than the stream budget lets open at once: a stream waiting for a
        # connection would hold its jobs' first states back indefinitely.
        return min(TUNING.max_streams, self._api.http.connections.budget)

    def assign(self, batch: list[Entry]) -> None:
        """Hand ``batch`` (new jobs) to streams, new or open; what none can take is followed
        without a multiplexed stream (:meth:`Hub.fallback`)."""
        if not self.offered():
            self._hub.fallback(batch)
            return
        room = self._room()
        rest: list[Entry] = []
        delay: float | None = None  # the new streams of this batch open together
        for start in range(0, len(batch), room):
            chunk = batch[start : start + room]
            stream = self._forming(len(chunk), room)
            if stream is None and len(self._streams) < self._most_streams():
                if delay is None:
                    delay = self._when_new()
                stream = MultiStream(self._hub, delay=delay)
                self._streams.append(stream)
            elif stream is None:
                stream = self._to_join(len(chunk), room)
            if stream is None:
                rest.extend(chunk)
            else:
                stream.add(chunk)
        if delay is not None:
            self._fold_soon()  # the new streams may have taken the last free slots
        if rest:  # every stream full: the rest is polled in batches
            self._hub.fallback(rest)

    def _when_new(self) -> float:
        """Seconds until a new stream may open: new streams open at most once per
        ``reopen_interval`` on average, a few at once after a quiet spell (a rate with a burst,
        as a token bucket: the first watches of a quiet client get their state at once, a
        trickle of thousands shares one stream per interval)."""
        now = asyncio.get_running_loop().time()
        interval = TUNING.reopen_interval
        due = max(self._next_new, now)
        self._next_new = due + interval
        return max(0.0, due - (_NEW_STREAM_BURST - 1) * interval - now)

    def _forming(self, count: int, room: int) -> MultiStream | None:
        """A new stream not connected yet that has room for ``count`` more jobs."""
        for stream in reversed(self._streams):
            if stream.gathering and len(stream) + count <= room:
                return stream
        return None

    def _to_join(self, count: int, room: int) -> MultiStream | None:
        """An open stream for jobs to join (read, then carried by its next connection)."""
        fitting = [s for s in self._streams if len(s) + count <= room]
        # A stream already due to reconnect for jobs that joined it takes these too: they
        # share its one batched read and one reconnect, rather than making another stream
        # reconnect as well.
        joining = [s for s in fitting if s.joining]
        return min(joining or fitting, key=len, default=None)

    def settled(self, stream: MultiStream) -> None:
        """``stream`` is connected and has a point to resume from: it may be folded now."""
        if len(self._streams) >= self._most_streams():
            self._fold_soon()

    def _fold_soon(self) -> None:
        if not self._fold_scheduled:
            self._fold_scheduled = True
            asyncio.get_running_loop().call_soon(self._fold)

    def _fold(self) -> None:
        """With every stream slot taken, fold the two neighbouring streams that carry the fewest
        jobs together into the older one, once both can be (see :attr:`MultiStream.foldable`):
        folding small streams and leaving big ones be keeps the ids sent again few."""
        self._fold_scheduled = False
        streams = self._streams
        if self._hub.closed or len(streams) < self._most_streams():
            return
        room = self._room()
        best: tuple[int, MultiStream, MultiStream] | None = None
        for older, newer in itertools.pairwise(streams):
            size = len(older) + len(newer)
            if size <= room and not newer.gathering and (best is None or size < best[0]):
                best = (size, older, newer)
        if best is not None and best[1].foldable and best[2].foldable:
            best[1].absorb(best[2])
        # Else the pair is still connecting (or rejoining): it settles, and this runs again.

    def stopped(self, stream: MultiStream) -> None:
        """A stream has no jobs left (or gave them to other feeds)."""
        if stream in self._streams:
            self._streams.remove(stream)
