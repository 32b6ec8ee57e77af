"""The watching and waiting methods of :class:`Client`: thin delegations to :mod:`._watch`
and :mod:`._waiting`, kept here so that ``_client.py`` holds the request operations only.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from typing import TYPE_CHECKING, Literal, cast, overload

from ._follow import check_seconds, check_transport
from ._models import Job
from ._validation import check_job_id

if TYPE_CHECKING:
    from ._client import Client

__all__ = ["WatchTransport"]

WatchTransport = Literal["auto", "sse", "long-poll", "poll"]
"""How ``watch`` follows a job: the best the server offers (``"auto"``), or one transport."""


def _as_client(methods: _WaitingMethods) -> Client:
    return cast("Client", methods)


class _WaitingMethods:
    """``watch``, ``watch_jobs``, ``wait_for_job``, ``wait_for_jobs`` and ``as_completed``."""

    __slots__ = ()

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
        from . import _watch

        job_id = check_job_id(job_id)
        transport = cast("WatchTransport", check_transport(transport))
        timeout = check_seconds("timeout", timeout, zero=True)
        poll_interval = check_seconds("poll_interval", poll_interval, zero=False)
        return _watch.watch(
            _as_client(self),
            job_id,
            transport=transport,
            timeout=timeout,
            poll_interval=poll_interval,
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
        from . import _waiting

        return _waiting.watch_jobs(_as_client(self), job_ids, timeout=timeout)

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
        from . import _waiting

        return await _waiting.wait_for_job(
            _as_client(self),
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
        from . import _waiting

        result: list[Job] | list[Job | BaseException] = await _waiting.wait_for_jobs(
            _as_client(self),
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
        from . import _waiting

        return _waiting.as_completed(_as_client(self), job_ids, timeout=timeout)
