"""``watch()``: one job's current state, then one :class:`Job` per change, until it ends.

With ``transport="auto"`` and adaptive polling a watch is one more subscription of the client's
hub, so thousands of watches on distinct jobs share the hub's few multiplexed streams (or its
batched polling), and watches of the same job share one subscription. An explicit transport or
``poll_interval`` is the caller asking for that transport: the job is then followed on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from asyncjobs._exceptions import JobTimeoutError
from asyncjobs._models import Job

from ._deadline import Expired, timeout_error, within
from ._hub import Hub, follow
from ._single import JobFollower

__all__ = ["watch"]


def watch(
    hub: Hub,
    job_id: str,
    *,
    transport: str,
    timeout: float | None,
    poll_interval: float | None,
) -> AsyncGenerator[Job, None]:
    """Follow one job (arguments already checked; see :meth:`Client.watch`).

    Raises:
        UnsupportedOperationError: an explicit transport the API lacks (raised at once).
    """
    if transport == "auto" and poll_interval is None:

        def expired(pending: list[str], job: Job | None) -> JobTimeoutError:
            return timeout_error(job_id, timeout, job)

        return follow(hub, [job_id], timeout=timeout, final_only=False, expired=expired)
    # Built first: an explicit transport the API lacks raises before anything is read.
    follower = JobFollower(
        hub.api, job_id, transport=transport, poll_interval=poll_interval, last=None
    )
    return _watch_alone(hub, follower, job_id, timeout)


async def _watch_alone(
    hub: Hub,
    follower: JobFollower,
    job_id: str,
    timeout: float | None,  # noqa: ASYNC109
) -> AsyncGenerator[Job, None]:
    """The job's current state from a plain read (so a 404 is JobNotFoundError), then the
    follower's changes; the follower's stream is closed however the iteration ends."""
    deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
    last: Job | None = None
    try:
        last = follower.last = await within(deadline, hub.api.get(job_id))
        yield last
        if last.is_terminal:
            return
        while True:
            for job in await within(deadline, follower.next(deadline)):
                last = job
                yield job
                if job.is_terminal:
                    return
    except Expired:
        raise timeout_error(job_id, timeout, last) from None
    finally:
        await follower.aclose()
