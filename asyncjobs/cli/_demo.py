"""``asyncjobs demo``: an embedded server, a batch of simulated jobs, live progress bars.

The demo starts the reference server in-process (:class:`~asyncjobs.testing.JobServer`, auto-run
on, half as many workers as jobs so that some queue), submits a seeded batch of simulated jobs
through a real :class:`Client` over loopback (varied durations and steps, a couple that fail,
one that the demo cancels part-way), follows them all with :meth:`Client.watch_jobs` (one shared
SSE stream, no polling) and ends with a summary table and what it cost in connections and
requests, read from the server's own counters.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import time
from collections.abc import Callable
from typing import Any

import attrs

from asyncjobs import Client, ConflictError, Job
from asyncjobs.testing import JobServer

from ._base import EXIT_OK, Commands, UsageError, add_command, run_async
from ._format import Tally, format_seconds, plural
from ._options import view_options
from ._plain import JobView
from ._views import make_view, print_summary, use_rich

__all__ = ["DemoJob", "add_demo", "plan_batch", "run_demo"]

DEFAULT_JOBS = 12
DEFAULT_SEED = 7
MAX_JOBS = 500

# name -> what its result looks like (a function of a random generator)
_KINDS: dict[str, Callable[[random.Random], Any]] = {
    "resize-images": lambda r: {"images": r.randint(200, 4000)},
    "train-model": lambda r: {"accuracy": round(r.uniform(0.86, 0.99), 3)},
    "export-csv": lambda r: {"rows": r.randint(10_000, 900_000)},
    "index-documents": lambda r: {"documents": r.randint(500, 50_000)},
    "transcode-video": lambda r: {"renditions": r.choice([3, 4, 6])},
    "send-newsletter": lambda r: {"sent": r.randint(1_000, 60_000)},
    "build-report": lambda r: {"pages": r.randint(4, 80)},
    "sync-inventory": lambda r: {"skus": r.randint(100, 9_000)},
    "backup-database": lambda r: {"size_mb": r.randint(120, 8_000)},
    "render-thumbnails": lambda r: {"thumbnails": r.randint(50, 3_000)},
    "geocode-addresses": lambda r: {"matched": f"{r.randint(90, 100)}%"},
    "dedupe-contacts": lambda r: {"merged": r.randint(10, 900)},
    "crawl-sitemap": lambda r: {"urls": r.randint(300, 20_000)},
    "ocr-invoices": lambda r: {"invoices": r.randint(20, 600)},
    "warm-cache": lambda r: {"keys": r.randint(1_000, 100_000)},
    "compress-logs": lambda r: {"ratio": round(r.uniform(4, 12), 1)},
}
_ERRORS = (
    "worker ran out of memory",
    "upstream API answered 502",
    "checksum mismatch in part 7",
    "disk quota exceeded",
    "input file is corrupt",
)


@attrs.frozen(kw_only=True)
class DemoJob:
    """One job of the demo batch.

    Attributes:
        name: The job's name.
        config: The simulation config (``duration``, ``steps``, ``fail``, ``result``/``error``).
        priority: 1..4.
        cancel_at: For the job the demo cancels, the progress (percent) at which it does.
    """

    name: str
    config: dict[str, Any]
    priority: int = 2
    cancel_at: float | None = None


def plan_batch(count: int, *, seed: int, speed: float = 1.0) -> list[DemoJob]:
    """The demo's batch: ``count`` jobs drawn from ``seed`` (the same seed, the same batch).

    Durations are 2-7 s divided by ``speed``; about one job in six fails (at least one from
    three jobs on), and one job (from two on) is cancelled part-way.
    """
    rng = random.Random(seed)
    kinds = list(_KINDS)
    rng.shuffle(kinds)
    names = [
        kinds[i % len(kinds)] + ("" if i < len(kinds) else f"-{i // len(kinds) + 1}")
        for i in range(count)
    ]
    failures = 0 if count < 3 else max(1, round(count / 6))
    failing = set(rng.sample(range(count), failures))
    durations = [rng.uniform(2.0, 7.0) / speed for _ in range(count)]
    candidates = [i for i in range(count) if i not in failing]
    cancelled = max(candidates, key=lambda i: durations[i]) if count >= 2 and candidates else None
    batch = []
    for i, name in enumerate(names):
        kind = name.rsplit("-", 1)[0] if name not in _KINDS else name
        config: dict[str, Any] = {
            "duration": round(durations[i], 2),
            "steps": rng.randint(5, 24),
        }
        if i in failing:
            config["fail"] = True
            config["error"] = rng.choice(_ERRORS)
        else:
            config["result"] = _KINDS[kind](rng)
        batch.append(
            DemoJob(
                name=name,
                config=config,
                priority=rng.choice([1, 2, 2, 2, 3, 4]),
                cancel_at=round(rng.uniform(35, 60)) if i == cancelled else None,
            )
        )
    return batch


def add_demo(commands: Commands[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` command."""
    demo = add_command(
        commands,
        "demo",
        help="watch a batch of simulated jobs run on an embedded server, with live bars",
        description=(
            "Start the reference server in this process, submit a batch of simulated jobs "
            "through the client over loopback (a few fail, one is cancelled part-way), follow "
            "them all live over one multiplexed SSE stream, and print a summary. Needs no "
            "server and no network."
        ),
        parents=[view_options()],
    )
    demo.add_argument(
        "--jobs",
        type=int,
        default=DEFAULT_JOBS,
        metavar="N",
        help=f"how many jobs (default: {DEFAULT_JOBS})",
    )
    demo.add_argument(
        "--seed",
        type=int,
        metavar="N",
        default=DEFAULT_SEED,
        help=f"draw another batch (default: {DEFAULT_SEED})",
    )
    demo.add_argument(
        "--speed",
        type=float,
        metavar="FACTOR",
        default=1.0,
        help="run the simulated jobs this many times faster (default: 1)",
    )
    demo.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    """The ``demo`` command's handler."""
    return run_async(lambda: _demo(args))


@attrs.define
class _Tally:
    """What the demo counts while it runs (shown in the live footer and the totals)."""

    latest: dict[str, Job] = attrs.Factory(dict)
    updates: int = 0

    def live(self, server: JobServer) -> Tally:
        """Jobs by status, and what went over the wire so far."""
        return Tally.of(
            self.latest.values(),
            f"{plural(self.updates, 'update')} received · "
            f"{plural(server.open_streams, 'stream')} and "
            f"{plural(server.open_connections, 'connection')} open",
        )


async def _demo(args: argparse.Namespace) -> int:
    if not 1 <= args.jobs <= MAX_JOBS:
        raise UsageError(f"--jobs must be 1..{MAX_JOBS}, got {args.jobs}")
    if not (math.isfinite(args.speed) and 0.05 <= args.speed <= 100):
        raise UsageError(f"--speed must be 0.05..100, got {args.speed}")
    batch = plan_batch(args.jobs, seed=args.seed, speed=args.speed)
    rich = use_rich(plain=args.plain, force_terminal=args.force_terminal)
    workers = max(1, math.ceil(len(batch) / 2))
    tally = _Tally()
    started = time.monotonic()
    async with JobServer(auto_run=True, workers=workers) as server:
        view = make_view(
            plain=args.plain,
            force_terminal=args.force_terminal,
            label_width=max(len(job.name) for job in batch),
            title=f"asyncjobs demo · {len(batch)} jobs on {workers} workers · seed {args.seed}",
            subtitle=f"embedded server {server.url} · updates over one SSE stream",
            tally=lambda: tally.live(server),
        )
        async with Client(server.url) as client:
            with view:
                ids = await _submit_all(client, batch, view, tally)
                cancel_at = {ids[i]: job.cancel_at for i, job in enumerate(batch) if job.cancel_at}
                await _follow(client, ids, cancel_at, view, tally)
            totals = _totals(server, tally, time.monotonic() - started)
    finals = [tally.latest[job_id] for job_id in ids]
    print_summary(finals, rich=rich, force_terminal=args.force_terminal, footer=totals)
    return EXIT_OK


async def _submit_all(
    client: Client, batch: list[DemoJob], view: JobView, tally: _Tally
) -> list[str]:
    # One after the other: each submit reuses the same keep-alive connection.
    ids = []
    for planned in batch:
        job = await client.submit_job(planned.name, planned.config, priority=planned.priority)
        ids.append(job.id)
        tally.latest[job.id] = job
        view.update(job)
    return ids


async def _follow(
    client: Client, ids: list[str], cancel_at: dict[str, float], view: JobView, tally: _Tally
) -> None:
    cancels: list[asyncio.Task[Job | None]] = []
    try:
        async for job in client.watch_jobs(ids):
            tally.updates += 1
            tally.latest[job.id] = job
            view.update(job)
            threshold = cancel_at.get(job.id)
            if threshold is not None and (job.progress or 0) >= threshold and not job.is_terminal:
                del cancel_at[job.id]
                cancels.append(asyncio.create_task(_cancel(client, job.id)))
    finally:
        for task in cancels:
            if not task.done():
                task.cancel()
        if cancels:
            await asyncio.wait(cancels)


async def _cancel(client: Client, job_id: str) -> Job | None:
    try:
        return await client.cancel_job(job_id)
    except ConflictError:  # it ended just before: nothing to cancel
        return None


def _request_kind(method: str, path: str, query: str) -> str:
    """What one request to the server was for, in words."""
    if path.endswith("/events"):
        return "SSE stream"
    if method == "POST" and path.endswith("/jobs"):
        return "submit"
    if method == "POST" and path.endswith("/cancel"):
        return "cancel"
    if method == "GET" and path.endswith("/jobs"):
        return "batch read" if "ids=" in query else "list"
    if method == "GET" and path.endswith("/poll"):
        return "long poll"
    return "read" if method == "GET" else f"{method} request"


def _totals(server: JobServer, tally: _Tally, elapsed: float) -> str:
    kinds: dict[str, int] = {}
    for request in server.requests:
        kind = _request_kind(request.method, request.path, request.query_string)
        kinds[kind] = kinds.get(kind, 0) + 1
    breakdown = ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in kinds.items())
    # A client polling each job once a second from its submission to its end:
    polling = 0
    for job in tally.latest.values():
        if job.created_at is not None and job.completed_at is not None:
            polling += 1 + math.ceil((job.completed_at - job.created_at).total_seconds())
    streams = server.streams_opened
    return (
        f"{len(tally.latest)} jobs in {format_seconds(elapsed)} · {tally.updates} live updates "
        f"over {streams} SSE stream{'s' if streams != 1 else ''} · "
        f"{server.connections_opened} connections\n"
        f"{len(server.requests)} requests in all: {breakdown}\n"
        f"Polling each job once a second would have taken ~{polling} requests."
    )
