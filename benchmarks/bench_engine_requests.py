"""Requests per waited job on the real engines: asyncjobs' wait_for_jobs against a per-job
polling loop, on Ray's Job Submission API and on Celery through Flower.

For each engine that is running (``ASYNCJOBS_RAY_URL``, ``ASYNCJOBS_FLOWER_URL`` and
``ASYNCJOBS_FLOWER_AUTH``, as ``.ci/engines/with-engines`` exports them), each round submits a
batch of jobs and waits for all of them, once per candidate:

- ``asyncjobs``: ``Client.as_completed(ids)`` with the engine's profile (the waiting of
  ``wait_for_jobs``, yielding each job as it ends, so that the time it is seen is known);
- ``per-job poll``: what a careful user writes without it: one task per job, each reading its job
  (``GET /api/jobs/{id}``, ``GET /api/task/info/{id}``) every ``--interval`` seconds (1 s) until
  the job has ended, a 404 right after the submit read as "not yet known".

Only the wait's requests are counted (an aiohttp trace on a session that does nothing else): the
submits go through another client. Also reported: how long after the job's end (the engine's own
``end_time`` / ``succeeded``) the waiter saw it, median and max. Run it with the engines up::

    .ci/engines/with-engines -- .venv/bin/python benchmarks/bench_engine_requests.py
    .ci/engines/with-engines --only flower -- \
        .venv/bin/python benchmarks/bench_engine_requests.py --only flower --jobs 100

Ray jobs are ``sleep 1`` (Ray starts a supervisor process for each, so 50 jobs take about a
minute on 2 cores), Celery tasks ``tasks.sleep(0.5)`` on the worker's 2 processes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from asyncjobs import Client, Job

RAY_ENDED = {"SUCCEEDED", "FAILED", "STOPPED"}
CELERY_ENDED = {"SUCCESS", "FAILURE", "REVOKED"}


class Counted:
    """An aiohttp session counting the requests sent on it (GETs apart)."""

    def __init__(self) -> None:
        self.requests = 0
        self.gets = 0
        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(self._count)
        self.session = aiohttp.ClientSession(trace_configs=[trace])

    async def _count(self, _session: Any, _context: Any, params: Any) -> None:
        self.requests += 1
        self.gets += params.method == "GET"


def ended_at_ray(raw: dict[str, Any]) -> float | None:
    end = raw.get("end_time")
    return end / 1000 if isinstance(end, int | float) else None


def ended_at_celery(raw: dict[str, Any]) -> float | None:
    for key in ("succeeded", "failed", "revoked"):
        if isinstance(raw.get(key), int | float):
            return float(raw[key])
    return None


class Engine:
    """What the benchmark needs of one engine: how to submit, to read raw, to see the end."""

    name: str
    profile: str
    get_path: str
    ended_states: set[str]
    state_key: str

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url
        self.token = token

    def client(self, session: aiohttp.ClientSession | None = None) -> Client:
        return Client(self.url, profile=self.profile, token=self.token, session=session)

    async def submit(self, client: Client, n: int) -> Job:
        raise NotImplementedError

    def ended_at(self, raw: dict[str, Any]) -> float | None:
        raise NotImplementedError

    def headers(self) -> dict[str, str]:
        """HTTP basic auth from the ``user:password`` token, if any."""
        if self.token is None:
            return {}
        return {"Authorization": "Basic " + base64.b64encode(self.token.encode()).decode()}


class Ray(Engine):
    name = "ray"
    profile = "ray"
    get_path = "/api/jobs/{id}"
    ended_states = RAY_ENDED
    state_key = "status"

    async def submit(self, client: Client, n: int) -> Job:
        return await client.submit_job(config={"entrypoint": f"sleep 1; echo job-{n}"})

    def ended_at(self, raw: dict[str, Any]) -> float | None:
        return ended_at_ray(raw)


class Flower(Engine):
    name = "flower"
    profile = "flower"
    get_path = "/api/task/info/{id}"
    ended_states = CELERY_ENDED
    state_key = "state"

    async def submit(self, client: Client, n: int) -> Job:
        return await client.submit_job("tasks.sleep", {"args": [0.5]})

    def ended_at(self, raw: dict[str, Any]) -> float | None:
        return ended_at_celery(raw)


async def wait_asyncjobs(engine: Engine, ids: list[str], counted: Counted) -> dict[str, tuple]:
    """Seen time and raw record of each job, through as_completed."""
    seen: dict[str, tuple[float, dict[str, Any]]] = {}
    async with engine.client(counted.session) as client:
        async for job in client.as_completed(ids, timeout=600):
            seen[job.id] = (time.time(), job.raw)
    return seen


async def wait_polling(
    engine: Engine, ids: list[str], counted: Counted, interval: float
) -> dict[str, tuple]:
    """Seen time and raw record of each job, one polling loop per job."""
    seen: dict[str, tuple[float, dict[str, Any]]] = {}
    headers = engine.headers()

    async def poll(job_id: str) -> None:
        url = engine.url + engine.get_path.format(id=job_id)
        while True:
            async with counted.session.get(url, headers=headers) as answer:
                if answer.status == 200:
                    raw = await answer.json(content_type=None)
                    if raw.get(engine.state_key) in engine.ended_states:
                        seen[job_id] = (time.time(), raw)
                        return
                elif answer.status != 404:  # 404: Flower has not heard of it yet
                    answer.raise_for_status()
            await asyncio.sleep(interval)

    async with asyncio.timeout(600):
        await asyncio.gather(*(poll(job_id) for job_id in ids))
    return seen


async def run_one(
    engine: Engine,
    candidate: str,
    waiter: Callable[[list[str], Counted], Awaitable[dict[str, tuple]]],
    jobs: int,
) -> str:
    async with engine.client() as submitter:
        ids = [(await engine.submit(submitter, n)).id for n in range(jobs)]
    counted = Counted()
    started = time.perf_counter()
    try:
        seen = await waiter(ids, counted)
    finally:
        await counted.session.close()
    wall = time.perf_counter() - started
    delays = [at - end for at, raw in seen.values() if (end := engine.ended_at(raw)) is not None]
    delay = (
        f"seen {statistics.median(delays) * 1000:.0f} ms (median), "
        f"{max(delays) * 1000:.0f} ms (max) after the end"
        if delays
        else "no end times"
    )
    return (
        f"{engine.name:6} {candidate:13} {jobs} jobs: {counted.gets:5d} GETs "
        f"({counted.gets / jobs:5.2f} per job), {counted.requests} requests, "
        f"{wall:5.1f} s; {delay}"
    )


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50, help="jobs per wait (50)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of both candidates (1)")
    parser.add_argument(
        "--interval", type=float, default=1.0, help="the per-job loop's interval (1 s)"
    )
    parser.add_argument("--only", choices=["ray", "flower"], help="one engine")
    args = parser.parse_args()

    engines: list[Engine] = []
    if os.environ.get("ASYNCJOBS_RAY_URL") and args.only in (None, "ray"):
        engines.append(Ray(os.environ["ASYNCJOBS_RAY_URL"], None))
    if os.environ.get("ASYNCJOBS_FLOWER_URL") and args.only in (None, "flower"):
        engines.append(
            Flower(
                os.environ["ASYNCJOBS_FLOWER_URL"],
                os.environ.get("ASYNCJOBS_FLOWER_AUTH", "user:password"),
            )
        )
    if not engines:
        print(
            "no engine: set ASYNCJOBS_RAY_URL / ASYNCJOBS_FLOWER_URL, e.g. run "
            "`.ci/engines/with-engines -- .venv/bin/python benchmarks/bench_engine_requests.py`",
            file=sys.stderr,
        )
        return 2

    for engine in engines:
        for round_ in range(1, args.rounds + 1):
            for candidate, waiter in (
                ("asyncjobs", lambda ids, c, e=engine: wait_asyncjobs(e, ids, c)),
                (
                    "per-job poll",
                    lambda ids, c, e=engine: wait_polling(e, ids, c, args.interval),
                ),
            ):
                line = await run_one(engine, candidate, waiter, args.jobs)
                print(f"round {round_}: {line}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
