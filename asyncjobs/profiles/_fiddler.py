"""The ``fiddler`` profile: the Celery-state jobs API of a model-monitoring SDK (sans-I/O).

Base URL: ``https://host/v3``. Route (seeds/ROUTES.md section 4)::

    GET /jobs/{job_id}     {"data": JobResp, "api_version": "3.0", "kind": "NORMAL"}

``JobResp`` is ``{id, name, status, progress, info, error_message, error_reason, extras}`` with
Celery states ``PENDING STARTED SUCCESS FAILURE RETRY REVOKED``. Errors are
``{"error": {"code", "message", "errors": [...]}, "kind": "ERROR"}``. Auth: bearer.

Mapping: ``error_message`` is ``Job.error`` and ``error_reason`` (the exception's class) goes into
``JobFailedError.details["error_reason"]``; ``RETRY`` is running and ``REVOKED`` cancelled;
``extras`` is ``Job.result``. Only reading is offered: jobs come from the API's other calls
(``data.job = {id, name}``), and it has no list, cancel or stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from asyncjobs._models import Job, JobStatus

from ._base import Profile, Route
from ._fields import as_object, field_id, field_number, field_status, field_text, unwrapped

__all__ = ["FIDDLER", "FIDDLER_STATUSES", "FiddlerProfile"]

_API = "fiddler"

FIDDLER_STATUSES: Mapping[str, JobStatus] = {
    "pending": JobStatus.PENDING,
    "started": JobStatus.RUNNING,
    "retry": JobStatus.RUNNING,
    "success": JobStatus.COMPLETED,
    "failure": JobStatus.FAILED,
    "revoked": JobStatus.CANCELLED,
}
"""Every status word of the API (Celery's task states), lower-cased."""


def parse_fiddler_job(payload: Any) -> Job:
    """Build a :class:`Job` from a ``JobResp``, inside its ``{"data": ...}`` envelope or not.

    Raises:
        ProtocolError: the payload is not a job object.
    """
    data = as_object(unwrapped(payload, "data"), _API)
    status = field_status(data, "status", _API, FIDDLER_STATUSES)
    extras = data.get("extras")
    return Job(
        id=field_id(data, "id", _API),
        status=status,
        name=field_text(data, "name", _API),
        progress=field_number(data, "progress", _API),
        result=extras or None,
        error=field_text(data, "error_message", _API),
        raw=data,
    )


@attrs.frozen(kw_only=True)
class FiddlerProfile(Profile):
    """The Celery-state jobs API (see the module docstring).

    Attributes:
        verbose: Sent as the get's ``verbose`` query (``True``/``False``, as the SDK's
            ``Job.get(id_, verbose=...)`` sends it), or not at all when None (as its
            ``watch()`` does). ``attrs.evolve(FIDDLER, verbose=True)`` gets the task details
            into ``Job.raw["info"]``.
    """

    verbose: bool | None = None

    def get_params(self) -> dict[str, str]:
        """``verbose=True`` or ``verbose=False``, unless :attr:`verbose` is None."""
        return {} if self.verbose is None else {"verbose": str(self.verbose)}

    def unwrap(self, payload: Any, *, operation: str, job_id: str | None = None) -> Any:
        """Take the entity out of the ``{"data": ...}`` envelope."""
        return unwrapped(payload, "data")

    def parse_job(self, payload: Any) -> Job:
        """Build a :class:`Job` from a ``JobResp``."""
        return parse_fiddler_job(payload)


FIDDLER = FiddlerProfile(
    name="fiddler",
    routes={"get": Route("GET", "/jobs/{job_id}")},
    auth="bearer",
    transports=("poll",),
    idempotency_header=None,
)
"""The Celery-state jobs API; base URL ``https://host/v3``."""
