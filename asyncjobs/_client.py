"""The asyncio client: :class:`Client`, a facade that checks arguments and delegates.

Job operations go to :class:`~._api.JobAPI` (over the request pipeline of :mod:`._transport`
and the client's :class:`~.profiles.Profile`); watching and waiting go to the client's
:class:`~.live.Hub`, which shares subscriptions between them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Iterable, Mapping
from typing import Any, Literal, cast, overload

from ._client_base import ClientBase
from ._models import CleanupResult, Job, JobStatus, QueueStats, WatchTransport
from ._validation import (
    check_header_value,
    check_int,
    check_job_id,
    check_job_ids,
    check_seconds,
    check_status,
    check_transport,
    encode_config,
)
from .live import as_completed, wait_for_job, wait_for_jobs, watch, watch_jobs

__all__ = ["Client"]


class Client(ClientBase):
    """An asyncio client for an HTTP job API.

    One client holds one aiohttp session (its own, created inside the running loop on first use,
    or the ``session`` you pass) and is used as an async context manager::

        async with Client("http://127.0.0.1:8000/api/v1", token="...") as client:
            job = await client.submit_job("resize", {"width": 640})
            job = await client.wait_for_job(job.id)

    A closed client raises ``RuntimeError("Client is closed...")`` on any further request: using
    a client after ``close()`` is a bug in the calling code, not a condition of the server.

    Args:
        base_url: Where the API's job routes begin, e.g. ``"http://127.0.0.1:8000/api/v1"``:
            http or https, with a host, without credentials, query or fragment.
        token: The credential, sent as the profile says (``Authorization: Bearer`` for the
            native protocol). It never appears in reprs, logs or exception messages, and is
            never sent to another origin on a redirect.
        headers: Extra headers for every request (e.g. an API secret); like the token, they are
            not sent to another origin on a redirect.
        session: A caller-owned ``aiohttp.ClientSession``; the client then never closes it (and
            ``max_connections`` does not apply).
        profile: A built-in profile's name (``"native"``, ``"compileo"``, ``"job-management"``,
            ``"mammoth"``, ``"fiddler"``, ``"dataiku"``) or a :class:`Profile` of your own.
        timeout: Seconds for one ordinary request, start to end (None: no limit). It does not
            apply to streams or long polls, which have their own clocks.
        retry: The :class:`RetryPolicy`; None means the default one. ``RetryPolicy(attempts=1)``
            turns retries off.
        max_connections: The size of each of the client's two connection budgets: one for
            ordinary requests, one for streams and long polls (so these never starve those).
        hooks: Your callables to call on each request, response, retry, stream reconnect and
            transport change (:class:`Hooks`); they run beside the client, never holding it
            up, and an exception in one is logged, not raised.

    Raises:
        ValueError: a bad ``base_url``, ``timeout``, ``max_connections`` or profile name, or a
            token the profile cannot send.
        TypeError: an argument of the wrong type.
    """

    # -- job operations ------------------------------------------------------------------

    async def submit_job(
        self,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
        *,
        priority: int = 2,
        idempotency_key: str | None = None,
    ) -> Job:
        """Submit a job.

        Every call carries an ``Idempotency-Key`` (a fresh UUID unless given), so a submit that
        is retried after a lost answer creates one job, not two.

        Args:
            name: The job's name, or None.
            config: What the job should do (any JSON object), or None for ``{}``.
            priority: 1 low, 2 normal, 3 high, 4 urgent.
            idempotency_key: Your own key, to make submits idempotent across calls too: the
                server answers a repeated key with the job it first created.

        Returns:
            The new job (or, for a repeated key, the job first created).

        Raises:
            ValueError: ``priority`` is not 1..4, or an empty ``idempotency_key``.
            TypeError: an argument of the wrong type, or a ``config`` that is not JSON.
            UnsupportedOperationError: the API cannot submit jobs.
            APIError: the server refused (e.g. :class:`BadRequestError` naming the bad field).
            TransportError: no answer after retries.
            ProtocolError: the answer names no job.
        """
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, got {type(name).__name__}")
        encode_config(config)
        check_int("priority", priority, 1, 4, " (1 low, 2 normal, 3 high, 4 urgent)")
        if idempotency_key is None:
            idempotency_key = str(uuid.uuid4())
        elif not check_header_value("idempotency_key", idempotency_key):
            raise ValueError("idempotency_key must be a non-empty string or None")
        return await self._api.submit(
            name, config, priority=priority, idempotency_key=idempotency_key
        )

    async def get_job(self, job_id: str | int) -> Job:
        """Read one job.

        Args:
            job_id: The job's id.

        Returns:
            The job's current state.

        Raises:
            JobNotFoundError: no such job (``job_ids`` holds the id).
            PermissionDeniedError: another caller's job.
            APIError: any other error answer, after retries.
            TransportError: no answer, after retries.
            ProtocolError: the answer is not a job.
        """
        return await self._api.get(check_job_id(job_id))

    async def get_jobs(self, job_ids: Iterable[str | int]) -> list[Job]:
        """Read many jobs with batched requests (at most ``max_batch`` ids each, a few at once).

        Args:
            job_ids: The ids; duplicates are allowed.

        Returns:
            The jobs in the order of ``job_ids`` (a duplicate id gives the same job twice).

        Raises:
            JobNotFoundError: some ids are unknown (or not visible to this caller); the error
                lists all of them in ``job_ids`` and in its message.
            APIError: any other error answer, after retries.
            TransportError: no answer, after retries.
        """
        return await self._api.get_many(check_job_ids(job_ids))

    def list_jobs(
        self, *, status: JobStatus | str | None = None, limit: int | None = None
    ) -> AsyncGenerator[Job, None]:
        """Iterate over jobs, newest first, following the server's pages.

        Arguments are checked when called, requests are made while iterating::

            async for job in client.list_jobs(status="running", limit=500): ...

        Args:
            status: Only jobs with this status (a :class:`JobStatus` or its string).
            limit: The most jobs to yield in all, across pages (None: all of them).

        Returns:
            An async iterator of jobs.

        Raises:
            ValueError: an unknown ``status`` or a negative ``limit`` (raised at once).
            UnsupportedOperationError: the API cannot list jobs (raised at once).
            APIError, TransportError, ProtocolError: while iterating, as for :meth:`get_job`.
        """
        wanted = check_status(status)
        if limit is not None:
            check_int("limit", limit, 0, None)
        self._http.url_for("list")  # raises UnsupportedOperationError now, not mid-iteration
        return self._api.list_pages(wanted, limit)

    async def cancel_job(self, job_id: str | int) -> Job:
        """Cancel a pending or running job.

        Args:
            job_id: The job's id.

        Returns:
            The job after the cancel (read again when the API answers only a message).

        Raises:
            ConflictError: the job has already finished.
            JobNotFoundError: no such job.
            APIError, TransportError, ProtocolError: as for :meth:`get_job`.
        """
        return await self._api.cancel(check_job_id(job_id))

    async def restart_job(self, job_id: str | int) -> Job:
        """Restart a failed or cancelled job.

        Args:
            job_id: The job's id.

        Returns:
            The job after the restart (read again when the API answers only a message).

        Raises:
            ConflictError: the job is not failed or cancelled.
            JobNotFoundError: no such job.
            APIError, TransportError, ProtocolError: as for :meth:`get_job`.
        """
        return await self._api.restart(check_job_id(job_id))

    async def delete_job(self, job_id: str | int) -> None:
        """Delete a finished job.

        Args:
            job_id: The job's id.

        Raises:
            ConflictError: the job has not finished.
            JobNotFoundError: no such job.
            APIError, TransportError: as for :meth:`get_job`.
        """
        await self._api.delete(check_job_id(job_id))

    async def get_log(self, job_id: str | int) -> str:
        """Read a job's log.

        Args:
            job_id: The job's id.

        Returns:
            The log text.

        Raises:
            JobNotFoundError: no such job.
            APIError, TransportError: as for :meth:`get_job`.
        """
        return await self._api.log(check_job_id(job_id))

    async def queue_stats(self) -> QueueStats:
        """Read the queue's statistics.

        Returns:
            Counts by status and workers (None for what the API does not report).

        Raises:
            APIError, TransportError, ProtocolError: as for :meth:`get_job`.
        """
        return await self._api.stats()

    async def cleanup(self, *, max_age_hours: int = 24) -> CleanupResult:
        """Delete jobs that finished more than ``max_age_hours`` ago.

        Args:
            max_age_hours: 1..168 (a week).

        Returns:
            How many jobs were deleted.

        Raises:
            ValueError: ``max_age_hours`` is not 1..168 (checked before sending).
            APIError, TransportError, ProtocolError: as for :meth:`get_job`.
        """
        check_int("max_age_hours", max_age_hours, 1, 168)
        return await self._api.cleanup(max_age_hours)

    # -- watching and waiting --------------------------------------------------------------

    def watch(
        self,
        job_id: str | int,
        *,
        transport: WatchTransport = "auto",
        timeout: float | None = None,
        poll_interval: float | None = None,
    ) -> AsyncGenerator[Job, None]:
        """Follow one job: its current state first, then one :class:`Job` per change.

        Never yields the same version twice and ends after yielding the terminal state (a failed
        or cancelled job does not raise). A dropped stream is resumed, never taken as the end.

        Args:
            job_id: The job's id.
            transport: ``"auto"`` (SSE, else long poll, else polling, per what the server
                offers), or ``"sse"``, ``"long-poll"`` or ``"poll"``.
            timeout: Seconds for the whole watch (None: no limit).
            poll_interval: A fixed polling interval in seconds; None means adaptive.

        Returns:
            An async iterator of the job's states.

        Arguments are checked when called; requests are made while iterating.

        Raises:
            ValueError, TypeError: a bad argument, naming it (raised at once).
            JobTimeoutError: ``timeout`` passed before the job ended.
            JobNotFoundError: no such job.
            APIError, TransportError: errors the watch cannot recover from.
        """
        job_id = check_job_id(job_id)
        transport = cast("WatchTransport", check_transport(transport))
        timeout = check_seconds("timeout", timeout, zero=True)
        poll_interval = check_seconds("poll_interval", poll_interval, zero=False)
        return watch(
            self._hub, job_id, transport=transport, timeout=timeout, poll_interval=poll_interval
        )

    def watch_jobs(
        self, job_ids: Iterable[str | int], *, timeout: float | None = None
    ) -> AsyncGenerator[Job, None]:
        """Follow many jobs over one multiplexed stream (or batched reads).

        Yields each job's current state, then every later version of any of them, and ends
        when all are terminal.

        Args:
            job_ids: The ids.
            timeout: Seconds for the whole watch (None: no limit).

        Returns:
            An async iterator of job states.

        Arguments are checked when called; requests are made while iterating.

        Raises:
            ValueError, TypeError: a bad argument, naming it (raised at once).
            JobTimeoutError: ``timeout`` passed before all jobs ended.
            JobNotFoundError: some ids are unknown.
            APIError, TransportError: errors the watch cannot recover from.
        """
        return watch_jobs(self._hub, job_ids, timeout=timeout)

    async def wait_for_job(
        self,
        job_id: str | int,
        *,
        timeout: float | None = 300,  # noqa: ASYNC109
        poll_interval: float | None = None,
        transport: WatchTransport = "auto",
        raise_on_failure: bool = True,
    ) -> Job:
        """Wait until a job ends.

        Args:
            job_id: The job's id.
            timeout: Seconds for the whole wait (None: no limit).
            poll_interval: A fixed polling interval in seconds; None means adaptive.
            transport: As for :meth:`watch`.
            raise_on_failure: Raise for a failed or cancelled job instead of returning it.

        Returns:
            The job's final state.

        Raises:
            JobFailedError: the job failed (with ``raise_on_failure``).
            JobCancelledError: the job was cancelled (with ``raise_on_failure``).
            JobTimeoutError: ``timeout`` passed first (also a builtin ``TimeoutError``).
            JobNotFoundError: no such job.
            APIError, TransportError: errors the wait cannot recover from.
        """
        return await wait_for_job(
            self._hub,
            job_id,
            timeout=timeout,
            poll_interval=poll_interval,
            transport=transport,
            raise_on_failure=raise_on_failure,
        )

    @overload
    async def wait_for_jobs(
        self,
        job_ids: Iterable[str | int],
        *,
        timeout: float | None = 300,  # noqa: ASYNC109
        fail_fast: bool = True,
        return_exceptions: Literal[False] = False,
        cancel_on_exit: bool = False,
    ) -> list[Job]: ...

    @overload
    async def wait_for_jobs(
        self,
        job_ids: Iterable[str | int],
        *,
        timeout: float | None = 300,  # noqa: ASYNC109
        fail_fast: bool = True,
        return_exceptions: bool,
        cancel_on_exit: bool = False,
    ) -> list[Job | BaseException]: ...

    async def wait_for_jobs(
        self,
        job_ids: Iterable[str | int],
        *,
        timeout: float | None = 300,  # noqa: ASYNC109
        fail_fast: bool = True,
        return_exceptions: bool = False,
        cancel_on_exit: bool = False,
    ) -> list[Job] | list[Job | BaseException]:
        """Wait for many jobs at once (``asyncio.gather`` semantics, results in input order).

        Shares one multiplexed stream (or batched reads), never one connection per job.
        Cancelling the call cancels every inner wait and releases every connection.

        Args:
            job_ids: The ids.
            timeout: Seconds for the whole wait (None: no limit).
            fail_fast: The first failure cancels the other waits and is raised.
            return_exceptions: Failures come back in the list instead of being raised.
            cancel_on_exit: If the wait is cancelled or times out, cancel the jobs still
                pending or running on the server too.

        Returns:
            The final jobs in input order (with ``return_exceptions``, failures in place).

        Raises:
            JobFailedError: a job failed (unless ``return_exceptions``).
            JobCancelledError: a job was cancelled (unless ``return_exceptions``).
            JobTimeoutError: ``timeout`` passed first; ``job_id`` is the first unfinished id
                and ``details["pending_job_ids"]`` lists them all.
            JobNotFoundError: some ids are unknown.
            APIError, TransportError: errors the wait cannot recover from.
        """
        result: list[Job] | list[Job | BaseException] = await wait_for_jobs(
            self._hub,
            job_ids,
            timeout=timeout,
            fail_fast=fail_fast,
            return_exceptions=return_exceptions,
            cancel_on_exit=cancel_on_exit,
        )
        return result

    def as_completed(
        self, job_ids: Iterable[str | int], *, timeout: float | None = None
    ) -> AsyncGenerator[Job, None]:
        """Yield each job's final state as it ends (failed and cancelled ones too, unraised).

        Args:
            job_ids: The ids.
            timeout: Seconds for the whole wait (None: no limit).

        Returns:
            An async iterator of final job states, in the order the jobs end.

        Arguments are checked when called; requests are made while iterating.

        Raises:
            ValueError, TypeError: a bad argument, naming it (raised at once).
            JobTimeoutError: ``timeout`` passed before all jobs ended.
            JobNotFoundError: some ids are unknown.
            APIError, TransportError: errors the wait cannot recover from.
        """
        return as_completed(self._hub, job_ids, timeout=timeout)
