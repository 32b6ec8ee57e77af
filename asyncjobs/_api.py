"""Job operations over one profile and one request pipeline: what the client and the live layer
both call (get, batched get, list, cancel...), and what the server was seen not to offer.

:class:`JobAPI` takes arguments already checked (the :class:`~asyncjobs.Client` facade checks
them) and turns each operation into requests and each answer into models through the profile.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import aclosing
from typing import Any, Final

from ._concurrency import run_bounded
from ._exceptions import (
    APIError,
    AsyncJobsError,
    ConflictError,
    JobNotFoundError,
    PermissionDeniedError,
    ProtocolError,
)
from ._models import TRANSPORT_OPERATION, CleanupResult, Job, JobStatus, QueueStats, Transport
from ._remembered import RecentSubmits, Unoffered
from ._transport import NOT_OFFERED, HTTPClient, Response
from ._tuning import TUNING
from .profiles import Profile

__all__ = ["JobAPI", "RecentSubmits", "Unoffered"]

logger = logging.getLogger("asyncjobs")

_GET_MANY: Final = "get_many"


class JobAPI:
    """Every job operation of one client, over its profile and request pipeline.

    Args:
        http: The client's request pipeline.
        profile: The API's profile.

    Attributes:
        unoffered: Operations (and transports' operations) the server was seen not to offer:
            never probed again by this client.
    """

    __slots__ = ("_fresh", "http", "profile", "unoffered")

    def __init__(self, http: HTTPClient, profile: Profile) -> None:
        self.http = http
        self.profile = profile
        self.unoffered = Unoffered()
        self._fresh = RecentSubmits(profile.not_found_grace)

    def offers(self, operation: str) -> bool:
        """Whether the profile has ``operation`` and the server was not seen to lack it."""
        return operation in self.profile.routes and operation not in self.unoffered

    def can_follow(self, transport: Transport) -> bool:
        """Whether the API offers ``transport`` and the server was not seen to lack it."""
        return (
            self.profile.offers(transport) and TRANSPORT_OPERATION[transport] not in self.unoffered
        )

    def payload(self, response: Response, operation: str, job_id: str | None = None) -> Any:
        """The JSON of an answer, unwrapped by the profile."""
        return self.profile.unwrap(response.json(), operation=operation, job_id=job_id)

    async def _job_from_action(
        self, response: Response, operation: str, job_id: str | None, *, name: str | None = None
    ) -> Job:
        payload: Any = None
        if response.body.strip():
            try:
                payload = self.payload(response, operation, job_id)
            except ProtocolError:
                if job_id is None:  # a submit must name the job it created
                    raise
        found = self.profile.parse_action(payload, operation=operation, job_id=job_id)
        if operation == "submit":
            self._fresh.add(found.id if isinstance(found, Job) else found, name)
        if isinstance(found, Job):
            return found
        return await self.get(found)

    # -- reading -------------------------------------------------------------------------

    async def get(self, job_id: str) -> Job:
        """Read one job (see :meth:`Client.get_job`).

        A job this client submitted moments ago reads as PENDING while the server may not show
        it yet (the profile's ``not_found_grace``)."""
        profile = self.profile
        try:
            response = await self.http.request(
                "get",
                path_params=profile.path_params("get", job_id=job_id),
                params=profile.operation_params("get", job_id=job_id),
                json=profile.operation_body("get", job_id=job_id),
            )
        except JobNotFoundError:
            pending = self._fresh.pending(job_id)
            if pending is None:
                raise
            return pending
        job = profile.parse_job(self.payload(response, "get", job_id))
        if job.id != job_id:
            raise ProtocolError(
                f"GET of job {job_id!r} ({response.method} {response.path}) answered job "
                f"{job.id!r}: expected the job asked for"
            )
        return job

    async def read_many(
        self, job_ids: Sequence[str], *, confirm_missing: bool
    ) -> tuple[list[Job], dict[str, BaseException]]:
        """Read distinct jobs with batched requests (``get_many``, a few at once).

        Without batched reads (in the profile, or answered with 404, 405, 406 or 501, which is
        remembered in :attr:`unoffered`) every job is read on its own.

        Args:
            job_ids: Distinct ids.
            confirm_missing: Read the ids a batch answer leaves out one by one, which tells
                "no such job" (404) from "another caller's job" (403); otherwise a left-out id
                is not found.

        Returns:
            The jobs read, and the error (:class:`JobNotFoundError` or
            :class:`PermissionDeniedError`) of each id that could not be read.

        Raises:
            APIError, TransportError, ProtocolError: a read failed otherwise (after retries).
        """
        profile = self.profile
        found: list[Job] = []
        missing: list[str] = []
        errors: dict[str, BaseException] = {}
        if self.offers(_GET_MANY):

            async def read_batch(chunk: Sequence[str]) -> None:
                jobs = await self._read_batch(chunk)
                if jobs is None:
                    missing.extend(chunk)
                    return
                found.extend(jobs)
                seen = {job.id for job in jobs}
                left_out = [job_id for job_id in chunk if job_id not in seen]
                if confirm_missing:
                    missing.extend(left_out)
                else:
                    for job_id in left_out:
                        errors[job_id] = JobNotFoundError(
                            f"job {job_id!r} not found", job_ids=(job_id,)
                        )

            size = max(1, profile.max_batch)
            chunks = [job_ids[i : i + size] for i in range(0, len(job_ids), size)]
            await run_bounded(chunks, read_batch, TUNING.read_concurrency)
        elif profile.batch_via_list and self.offers("list") and len(job_ids) > 1:
            found = await self._read_listed(job_ids)
            seen = {job.id for job in found}
            missing = [job_id for job_id in job_ids if job_id not in seen]
        else:
            missing = list(job_ids)

        async def read_one(job_id: str) -> None:
            try:
                found.append(await self.get(job_id))
            except (JobNotFoundError, PermissionDeniedError) as exc:
                errors[job_id] = exc

        await run_bounded(missing, read_one, 2 * TUNING.read_concurrency)
        return found, errors

    async def _read_batch(self, chunk: Sequence[str]) -> list[Job] | None:
        """One batched read: the jobs found, or None when the server turns out not to offer
        batched reads (remembered in :attr:`unoffered`)."""
        try:
            params = self.profile.many_params(chunk)
            params.update(self.profile.operation_params(_GET_MANY))
            response = await self.http.request(_GET_MANY, params=params)
        except APIError as exc:
            if exc.status not in NOT_OFFERED:
                raise
            logger.info("no batched reads (%s); reading jobs one by one", exc)
            self.unoffered.add(_GET_MANY)
            return None
        jobs, _ = self.profile.parse_many(self.payload(response, _GET_MANY), job_ids=chunk)
        return jobs

    async def _read_listed(self, job_ids: Sequence[str]) -> list[Job]:
        """The jobs of ``job_ids`` met in the first pages of the list (newest first): as many
        pages as the ids would fill, plus one, so that recent jobs cost a request or two and
        old ones fall back to reads of their own."""
        wanted = set(job_ids)
        found: list[Job] = []
        pages = math.ceil(len(wanted) / max(1, self.profile.max_page_size)) + 1
        async with aclosing(self.list_pages(None, None, max_pages=pages)) as listed:
            async for job in listed:
                if job.id in wanted:
                    wanted.discard(job.id)
                    found.append(job)
                    if not wanted:
                        break
        return found

    async def get_many(self, job_ids: Sequence[str]) -> list[Job]:
        """Read jobs in input order (see :meth:`Client.get_jobs`)."""
        unique = list(dict.fromkeys(job_ids))
        if not unique:
            return []
        jobs, errors = await self.read_many(unique, confirm_missing=False)
        for error in errors.values():
            if not isinstance(error, JobNotFoundError):
                raise error
        found = {job.id: job for job in jobs}
        absent = [job_id for job_id in unique if job_id not in found]
        if absent:
            listed = ", ".join(repr(job_id) for job_id in absent)
            raise JobNotFoundError(
                f"{len(absent)} of {len(unique)} jobs not found: {listed}",
                job_ids=absent,
                body={"not_found": absent},
            )
        return [found[job_id] for job_id in job_ids]

    async def list_pages(
        self, status: JobStatus | None, limit: int | None, *, max_pages: int | None = None
    ) -> AsyncGenerator[Job, None]:
        """Jobs newest first across pages (see :meth:`Client.list_jobs`).

        With the profile's ``paging="offset"``, the cursor is the offset of the next page,
        counted here; a page shorter than asked for is the last one.
        """
        profile = self.profile
        offsets = profile.paging == "offset"
        offset = 0
        yielded = 0
        pages = 0
        cursor: str | None = None
        cursors: set[str] = set()
        largest = max(1, profile.max_page_size)
        while (limit is None or yielded < limit) and (max_pages is None or pages < max_pages):
            pages += 1
            size = largest if limit is None else min(limit - yielded, largest)
            params = profile.list_params(status=status, page_size=size, cursor=cursor)
            params.update(profile.operation_params("list"))
            body = profile.list_body(status=status, page_size=size, cursor=cursor)
            response = await self.http.request("list", params=params, json=body)
            jobs, cursor = profile.parse_list(self.payload(response, "list"))
            if offsets:
                offset += len(jobs)
                cursor = str(offset) if len(jobs) >= size else None

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

    # -- acting --------------------------------------------------------------------------

    async def submit(
        self,
        name: str | None,
        config: Mapping[str, Any] | None,
        *,
        priority: int,
        idempotency_key: str,
    ) -> Job:
        """Submit a job (see :meth:`Client.submit_job`); arguments already checked.

        Raises:
            ValueError: the profile cannot make a request of these arguments (e.g. a
                ``config`` without what the API requires, or no name for a route that needs
                one); nothing was sent.
        """
        profile = self.profile
        header = profile.idempotency_header
        path_params = profile.path_params("submit", name=name)
        if profile._submit_takes_key:
            body = profile.submit_body(
                name=name, config=config, priority=priority, idempotency_key=idempotency_key
            )
        else:
            body = profile.submit_body(name=name, config=config, priority=priority)
        try:
            try:
                response = await self.http.request(
                    "submit",
                    path_params=path_params,
                    params=profile.operation_params("submit"),
                    json=body,
                    headers={header: idempotency_key} if header else None,
                )
            except ConflictError:
                existing = profile.existing_job_id(idempotency_key)
                if existing is None:
                    raise
                # The key is the job's id, and a job with it exists: a repeated submit.
                return await self.get(existing)
            return await self._job_from_action(response, "submit", None, name=name)
        except AsyncJobsError as exc:
            # The job may exist or not: the key lets the caller submit again safely.
            exc.idempotency_key = idempotency_key
            details = getattr(exc, "details", None)
            if isinstance(details, dict):
                details["idempotency_key"] = idempotency_key
            if header or profile.existing_job_id(idempotency_key) is not None:
                exc.add_note(
                    f"submit again with idempotency_key={idempotency_key!r} to create the job "
                    "at most once"
                )
            raise

    async def _act(self, operation: str, job_id: str, done: Callable[[Job], bool]) -> Job:
        """A cancel or restart. A 409 to a repeat after a lost answer may mean the first
        attempt worked: the job is read, and returned if ``done`` says it did."""
        path_params = self.profile.path_params(operation, job_id=job_id)
        response = await self.http.request(
            operation,
            path_params=path_params,
            params=self.profile.operation_params(operation, job_id=job_id),
            json=self.profile.operation_body(operation, job_id=job_id),
            tolerate_after_retry=(409,),
        )
        if response.status == 409:
            job = await self.get(job_id)
            if done(job):
                return job
            raise self.http.error_for(response, path_params=path_params)
        return await self._job_from_action(response, operation, job_id)

    async def cancel(self, job_id: str) -> Job:
        """Cancel a job (see :meth:`Client.cancel_job`)."""
        return await self._act("cancel", job_id, lambda job: job.status is JobStatus.CANCELLED)

    async def restart(self, job_id: str) -> Job:
        """Restart a job (see :meth:`Client.restart_job`)."""
        return await self._act(
            "restart", job_id, lambda job: job.status in (JobStatus.PENDING, JobStatus.RUNNING)
        )

    async def delete(self, job_id: str) -> None:
        """Delete a job (see :meth:`Client.delete_job`)."""
        # A 404 for a repeat after a lost answer means the first delete worked.
        await self.http.request(
            "delete",
            path_params=self.profile.path_params("delete", job_id=job_id),
            params=self.profile.operation_params("delete", job_id=job_id),
            json=self.profile.operation_body("delete", job_id=job_id),
            tolerate_after_retry=(404,),
        )

    async def log(self, job_id: str) -> str:
        """A job's log (see :meth:`Client.get_log`)."""
        response = await self.http.request(
            "log",
            path_params=self.profile.path_params("log", job_id=job_id),
            params=self.profile.operation_params("log", job_id=job_id),
            json=self.profile.operation_body("log", job_id=job_id),
        )
        return self.profile.parse_log(response.text())

    async def stats(self) -> QueueStats:
        """Queue statistics (see :meth:`Client.queue_stats`)."""
        response = await self.http.request(
            "stats",
            params=self.profile.operation_params("stats"),
            json=self.profile.operation_body("stats"),
        )
        return self.profile.parse_stats(self.payload(response, "stats"))

    async def cleanup(self, max_age_hours: int) -> CleanupResult:
        """Delete old finished jobs (see :meth:`Client.cleanup`)."""
        params = self.profile.cleanup_params(max_age_hours=max_age_hours)
        params.update(self.profile.operation_params("cleanup"))
        response = await self.http.request(
            "cleanup", params=params, json=self.profile.operation_body("cleanup")
        )
        return self.profile.parse_cleanup(self.payload(response, "cleanup"))
