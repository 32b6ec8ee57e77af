"""Cancelling on the server the unfinished jobs of a wait that ends early (``wait_for_jobs``
with ``cancel_on_exit``): a few at once, each with the client's retries, in a task the client
tracks, the wait itself waiting for them only within ``TUNING.cancel_grace``.
"""

from __future__ import annotations

import asyncio
import logging

from asyncjobs._concurrency import run_bounded
from asyncjobs._exceptions import ConflictError
from asyncjobs._tuning import TUNING

from ._hub import Hub

__all__ = ["cancel_unfinished"]

logger = logging.getLogger("asyncjobs")

_CANCEL_CONCURRENCY = 8


async def _cancel_jobs(hub: Hub, job_ids: list[str]) -> dict[str, BaseException]:
    """Cancel jobs on the server, a few at once, each with the client's retries.

    Returns:
        The jobs that could not be cancelled, with why (each also logged); a job that had
        already finished counts as done.
    """
    failed: dict[str, BaseException] = {}

    async def cancel(job_id: str) -> None:
        try:
            await hub.api.cancel(job_id)
        except ConflictError:
            logger.debug("job %r finished before it could be cancelled", job_id)
        except Exception as exc:
            logger.warning("could not cancel job %r on exit: %s", job_id, exc)
            failed[job_id] = exc

    await run_bounded(job_ids, cancel, _CANCEL_CONCURRENCY)
    return failed


async def cancel_unfinished(hub: Hub, job_ids: list[str], error: BaseException) -> None:
    """Cancel the unfinished jobs of a wait that is ending with ``error``.

    The cancels run in a task the client tracks (its ``close()`` waits for it), so they go on
    with their retries however the wait ends; the wait itself waits for them at most
    ``TUNING.cancel_grace`` seconds (cancelled again meanwhile or not), then ``error`` says
    what is known: the jobs that could not be cancelled (``details["not_cancelled"]`` where
    ``error`` has details, and a note), or that the cancels go on in the background.
    """
    task = hub.spawn(_cancel_jobs(hub, job_ids))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TUNING.cancel_grace
    insisted = False
    # Shielded for the grace period: a cancellation arriving meanwhile (anyio's cancel scopes
    # deliver one at every step) is remembered and raised afterwards, not obeyed at once.
    while not task.done() and (left := deadline - loop.time()) > 0:
        try:
            await asyncio.wait([task], timeout=left)
        except asyncio.CancelledError:
            insisted = True
    if not task.done():
        error.add_note(
            f"cancelling {len(job_ids)} unfinished jobs on the server goes on in the "
            "background (Client.close() waits for it)"
        )
    elif not task.cancelled() and (failed := task.result()):
        details = getattr(error, "details", None)
        if isinstance(details, dict):
            details["not_cancelled"] = sorted(failed)
        listed = ", ".join(f"{job_id!r} ({reason})" for job_id, reason in failed.items())
        error.add_note(f"{len(failed)} jobs could not be cancelled on the server: {listed}")
    if insisted:
        raise asyncio.CancelledError
