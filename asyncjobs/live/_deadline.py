"""The clock of a watch or wait: its deadline, and the error it raises when that passes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from asyncjobs._exceptions import JobTimeoutError
from asyncjobs._models import Job

__all__ = ["Expired", "timeout_error", "within"]

_T = TypeVar("_T")


class Expired(Exception):
    """The watch's own deadline passed."""


async def within(deadline: float | None, awaitable: Awaitable[_T]) -> _T:
    """Await ``awaitable`` by ``deadline`` (event loop time; None: no limit).

    Raises:
        Expired: the deadline passed (told apart from any TimeoutError the awaitable raises).
    """
    if deadline is None:
        return await awaitable
    scope = asyncio.timeout_at(deadline)
    try:
        async with scope:
            return await awaitable
    except TimeoutError:
        if scope.expired():
            raise Expired from None
        raise


def timeout_error(job_id: str, timeout: float | None, job: Job | None) -> JobTimeoutError:
    """The :class:`JobTimeoutError` of a watch or wait on one job."""
    status = "never read" if job is None else f"last status {job.status.value}"
    return JobTimeoutError(
        f"job {job_id!r} did not finish within {timeout:g} s ({status})",
        job_id=job_id,
        timeout=timeout,
        job=job,
    )
