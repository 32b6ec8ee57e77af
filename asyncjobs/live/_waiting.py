"""Waiting for jobs: wait_for_job, wait_for_jobs, watch_jobs and as_completed.

All of them subscribe a small listener to the client's hub (:mod:`._hub`), so waiters on the same
job share one subscription and many jobs share one stream or one batched polling loop; none of
them starts a task per job. Each one unsubscribes in ``finally`` (returning, raising, cancelled or
abandoned), and the hub stops any feed nobody needs any more, so no task outlives a wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing
from typing import Any

from asyncjobs._exceptions import JobCancelledError, JobFailedError, JobTimeoutError
from asyncjobs._models import TERMINAL, Job, JobStatus
from asyncjobs._validation import check_job_id, check_job_ids, check_seconds, check_transport
from asyncjobs.profiles import Profile

from ._cancel_on_exit import cancel_unfinished
from ._deadline import timeout_error
from ._follow_many import follow
from ._hub import Hub
from ._watch import watch

__all__ = ["as_completed", "job_error", "wait_for_job", "wait_for_jobs", "watch_jobs"]


def job_error(
    job: Job, profile: Profile | None = None
) -> JobFailedError | JobCancelledError | None:
    """The exception a failed or cancelled job raises in a wait (None for any other job).

    ``JobFailedError.details`` is ``{"job_id", "failure_reason"}`` (``failure_reason`` is
    ``job.error``), plus what the profile's ``failure_details`` adds (``error_reason``, a
    ``traceback``...); ``JobCancelledError.details`` is ``{"job_id"}``.
    """
    if job.status is JobStatus.FAILED:
        details: dict[str, Any] = {}
        if profile is not None:
            details.update(profile.failure_details(job))
        details["job_id"] = job.id
        details["failure_reason"] = job.error
        reason = job.error or "no reason given"
        return JobFailedError(f"job {job.id!r} failed: {reason}", job=job, details=details)
    if job.status is JobStatus.CANCELLED:
        return JobCancelledError(
            f"job {job.id!r} was cancelled", job=job, details={"job_id": job.id}
        )
    return None


def _many_timeout_error(
    pending: list[str], timeout: float | None, job: Job | None, total: int
) -> JobTimeoutError:
    first = pending[0]
    return JobTimeoutError(
        f"{len(pending)} of {total} jobs did not finish within {timeout:g} s (first: {first!r})",
        job_id=first,
        timeout=timeout,
        job=job,
        details={"pending_job_ids": pending},
    )


class _Outcomes:
    """A listener that settles each job once: its final state, or the error following it."""

    __slots__ = ("_fail_fast", "_profile", "done", "first_error", "outcomes", "remaining")

    def __init__(self, count: int, *, fail_fast: bool, profile: Profile) -> None:
        self._profile = profile
        self.outcomes: dict[str, Job | BaseException] = {}
        self.remaining = count
        self.first_error: BaseException | None = None
        self._fail_fast = fail_fast
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_job(self, job: Job) -> None:
        if job.status in TERMINAL and job.id not in self.outcomes:
            error = job_error(job, self._profile)
            self._settle(job.id, job if error is None else error, error)

    def on_jobs(self, jobs: list[Job]) -> None:
        for job in jobs:
            if job.status in TERMINAL and job.id not in self.outcomes:
                error = job_error(job, self._profile)
                self._settle(job.id, job if error is None else error, error)

    def on_error(self, job_id: str, error: BaseException) -> None:
        if job_id not in self.outcomes:
            self._settle(job_id, error, error)

    def _settle(
        self, job_id: str, outcome: Job | BaseException, error: BaseException | None
    ) -> None:
        self.outcomes[job_id] = outcome
        self.remaining -= 1
        if error is not None and self.first_error is None:
            self.first_error = error
            if self._fail_fast:
                self._finish()
        if self.remaining <= 0:
            self._finish()

    def _finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def wait_for_job(
    hub: Hub,
    job_id: str | int,
    *,
    timeout: float | None = 300,  # noqa: ASYNC109
    poll_interval: float | None = None,
    transport: str = "auto",
    raise_on_failure: bool = True,
) -> Job:
    """Wait until a job ends and return its final state.

    With the defaults (``transport="auto"``, adaptive polling) the wait goes through the
    client's shared subscriptions: waiters on the same job share one, and jobs waited on
    together share one stream. An explicit transport or ``poll_interval`` follows the job on
    its own with :func:`~._watch.watch`.

    Args:
        hub: The client's hub.
        job_id: The job's id.
        timeout: Seconds for the whole wait, or None for no limit.
        poll_interval: A fixed polling interval (then the job is polled); None: adaptive.
        transport: ``"auto"``, ``"sse"``, ``"long-poll"`` or ``"poll"``.
        raise_on_failure: Raise for a failed or cancelled job instead of returning it.

    Returns:
        The job's final state.

    Raises:
        JobFailedError: the job failed (``details``: ``job_id``, ``failure_reason``).
        JobCancelledError: the job was cancelled (``details``: ``job_id``).
        JobTimeoutError: ``timeout`` passed first (``.job`` is the last state seen).
        JobNotFoundError: no such job.
        APIError, TransportError: errors that outlasted the retry budget or are not transient.
    """
    job_id = check_job_id(job_id)
    transport = check_transport(transport)
    timeout = check_seconds("timeout", timeout, zero=True)
    poll_interval = check_seconds("poll_interval", poll_interval, zero=False)
    if transport == "auto" and poll_interval is None:
        job = await _wait_shared(hub, job_id, timeout)
    else:
        job = await _wait_alone(hub, job_id, timeout, transport, poll_interval)
    if raise_on_failure:
        error = job_error(job, hub.api.profile)
        if error is not None:
            raise error
    return job


async def _wait_shared(hub: Hub, job_id: str, limit: float | None) -> Job:
    waiter = _Outcomes(1, fail_fast=False, profile=hub.api.profile)
    hub.subscribe((job_id,), waiter)
    scope = asyncio.timeout(limit)
    try:
        async with scope:
            await waiter.done
    except TimeoutError:
        if scope.expired():
            raise timeout_error(job_id, limit, hub.current(job_id)) from None
        raise
    finally:
        hub.unsubscribe((job_id,), waiter)
    outcome = waiter.outcomes[job_id]
    if isinstance(outcome, Job):
        return outcome
    # A failed or cancelled job is settled as its error; other errors are raised as they are.
    if isinstance(outcome, JobFailedError | JobCancelledError):
        return outcome.job
    raise outcome


async def _wait_alone(
    hub: Hub,
    job_id: str,
    limit: float | None,
    transport: str,
    poll_interval: float | None,
) -> Job:
    last: Job | None = None
    updates = watch(hub, job_id, transport=transport, timeout=None, poll_interval=poll_interval)
    scope = asyncio.timeout(limit)
    try:
        async with scope, aclosing(updates):
            async for job in updates:
                last = job
    except TimeoutError:
        if scope.expired():
            raise timeout_error(job_id, limit, last) from None
        raise
    assert last is not None and last.is_terminal
    return last


async def wait_for_jobs(
    hub: Hub,
    job_ids: Iterable[str | int],
    *,
    timeout: float | None = 300,  # noqa: ASYNC109
    fail_fast: bool = True,
    return_exceptions: bool = False,
    cancel_on_exit: bool = False,
) -> list[Job | BaseException]:
    """Wait for many jobs at once, over one shared stream or batched reads.

    ``asyncio.gather`` semantics: the results are in input order (a duplicated id gives the
    same result twice). A failed or cancelled job counts as a failure
    (:class:`JobFailedError`, :class:`JobCancelledError`), as does an id that cannot be
    followed (e.g. :class:`JobNotFoundError`).

    Args:
        hub: The client's hub.
        job_ids: The ids.
        timeout: Seconds for the whole wait, or None for no limit.
        fail_fast: Raise the first failure as soon as it happens (the other waits end);
            otherwise wait for every job, then raise the first failure.
        return_exceptions: Return failures in the list instead of raising them.
        cancel_on_exit: If the wait is cancelled or times out, cancel the jobs not finished
            yet on the server too (a few at once, to the end even though the wait was
            cancelled; errors are logged). Finished jobs are not touched.

    Returns:
        The final jobs in input order; with ``return_exceptions``, failures in their place.

    Raises:
        JobFailedError, JobCancelledError: a job failed (unless ``return_exceptions``).
        JobTimeoutError: ``timeout`` passed first; ``job_id`` is the first unfinished id in
            input order and ``details["pending_job_ids"]`` lists them all.
        JobNotFoundError: an unknown id (unless ``return_exceptions``).
        APIError, TransportError: errors that outlasted the retry budget or are not transient.
    """
    ids = check_job_ids(job_ids)
    timeout = check_seconds("timeout", timeout, zero=True)
    if not ids:
        return []
    unique = list(dict.fromkeys(ids))
    waiter = _Outcomes(
        len(unique), fail_fast=fail_fast and not return_exceptions, profile=hub.api.profile
    )
    hub.subscribe(unique, waiter)
    scope = asyncio.timeout(timeout)

    def unfinished() -> list[str]:
        return [job_id for job_id in unique if job_id not in waiter.outcomes]

    try:
        try:
            async with scope:
                await waiter.done
        except TimeoutError:
            if not scope.expired():
                raise
            pending = unfinished()
            error = _many_timeout_error(pending, timeout, hub.current(pending[0]), len(unique))
            hub.unsubscribe(unique, waiter)
            if cancel_on_exit:
                await cancel_unfinished(hub, pending, error)
            raise error from None
        except asyncio.CancelledError as cancelled:
            if cancel_on_exit:
                pending = unfinished()
                hub.unsubscribe(unique, waiter)
                await cancel_unfinished(hub, pending, cancelled)
            raise
    finally:
        hub.unsubscribe(unique, waiter)
    if waiter.first_error is not None and not return_exceptions:
        raise waiter.first_error
    outcomes = waiter.outcomes
    return [outcomes[job_id] for job_id in ids]


def _follow_many(
    hub: Hub, job_ids: Iterable[str | int], limit: object, *, final_only: bool
) -> AsyncGenerator[Job, None]:
    """Check the arguments now (so a bad one raises at the call), then follow lazily."""
    ids = check_job_ids(job_ids)
    timeout = check_seconds("timeout", limit, zero=True)
    unique = list(dict.fromkeys(ids))

    def expired(pending: list[str], job: Job | None) -> JobTimeoutError:
        return _many_timeout_error(pending, timeout, job, len(unique))

    return follow(hub, unique, timeout=timeout, final_only=final_only, expired=expired)


def watch_jobs(
    hub: Hub, job_ids: Iterable[str | int], *, timeout: float | None = None
) -> AsyncGenerator[Job, None]:
    """Follow many jobs over the client's shared stream (or batched reads).

    Yields each job's current state, then every later version of any of them (never the same
    version of a job twice), and ends once all of them are terminal; failed and cancelled jobs
    do not raise. Duplicated ids are followed once. Leaving the loop early releases everything.

    Args:
        hub: The client's hub.
        job_ids: The ids.
        timeout: Seconds for the whole watch, or None for no limit.

    Returns:
        An async iterator of job states.

    Raises:
        JobTimeoutError: ``timeout`` passed first (``job_id``: the first unfinished id in input
            order; ``details["pending_job_ids"]``: all of them).
        JobNotFoundError: an unknown id.
        APIError, TransportError: errors that outlasted the retry budget or are not transient.
    """
    return _follow_many(hub, job_ids, timeout, final_only=False)


def as_completed(
    hub: Hub, job_ids: Iterable[str | int], *, timeout: float | None = None
) -> AsyncGenerator[Job, None]:
    """Yield each job's final state as it ends, in the order they end.

    Failed and cancelled jobs are yielded like completed ones (nothing is raised for them);
    jobs already finished come first. Duplicated ids are yielded once.

    Args:
        hub: The client's hub.
        job_ids: The ids.
        timeout: Seconds for the whole iteration, or None for no limit.

    Returns:
        An async iterator of final job states.

    Raises:
        JobTimeoutError: ``timeout`` passed before all jobs ended (``job_id``: the first
            unfinished id in input order; ``details["pending_job_ids"]``: all of them).
        JobNotFoundError: an unknown id.
        APIError, TransportError: errors that outlasted the retry budget or are not transient.
    """
    return _follow_many(hub, job_ids, timeout, final_only=True)
