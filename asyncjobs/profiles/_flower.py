"""The ``flower`` profile: Celery, through Flower's REST API (sans-I/O).

Base URL: ``http://host:5555``. Routes::

    POST /api/task/async-apply/{task name}   {"args": [...], "kwargs": {...}, <apply_async options>}
                                             -> {"task-id", "state"}
    GET  /api/task/info/{id}                 the task as Flower's events made it
    GET  /api/tasks?offset=&limit=&sort_by=-received&state=   an object keyed by task id
    POST /api/task/revoke/{id}?terminate=true&signal=SIGTERM  {"message": "Revoked '...'"}
    GET  /api/queues/length                  {"active_queues": [{"name", "messages"}]}

Mapping: ``Job.id`` is the task id; ``Job.name`` the task's name; PENDING and RECEIVED are
PENDING, STARTED and RETRY RUNNING, SUCCESS COMPLETED, FAILURE (and REJECTED) FAILED, REVOKED
CANCELLED. ``Job.result`` is the return value as Python data: Flower sends its ``repr``, which is
read back as a literal (a value that is not a literal, or a repr Celery cut short, stays text).
``Job.error`` is the exception (``ValueError('boom')``), ``JobFailedError.details["traceback"]``
its traceback. ``Job.config`` is ``{"args", "kwargs"}``; ``sent`` (else ``received``),
``started`` and the end (``succeeded``, ``failed`` or ``revoked``) are the times.

``submit_job(task_name, {"args": [...], "kwargs": {...}})`` applies the registered task (other
keys go to ``apply_async``: ``countdown``, ``queue``...). ``cancel_job`` revokes with
``terminate=true``, so a running task is stopped. A task read within ``not_found_grace`` (10 s)
of its submit by this client is PENDING while Flower does not know it yet: Flower learns of a
task from the worker's events, a moment after the submit answers. ``token="user:password"`` is
HTTP basic (Flower's ``--basic_auth``).

What Flower cannot give: progress (custom states never reach ``/api/task/info``), push updates
(it is watched by polling, many tasks at once through ``/api/tasks``), and tasks still queued
unless the worker sends task events (``-E`` and ``task_send_sent_event=True``): without them a
queued task is unknown (404) until a worker receives it, and reads as PENDING only within the
grace. Flower keeps tasks in memory: a restarted Flower has forgotten them.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

import attrs

from asyncjobs._models import Job, JobStatus, QueueStats

from ._base import Profile, Route
from ._fields import as_object, field_id, field_status, field_text, field_time, list_under, snippet

__all__ = ["FLOWER", "FLOWER_STATES", "FlowerProfile", "parse_flower_task"]

_API = "flower"

FLOWER_STATES: Mapping[str, JobStatus] = {
    "pending": JobStatus.PENDING,
    "received": JobStatus.PENDING,
    "started": JobStatus.RUNNING,
    "retry": JobStatus.RUNNING,
    "success": JobStatus.COMPLETED,
    "failure": JobStatus.FAILED,
    "rejected": JobStatus.FAILED,
    "revoked": JobStatus.CANCELLED,
}
"""Celery's task states, lower-cased."""

_LIST_STATE: Mapping[JobStatus, str] = {
    JobStatus.COMPLETED: "SUCCESS",
    JobStatus.FAILED: "FAILURE",
    JobStatus.CANCELLED: "REVOKED",
}
# PENDING and RUNNING are two states each: those lists are filtered by the client.


def _literal(value: Any) -> Any:
    """A repr Flower sent, read back as Python data when it is a literal; else as it came."""
    if not isinstance(value, str):
        return value
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return value


def parse_flower_task(payload: Any) -> Job:
    """Build a :class:`Job` from a task of ``/api/task/info`` or ``/api/tasks``.

    Raises:
        ProtocolError: the payload is not a task (no ``uuid``, no ``state``).
    """
    data = as_object(payload, _API, "a task object")
    status = field_status(data, "state", _API, FLOWER_STATES)
    ended = (
        field_time(data, "succeeded", _API)
        or field_time(data, "failed", _API)
        or field_time(data, "revoked", _API)
    )
    config: dict[str, Any] = {}
    for key in ("args", "kwargs"):
        if data.get(key) is not None:
            config[key] = _literal(data[key])
    return Job(
        id=field_id(data, "uuid", _API),
        status=status,
        name=field_text(data, "name", _API),
        result=_literal(data.get("result")) if status is JobStatus.COMPLETED else None,
        error=field_text(data, "exception", _API) if status is JobStatus.FAILED else None,
        config=config,
        created_at=field_time(data, "sent", _API) or field_time(data, "received", _API),
        started_at=field_time(data, "started", _API),
        completed_at=ended if status.is_terminal else None,
        raw=data,
    )


@attrs.frozen(kw_only=True)
class FlowerProfile(Profile):
    """Celery through Flower's REST API (see the module docstring)."""

    def submit_body(
        self,
        *,
        name: str | None,
        config: Mapping[str, Any] | None,
        priority: int,
        idempotency_key: str | None = None,
    ) -> Any:
        """``{"args": [...], "kwargs": {...}}`` plus any ``apply_async`` options of ``config``.

        Raises:
            ValueError: ``args`` is not a list or ``kwargs`` not an object.
        """
        body = dict(config or {})
        args = body.setdefault("args", [])
        kwargs = body.setdefault("kwargs", {})
        if not isinstance(args, list | tuple):
            raise ValueError(f"flower: config 'args' must be a list, got {snippet(args)}")
        if not isinstance(kwargs, dict):
            raise ValueError(f"flower: config 'kwargs' must be an object, got {snippet(kwargs)}")
        body["args"] = list(args)
        return body

    def operation_params(self, operation: str, *, job_id: str | None = None) -> dict[str, str]:
        """A cancel terminates a running task (``terminate=true&signal=SIGTERM``)."""
        if operation == "cancel":
            return {"terminate": "true", "signal": "SIGTERM"}
        return super().operation_params(operation, job_id=job_id)

    def list_params(
        self, *, status: JobStatus | None, page_size: int | None, cursor: str | None
    ) -> dict[str, str]:
        """``offset``, ``limit``, newest first (``sort_by=-received``), and ``state`` for the
        statuses that are one Celery state."""
        params = {"sort_by": "-received", "offset": cursor or "0"}
        if page_size is not None:
            params["limit"] = str(page_size)
        state = _LIST_STATE.get(status) if status is not None else None
        if state is not None:
            params["state"] = state
        return params

    def parse_job(self, payload: Any) -> Job:
        """Build a :class:`Job` from a Flower task."""
        return parse_flower_task(payload)

    def parse_list(self, payload: Any) -> tuple[list[Job], str | None]:
        """An object keyed by task id (paged by offset, so no cursor)."""
        tasks = as_object(payload, _API, "an object of tasks keyed by id")
        jobs = []
        for task_id, task in tasks.items():
            if isinstance(task, dict) and "uuid" not in task:
                task = {**task, "uuid": task_id}
            jobs.append(self.parse_job(task))
        return jobs, None

    def parse_action(self, payload: Any, *, operation: str, job_id: str | None) -> Job | str:
        """A submit answers ``{"task-id", "state"}``, a revoke a message: the client reads the
        task (PENDING while Flower does not know it yet)."""
        if operation == "submit" and isinstance(payload, dict):
            found = payload.get("task-id")
            if isinstance(found, str) and found:
                return found
        return super().parse_action(payload, operation=operation, job_id=job_id)

    def parse_stats(self, payload: Any) -> QueueStats:
        """The messages waiting in every queue are ``pending``."""
        data = as_object(payload, _API, "the queue lengths")
        queues = list_under(data, "active_queues", f"{_API} queue lengths")
        waiting = 0
        for queue in queues:
            messages = queue.get("messages") if isinstance(queue, dict) else None
            if isinstance(messages, int) and not isinstance(messages, bool):
                waiting += messages
        return QueueStats(pending=waiting, raw=data)

    def failure_details(self, job: Job) -> dict[str, Any]:
        """The task's ``traceback`` (and ``exception``), when Flower has them."""
        details = super().failure_details(job)
        for key in ("traceback", "exception"):
            if job.raw.get(key):
                details[key] = job.raw[key]
        return details


FLOWER = FlowerProfile(
    name="flower",
    routes={
        "submit": Route("POST", "/api/task/async-apply/{name}"),
        "get": Route("GET", "/api/task/info/{job_id}"),
        "list": Route("GET", "/api/tasks"),
        "cancel": Route("POST", "/api/task/revoke/{job_id}", idempotent=True),
        "stats": Route("GET", "/api/queues/length"),
    },
    auth="basic",
    transports=("poll",),
    idempotency_header=None,
    max_page_size=100,
    paging="offset",
    batch_via_list=True,
    not_found_grace=10.0,
)
"""Celery through Flower's REST API; base URL ``http://host:5555``."""
