"""A blocking facade over :class:`Client` for code that is not async: :class:`SyncClient`.

One event loop runs in a background thread (anyio's blocking portal, asyncio backend) and the
:class:`Client` lives in that loop. Every method sends its coroutine to the loop and blocks the
calling thread until it is done; exceptions come back unchanged (the same objects, so the same
classes). Iterating methods return a :class:`SyncIterator`, which runs the whole async iteration
in one task of the loop (so the watch's timeout and the iterator's cleanup behave exactly as in
async code) and hands items over one at a time, on demand.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from concurrent.futures import CancelledError
from typing import Any, Literal, TypeVar, overload

import aiohttp
from anyio.from_thread import BlockingPortal, start_blocking_portal

from ._client import Client
from ._closing import ClosedOnExit
from ._hooks import Hooks
from ._models import CleanupResult, Job, JobStatus, QueueStats, WatchTransport
from ._sync_iter import SyncIterator
from ._transport import RetryPolicy
from ._validation import check_job_ids
from .profiles import Profile

__all__ = ["SyncClient", "SyncIterator"]

T = TypeVar("T")

_CLOSED_MESSAGE = "this SyncClient is closed: create a new one (or use it inside its `with` block)"


class SyncClient(ClosedOnExit):
    """The blocking twin of :class:`Client`: the same methods, without ``await``.

    ::

        with SyncClient("http://127.0.0.1:8000/api/v1") as client:
            job = client.submit_job("report", {"month": "2024-05"})
            for update in client.watch(job.id):
                print(update.status, update.progress)

    It starts one event loop in a background thread (anyio's blocking portal, asyncio backend)
    and creates the :class:`Client` inside it. Each method runs the :class:`Client` method of the
    same name there and blocks until it is done. Exceptions are the ones :class:`Client` raises,
    unchanged. A SyncClient may be shared by several threads; their calls run concurrently in
    the loop. Pressing Ctrl-C during a call cancels that call in the loop (so a
    ``wait_for_jobs(..., cancel_on_exit=True)`` cancels its jobs on the server) before
    ``KeyboardInterrupt`` propagates.

    ``watch``, ``watch_jobs``, ``as_completed`` and ``list_jobs`` return a
    :class:`SyncIterator`: a plain iterator that closes its async generator when closed, when
    exhausted or when dropped (``break`` out of the ``for`` loop).

    Args:
        base_url: Where the API's job routes begin, e.g. ``http://127.0.0.1:8000/api/v1``.
        token: The API token, sent the way the profile says (bearer by default).
        headers: Extra headers for every request.
        session: Accepted for the same signature as :class:`Client`, but must be None (see
            below).
        profile: A built-in profile name or a :class:`Profile`.
        timeout: Seconds for one ordinary request (never applies to streams and long polls).
        retry: A :class:`RetryPolicy`; None for the default policy.
        max_connections: The most connections open at once.
        hooks: Your :class:`Hooks`; they run in the SyncClient's event loop (its thread), so
            they are async callables (or quick plain functions) as for :class:`Client`.

    Unlike :class:`Client` it cannot use a caller's ``session``: an aiohttp session belongs to
    the event loop it was created in, and the SyncClient's loop is its own.

    Raises:
        ValueError: a ``session`` was given.
        Whatever :class:`Client` raises when created with these options (e.g. ``ValueError``
        for a bad base URL).
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        session: aiohttp.ClientSession | None = None,
        profile: str | Profile = "native",
        timeout: float | None = 30.0,
        retry: RetryPolicy | None = None,
        max_connections: int = 100,
        hooks: Hooks | None = None,
    ) -> None:
        if session is not None:
            raise ValueError(
                "session: a SyncClient runs its own event loop and cannot use an "
                "aiohttp.ClientSession made elsewhere (a session belongs to the loop it was "
                "created in); leave session=None"
            )
        self._lock = threading.Lock()
        self._closed = False
        self._iterators: weakref.WeakSet[SyncIterator[Any]] = weakref.WeakSet()
        self._portal_cm = start_blocking_portal(backend="asyncio")
        self._portal = self._portal_cm.__enter__()

        async def open_client() -> Client:
            client = Client(
                base_url,
                token=token,
                headers=headers,
                profile=profile,
                timeout=timeout,
                retry=retry,
                max_connections=max_connections,
                hooks=hooks,
            )
            await client.__aenter__()
            return client

        try:
            self._client = self._portal.call(open_client)
        except BaseException:
            self._closed = True
            self._stop_portal()
            raise

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<SyncClient {self._client!r} ({state})>"

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the client and stop its event loop thread; idempotent.

        Open iterators are closed first, then the :class:`Client` (its session and streams),
        then the loop; a call still running in another thread at that point is cancelled.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            iterators = list(self._iterators)
        try:
            for iterator in iterators:
                iterator.close()
            self._portal.call(self._client.close)
        finally:
            self._stop_portal()

    def _stop_portal(self) -> None:
        with contextlib.suppress(RuntimeError):  # already stopped
            self._portal.call(self._portal.stop, True)
        self._portal_cm.__exit__(None, None, None)

    # -- plumbing --------------------------------------------------------------------------

    def _check_open(self) -> BlockingPortal:
        if self._closed:
            raise RuntimeError(_CLOSED_MESSAGE)
        return self._portal

    def _call(self, func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        portal = self._check_open()
        finished = threading.Event()

        async def run() -> T:
            try:
                return await func(*args, **kwargs)
            finally:
                finished.set()

        try:
            future = portal.start_task_soon(run)
        except RuntimeError:
            if self._closed:
                raise RuntimeError(_CLOSED_MESSAGE) from None
            raise
        try:
            return future.result()
        except CancelledError:
            if self._closed:
                raise RuntimeError(
                    "the SyncClient was closed while this call was running"
                ) from None
            raise
        except BaseException:
            if not future.done():
                # Interrupted while waiting (KeyboardInterrupt): cancel the call in the loop and
                # let its cleanup finish before the interrupt goes on.
                future.cancel()
                finished.wait()
            raise

    def _iterate(self, factory: Callable[[], AsyncIterator[T]]) -> SyncIterator[T]:
        portal = self._check_open()
        try:
            iterator = SyncIterator(portal, factory, self._iterators.discard)
        except RuntimeError:
            if self._closed:
                raise RuntimeError(_CLOSED_MESSAGE) from None
            raise
        with self._lock:
            self._iterators.add(iterator)
        return iterator

    # -- job operations ----------------------------------------------------------------------

    def submit_job(
        self,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
        *,
        priority: int = 2,
        idempotency_key: str | None = None,
    ) -> Job:
        """Submit a job and return it as created. See :meth:`Client.submit_job`."""
        return self._call(
            self._client.submit_job,
            name,
            config,
            priority=priority,
            idempotency_key=idempotency_key,
        )

    def get_job(self, job_id: str | int) -> Job:
        """Return the job's current state. See :meth:`Client.get_job`."""
        return self._call(self._client.get_job, job_id)

    def get_jobs(self, job_ids: Iterable[str | int]) -> list[Job]:
        """Return the current state of many jobs, in input order. See :meth:`Client.get_jobs`."""
        return self._call(self._client.get_jobs, check_job_ids(job_ids))

    def list_jobs(
        self, *, status: JobStatus | str | None = None, limit: int | None = None
    ) -> SyncIterator[Job]:
        """Iterate over the jobs, newest first, following pages. See :meth:`Client.list_jobs`."""
        return self._iterate(lambda: self._client.list_jobs(status=status, limit=limit))

    def cancel_job(self, job_id: str | int) -> Job:
        """Cancel a pending or running job and return it. See :meth:`Client.cancel_job`."""
        return self._call(self._client.cancel_job, job_id)

    def restart_job(self, job_id: str | int) -> Job:
        """Restart a failed or cancelled job and return it. See :meth:`Client.restart_job`."""
        return self._call(self._client.restart_job, job_id)

    def delete_job(self, job_id: str | int) -> None:
        """Delete a finished job. See :meth:`Client.delete_job`."""
        self._call(self._client.delete_job, job_id)

    def get_log(self, job_id: str | int) -> str:
        """Return the job's log text. See :meth:`Client.get_log`."""
        return self._call(self._client.get_log, job_id)

    def queue_stats(self) -> QueueStats:
        """Return the queue statistics. See :meth:`Client.queue_stats`."""
        return self._call(self._client.queue_stats)

    def cleanup(self, *, max_age_hours: int = 24) -> CleanupResult:
        """Delete jobs finished more than ``max_age_hours`` ago. See :meth:`Client.cleanup`."""
        return self._call(self._client.cleanup, max_age_hours=max_age_hours)

    # -- watching and waiting ----------------------------------------------------------------

    def watch(
        self,
        job_id: str | int,
        *,
        transport: WatchTransport = "auto",
        timeout: float | None = None,
        poll_interval: float | None = None,
    ) -> SyncIterator[Job]:
        """Iterate over the job's states until it ends. See :meth:`Client.watch`.

        Yields the current state first, then each change, and stops after the terminal state.
        The iterator raises :class:`JobTimeoutError` when ``timeout`` runs out.
        """
        return self._iterate(
            lambda: self._client.watch(
                job_id, transport=transport, timeout=timeout, poll_interval=poll_interval
            )
        )

    def watch_jobs(
        self, job_ids: Iterable[str | int], *, timeout: float | None = None
    ) -> SyncIterator[Job]:
        """Iterate over the updates of many jobs, one stream. See :meth:`Client.watch_jobs`."""
        ids = check_job_ids(job_ids)
        return self._iterate(lambda: self._client.watch_jobs(ids, timeout=timeout))

    def wait_for_job(
        self,
        job_id: str | int,
        *,
        timeout: float | None = 300,
        poll_interval: float | None = None,
        transport: WatchTransport = "auto",
        raise_on_failure: bool = True,
    ) -> Job:
        """Block until the job ends and return its final state. See :meth:`Client.wait_for_job`.

        Raises:
            JobFailedError: The job failed (with ``raise_on_failure``).
            JobCancelledError: The job was cancelled (with ``raise_on_failure``).
            JobTimeoutError: ``timeout`` ran out first.
        """
        return self._call(
            self._client.wait_for_job,
            job_id,
            timeout=timeout,
            poll_interval=poll_interval,
            transport=transport,
            raise_on_failure=raise_on_failure,
        )

    @overload
    def wait_for_jobs(
        self,
        job_ids: Iterable[str | int],
        *,
        timeout: float | None = 300,
        fail_fast: bool = True,
        return_exceptions: Literal[False] = False,
        cancel_on_exit: bool = False,
    ) -> list[Job]: ...

    @overload
    def wait_for_jobs(
        self,
        job_ids: Iterable[str | int],
        *,
        timeout: float | None = 300,
        fail_fast: bool = True,
        return_exceptions: bool,
        cancel_on_exit: bool = False,
    ) -> list[Job | BaseException]: ...

    def wait_for_jobs(
        self,
        job_ids: Iterable[str | int],
        *,
        timeout: float | None = 300,
        fail_fast: bool = True,
        return_exceptions: bool = False,
        cancel_on_exit: bool = False,
    ) -> list[Job] | list[Job | BaseException]:
        """Block until all the jobs end; results in input order. See :meth:`Client.wait_for_jobs`.

        Returns:
            The final jobs in input order; with ``return_exceptions``, failures come back in
            the list instead of being raised.

        Raises:
            JobFailedError: A job failed (unless ``return_exceptions``).
            JobCancelledError: A job was cancelled (unless ``return_exceptions``).
            JobTimeoutError: ``timeout`` ran out first; ``details["pending_job_ids"]`` lists
                the unfinished jobs.
        """
        ids = check_job_ids(job_ids)

        async def wait() -> list[Job] | list[Job | BaseException]:
            return await self._client.wait_for_jobs(
                ids,
                timeout=timeout,
                fail_fast=fail_fast,
                return_exceptions=return_exceptions,
                cancel_on_exit=cancel_on_exit,
            )

        return self._call(wait)

    def as_completed(
        self, job_ids: Iterable[str | int], *, timeout: float | None = None
    ) -> SyncIterator[Job]:
        """Iterate over each job's final state as it ends. See :meth:`Client.as_completed`."""
        ids = check_job_ids(job_ids)
        return self._iterate(lambda: self._client.as_completed(ids, timeout=timeout))
