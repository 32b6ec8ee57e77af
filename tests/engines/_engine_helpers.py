"""Helpers of the engine tests: counting requests, and waiting on what a real engine does.

Every wait is bounded (:data:`ENGINE_PATIENCE`) and fails saying what did not happen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import aclosing
from typing import Any

import aiohttp
import attrs

from asyncjobs import Client, Job, JobStatus

ENGINE_PATIENCE = 60.0
"""How long a test waits for what an engine does by itself: a Ray job starts a Python worker for
its supervisor (a second or more each on 2 cores), a Celery task goes through Redis, the worker
and Flower's events. Generous: the bound only turns a lost update into a failure with a message."""

MEASURED: list[str] = []
"""Lines of "requests per waited job", printed at the end of the run (see conftest.py)."""

_RANK = {JobStatus.PENDING: 0, JobStatus.RUNNING: 1}


def rank(job: Job) -> int:
    """0 pending, 1 running, 2 terminal: a job's states only ever go up."""
    if job.is_terminal:
        return 2
    return _RANK.get(job.status, 1)


@attrs.define
class RequestCounter:
    """Every request the client sent on the wire (retries included), in order."""

    sent: list[tuple[str, str]] = attrs.field(factory=list)

    def trace(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()

        async def on_request_start(
            _session: aiohttp.ClientSession, _context: object, params: Any
        ) -> None:
            self.sent.append((params.method, params.url.path))

        config.on_request_start.append(on_request_start)
        return config

    def mark(self) -> int:
        """A point to count from (see :meth:`by_route`)."""
        return len(self.sent)

    def by_route(self, mark: int = 0) -> Counter[str]:
        """Requests since ``mark`` by method and path, ids folded: ``GET /api/jobs/{id}``."""
        return Counter(f"{method} {fold(path)}" for method, path in self.sent[mark:])


_ROUTE_WORDS = frozenset(
    {"", "api", "jobs", "logs", "stop", "task", "tasks", "info", "result", "revoke"}
    | {"async-apply", "send-task", "apply", "workers", "queues", "length"}
)


def fold(path: str) -> str:
    """``path`` with each id segment replaced by ``{id}`` (task names kept)."""
    return "/".join(
        part if part in _ROUTE_WORDS or part.startswith("tasks.") else "{id}"
        for part in path.split("/")
    )


def record_requests(engine: str, what: str, jobs: int, counter: RequestCounter, mark: int) -> None:
    """Keep the requests one wait on ``jobs`` jobs cost, for the end-of-run report."""
    routes = counter.by_route(mark)
    total = sum(routes.values())
    gets = sum(n for route, n in routes.items() if route.startswith("GET "))
    MEASURED.append(
        f"{engine}: {what}: {jobs} jobs, {total} requests ({gets} GETs), "
        f"{gets / jobs:.2f} GETs per waited job; {dict(sorted(routes.items()))}"
    )


async def watch_until(
    client: Client, job_id: str, predicate: Callable[[Job], bool], what: str
) -> Job:
    """The first state of the job that ``predicate`` accepts, watching it at most
    :data:`ENGINE_PATIENCE` seconds (a ``JobTimeoutError`` past that)."""
    seen: list[JobStatus] = []
    async with aclosing(client.watch(job_id, timeout=ENGINE_PATIENCE)) as updates:
        async for job in updates:
            if predicate(job):
                return job
            seen.append(job.status)
    raise AssertionError(f"{what}: the watch of {job_id} ended first, having seen {seen}")


def is_running(job: Job) -> bool:
    return job.status is JobStatus.RUNNING
