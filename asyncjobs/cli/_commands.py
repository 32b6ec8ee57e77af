"""The client commands' parsers: submit, get, list, log, watch, wait, cancel, restart, delete,
cleanup, stats.

:func:`register` adds them to the command line; their handlers live in :mod:`._show` (reads),
:mod:`._change` (changes) and :mod:`._follow` (live). Each returns the exit status.
"""

from __future__ import annotations

import argparse

from . import _change, _follow, _show
from ._base import Commands, add_command, command
from ._options import (
    config_arg,
    connection_options,
    count_arg,
    hours_arg,
    job_id_arg,
    priority_arg,
    seconds_arg,
    status_arg,
    view_options,
)

__all__ = ["register"]


def register(commands: Commands[argparse.ArgumentParser]) -> None:
    """Add the client commands to the command line's subparsers."""
    connection = connection_options()
    view = view_options()
    live = [connection, view]

    submit = add_command(commands, "submit", help="submit a job", parents=live, outcomes=True)
    submit.add_argument("name", metavar="NAME", help="the job's name")
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
    submit.set_defaults(handler=command(_change.submit))

    get = add_command(commands, "get", help="show a job", parents=[connection])
    get.add_argument("job_id", metavar="ID", type=job_id_arg)
    get.set_defaults(handler=command(_show.get))

    list_ = add_command(
        commands,
        "list",
        help="list jobs, newest first",
        description="List jobs, newest first. With --watch, keep the list current: each listed "
        "job's changes live, and the list read again every --interval seconds for new jobs, "
        "until --timeout (exit status 0) or Ctrl-C.",
        parents=live,
    )
    list_.add_argument("--status", type=status_arg, help="only jobs with this status")
    list_.add_argument(
        "--limit", type=count_arg, default=50, help="the most jobs to list (default: 50; 0: all)"
    )
    list_.add_argument(
        "--watch", action="store_true", help="keep showing the listed jobs as they change"
    )
    list_.add_argument(
        "--interval",
        type=seconds_arg,
        default=2.0,
        metavar="SECONDS",
        help="with --watch: read the list again every SECONDS, for new jobs (default: 2)",
    )
    list_.add_argument(
        "--timeout", type=seconds_arg, metavar="SECONDS", help="with --watch: stop after SECONDS"
    )
    list_.set_defaults(handler=command(_show.list_))

    log = add_command(commands, "log", help="print a job's log", parents=[connection])
    log.add_argument("job_id", metavar="ID", type=job_id_arg)
    log.set_defaults(handler=command(_show.log))

    watch = add_command(
        commands, "watch", help="follow a job live until it ends", parents=live, outcomes=True
    )
    watch.add_argument("job_id", metavar="ID", type=job_id_arg)
    watch.add_argument(
        "--timeout", type=seconds_arg, metavar="SECONDS", help="give up after SECONDS"
    )
    watch.set_defaults(handler=command(_follow.watch))

    wait = add_command(
        commands,
        "wait",
        help="wait for jobs, showing them live until all have ended",
        description="Wait for jobs, showing them live until all have ended: a bar per job on "
        "a terminal, else a line per change; with --json, each job's final state as it ends.",
        parents=live,
        outcomes=True,
    )
    wait.add_argument("job_ids", metavar="ID", nargs="+", type=job_id_arg)
    wait.add_argument(
        "--timeout", type=seconds_arg, metavar="SECONDS", help="give up after SECONDS"
    )
    wait.set_defaults(handler=command(_follow.wait))

    for name, help, handler in (
        ("cancel", "cancel pending or running jobs", _change.cancel),
        ("restart", "restart failed or cancelled jobs", _change.restart),
        ("delete", "delete finished jobs", _change.delete),
    ):
        parser = add_command(commands, name, help=help, parents=[connection])
        parser.add_argument("job_ids", metavar="ID", nargs="+", type=job_id_arg)
        parser.set_defaults(handler=command(handler))

    cleanup = add_command(
        commands, "cleanup", help="delete the jobs that finished long ago", parents=[connection]
    )
    cleanup.add_argument(
        "--max-age-hours",
        type=hours_arg,
        default=24,
        metavar="H",
        help="delete jobs finished more than H hours ago, 1..168 (default: 24)",
    )
    cleanup.set_defaults(handler=command(_change.cleanup))

    stats = add_command(commands, "stats", help="show the queue statistics", parents=[connection])
    stats.set_defaults(handler=command(_show.stats))
