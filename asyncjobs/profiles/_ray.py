"""The ``ray`` profile: Ray's Job Submission API, served by the Ray dashboard (sans-I/O).

Base URL: ``http://host:8265``. Routes (trailing slashes matter: ``/api/jobs`` is a 404)::

    POST   /api/jobs/                 {"entrypoint", "submission_id"?, "runtime_env"?, ...}
                                      -> {"job_id", "submission_id"}
    GET    /api/jobs/                 a bare array of every job (no filters, no order)
    GET    /api/jobs/{submission_id}  the job (JobDetails)
    POST   /api/jobs/{id}/stop        {"stopped": bool}
    DELETE /api/jobs/{id}             {"deleted": true}; 500 while the job is not finished
    GET    /api/jobs/{id}/logs        {"logs": "..."}

Mapping: ``Job.id`` is the ``submission_id`` (a driver job started by a script, which has none,
keeps its ``job_id``); ``Job.name`` is ``metadata["name"]``, else the entrypoint; ``Job.config``
holds the submit fields the record repeats (``entrypoint``, ``runtime_env``, ``metadata``,
``entrypoint_num_cpus``...); ``message`` is ``Job.message`` and, once failed, ``Job.error``
(its ``error_type`` goes into ``JobFailedError.details["error_type"]``); ``start_time`` and
``end_time`` (epoch ms) are ``started_at`` and ``completed_at``; ``Job.raw`` is Ray's record.
``STOPPED`` is CANCELLED. Ray reports no progress, no result and no version.

``submit_job(name, config)``: ``config`` holds Ray's submit fields (``entrypoint`` required);
``name``, when given, goes into ``metadata["name"]``; the idempotency key is the
``submission_id``, so a repeated submit (Ray answers a duplicate id with a 500) reads and
returns the job the key first created. ``priority`` means nothing to Ray and is not sent.
Errors are plain text, often a Python traceback whose last line is the reason. ``token=`` is
sent as a bearer token (Ray's token authentication, or a proxy's); without one nothing is sent.
Watched by adaptive polling: Ray has no status stream; many jobs are read together from the list
(one ``GET /api/jobs/`` a round, which returns every job). ``cancel_job`` stops the job and
returns it as read then (still RUNNING: STOPPED follows a second or two later); a job already
finished raises ``ConflictError``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from asyncjobs._exceptions import APIError, ConflictError, JobNotFoundError, ProtocolError
from asyncjobs._models import Job

from ._base import Profile, Route
from ._fields import as_object, epoch_ms, field_status, field_text, snippet

__all__ = ["RAY", "RAY_SUBMIT_FIELDS", "RayProfile", "parse_ray_job"]

_API = "ray"

RAY_SUBMIT_FIELDS = frozenset(
    {
        "entrypoint",
        "runtime_env",
        "metadata",
        "entrypoint_num_cpus",
        "entrypoint_num_gpus",
        "entrypoint_memory",
        "entrypoint_resources",
        "entrypoint_label_selector",
    }
)
"""The keys of ``submit_job``'s ``config`` that Ray's submit takes (``submission_id`` is the
idempotency key)."""


def parse_ray_job(payload: Any) -> Job:
    """Build a :class:`Job` from Ray's JobDetails.

    Raises:
        ProtocolError: the payload is not a job record (no ids, no status word).
    """
    data = as_object(payload, _API)
    job_id = field_text(data, "submission_id", _API) or field_text(data, "job_id", _API)
    if job_id is None:
        raise ProtocolError(
            f"{_API} job payload has neither 'submission_id' nor 'job_id': {snippet(data)}"
        )
    status = field_status(data, "status", _API)
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    message = field_text(data, "message", _API)
    started = epoch_ms(data, "start_time", _API)
    return Job(
        id=job_id,
        status=status,
        name=name if isinstance(name, str) and name else field_text(data, "entrypoint", _API),
        message=message,
        error=message if data.get("status") == "FAILED" else None,
        config={key: data[key] for key in RAY_SUBMIT_FIELDS if data.get(key) is not None},
        created_at=started,
        started_at=started,
        completed_at=epoch_ms(data, "end_time", _API),
        raw=data,
    )


def _last_line(text: str) -> str:
    """The reason of a plain-text Python traceback: its last non-empty line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


@attrs.frozen(kw_only=True)
class RayProfile(Profile):
    """Ray's Job Submission API (see the module docstring)."""

    def submit_body(
        self,
        *,
        name: str | None,
        config: Mapping[str, Any] | None,
        priority: int,
        idempotency_key: str | None = None,
    ) -> Any:
        """Ray's submit request: ``config``'s Ray fields, the name in ``metadata["name"]``,
        the idempotency key as the ``submission_id``.

        Raises:
            ValueError: no ``entrypoint`` in ``config``, or a key Ray does not take.
        """
        body = dict(config or {})
        unknown = sorted(set(body) - RAY_SUBMIT_FIELDS)
        if unknown:
            known = ", ".join(sorted(RAY_SUBMIT_FIELDS))
            raise ValueError(
                f"ray: config has keys Ray's submit does not take: {', '.join(unknown)} "
                f"(it takes {known}; the submission_id is the idempotency_key)"
            )
        entrypoint = body.get("entrypoint")
        if not isinstance(entrypoint, str) or not entrypoint.strip():
            raise ValueError(
                "ray: config must hold 'entrypoint', the shell command the job runs, e.g. "
                "submit_job('train', {'entrypoint': 'python train.py'})"
            )
        metadata = body.get("metadata")
        if metadata is not None and not (
            isinstance(metadata, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
        ):
            raise ValueError(
                f"ray: config 'metadata' must map strings to strings, got {snippet(metadata)}"
            )
        if name is not None:
            body["metadata"] = {"name": name, **(metadata or {})}
        if idempotency_key is not None:
            body["submission_id"] = idempotency_key
        return body

    def existing_job_id(self, idempotency_key: str) -> str | None:
        """The key is the ``submission_id``: a duplicate names the job it created."""
        return idempotency_key

    def parse_job(self, payload: Any) -> Job:
        """Build a :class:`Job` from Ray's JobDetails."""
        return parse_ray_job(payload)

    def parse_list(self, payload: Any) -> tuple[list[Job], str | None]:
        """Ray's bare array, put newest first (by start time) as ``list_jobs`` promises."""
        if not isinstance(payload, list):
            raise ProtocolError(f"{_API} list answer: expected an array, got {snippet(payload)}")
        jobs = [self.parse_job(item) for item in payload]
        jobs.sort(key=lambda job: job.created_at.timestamp() if job.created_at else 0.0)
        jobs.reverse()
        return jobs, None

    def parse_action(self, payload: Any, *, operation: str, job_id: str | None) -> Job | str:
        """Submit answers ``{"job_id", "submission_id"}`` and stop ``{"stopped": bool}``: the
        client reads the job either way.

        Raises:
            ConflictError: a stop answered ``{"stopped": false}``: the job had already
                finished (Ray answers that with a 200, the native protocol with a 409).
        """
        if operation == "cancel" and isinstance(payload, dict) and payload.get("stopped") is False:
            raise ConflictError(
                f"cannot cancel job {job_id!r}: it has already finished (Ray answered "
                '{"stopped": false})',
                status=200,
                error="not stopped",
                details="the job has already finished",
                body=payload,
            )
        if operation == "submit" and isinstance(payload, dict):
            found = payload.get("submission_id") or payload.get("job_id")
            if isinstance(found, str) and found:
                return found
        return super().parse_action(payload, operation=operation, job_id=job_id)

    def parse_log(self, text: str) -> str:
        """The ``logs`` of ``{"logs": "..."}``, as text."""
        try:
            payload = self.unwrap(json.loads(text), operation="log")
        except ValueError:
            return text
        logs = payload.get("logs") if isinstance(payload, dict) else None
        return logs if isinstance(logs, str) else text

    def classify_error(
        self, status: int, body: Any, *, operation: str | None
    ) -> type[APIError] | None:
        """A duplicate ``submission_id`` (500, "already exists") and a delete of a job not
        yet finished (500) are conflicts; "does not exist" is a 404 however it comes."""
        text = body if isinstance(body, str) else ""
        if "already exists" in text:
            return ConflictError
        if status == 500 and operation == "delete":
            return ConflictError
        if "does not exist" in text and status in (400, 404):
            return JobNotFoundError
        return None

    def parse_error(self, body: Any) -> tuple[str | None, str | None]:
        """Plain text; of a traceback, its last line (``ValueError: ...``)."""
        if isinstance(body, str) and body.strip():
            reason = _last_line(body)
            error, _, _ = reason.partition(":")
            return (error if error != reason and " " not in error else None), reason[:500]
        return super().parse_error(body)

    def failure_details(self, job: Job) -> dict[str, Any]:
        """Ray's ``error_type`` and ``driver_exit_code``, when present."""
        details: dict[str, Any] = {}
        for key in ("error_type", "driver_exit_code"):
            if job.raw.get(key) is not None:
                details[key] = job.raw[key]
        return details


RAY = RayProfile(
    name="ray",
    routes={
        "submit": Route("POST", "/api/jobs/", idempotent=True),
        "get": Route("GET", "/api/jobs/{job_id}"),
        "list": Route("GET", "/api/jobs/"),
        "cancel": Route("POST", "/api/jobs/{job_id}/stop", idempotent=True),
        "delete": Route("DELETE", "/api/jobs/{job_id}"),
        "log": Route("GET", "/api/jobs/{job_id}/logs"),
    },
    auth="bearer",
    transports=("poll",),
    idempotency_header=None,
    max_page_size=1_000_000,
    batch_via_list=True,
)
"""Ray's Job Submission API; base URL ``http://host:8265``."""
