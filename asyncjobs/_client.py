"""The asyncio client: :class:`Client` and every job operation that is not waiting or watching.

Requests go through :class:`~._http.HTTPClient` (session, retries, errors); payloads become models
through the client's :class:`~._profiles.Profile`. Watching and waiting live in :mod:`._watch`
and :mod:`._waiting`, which build on the same request pipeline.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp

from ._client_waiting import _WaitingMethods
from ._exceptions import APIError, JobNotFoundError, ProtocolError
from ._follow import NOT_OFFERED
from ._http import HTTPClient, Response
from ._live import get_hub
from ._models import CleanupResult, Job, JobStatus, QueueStats
from ._profiles import Profile, get_profile
from ._retry import DEFAULT_RETRY, RetryPolicy
from ._validation import (
    check_base_url,
    check_header_value,
    check_headers,
    check_int,
    check_job_id,
    check_job_ids,
    check_status,
    check_timeout,
)

__all__ = ["Client"]

logger = logging.getLogger("asyncjobs")

_T = TypeVar("_T")

_BATCH_CONCURRENCY = 4
"""How many batched reads of one ``get_jobs`` call run at once."""

_FALLBACK_CONCURRENCY = 8
"""How many single reads run at once when the API has no batch read."""


async def _bounded(factories: Sequence[Callable[[], Awaitable[_T]]], limit: int) -> list[_T]:
    """Run the coroutines with at most ``limit`` at once; the first error cancels the rest."""
    if len(factories) == 1:
        return [await factories[0]()]
    semaphore = asyncio.Semaphore(limit)

    async def run(factory: Callable[[], Awaitable[_T]]) -> _T:
        async with semaphore:
            return await factory()

    tasks = [asyncio.ensure_future(run(factory)) for factory in factories]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        pending = [task for task in tasks if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)


class Client(_WaitingMethods):
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
        max_connections: The most connections the client's own session opens at once.

    Raises:
        ValueError: a bad ``base_url``, ``timeout``, ``max_connections`` or profile name, or a
            token the profile cannot send.
        TypeError: an argument of the wrong type.
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
    ) -> None:
        url = check_base_url(base_url)
        if token is not None:
            check_header_value("token", token)
            if not token:
                raise ValueError("token must be a non-empty string or None")
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise TypeError(
                f"session must be an aiohttp.ClientSession, got {type(session).__name__}"
            )
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError(f"retry must be a RetryPolicy or None, got {type(retry).__name__}")
        self._profile: Profile = get_profile(profile)
        self._http = HTTPClient(
            url,
            profile=self._profile,
            token=token,
            headers=check_headers(headers),
            session=session,
            timeout=check_timeout(timeout),
            retry=DEFAULT_RETRY if retry is None else retry,
            max_connections=check_int("max_connections", max_connections, 1, None),
        )
        self._live: Any = None  # shared subscriptions of the watch code (see _watch)
        self._closing: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, profile={self._profile.name!r})"

    @property
    def base_url(self) -> str:
        """The base URL requests are made under (no trailing slash)."""
        return self._http.base_url

    @property
    def profile(self) -> Profile:
        """The profile of the API this client talks to."""
        return self._profile

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._http.closed

    async def __aenter__(self) -> Self:
        if self._http.closed:
            raise RuntimeError("Client is closed: create a new Client")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """End shared subscriptions and close the session if the client owns it.

        Idempotent, and safe to call concurrently; the closing itself runs to the end even if
        the caller is cancelled. A caller-owned session stays open.
        """
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close())
        elif self._closing.done():
            return
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        live, self._live = self._live, None
        try:
            if live is not None:
                await live.aclose()
        finally:
            await self._http.aclose()

    # -- helpers -------------------------------------------------------------------------

    def _payload(self, response: Response, operation: str, job_id: str | None = None) -> Any:
        return self._profile.unwrap(response.json(), operation=operation, job_id=job_id)

    async def _job_from_action(self, response: Response, operation: str, job_id: str | None) -> Job:
        payload: Any = None
        if response.body.strip():
            try:
                payload = self._payload(response, operation, job_id)
            except ProtocolError:
                if job_id is None:  # a submit must name the job it created
                    raise
        found = self._profile.parse_action(payload, operation=operation, job_id=job_id)
        if isinstance(found, Job):
            return found
        return await self.get_job(found)

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
        if config is not None:
            if not isinstance(config, Mapping):
                raise TypeError(f"config must be a mapping or None, got {type(config).__name__}")
            try:
                json.dumps(config)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"config must be JSON-serialisable: {exc}") from None
        check_int("priority", priority, 1, 4, " (1 low, 2 normal, 3 high, 4 urgent)")
        if idempotency_key is None:
            idempotency_key = str(uuid.uuid4())
        elif not check_header_value("idempotency_key", idempotency_key):
            raise ValueError("idempotency_key must be a non-empty string or None")
        header = self._profile.idempotency_header
        response = await self._http.request(
            "submit",
            json=self._profile.submit_body(name=name, config=config, priority=priority),
            headers={header: idempotency_key} if header else None,
        )
        return await self._job_from_action(response, "submit", None)

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
        job_id = check_job_id(job_id)
        response = await self._http.request(
            "get", path_params={"job_id": job_id}, params=self._profile.get_params()
        )
        return self._profile.parse_job(self._payload(response, "get", job_id))

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
        ids = check_job_ids(job_ids)
        unique = list(dict.fromkeys(ids))
        if not unique:
            return []
        found: dict[str, Job] = {}
        unoffered = get_hub(self).unoffered
        singly = unique
        if "get_many" in self._profile.routes and "get_many" not in unoffered:
            size = max(1, self._profile.max_batch)
            chunks = [unique[i : i + size] for i in range(0, len(unique), size)]
            factories = [lambda chunk=chunk: self._get_chunk(chunk, unoffered) for chunk in chunks]
            singly = []
            for chunk, jobs in zip(
                chunks, await _bounded(factories, _BATCH_CONCURRENCY), strict=True
            ):
                if jobs is None:  # no batched reads on this server after all
                    singly.extend(chunk)
                else:
                    found.update((job.id, job) for job in jobs)
        if singly:
            singles = [lambda job_id=job_id: self._get_or_none(job_id) for job_id in singly]
            for job_id, job in zip(
                singly, await _bounded(singles, _FALLBACK_CONCURRENCY), strict=True
            ):
                if job is not None:
                    found[job_id] = job
        absent = [job_id for job_id in unique if job_id not in found]
        if absent:
            listed = ", ".join(repr(job_id) for job_id in absent)
            raise JobNotFoundError(
                f"{len(absent)} of {len(unique)} jobs not found: {listed}",
                job_ids=absent,
                body={"not_found": absent},
            )
        return [found[job_id] for job_id in ids]

    async def _get_chunk(self, chunk: list[str], unoffered: set[str]) -> list[Job] | None:
        """One batched read: the jobs found (ids left out are not found), or None when the
        server turns out not to offer batched reads (404, 405, 406 or 501 to the batch
        request itself, remembered in ``unoffered``), so that the chunk is read one by one."""
        try:
            response = await self._http.request("get_many", params=self._profile.many_params(chunk))
        except APIError as exc:
            if exc.status not in NOT_OFFERED:
                raise
            logger.info("no batched reads (%s); reading jobs one by one", exc)
            unoffered.add("get_many")
            return None
        jobs, _ = self._profile.parse_many(self._payload(response, "get_many"), job_ids=chunk)
        return jobs

    async def _get_or_none(self, job_id: str) -> Job | None:
        try:
            return await self.get_job(job_id)
        except JobNotFoundError:
            return None

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
        return self._list_pages(wanted, limit)

    async def _list_pages(
        self, status: JobStatus | None, limit: int | None
    ) -> AsyncGenerator[Job, None]:
        yielded = 0
        cursor: str | None = None
        cursors: set[str] = set()
        largest = max(1, self._profile.max_page_size)
        while limit is None or yielded < limit:
            size = largest if limit is None else min(limit - yielded, largest)
            params = self._profile.list_params(status=status, page_size=size, cursor=cursor)
            response = await self._http.request("list", params=params)
            jobs, cursor = self._profile.parse_list(self._payload(response, "list"))
            for job in jobs:
                if status is not None and job.status is not status:
                    continue  # the API ignored (or lacks) the filter
                yield job
                yielded += 1
                if limit is not None and yielded >= limit:
                    return
            if cursor is None:
                return
            if cursor in cursors:
                raise ProtocolError(f"list answer repeats the cursor {cursor!r}: stopping")
            cursors.add(cursor)

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
        job_id = check_job_id(job_id)
        path_params = {"job_id": job_id}
        response = await self._http.request(
            "cancel", path_params=path_params, tolerate_after_retry=(409,)
        )
        if response.status == 409:  # a repeat after a lost answer: did the first one work?
            job = await self.get_job(job_id)
            if job.status is JobStatus.CANCELLED:
                return job
            raise self._http.error_for(response, path_params=path_params)
        return await self._job_from_action(response, "cancel", job_id)

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
        job_id = check_job_id(job_id)
        path_params = {"job_id": job_id}
        response = await self._http.request(
            "restart", path_params=path_params, tolerate_after_retry=(409,)
        )
        if response.status == 409:  # a repeat after a lost answer: did the first one work?
            job = await self.get_job(job_id)
            if job.status in (JobStatus.PENDING, JobStatus.RUNNING):
                return job
            raise self._http.error_for(response, path_params=path_params)
        return await self._job_from_action(response, "restart", job_id)

    async def delete_job(self, job_id: str | int) -> None:
        """Delete a finished job.

        Args:
            job_id: The job's id.

        Raises:
            ConflictError: the job has not finished.
            JobNotFoundError: no such job.
            APIError, TransportError: as for :meth:`get_job`.
        """
        job_id = check_job_id(job_id)
        # A 404 for a repeat after a lost answer means the first delete worked.
        await self._http.request(
            "delete", path_params={"job_id": job_id}, tolerate_after_retry=(404,)
        )

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
        job_id = check_job_id(job_id)
        response = await self._http.request("log", path_params={"job_id": job_id})
        return response.text()

    async def queue_stats(self) -> QueueStats:
        """Read the queue's statistics.

        Returns:
            Counts by status and workers (None for what the API does not report).

        Raises:
            APIError, TransportError, ProtocolError: as for :meth:`get_job`.
        """
        response = await self._http.request("stats")
        return self._profile.parse_stats(self._payload(response, "stats"))

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
        response = await self._http.request(
            "cleanup", params=self._profile.cleanup_params(max_age_hours=max_age_hours)
        )
        return self._profile.parse_cleanup(self._payload(response, "cleanup"))
