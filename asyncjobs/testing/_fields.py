"""The job fields a test gives :class:`~asyncjobs.testing.JobServer`, checked before storing.

:meth:`~asyncjobs.testing.JobServer.create_job` and :meth:`~asyncjobs.testing.JobServer.update_job`
take a job's fields as keyword arguments; :data:`UNSET` marks the ones not given, and
:func:`check_fields` refuses a value out of range with a message naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from asyncjobs._models import JobStatus

__all__ = ["UNSET", "Unset", "check_fields"]


class Unset:
    """The type of :data:`UNSET`: a keyword argument the caller did not give."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset()
"""A keyword argument not given (None is a value: it clears the field)."""


def _status(value: JobStatus | str) -> JobStatus:
    if isinstance(value, JobStatus):
        status = value
    else:
        try:
            status = JobStatus(value)
        except ValueError:
            status = JobStatus.UNKNOWN
    if status is JobStatus.UNKNOWN:
        words = ", ".join(s.value for s in JobStatus if s is not JobStatus.UNKNOWN)
        raise ValueError(f"status: expected one of {words}, got {value!r}")
    return status


def check_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate job fields given to create_job/update_job; turn status words into JobStatus."""
    if "status" in fields:
        fields["status"] = _status(fields["status"])
    progress = fields.get("progress")
    if progress is not None and (
        isinstance(progress, bool)
        or not isinstance(progress, int | float)
        or not math.isfinite(progress)
        or not 0 <= progress <= 100
    ):
        raise ValueError(f"progress: expected a number 0..100 or None, got {progress!r}")
    priority = fields.get("priority")
    if "priority" in fields and (
        isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 4
    ):
        raise ValueError(f"priority: expected an integer 1..4, got {priority!r}")
    for name in ("name", "message", "error"):
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name}: expected a string or None, got {value!r}")
    if "config" in fields:
        config = fields["config"]
        if config is None:
            fields["config"] = {}
        elif not isinstance(config, Mapping):
            raise ValueError(f"config: expected a mapping, got {config!r}")
        else:
            fields["config"] = dict(config)
    for name in ("created_at", "started_at", "completed_at"):
        value = fields.get(name)
        if value is not None and not (isinstance(value, datetime) and value.tzinfo is not None):
            raise ValueError(f"{name}: expected a timezone-aware datetime or None, got {value!r}")
    return fields
