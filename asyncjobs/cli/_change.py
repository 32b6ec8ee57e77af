"""The commands that change jobs: ``submit``, ``cancel``, ``restart``, ``delete``, ``cleanup``.

``cancel``, ``restart`` and ``delete`` take several ids: a job that cannot be changed (unknown,
already finished, another caller's) is one error line and exit status 1, the others are done.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from asyncjobs import (
    APIError,
    Client,
    ConflictError,
    Job,
    JobNotFoundError,
    PermissionDeniedError,
)

from ._base import EXIT_ERROR, EXIT_OK, check_base_url, error_line
from ._follow import follow, unique
from ._format import describe_job, job_to_json, plural, write_json

__all__ = ["cancel", "cleanup", "delete", "restart", "submit"]

T = TypeVar("T")


async def submit(client: Client, args: argparse.Namespace) -> int:
    """``submit NAME``: print the new job's id (or JSON); with ``--wait``, follow it."""
    job = await client.submit_job(
        args.name, args.config, priority=args.priority, idempotency_key=args.idempotency_key
    )
    if args.json:
        write_json(job_to_json(job))
    else:
        print(job.id, flush=True)
    if not args.wait:
        return EXIT_OK
    return await follow(client, job, args, skip_version=job.version if args.json else None)


# Errors that concern one job of several; any other error concerns them all and is raised.
_PER_JOB_ERRORS = (JobNotFoundError, ConflictError, PermissionDeniedError)


async def _each(
    client: Client,
    args: argparse.Namespace,
    verb: str,
    action: Callable[[str], Awaitable[T]],
    show: Callable[[str, T], None],
) -> int:
    """Do ``action`` to each id at once; show each success, one error line per refusal."""
    ids = unique(args.job_ids)
    outcomes = await asyncio.gather(*(action(job_id) for job_id in ids), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, APIError) and outcome.status == 404:
            # Before blaming each job: is it the base URL that is wrong?
            await check_base_url(client, outcome, args.settings)
            break
    status = EXIT_OK
    for job_id, outcome in zip(ids, outcomes, strict=True):
        if isinstance(outcome, _PER_JOB_ERRORS):
            error_line(f"cannot {verb} {job_id}: {outcome}")
            status = EXIT_ERROR
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            show(job_id, outcome)
    return status


def _show_job(args: argparse.Namespace) -> Callable[[str, Job], None]:
    def show(job_id: str, job: Job) -> None:
        if args.json:
            write_json(job_to_json(job))
        else:
            print(describe_job(job), flush=True)

    return show


async def cancel(client: Client, args: argparse.Namespace) -> int:
    """``cancel ID...``: cancel pending or running jobs."""
    return await _each(client, args, "cancel", client.cancel_job, _show_job(args))


async def restart(client: Client, args: argparse.Namespace) -> int:
    """``restart ID...``: restart failed or cancelled jobs."""
    return await _each(client, args, "restart", client.restart_job, _show_job(args))


async def delete(client: Client, args: argparse.Namespace) -> int:
    """``delete ID...``: delete finished jobs."""

    def show(job_id: str, _: None) -> None:
        if args.json:
            write_json({"id": job_id, "deleted": True})
        else:
            print(f"deleted {job_id}", flush=True)

    return await _each(client, args, "delete", client.delete_job, show)


async def cleanup(client: Client, args: argparse.Namespace) -> int:
    """``cleanup``: delete the jobs that finished more than ``--max-age-hours`` ago."""
    result = await client.cleanup(max_age_hours=args.max_age_hours)
    if args.json:
        write_json({"cleaned_jobs": result.cleaned_jobs})
    else:
        print(
            f"deleted {plural(result.cleaned_jobs, 'job')} that finished more than "
            f"{plural(args.max_age_hours, 'hour')} ago",
            flush=True,
        )
    return EXIT_OK
