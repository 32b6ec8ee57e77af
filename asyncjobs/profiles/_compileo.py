"""The ``compileo`` profile: the status / long-poll / stream REST API (sans-I/O).

Base URL: ``http://host/api/v1/jobs``. Routes (seeds/ROUTES.md section 1)::

    GET  /status/{job_id}            JobStatusResponse
    GET  /status/{job_id}/poll       ?timeout=1..300&current_status=<word>
    GET  /status/{job_id}/stream     text/event-stream, data-only events
    GET  /queue/stats                free-form counts
    POST /cancel/{job_id}            {"message": ...}
    POST /restart/{job_id}           {"message": ...}

No submit, list, delete, log, batch read or cleanup: jobs are created by the API's other routers.
Auth: ``X-API-Key`` (none when the server has no key). Errors are FastAPI's ``{"detail": ...}``.

Quirks handled here:

- ``updated_at`` is ``completed_at or utcnow()``: "now" for a live job, so it is never taken as a
  change (``Job.updated_at`` is ``completed_at``).
- Times are naive UTC (taken as UTC).
- ``scheduled`` is pending and ``retrying`` is running; both are real values of the API.
- The long poll takes the last seen status word (``current_status``), not a version.
- Stream events carry only ``job_id, status, progress, current_step, timestamp``: each one is laid
  over the last full state, and a terminal one must be completed by reading the job. Events that
  are not valid JSON (the API builds them with f-strings) are skipped; ``{"error": ...}`` events
  mean the stream cannot serve the job.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from typing import Any

import attrs

from asyncjobs._exceptions import ProtocolError
from asyncjobs._models import Job, JobStatus, QueueStats

from ._base import Profile, Route
from ._fields import (
    as_object,
    field_id,
    field_number,
    field_status,
    field_text,
    field_time,
    snippet,
)

__all__ = ["COMPILEO", "COMPILEO_STATUSES", "CompileoProfile", "StreamError"]

logger = logging.getLogger("asyncjobs")

_API = "compileo"

COMPILEO_STATUSES: Mapping[str, JobStatus] = {
    "pending": JobStatus.PENDING,
    "scheduled": JobStatus.PENDING,
    "running": JobStatus.RUNNING,
    "retrying": JobStatus.RUNNING,
    "completed": JobStatus.COMPLETED,
    "failed": JobStatus.FAILED,
    "cancelled": JobStatus.CANCELLED,
}
"""Every status word of the API (its ``JobStatus`` enum has seven; its document lists five)."""


class StreamError(ProtocolError):
    """The API's stream sent ``{"error": ...}`` instead of the job: it cannot serve this job now.

    The watch falls back to reading the job (the API's GET has a fallback its stream lacks).
    """


def _status(data: Mapping[str, Any]) -> JobStatus:
    return field_status(data, "status", _API, COMPILEO_STATUSES)


def parse_compileo_job(payload: Any) -> Job:
    """Build a :class:`Job` from a ``JobStatusResponse`` (a GET or long-poll answer).

    Raises:
        ProtocolError: the payload is not a job status object.
    """
    data = as_object(payload, _API)
    completed_at = field_time(data, "completed_at", _API)
    return Job(
        id=field_id(data, "job_id", _API),
        status=_status(data),
        progress=field_number(data, "progress", _API),
        message=field_text(data, "current_step", _API),
        result=data.get("result"),
        error=field_text(data, "error", _API),
        created_at=field_time(data, "created_at", _API),
        started_at=field_time(data, "started_at", _API),
        completed_at=completed_at,
        # The API's updated_at is the time of the answer for a live job: not a change.
        updated_at=completed_at,
        raw=data,
    )


def parse_compileo_event(data: str, previous: Job | None) -> Job | None:
    """Read one stream event's data into a :class:`Job`, laid over the last state seen.

    Args:
        data: The event's data.
        previous: The last full state of the job (from a GET or an earlier event), or None.

    Returns:
        The job as the event shows it (status, progress and step from the event; the rest from
        ``previous`` while the status is unchanged), or None for data that is not valid JSON or
        not a job event (logged and skipped, never fatal).

    Raises:
        StreamError: the event is the API's ``{"error": ...}``.
    """
    try:
        payload = json.loads(data)
    except ValueError:
        logger.warning("compileo stream: skipping an event that is not JSON: %s", snippet(data))
        return None
    if not isinstance(payload, dict):
        logger.warning(
            "compileo stream: skipping an event that is not an object: %s", snippet(data)
        )
        return None
    if "error" in payload and "status" not in payload:
        raise StreamError(f"compileo stream answered an error: {snippet(payload.get('error'))}")
    try:
        job_id = field_id(payload, "job_id", _API)
        status = _status(payload)
        progress = field_number(payload, "progress", _API)
        message = field_text(payload, "current_step", _API)
    except ProtocolError as exc:
        logger.warning("compileo stream: skipping a malformed event (%s)", exc)
        return None
    stamp = None
    if status.is_terminal:
        # The event's timestamp is completed_at once terminal, else "now". A terminal event is
        # never skipped for its time (the stream of a finished job never closes): the final
        # state is read in full anyway.
        try:
            stamp = field_time(payload, "timestamp", _API)
        except ProtocolError as exc:
            logger.warning("compileo stream: ignoring the final event's timestamp (%s)", exc)
    if previous is None:
        return Job(
            id=job_id,
            status=status,
            progress=progress,
            message=message,
            completed_at=stamp,
            updated_at=stamp,
            raw=payload,
        )
    same = status is previous.status
    return attrs.evolve(
        previous,
        status=status,
        progress=progress,
        message=message,
        result=previous.result if same else None,
        error=previous.error if same else None,
        completed_at=stamp if stamp is not None or not same else previous.completed_at,
        updated_at=stamp if stamp is not None or not same else previous.updated_at,
        raw=payload,
    )


def _add(*values: int | None) -> int | None:
    present = [value for value in values if value is not None]
    return sum(present) if present else None


def _count(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return int(value)
    raise ProtocolError(f"{_API} queue stats field {key!r}: expected a count, got {value!r}")


def parse_compileo_stats(payload: Any) -> QueueStats:
    """Build :class:`QueueStats` from ``GET /queue/stats``.

    ``scheduled_jobs`` count as pending and ``retrying_jobs`` as running, as their jobs do;
    everything else the API reports (CPU, memory, queue health) stays in ``raw``.

    Raises:
        ProtocolError: the payload is not an object or a count is not a number.
    """
    data = as_object(payload, _API, "a queue statistics object")
    return QueueStats(
        total=_count(data, "total_jobs"),
        pending=_add(_count(data, "pending_jobs"), _count(data, "scheduled_jobs")),
        running=_add(_count(data, "running_jobs"), _count(data, "retrying_jobs")),
        completed=_count(data, "completed_jobs"),
        failed=_count(data, "failed_jobs"),
        cancelled=_count(data, "cancelled_jobs"),
        active_workers=_count(data, "active_workers"),
        total_workers=_count(data, "total_workers"),
        raw=data,
    )


@attrs.frozen(kw_only=True)
class CompileoProfile(Profile):
    """The status / long-poll / stream REST API (see the module docstring)."""

    def parse_job(self, payload: Any) -> Job:
        """Build a :class:`Job` from a ``JobStatusResponse``."""
        return parse_compileo_job(payload)

    def parse_stats(self, payload: Any) -> QueueStats:
        """Build :class:`QueueStats` from the free-form ``/queue/stats`` answer."""
        return parse_compileo_stats(payload)

    def poll_params(self, *, job: Job | None, timeout: float) -> dict[str, str]:
        """``timeout=<1..300>`` and ``current_status=<the last status word seen>``.

        The API answers at once when its status differs from ``current_status``, else on the
        next change of status or progress, else after ``timeout`` with the unchanged job.
        """
        params = super().poll_params(job=None, timeout=timeout)  # timeout in 1..300, no "after"
        if job is not None:
            word = job.raw.get("status")
            params["current_status"] = word if isinstance(word, str) else job.status.value
        return params

    def parse_event(self, data: str, previous: Job | None) -> Job | None:
        """Read a stream event (see :func:`parse_compileo_event`)."""
        return parse_compileo_event(data, previous)


COMPILEO = CompileoProfile(
    name="compileo",
    routes={
        "get": Route("GET", "/status/{job_id}"),
        "poll": Route("GET", "/status/{job_id}/poll"),
        "events": Route("GET", "/status/{job_id}/stream"),
        "stats": Route("GET", "/queue/stats"),
        "cancel": Route("POST", "/cancel/{job_id}", idempotent=True),
        "restart": Route("POST", "/restart/{job_id}", idempotent=True),
    },
    auth="header:X-API-Key",
    transports=("sse", "long-poll", "poll"),
    idempotency_header=None,
)
"""The status / long-poll / stream REST API; base URL ``http://host/api/v1/jobs``."""
