"""The simulated-job runner of the reference server (``auto_run=True``).

A submitted job's config says what to simulate::

    {"duration": 1.0, "steps": 5, "fail": false, "result": {...}, "error": "..."}

The job goes pending -> running, advances ``steps`` times over ``duration`` seconds (progress,
a ``"step i/n"`` message and a log line per step), then ends completed with ``result`` (default
``{"steps": n}``) or, with ``"fail": true``, failed with ``error`` (default
``"simulated failure"``). At most ``workers`` jobs run at once; the others wait in a queue,
highest priority first, then oldest first. Each running job is one asyncio task, the only
per-job tasks of the server.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import logging
import math
from collections.abc import Mapping
from typing import Any

import attrs

from asyncjobs._models import JobStatus

from ._snapshot import UnknownJobError
from ._store import JobStore

__all__ = ["DEFAULT_DURATION", "DEFAULT_STEPS", "SimulatedRunner", "Simulation"]

logger = logging.getLogger("asyncjobs.server")

DEFAULT_DURATION = 1.0
DEFAULT_STEPS = 5


@attrs.frozen(kw_only=True)
class Simulation:
    """What a job's config asks the runner to simulate."""

    duration: float = DEFAULT_DURATION
    steps: int = DEFAULT_STEPS
    fail: bool = False
    result: Any = None
    error: str = "simulated failure"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Simulation:
        """Read a job config.

        Raises:
            ValueError: a simulation field has the wrong type or range; the message names it
                as ``config.<field>``.
        """
        duration = config.get("duration", DEFAULT_DURATION)
        if (
            isinstance(duration, bool)
            or not isinstance(duration, int | float)
            or not math.isfinite(duration)
            or duration < 0
        ):
            raise ValueError(
                f"config.duration: expected a number of seconds >= 0, got {duration!r}"
            )
        steps = config.get("steps", DEFAULT_STEPS)
        if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= 10_000:
            raise ValueError(f"config.steps: expected an integer 0..10000, got {steps!r}")
        fail = config.get("fail", False)
        if not isinstance(fail, bool):
            raise ValueError(f"config.fail: expected true or false, got {fail!r}")
        error = config.get("error", "simulated failure")
        if not isinstance(error, str):
            raise ValueError(f"config.error: expected a string, got {error!r}")
        result = config.get("result")
        if result is None:
            result = {"steps": steps}
        return cls(duration=float(duration), steps=steps, fail=fail, result=result, error=error)


class SimulatedRunner:
    """Runs submitted jobs as simulations, at most ``workers`` at a time.

    Args:
        store: The job store the runner updates.
        workers: How many jobs may run at once (>= 1).
    """

    def __init__(self, store: JobStore, *, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers: expected at least 1, got {workers}")
        self._store = store
        self._workers = workers
        self._queue: list[tuple[int, int, str, int]] = []
        self._tickets: dict[str, int] = {}
        self._counter = 0
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def total_workers(self) -> int:
        """How many jobs may run at once."""
        return self._workers

    @property
    def active_workers(self) -> int:
        """How many jobs are running now."""
        return len(self._tasks)

    def enqueue(self, job_id: str, priority: int = 2) -> None:
        """Queue a pending job to be run (a job queued again is run once, from its last queuing)."""
        if self._closed:
            return
        self._counter += 1
        self._tickets[job_id] = self._counter
        heapq.heappush(self._queue, (-priority, self._counter, job_id, self._counter))
        self._fill()

    def stop(self, job_id: str) -> None:
        """Forget a queued job and stop it if it runs (its state is the caller's business)."""
        self._tickets.pop(job_id, None)
        task = self._tasks.pop(job_id, None)
        if task is not None:
            task.cancel()
            self._stopping.add(task)
            self._fill()

    def _fill(self) -> None:
        while self._queue and len(self._tasks) < self._workers and not self._closed:
            _, _, job_id, ticket = heapq.heappop(self._queue)
            if self._tickets.get(job_id) != ticket:
                continue  # queued again later, or stopped
            del self._tickets[job_id]
            snapshot = self._store.get(job_id)
            if snapshot is None or snapshot.job.status is not JobStatus.PENDING:
                continue
            task = asyncio.get_running_loop().create_task(
                self._run(job_id), name=f"asyncjobs-simulate-{job_id}"
            )
            self._tasks[job_id] = task
            task.add_done_callback(functools.partial(self._finished, job_id))

    def _finished(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(job_id) is task:
            del self._tasks[job_id]
        self._stopping.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("simulated job %s crashed", job_id, exc_info=task.exception())
        self._fill()

    async def _run(self, job_id: str) -> None:
        store = self._store
        try:
            config = store[job_id].job.config
            try:
                simulation = Simulation.from_config(config)
            except ValueError as exc:
                store.update(job_id, status=JobStatus.FAILED, error=str(exc), message="failed")
                return
            steps = simulation.steps
            store.update(job_id, status=JobStatus.RUNNING, progress=0.0, message="started")
            store.append_log(job_id, "started")
            loop = asyncio.get_running_loop()
            start = loop.time()
            for step in range(1, steps + 1):
                await _sleep_until(loop, start + simulation.duration * step / steps)
                message = f"step {step}/{steps}"
                store.update(job_id, progress=round(100.0 * step / steps, 2), message=message)
                store.append_log(job_id, message)
            if steps == 0:
                await _sleep_until(loop, start + simulation.duration)
            if simulation.fail:
                store.append_log(job_id, f"failed: {simulation.error}")
                store.update(
                    job_id, status=JobStatus.FAILED, error=simulation.error, message="failed"
                )
            else:
                store.append_log(job_id, "completed")
                store.update(
                    job_id,
                    status=JobStatus.COMPLETED,
                    progress=100.0,
                    result=simulation.result,
                    message="completed",
                )
        except UnknownJobError:
            return  # deleted while it ran

    async def close(self) -> None:
        """Stop every running simulation and wait for them; queued jobs stay pending."""
        self._closed = True
        self._queue.clear()
        self._tickets.clear()
        tasks = [*self._tasks.values(), *self._stopping]
        self._tasks.clear()
        self._stopping.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


async def _sleep_until(loop: asyncio.AbstractEventLoop, deadline: float) -> None:
    delay = deadline - loop.time()
    await asyncio.sleep(delay if delay > 0 else 0)
