"""Following one job on its own: the SSE, long-poll and polling feeds.

A *feed* reads states of one job over one transport and survives what the network does to it:
a dropped or stalled stream is resumed with ``Last-Event-ID``, transient errors (no answer, 429,
5xx) are retried with jittered backoff within a budget, and a server that does not offer the
transport raises :class:`~asyncjobs._transport.NotOffered`. :func:`open_feed` opens the feed of
a transport; :class:`~._follower.JobFollower` chains them for ``transport="auto"``.

The first state always comes from a plain read of the job, so a 404 there is a real "no such
job", and a 404 from a transport's route afterwards means "not offered".
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Protocol

from asyncjobs._api import JobAPI
from asyncjobs._exceptions import APIError, ProtocolError, TransportError
from asyncjobs._models import Job, Transport, is_newer, supersedes
from asyncjobs._transport import NOT_OFFERED, Backoff, EventStream, NotOffered, is_transient
from asyncjobs._tuning import TUNING

from ._entry import note_reconnect, retries
from ._events import JOB_EVENTS, event_parser

__all__ = ["JobFeed", "new_backoff", "open_feed"]

logger = logging.getLogger("asyncjobs")


def new_backoff() -> Backoff:
    """The backoff of a feed's reconnects and retries (from :data:`TUNING`)."""
    return Backoff(
        base=TUNING.reconnect_base, cap=TUNING.reconnect_cap, budget=TUNING.failure_budget
    )


class JobFeed(Protocol):
    """What :class:`~._follower.JobFollower` needs of a feed."""

    transport: Transport

    async def next(self, last: Job | None, deadline: float | None) -> list[Job]: ...

    async def aclose(self) -> None: ...


class _SSEFeed:
    """The job's own SSE stream (``events``), resumed after drops and stalls."""

    transport: Transport = "sse"

    def __init__(self, api: JobAPI, job_id: str) -> None:
        self._api = api
        self._job_id = job_id
        self._stream = EventStream(api.http)
        self._backoff = new_backoff()
        self._parse, self._custom = event_parser(api.profile)
        self._news = False  # whether the open connection brought a state newer than the last
        self._read_after_skip = 0  # the connection (by count) whose garbled event was read after

    async def next(self, last: Job | None, deadline: float | None) -> list[Job]:
        stream = self._stream
        job_id = self._job_id
        while True:
            if not stream.connected:
                await self._connect()
                self._news = False
            good = stream.resume_id  # the id of the last event handled
            events = await stream.read()
            if events is None:
                # Ended before the terminal event (closed, broken or stalled): resumed, never
                # taken as the end. A connection that brought nothing new is no sign of health
                # (a server may end its streams early, or before sending the last event), so
                # the backoff grows, and once resumed the job's state is confirmed with a read.
                news = self._news
                lasted = time.monotonic() - stream.opened_at >= TUNING.reconnect_cap
                if news or lasted:
                    self._backoff.reset()
                delay = self._backoff.delay(stream.retry_hint())
                self._reconnecting(stream.end_reason, delay)
                await asyncio.sleep(delay)
                if not news:
                    await self._connect()
                    self._news = False
                    confirmed = await self._confirm(last)
                    if confirmed is not None:
                        return [confirmed]
                continue
            jobs: list[Job] = []
            for event in events:
                if event.event not in JOB_EVENTS:
                    good = event.id
                    continue
                try:
                    job = self._parse(event.data, last)
                except ProtocolError as exc:  # only a profile's own hook raises
                    raise NotOffered(str(exc), remember=False) from exc
                if job is None and not self._custom:
                    # Not a job (garbled): skipped, but a reconnect resumes from before it,
                    # and (once per connection) the job is read now, in case that event was
                    # its final state.
                    stream.pin(good)
                    if self._read_after_skip == stream.connections:
                        continue
                    self._read_after_skip = stream.connections
                    confirmed = await self._confirm(last)
                    if confirmed is not None:
                        jobs.append(confirmed)
                        last = confirmed
                        if confirmed.is_terminal:
                            break
                    continue
                good = event.id
                if job is None or job.id != job_id:
                    continue
                if is_newer(last, job):
                    self._news = True
                if job.is_terminal and job.version is None:
                    # A versionless API's events may be partial (no result, no error): the
                    # final state is read in full.
                    job = await self._complete(job)
                jobs.append(job)
                last = job
            if jobs:
                return jobs

    async def _confirm(self, last: Job | None) -> Job | None:
        """Read the job (after a connection that brought nothing new, or a garbled event): its
        state if it supersedes ``last``.

        Transient errors are logged (the stream is resumed anyway); a 404 is a vanished job.
        """
        try:
            job = await self._api.get(self._job_id)
        except (APIError, TransportError) as exc:
            if not is_transient(exc):
                raise
            logger.info("reading job %r after its stream ended: %s", self._job_id, exc)
            return None
        return job if supersedes(last, job) else None

    async def _complete(self, job: Job) -> Job:
        full = await self._api.get(self._job_id)
        return full if full.is_terminal else job

    async def _connect(self) -> None:
        stream = self._stream
        while True:
            try:
                await stream.connect(
                    "events",
                    path_params={"job_id": self._job_id},
                    last_event_id=stream.resume_id,
                )
                return
            except APIError as exc:
                if exc.status in NOT_OFFERED:
                    if stream.connections:
                        # It worked before: a vanished job raises JobNotFoundError here.
                        await self._api.get(self._job_id)
                    raise NotOffered(str(exc)) from exc
                if not is_transient(exc) or self._backoff.exhausted():
                    raise
                reason = str(exc)
            except (TransportError, ProtocolError) as exc:
                # A broken answer (e.g. garbled chunked framing) is worth a few more tries.
                if not retries(exc, self._backoff):
                    raise
                reason = str(exc)
            delay = self._backoff.delay()
            self._reconnecting(reason, delay)
            await asyncio.sleep(delay)

    def _reconnecting(self, reason: str, delay: float) -> None:
        note_reconnect(
            self._api.http.hooks,
            stream="job",
            job_ids=(self._job_id,),
            where=f"SSE stream of job {self._job_id!r}",
            reason=reason,
            resume_id=self._stream.resume_id,
            delay=delay,
            attempt=self._backoff.failures,
        )

    async def aclose(self) -> None:
        await self._stream.close()


class _LongPollFeed:
    """Long polls (``poll``): each request is held by the server until the job changes."""

    transport: Transport = "long-poll"

    def __init__(self, api: JobAPI, job_id: str) -> None:
        self._api = api
        self._job_id = job_id
        self._backoff = new_backoff()
        self._worked = False
        self._idle = 0.0  # the pause before the next poll when the server does not hold them
        self._seen: Job | None = None  # the last answer, a change or not

    async def next(self, last: Job | None, deadline: float | None) -> list[Job]:
        api = self._api
        profile = api.profile
        loop = asyncio.get_running_loop()
        while True:
            if self._idle:
                await asyncio.sleep(self._idle * random.uniform(0.8, 1.2))
            hold = TUNING.long_poll
            if deadline is not None:
                hold = max(1.0, min(hold, deadline - loop.time()))
            # The server answers when the job differs from what the query says was seen: the
            # last answer, even when it was no change here (a status word of the API that maps
            # to the same state, e.g. compileo's retrying and running), else it answers at once.
            seen = self._seen
            basis = (
                seen if seen is not None and (last is None or not is_newer(seen, last)) else last
            )
            sent = loop.time()
            try:
                response = await api.http.request(
                    "poll",
                    path_params={"job_id": self._job_id},
                    params=profile.poll_params(job=basis, timeout=hold),
                    # The server holds the request up to `hold`: the client's plain request
                    # timeout must not cut it.
                    timeout=hold + TUNING.long_poll_margin,
                    lasting=True,
                )
                if response.status == 204 or not response.body.strip():
                    # No content: the poll timed out with nothing new (some servers say so).
                    job = basis if basis is not None else await api.get(self._job_id)
                else:
                    payload = profile.unwrap(response.json(), operation="poll", job_id=self._job_id)
                    job = profile.parse_job(payload)
            except APIError as exc:
                if exc.status in NOT_OFFERED:
                    if self._worked:
                        await api.get(self._job_id)  # JobNotFoundError if it is gone
                    raise NotOffered(str(exc)) from exc
                if not is_transient(exc) or self._backoff.exhausted():
                    raise
                await self._retry_later(exc)
                continue
            except (TransportError, ProtocolError) as exc:
                if not retries(exc, self._backoff):
                    raise
                await self._retry_later(exc)
                continue
            self._worked = True
            self._backoff.reset()
            self._seen = job
            if is_newer(last, job):
                self._idle = 0.0
            elif loop.time() - sent < hold / 2:
                # Answered at once with nothing new: this server does not hold long polls (it
                # ignores the query), so they are spaced out like adaptive polling, not sent
                # back to back.
                self._idle = min(
                    TUNING.poll_cap, max(TUNING.poll_start, self._idle * TUNING.poll_growth)
                )
            return [job]

    async def _retry_later(self, error: Exception) -> None:
        delay = self._backoff.delay()
        logger.info("long poll of job %r: %s; retrying in %.2f s", self._job_id, error, delay)
        await asyncio.sleep(delay)

    async def aclose(self) -> None:
        return None


class _PollFeed:
    """Interval polling (``get``): adaptive (fast first, slower while nothing changes, fast
    again after a change) unless the caller fixed the interval."""

    transport: Transport = "poll"

    def __init__(self, api: JobAPI, job_id: str, interval: float | None) -> None:
        self._api = api
        self._job_id = job_id
        self._fixed = interval
        self._interval = TUNING.poll_start
        self._backoff = new_backoff()

    def _delay(self) -> float:
        if self._fixed is not None:
            return self._fixed
        return self._interval * random.uniform(0.8, 1.2)

    async def next(self, last: Job | None, deadline: float | None) -> list[Job]:
        delay = self._delay()
        while True:
            await asyncio.sleep(delay)
            try:
                job = await self._api.get(self._job_id)
            except (APIError, TransportError, ProtocolError) as exc:
                if not retries(exc, self._backoff):
                    raise
                delay = max(self._delay(), self._backoff.delay())
                logger.info("polling job %r: %s; retrying in %.2f s", self._job_id, exc, delay)
                continue
            self._backoff.reset()
            if is_newer(last, job):
                self._interval = TUNING.poll_start
            else:
                self._interval = min(TUNING.poll_cap, self._interval * TUNING.poll_growth)
            return [job]

    async def aclose(self) -> None:
        return None


def open_feed(api: JobAPI, job_id: str, name: Transport, poll_interval: float | None) -> JobFeed:
    """The feed of transport ``name`` for ``job_id`` (``poll_interval``: a fixed polling
    interval, or None for adaptive polling)."""
    if name == "sse":
        return _SSEFeed(api, job_id)
    if name == "long-poll":
        return _LongPollFeed(api, job_id)
    return _PollFeed(api, job_id, poll_interval)
