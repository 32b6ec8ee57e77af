"""The ``mammoth`` profile: the integer-id jobs API of an analytics SDK (sans-I/O).

Base URL: ``https://host/api/v2``. Routes (seeds/ROUTES.md section 3)::

    GET /jobs/{job_id}            {"job": JobSchema}   (newer servers: the JobSchema itself)
    GET /jobs?job_ids=1,2,3       {"jobs": [JobSchema, ...]}

``JobSchema`` is ``{id: int, status, response: dict, last_updated_at, created_at, path,
operation}`` with statuses ``success``, ``failure``, ``processing`` and ``error``.

Auth: ``X-API-KEY`` carries ``token=``; the ``X-API-SECRET`` (and, for newer servers,
``X-WORKSPACE-ID``) go in ``headers=``. Errors carry ``{"detail": ...}``.

Mapping: ``response`` is ``Job.result``; the failure reason is ``Job.error``, read from wherever
a version of the API put it (``response.failure_reason``, ``response.error``,
``response.response.detail``, ``response.response.error``); ``operation`` is ``Job.name``;
``last_updated_at`` is ``Job.updated_at``. A batch answer may leave out ids it does not know:
those are the ones not found. Only reading is offered: no submit, list, cancel or streams.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from asyncjobs._exceptions import ProtocolError
from asyncjobs._models import Job, JobStatus

from ._base import Profile, Route
from ._fields import (
    as_object,
    field_id,
    field_status,
    field_text,
    field_time,
    list_under,
    snippet,
    unwrapped,
)

__all__ = ["MAMMOTH", "MAMMOTH_STATUSES", "MammothProfile", "mammoth_failure_reason"]

_API = "mammoth"

MAMMOTH_STATUSES: Mapping[str, JobStatus] = {
    "processing": JobStatus.RUNNING,
    "success": JobStatus.COMPLETED,
    "failure": JobStatus.FAILED,
    "error": JobStatus.FAILED,
}
"""Every status word of the API."""


def _reason_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def mammoth_failure_reason(response: Any, job: Mapping[str, Any] | None = None) -> str | None:
    """The failure reason in a job's ``response``, wherever a version of the API put it.

    Looks at ``failure_reason`` (the documented place), ``error``, then the nested
    ``response.detail`` and ``response.error`` (or a nested ``response`` that is only a
    string), then the job's own top-level ``failure_reason`` (where upload answers carry it)
    and ``error``; the first non-empty one wins.
    """
    outer = response if isinstance(response, dict) else {}
    inner_value = outer.get("response")
    inner = inner_value if isinstance(inner_value, dict) else {}
    top = job or {}
    for value in (
        outer.get("failure_reason"),
        outer.get("error"),
        inner.get("detail"),
        inner.get("error"),
        inner_value if isinstance(inner_value, str) else None,
        top.get("failure_reason"),
        top.get("error"),
    ):
        reason = _reason_text(value)
        if reason is not None:
            return reason
    return None


def parse_mammoth_job(payload: Any) -> Job:
    """Build a :class:`Job` from a ``JobSchema``, wrapped in ``{"job": ...}`` or not.

    Raises:
        ProtocolError: the payload is not a job object.
    """
    data = as_object(unwrapped(payload, "job"), _API)
    status = field_status(data, "status", _API, MAMMOTH_STATUSES)
    response = data.get("response")
    if response is not None and not isinstance(response, dict):
        raise ProtocolError(
            f"{_API} job payload field 'response': expected an object, got {snippet(response)}"
        )
    return Job(
        id=field_id(data, "id", _API),
        status=status,
        name=field_text(data, "operation", _API),
        result=response or None,
        error=mammoth_failure_reason(response, data) if status is JobStatus.FAILED else None,
        created_at=field_time(data, "created_at", _API),
        updated_at=field_time(data, "last_updated_at", _API),
        raw=data,
    )


@attrs.frozen(kw_only=True)
class MammothProfile(Profile):
    """The integer-id jobs API (see the module docstring)."""

    def unwrap(self, payload: Any, *, operation: str, job_id: str | None = None) -> Any:
        """Take the job out of ``{"job": ...}`` (an unwrapped job is accepted as it is)."""
        return unwrapped(payload, "job") if operation == "get" else payload

    def parse_job(self, payload: Any) -> Job:
        """Build a :class:`Job` from a ``JobSchema``."""
        return parse_mammoth_job(payload)

    def parse_many(self, payload: Any, *, job_ids: Sequence[str]) -> tuple[list[Job], list[str]]:
        """Read ``{"jobs": [...]}``; requested ids it leaves out are the ones not found."""
        data = as_object(payload, _API, 'a {"jobs": [...]} object')
        items = list_under(data, "jobs", f"{_API} batch answer")
        jobs = [self.parse_job(item) for item in items]
        seen = {job.id for job in jobs}
        return jobs, [job_id for job_id in job_ids if job_id not in seen]


MAMMOTH = MammothProfile(
    name="mammoth",
    routes={
        "get": Route("GET", "/jobs/{job_id}"),
        "get_many": Route("GET", "/jobs"),
    },
    auth="header:X-API-KEY",
    transports=("poll",),
    idempotency_header=None,
    ids_param="job_ids",
)
"""The integer-id jobs API; base URL ``https://host/api/v2``."""
