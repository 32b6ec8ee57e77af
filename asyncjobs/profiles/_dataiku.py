"""The ``dataiku`` profile: the jobs of a data-science platform's public API (sans-I/O).

Base URL: ``https://host/dip/publicapi/projects/<PROJECT_KEY>`` (the SDK's prefix) or
``https://host/public/api/projects/<PROJECT_KEY>`` (the REST document's). Routes
(seeds/ROUTES.md section 5), trailing slashes exactly as the SDK sends them::

    GET  /jobs/                    a bare array of job summaries (id under def.id)
    POST /jobs/                    a job definition -> {"id": ..., ...} (id at the top level)
    GET  /jobs/{job_id}/           the job's status (state under baseStatus.state)
    POST /jobs/{job_id}/abort      a confirmation message
    GET  /jobs/{job_id}/log        text/plain

States: ``NOT_STARTED RUNNING DONE FAILED ABORTED``; only ``DONE`` is success, ``ABORTED`` is
cancelled. Auth: HTTP basic with the API key as the user name and an empty password. Errors:
``{"errorType", "message", "detailedMessage"}``.

Mapping: the job definition (``def``) is ``Job.config`` and its ``name`` is ``Job.name``;
``def.initiationTimestamp``, ``startTime`` and ``endTime`` (epoch milliseconds, 0 for "not yet")
are the times. A submit sends ``config`` as the job definition (``name`` added when given; the
API has no priorities). The list has no filter: ``list_jobs(status=...)`` filters the one page
the API answers. The API reports no progress and no failure reason (read the log).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from asyncjobs._exceptions import ProtocolError
from asyncjobs._models import Job, JobStatus

from ._base import Profile, Route
from ._fields import as_object, epoch_ms, field_status, field_text, nested

__all__ = ["DATAIKU", "DATAIKU_STATUSES", "DataikuProfile"]

_API = "dataiku"

DATAIKU_STATUSES: Mapping[str, JobStatus] = {
    "not_started": JobStatus.PENDING,
    "running": JobStatus.RUNNING,
    "done": JobStatus.COMPLETED,
    "failed": JobStatus.FAILED,
    "aborted": JobStatus.CANCELLED,
}
"""Every state word of the API, lower-cased."""


def _job_id(*places: Mapping[str, Any]) -> str:
    for place in places:
        value = place.get("id")
        if isinstance(value, str) and value:
            return value
    raise ProtocolError(f"{_API} job payload: expected the job id under 'def.id' or 'id', got none")


def parse_dataiku_job(payload: Any) -> Job:
    """Build a :class:`Job` from a job status (``{"baseStatus": {...}}``) or a list item.

    The id is ``def.id`` (list items, and the status's ``baseStatus.def.id``), else a top-level
    ``id``; the state is ``baseStatus.state`` or, in a list item, ``state``.

    Raises:
        ProtocolError: the payload has no id or no state.
    """
    data = as_object(payload, _API)
    base = data.get("baseStatus")
    status_part: Mapping[str, Any] = base if isinstance(base, dict) else data
    definition = nested(status_part, "def") or nested(data, "def")
    status = field_status(
        status_part,
        "state",
        _API,
        DATAIKU_STATUSES,
        field="baseStatus.state" if isinstance(base, dict) else "state",
    )
    return Job(
        id=_job_id(definition, status_part, data),
        status=status,
        name=field_text(definition, "name", _API),
        config=dict(definition),
        created_at=epoch_ms(definition, "initiationTimestamp", _API),
        started_at=epoch_ms(status_part, "startTime", _API),
        completed_at=epoch_ms(status_part, "endTime", _API),
        raw=data,
    )


@attrs.frozen(kw_only=True)
class DataikuProfile(Profile):
    """The data-science platform's jobs API (see the module docstring)."""

    def submit_body(
        self,
        *,
        name: str | None,
        config: Mapping[str, Any] | None,
        priority: int,
        idempotency_key: str | None = None,
    ) -> Any:
        """The job definition: ``config`` itself (e.g. ``{"type": ..., "outputs": [...]}``)."""
        body = dict(config or {})
        if name is not None:
            body.setdefault("name", name)
        return body

    def list_params(
        self, *, status: JobStatus | None, page_size: int | None, cursor: str | None
    ) -> dict[str, str]:
        """None: the API lists every job of the project in one answer, unfiltered."""
        return {}

    def unwrap(self, payload: Any, *, operation: str, job_id: str | None = None) -> Any:
        """A status that does not repeat the job's id gets the requested one as ``id``."""
        if operation == "get" and job_id is not None and isinstance(payload, dict):
            base = payload.get("baseStatus")
            definition = nested(base, "def") if isinstance(base, dict) else {}
            if not definition.get("id") and not payload.get("id"):
                return {**payload, "id": job_id}
        return payload

    def parse_job(self, payload: Any) -> Job:
        """Build a :class:`Job` from a job status or a list item."""
        return parse_dataiku_job(payload)


DATAIKU = DataikuProfile(
    name="dataiku",
    routes={
        "list": Route("GET", "/jobs/"),
        "submit": Route("POST", "/jobs/", idempotent=False),
        "get": Route("GET", "/jobs/{job_id}/"),
        "cancel": Route("POST", "/jobs/{job_id}/abort", idempotent=True),
        "log": Route("GET", "/jobs/{job_id}/log"),
    },
    auth="basic",
    transports=("poll",),
    idempotency_header=None,
    max_page_size=2**31 - 1,
)
"""The data-science platform's jobs API; base URL ``https://host/dip/publicapi/projects/KEY``."""
