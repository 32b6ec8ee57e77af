"""How the flower shape renders tasks (Flower's task view, the result backend's answer, the
worker) and reads its options. The routes are in :mod:`._flower`."""

from __future__ import annotations

import json
import math
from typing import Any

import attrs

from asyncjobs._models import JobStatus
from asyncjobs.server._snapshot import Snapshot

from ._base import Shape
from ._flower_tasks import exception_of

__all__ = ["WORKER", "FlowerView", "TaskMeta", "check_delay", "credentials_option"]

WORKER = "celery@asyncjobs"
"""The simulated worker's name."""

_BACKEND_STATES = {
    JobStatus.PENDING: "PENDING",
    JobStatus.RUNNING: "STARTED",
    JobStatus.COMPLETED: "SUCCESS",
    JobStatus.FAILED: "FAILURE",
    JobStatus.CANCELLED: "REVOKED",
}


@attrs.define(kw_only=True)
class TaskMeta:
    """What Flower knows of a task beyond the job: when it was sent (wall clock and loop
    clock), when a worker received it, and why it was revoked."""

    sent: float
    sent_clock: float
    received: float | None = None
    revoke_reason: str = "revoked"


def _time(value: Any) -> float | None:
    return None if value is None else float(value.timestamp())


def credentials_option(value: Any) -> frozenset[str] | None:
    """The ``basic_auth`` option as ``"user:password"`` strings (None: an open API).

    Raises:
        ValueError: not a pair, a ``"user:password"`` string, a list of them, or None.
    """
    if value is None:
        return None
    if isinstance(value, str):
        items: list[Any] = [value]
    elif (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(part, str) and ":" not in part for part in value)
    ):
        items = [f"{value[0]}:{value[1]}"]
    else:
        items = list(value)
    if not items or not all(isinstance(item, str) and ":" in item for item in items):
        raise ValueError(
            "basic_auth: expected ('user', 'password'), 'user:password', a list of "
            f"'user:password' strings, or None; got {value!r}"
        )
    return frozenset(items)


def check_delay(options: dict[str, Any], name: str, default: float) -> float:
    """Check (and default) a delay option, in seconds.

    Raises:
        ValueError: not a finite number >= 0.
    """
    value = options.setdefault(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"{name}: expected seconds >= 0, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number of seconds, got {value!r}")
    return float(value)


class FlowerView(Shape):
    """The rendering half of :class:`~._flower.FlowerShape`."""

    _meta: dict[str, TaskMeta]

    @staticmethod
    def decode(raw: bytes) -> Any:
        """A request body as JSON.

        Raises:
            ValueError: not JSON (the message is the decoder's).
        """
        return json.loads(raw)

    def _return_value(self, snapshot: Snapshot) -> Any:
        return snapshot.job.config.get("return_value", snapshot.job.result)

    def _failure(self, snapshot: Snapshot) -> tuple[str, str]:
        return exception_of(snapshot.job.error or "failed", snapshot.job.name or "")

    def view(self, snapshot: Snapshot) -> dict[str, Any]:
        """Flower's task view (``/api/task/info``, ``/api/tasks``), memoised per version."""
        return snapshot.memo(self.memo_key("task"), self._render)

    def _render(self, snapshot: Snapshot) -> dict[str, Any]:
        job = snapshot.job
        meta = self._meta.get(job.id)
        config = job.config
        state = self.word(snapshot)
        status = job.status
        started = _time(job.started_at)
        ended = _time(job.completed_at)
        received = meta.received if meta is not None else None
        if received is None and status is not JobStatus.PENDING:
            received = started
        exception = traceback = result = None
        runtime = None
        if status is JobStatus.COMPLETED:
            result = repr(self._return_value(snapshot))
            if started is not None and ended is not None:
                runtime = ended - started
        elif status is JobStatus.FAILED:
            exception, traceback = self._failure(snapshot)
        return {
            "uuid": job.id,
            "name": job.name,
            "state": state,
            "received": received,
            "sent": meta.sent if meta is not None else _time(job.created_at),
            "started": started,
            "rejected": None,
            "succeeded": ended if status is JobStatus.COMPLETED else None,
            "failed": ended if status is JobStatus.FAILED else None,
            "retried": None,
            "revoked": ended if status is JobStatus.CANCELLED else None,
            "args": repr(config.get("args", [])),
            "kwargs": repr(config.get("kwargs", {})),
            "eta": None,
            "expires": None,
            "retries": 0,
            "worker": None if received is None else WORKER,
            "result": result,
            "exception": exception,
            "timestamp": _time(job.updated_at),
            "runtime": runtime,
            "traceback": traceback,
            "exchange": None,
            "routing_key": None,
            "clock": job.version,
            "client": None,
            "root": job.id,
            "root_id": job.id,
            "parent": None,
            "parent_id": None,
            "children": [],
        }

    def backend_answer(
        self, task_id: str, snapshot: Snapshot | None, *, ready: bool
    ) -> dict[str, Any]:
        """``/api/task/result``'s answer: the backend's state, and the result once ready (or
        always when the caller waited, as Flower's ``timeout`` does)."""
        if snapshot is None:
            return {"task-id": task_id, "state": "PENDING"}
        job = snapshot.job
        state = _BACKEND_STATES[job.status]
        if job.status is JobStatus.RUNNING and self.word(snapshot) == "RETRY":
            state = "RETRY"
        answer: dict[str, Any] = {"task-id": task_id, "state": state}
        if not (ready or snapshot.is_terminal):
            return answer
        if job.status is JobStatus.COMPLETED:
            answer["result"] = self._return_value(snapshot)
        elif job.status is JobStatus.FAILED:
            exception, traceback = self._failure(snapshot)
            answer["result"] = exception
            answer["traceback"] = traceback
        elif job.status is JobStatus.CANCELLED:
            meta = self._meta.get(task_id)
            reason = meta.revoke_reason if meta is not None else "revoked"
            answer["result"] = f"TaskRevokedError({reason!r})"
        else:
            answer["result"] = None
        return answer

    def worker_info(self) -> dict[str, Any]:
        """``/api/workers``: the simulated worker, its queue, tasks and pool."""
        runner = self.service.runner
        active: list[dict[str, Any]] = []
        reserved: list[dict[str, Any]] = []
        totals: dict[str, int] = {}
        for snapshot in self.store.snapshots():
            job = snapshot.job
            brief = {"id": job.id, "name": job.name, "args": job.config.get("args", [])}
            if job.status is JobStatus.RUNNING:
                active.append(brief)
            elif self.word(snapshot) == "RECEIVED":
                reserved.append(brief)
            if job.status is not JobStatus.PENDING and job.name:
                totals[job.name] = totals.get(job.name, 0) + 1
        return {
            WORKER: {
                "active_queues": [{"name": "celery", "routing_key": "celery", "durable": True}],
                "registered": sorted(self.options["tasks"]),
                "stats": {
                    "pool": {"max-concurrency": 0 if runner is None else runner.total_workers},
                    "prefetch_count": 4,
                    "total": totals,
                },
                "active": active,
                "reserved": reserved,
                "scheduled": [],
                "revoked": [],
                "timestamp": self.store.now().timestamp(),
            }
        }
