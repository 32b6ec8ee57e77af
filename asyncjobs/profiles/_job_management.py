"""The ``job-management`` profile: the job-management REST API with JWT auth (sans-I/O).

Base URL: ``http://host/api/v1``. Routes (seeds/ROUTES.md section 2)::

    POST   /jobs/submit            {name, config, priority}  -> {"job_id", "message"}
    GET    /jobs/list              ?status=&limit=           -> a bare array, newest first
    GET    /jobs/{job_id}                                    -> Job; 403 for another user's job
    DELETE /jobs/{job_id}                                    -> {"success", "message"}
    POST   /jobs/{job_id}/cancel                             -> {"success", "message"}
    GET    /jobs/stats                                       -> {"total_jobs", "pending", ...}
    POST   /jobs/cleanup           ?max_age_hours=1..168     -> {"success", "removed_jobs", ...}

Auth: ``Authorization: Bearer <JWT>`` (the token of ``POST /auth/login``). Errors:
``{"error", "details", "timestamp"}``; most failures, wrong states included, are 400s.

Quirks handled here: the list has no pages (``limit`` is sent only when the caller limits the
total); ``error_message`` is the failure reason and ``result_files`` the result; ``config`` is not
returned; the times are naive (taken as UTC); the cleanup count is ``removed_jobs`` in the source
and ``cleaned_jobs`` in the document (both are read). There is no restart, log, batch read, long
poll or stream: ``get_jobs`` reads the jobs one by one, a few at a time, and ``watch`` polls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from asyncjobs._exceptions import ProtocolError
from asyncjobs._models import Job, JobStatus

from ._base import Profile, Route
from ._fields import as_object, field_id, field_number, field_status, field_text, field_time

__all__ = ["JOB_MANAGEMENT", "JOB_MANAGEMENT_STATUSES", "JobManagementProfile"]

_API = "job-management"

JOB_MANAGEMENT_STATUSES: Mapping[str, JobStatus] = {
    "pending": JobStatus.PENDING,
    "running": JobStatus.RUNNING,
    "completed": JobStatus.COMPLETED,
    "failed": JobStatus.FAILED,
    "cancelled": JobStatus.CANCELLED,
}
"""Every status word of the API."""

_UNLIMITED = 2**31 - 1


def parse_job_management_job(payload: Any) -> Job:
    """Build a :class:`Job` from the API's job object (a get answer or a list item).

    Raises:
        ProtocolError: the payload is not a job object.
    """
    data = as_object(payload, _API)
    status = field_status(data, "status", _API, JOB_MANAGEMENT_STATUSES)
    priority = data.get("priority")
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
        raise ProtocolError(
            f"{_API} job payload field 'priority': expected an integer 1..4, got {priority!r}"
        )
    files = data.get("result_files")
    if files is not None and not isinstance(files, list):
        raise ProtocolError(
            f"{_API} job payload field 'result_files': expected a list, got {files!r}"
        )
    config = data.get("config")
    return Job(
        id=field_id(data, "id", _API),
        status=status,
        name=field_text(data, "name", _API),
        progress=field_number(data, "progress", _API),
        message=field_text(data, "message", _API),
        result=files or None,
        error=field_text(data, "error_message", _API),
        priority=priority,
        config=config if isinstance(config, dict) else {},
        created_at=field_time(data, "created_at", _API),
        started_at=field_time(data, "started_at", _API),
        completed_at=field_time(data, "completed_at", _API),
        raw=data,
    )


@attrs.frozen(kw_only=True)
class JobManagementProfile(Profile):
    """The job-management REST API with JWT auth (see the module docstring)."""

    def parse_job(self, payload: Any) -> Job:
        """Build a :class:`Job` from the API's job object."""
        return parse_job_management_job(payload)

    def list_params(
        self, *, status: JobStatus | None, page_size: int | None, cursor: str | None
    ) -> dict[str, str]:
        """``status`` and, only when the caller limits the total, ``limit`` (no pages)."""
        params: dict[str, str] = {}
        if status is not None:
            params["status"] = status.value
        if page_size is not None and page_size < self.max_page_size:
            params["limit"] = str(page_size)
        return params


JOB_MANAGEMENT = JobManagementProfile(
    name="job-management",
    routes={
        "submit": Route("POST", "/jobs/submit", idempotent=False),
        "list": Route("GET", "/jobs/list"),
        "get": Route("GET", "/jobs/{job_id}"),
        "delete": Route("DELETE", "/jobs/{job_id}"),
        "cancel": Route("POST", "/jobs/{job_id}/cancel", idempotent=True),
        "stats": Route("GET", "/jobs/stats"),
        "cleanup": Route("POST", "/jobs/cleanup"),
    },
    auth="bearer",
    transports=("poll",),
    idempotency_header=None,
    # One answer holds the whole list: a page this large means "no limit".
    max_page_size=_UNLIMITED,
)
"""The job-management REST API with JWT auth; base URL ``http://host/api/v1``."""
