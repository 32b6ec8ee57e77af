"""The commands that read: ``get``, ``list``, ``log`` and ``stats``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from asyncjobs import Client, JobStatus

from ._base import EXIT_OK
from ._format import (
    format_progress,
    format_value,
    format_when,
    job_to_json,
    plain_table,
    write_json,
)
from ._list_watch import list_watch
from ._options import PRIORITY_NAMES

__all__ = ["get", "list_", "log", "stats"]


def _print_fields(rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


async def get(client: Client, args: argparse.Namespace) -> int:
    """``get ID``: the job's fields, one per line."""
    job = await client.get_job(args.job_id)
    if args.json:
        write_json(job_to_json(job))
        return EXIT_OK
    rows: list[tuple[str, str]] = [
        ("id", job.id),
        ("name", job.name or "-"),
        ("status", job.status.value),
        ("progress", format_progress(job).strip()),
        ("message", job.message or "-"),
    ]
    if job.priority is not None:
        rows.append(("priority", f"{job.priority} ({PRIORITY_NAMES.get(job.priority, '?')})"))
    for name in ("created_at", "started_at", "completed_at", "updated_at"):
        when: datetime | None = getattr(job, name)
        rows.append((name, format_when(when)))
    if job.version is not None:
        rows.append(("version", str(job.version)))
    if job.status is JobStatus.COMPLETED or job.result is not None:
        rows.append(("result", json.dumps(job.result, default=str)))
    if job.error is not None:
        rows.append(("error", job.error))
    rows.append(("config", json.dumps(dict(job.config), default=str)))
    _print_fields(rows)
    return EXIT_OK


async def list_(client: Client, args: argparse.Namespace) -> int:
    """``list``: a table of jobs, newest first; with ``--watch``, kept current."""
    if args.watch:
        return await list_watch(client, args)
    limit = args.limit or None
    rows: list[list[str]] = []
    async for job in client.list_jobs(status=args.status, limit=limit):
        if args.json:
            write_json(job_to_json(job))
        else:
            rows.append(
                [
                    job.id,
                    job.status.value,
                    format_progress(job).strip(),
                    job.name or "-",
                    format_when(job.created_at),
                    format_value(job.message or "", 40),
                ]
            )
    if not args.json:
        if rows:
            print(plain_table(["ID", "STATUS", "PROGRESS", "NAME", "CREATED", "MESSAGE"], rows))
        else:
            print("no jobs" + (f" with status {args.status}" if args.status else ""))
    return EXIT_OK


async def log(client: Client, args: argparse.Namespace) -> int:
    """``log ID``: the job's log as the server keeps it."""
    text = await client.get_log(args.job_id)
    if args.json:
        write_json({"id": args.job_id, "log": text})
        return EXIT_OK
    sys.stdout.write(text if not text or text.endswith("\n") else text + "\n")
    sys.stdout.flush()
    return EXIT_OK


_STATS_FIELDS = (
    "total",
    "pending",
    "running",
    "completed",
    "failed",
    "cancelled",
    "active_workers",
    "total_workers",
)


async def stats(client: Client, args: argparse.Namespace) -> int:
    """``stats``: the queue's counts, one per line."""
    queue = await client.queue_stats()
    values = {name: getattr(queue, name) for name in _STATS_FIELDS}
    if args.json:
        write_json(values)
        return EXIT_OK
    _print_fields([(name, "-" if value is None else str(value)) for name, value in values.items()])
    return EXIT_OK
