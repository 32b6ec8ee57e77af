"""The client commands of the command line: submit, get, list, watch, wait, cancel, stats.

:func:`register` adds them (and ``demo``, from :mod:`._cli_demo`) to the parser of
:mod:`._cli`. Each handler takes the parsed arguments and returns the exit status (see
:mod:`._cli_base`); errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ._cli_base import (
    DEFAULT_URL,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_TIMEOUT,
    PRIORITY_NAMES,
    command,
    config_arg,
    count_arg,
    error_line,
    exit_code_for,
    job_id_arg,
    priority_arg,
    seconds_arg,
    status_arg,
)
from ._cli_render import (
    describe_job,
    format_progress,
    format_seconds,
    format_value,
    job_to_json,
    make_view,
    plain_table,
    write_json,
)
from ._client import Client
from ._exceptions import (
    ConflictError,
    JobNotFoundError,
    JobTimeoutError,
    PermissionDeniedError,
)
from ._models import Job, JobStatus

__all__ = ["follow", "register"]

_EXIT_HELP = (
    "exit status: 0 done, 4 error (connection, authentication, not found, ...), "
    "2 usage error, 130 interrupted"
)
_OUTCOME_HELP = (
    "exit status: 0 completed, 1 failed, 2 cancelled, 3 timed out; "
    "4 error (connection, authentication, not found, ...), 2 usage error, 130 interrupted"
)


def add_connection_options(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """Add ``--url``, ``--token``, ``--profile`` and ``--json`` to ``parser``.

    The options are accepted both before and after the command. The main parser holds the
    defaults; each command's copy uses ``argparse.SUPPRESS`` so that it does not overwrite a
    value given before the command with its own default.
    """
    unset: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {}
    group = parser.add_argument_group("connection and output")
    group.add_argument(
        "--url",
        help=f"the API's base URL (default: $ASYNCJOBS_URL, else {DEFAULT_URL})",
        **unset,
    )
    group.add_argument("--token", help="the API token (default: $ASYNCJOBS_TOKEN)", **unset)
    group.add_argument(
        "--profile",
        help="the API's profile, e.g. native, compileo, job-management "
        "(default: $ASYNCJOBS_PROFILE, else native)",
        **unset,
    )
    group.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per line, for scripts",
        **unset,
    )


def _connection_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    add_connection_options(common, suppress=True)
    return common


def _view_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("display")
    group.add_argument(
        "--plain", action="store_true", help="print a line per update instead of a live bar"
    )
    group.add_argument(
        "--force-terminal",
        action="store_true",
        help="draw live bars even when stdout is not a terminal",
    )
    return common


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the client commands and ``demo`` to the command line's subparsers."""
    from ._cli_demo import add_demo

    add_demo(commands)
    connection = _connection_options()
    view = _view_options()

    def add(name: str, help: str, parents: Sequence[argparse.ArgumentParser], epilog: str) -> Any:
        return commands.add_parser(
            name,
            help=help,
            description=help[0].upper() + help[1:] + ".",
            parents=parents,
            epilog=epilog,
        )

    submit = add("submit", "submit a job", [connection, view], _OUTCOME_HELP)
    submit.add_argument("name", nargs="?", help="the job's name")
    submit.add_argument(
        "--config", type=config_arg, default=None, metavar="JSON", help="the job's config object"
    )
    submit.add_argument(
        "--priority", type=priority_arg, default=2, help="1..4 or low, normal, high, urgent"
    )
    submit.add_argument("--idempotency-key", metavar="KEY", help="submit at most once per key")
    submit.add_argument(
        "--wait", action="store_true", help="follow the job until it ends (exit status per outcome)"
    )
    submit.add_argument(
        "--timeout", type=seconds_arg, metavar="SECONDS", help="with --wait: give up after SECONDS"
    )
    submit.set_defaults(handler=command(_submit))

    get = add("get", "show a job", [connection], _EXIT_HELP)
    get.add_argument("job_id", metavar="ID", type=job_id_arg)
    get.set_defaults(handler=command(_get))

    list_ = add("list", "list jobs, newest first", [connection], _EXIT_HELP)
    list_.add_argument("--status", type=status_arg, help="only jobs with this status")
    list_.add_argument(
        "--limit", type=count_arg, default=50, help="the most jobs to list (default: 50; 0: all)"
    )
    list_.set_defaults(handler=command(_list))

    watch = add("watch", "follow a job live until it ends", [connection, view], _OUTCOME_HELP)
    watch.add_argument("job_id", metavar="ID", type=job_id_arg)
    watch.add_argument(
        "--timeout", type=seconds_arg, metavar="SECONDS", help="give up after SECONDS"
    )
    watch.set_defaults(handler=command(_watch))

    wait = add(
        "wait",
        "wait for jobs, printing each as it ends",
        [connection],
        _OUTCOME_HELP.replace("exit status:", "exit status, the worst of all the jobs:"),
    )
    wait.add_argument("job_ids", metavar="ID", nargs="+", type=job_id_arg)
    wait.add_argument(
        "--timeout", type=seconds_arg, metavar="SECONDS", help="give up after SECONDS"
    )
    wait.set_defaults(handler=command(_wait))

    cancel = add("cancel", "cancel pending or running jobs", [connection], _EXIT_HELP)
    cancel.add_argument("job_ids", metavar="ID", nargs="+", type=job_id_arg)
    cancel.set_defaults(handler=command(_cancel))

    stats = add("stats", "show the queue statistics", [connection], _EXIT_HELP)
    stats.set_defaults(handler=command(_stats))


# -- the commands -----------------------------------------------------------------------------


async def _submit(client: Client, args: argparse.Namespace) -> int:
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


async def follow(
    client: Client, job: Job | str, args: argparse.Namespace, *, skip_version: int | None = None
) -> int:
    """Show a job live until it ends (bars, lines or JSON); the exit status of its outcome."""
    job_id = job if isinstance(job, str) else job.id
    view = make_view(json_lines=args.json, plain=args.plain, force_terminal=args.force_terminal)
    last: Job | None = None
    try:
        with view:
            if isinstance(job, Job) and not args.json:
                view.update(job)
            async for update in client.watch(job_id, timeout=args.timeout):
                last = update
                if skip_version is not None and update.version == skip_version:
                    continue
                view.update(update)
    except JobTimeoutError as exc:
        seen = exc.job or last
        state = f" (last seen: {seen.status.value}{_progress_note(seen)})" if seen else ""
        error_line(
            f"timed out after {format_seconds(args.timeout)} waiting for job {job_id}{state}"
        )
        return EXIT_TIMEOUT
    if last is None:  # pragma: no cover - watch always yields the terminal state
        return EXIT_TIMEOUT
    return exit_code_for(last)


def _progress_note(job: Job) -> str:
    return "" if job.progress is None else f", {format_progress(job).strip()}"


async def _get(client: Client, args: argparse.Namespace) -> int:
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
        rows.append((name, _when(when)))
    if job.version is not None:
        rows.append(("version", str(job.version)))
    if job.status is JobStatus.COMPLETED or job.result is not None:
        rows.append(("result", json.dumps(job.result, default=str)))
    if job.error is not None:
        rows.append(("error", job.error))
    rows.append(("config", json.dumps(dict(job.config), default=str)))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return EXIT_OK


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    ago = (datetime.now(UTC) - value).total_seconds()
    text = value.isoformat(timespec="seconds").replace("+00:00", "Z")
    return f"{text} ({format_seconds(ago)} ago)" if ago >= 0 else text


async def _list(client: Client, args: argparse.Namespace) -> int:
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
                    _when(job.created_at),
                    format_value(job.message or "", 40),
                ]
            )
    if not args.json:
        if rows:
            print(plain_table(["ID", "STATUS", "PROGRESS", "NAME", "CREATED", "MESSAGE"], rows))
        else:
            print("no jobs" + (f" with status {args.status}" if args.status else ""))
    return EXIT_OK


async def _watch(client: Client, args: argparse.Namespace) -> int:
    return await follow(client, args.job_id, args)


def _unique(ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ids))


async def _wait(client: Client, args: argparse.Namespace) -> int:
    ids = _unique(args.job_ids)
    # One batched read first: unknown ids (all named at once) and an unreachable server fail
    # here, at once, rather than inside the wait.
    await client.get_jobs(ids)
    done: set[str] = set()
    worst = EXIT_OK
    try:
        async for job in client.as_completed(ids, timeout=args.timeout):
            done.add(job.id)
            worst = max(worst, exit_code_for(job))
            if args.json:
                write_json(job_to_json(job))
            else:
                print(describe_job(job), flush=True)
    except JobTimeoutError:
        pending = [job_id for job_id in ids if job_id not in done]
        error_line(
            f"timed out after {format_seconds(args.timeout)}: {len(pending)} of {len(ids)} "
            f"jobs still unfinished: {', '.join(pending)}"
        )
        return EXIT_TIMEOUT
    return worst


# Errors that concern one job of several; any other error concerns them all and is raised.
_PER_JOB_ERRORS = (JobNotFoundError, ConflictError, PermissionDeniedError)


async def _cancel(client: Client, args: argparse.Namespace) -> int:
    ids = _unique(args.job_ids)
    outcomes = await asyncio.gather(
        *(client.cancel_job(job_id) for job_id in ids), return_exceptions=True
    )
    status = EXIT_OK
    for job_id, outcome in zip(ids, outcomes, strict=True):
        if isinstance(outcome, _PER_JOB_ERRORS):
            error_line(f"cannot cancel {job_id}: {outcome}")
            status = EXIT_ERROR
        elif isinstance(outcome, BaseException):
            raise outcome
        elif args.json:
            write_json(job_to_json(outcome))
        else:
            print(describe_job(outcome), flush=True)
    return status


async def _stats(client: Client, args: argparse.Namespace) -> int:
    stats = await client.queue_stats()
    fields = (
        "total",
        "pending",
        "running",
        "completed",
        "failed",
        "cancelled",
        "active_workers",
        "total_workers",
    )
    values = {name: getattr(stats, name) for name in fields}
    if args.json:
        write_json(values)
        return EXIT_OK
    width = max(len(name) for name in fields)
    for name, value in values.items():
        print(f"{name:<{width}}  {'-' if value is None else value}")
    return EXIT_OK
