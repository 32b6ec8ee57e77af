"""The live commands: ``watch`` one job, ``wait`` for several, and ``submit --wait``.

Each shows the jobs as they change (rich bars on a terminal, else a line per change, or JSON
with ``--json``) and ends with the exit status of their outcome (see :mod:`._base`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from asyncjobs import Client, Job, JobTimeoutError

from ._base import EXIT_TIMEOUT, error_line, exit_code_for, worst_exit_code
from ._format import Tally, format_progress, format_seconds, job_to_json, write_json
from ._views import make_view

__all__ = ["follow", "unique", "wait", "watch"]


def unique(ids: Sequence[str]) -> list[str]:
    """The ids in their order, each once."""
    return list(dict.fromkeys(ids))


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


async def watch(client: Client, args: argparse.Namespace) -> int:
    """``watch ID``: follow one job until it ends."""
    return await follow(client, args.job_id, args)


def _wait_label(job: Job) -> str:
    # The name first: a bar's label is cut to fit, and the name is what a person reads.
    return f"{job.name} {job.id}" if job.name else job.id


async def wait(client: Client, args: argparse.Namespace) -> int:
    """``wait ID...``: follow every job until all have ended; the worst outcome's status.

    Bars (or a line per change) show every job while waiting; with ``--json``, each job's
    final state is printed as it ends.
    """
    # One batched read first: unknown ids (all named at once) and an unreachable server fail
    # here, at once, rather than inside the wait.
    jobs = await client.get_jobs(unique(args.job_ids))
    order = [job.id for job in jobs]
    latest = dict(zip(order, jobs, strict=True))
    try:
        if args.json:
            async for job in client.as_completed(order, timeout=args.timeout):
                latest[job.id] = job
                write_json(job_to_json(job))
        else:
            await _show_while_waiting(client, args, latest)
    except JobTimeoutError:
        pending = [job_id for job_id in order if not latest[job_id].is_terminal]
        error_line(
            f"timed out after {format_seconds(args.timeout)}: {len(pending)} of {len(order)} "
            f"jobs still unfinished: {', '.join(pending)}"
        )
        return EXIT_TIMEOUT
    return worst_exit_code(latest.values())


async def _show_while_waiting(
    client: Client, args: argparse.Namespace, latest: dict[str, Job]
) -> None:
    def tally() -> Tally:
        finished = sum(job.is_terminal for job in latest.values())
        return Tally.of(latest.values(), f"{finished} of {len(latest)} finished")

    view = make_view(
        plain=args.plain,
        force_terminal=args.force_terminal,
        label=_wait_label,
        tally=tally,
    )
    with view:
        for job in latest.values():
            view.update(job)
        async for job in client.watch_jobs(list(latest), timeout=args.timeout):
            latest[job.id] = job
            view.update(job)
