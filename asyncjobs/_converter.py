"""JSON payloads to models and back: the one cattrs converter of asyncjobs (sans-I/O).

``converter.structure(payload, Job)`` and friends work as usual with cattrs; the hot path
(every SSE event becomes a :class:`Job`) calls :func:`job_from_native` directly, a hand-tuned
structure function that the converter also uses for ``Job``. A payload that breaks the protocol
raises :class:`ProtocolError` naming the offending field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, Final

import cattrs

from ._exceptions import ProtocolError
from ._models import _EXACT, CleanupResult, Job, JobStatus, QueueStats, status_from_word
from ._times import _describe, _fromisoformat, _times, _utc_time, format_time, parse_time

__all__ = [
    "cleanup_result_from",
    "converter",
    "format_time",
    "job_from_native",
    "job_to_native",
    "parse_time",
    "queue_stats_from",
]

converter = cattrs.Converter()

_NUMBER = (int, float)


def _bad(field: str, expected: str, value: Any) -> ProtocolError:
    return ProtocolError(
        f"job payload field {field!r}: expected {expected}, got {_describe(value)}"
    )


def job_from_native(payload: Any) -> Job:
    """Build a :class:`Job` from a native-protocol job object (DESIGN.md section 2).

    Unknown fields are kept in ``Job.raw`` (which is the payload itself); unknown status words
    become ``JobStatus.UNKNOWN``.

    Raises:
        ProtocolError: the payload is not a job object; the message names the bad field.
    """
    # The hot path (an SSE event per update): a complete, well-typed native job object, read
    # with one itemgetter call and as few calls as possible. Anything else (a field
    # missing or of another type, an odd time or status word) takes the checked path below,
    # which builds the same Job or raises the ProtocolError naming the field.
    if type(payload) is dict:
        try:
            (
                job_id,
                word,
                name,
                progress,
                message,
                result,
                error,
                priority,
                version,
                config,
                created_at,
                updated_at,
                started_at,
                completed_at,
            ) = _native_fields(payload)
        except KeyError:
            return _job_from_native_checked(payload)
        status = _EXACT.get(word) if type(word) is str else None
        if (
            status is not None
            and type(job_id) is str
            and (name is None or type(name) is str)
            and (progress is None or type(progress) in _NUMBER)
            and (message is None or type(message) is str)
            and (error is None or type(error) is str)
            and type(priority) is int
            and type(version) is int
            and type(config) is dict
            and type(created_at) is str
            and type(updated_at) is str
            and (started_at is None or type(started_at) is str)
        ):
            # created_at and started_at are the same text on every update of a job: their
            # datetimes come from a cache (of UTC times only, see _utc_time).
            times = _times
            created = times.get(created_at) or _utc_time(created_at)
            started = None if started_at is None else times.get(started_at) or _utc_time(started_at)
            try:
                updated = _fromisoformat(updated_at)
                completed = None if completed_at is None else _fromisoformat(completed_at)
            except (TypeError, ValueError):
                return _job_from_native_checked(payload)
            if (
                created is not None
                and updated.tzinfo is UTC
                and (started is not None or started_at is None)
                and (completed is None or completed.tzinfo is UTC)
            ):
                # _assemble(), inlined: this runs for every event of a stream.
                job: Any = _JobBuilder()
                job.id = job_id
                job.status = status
                job.name = name
                job.progress = progress
                job.message = message
                job.result = result
                job.error = error
                job.priority = priority
                job.config = config
                job.created_at = created
                job.started_at = started
                job.completed_at = completed
                job.updated_at = updated
                job.version = version
                job.raw = payload
                job.__class__ = Job
                built: Job = job
                return built
    return _job_from_native_checked(payload)


_native_fields: Final = itemgetter(
    *"id status name progress message result error priority version config created_at "  # noqa: SIM905
    "updated_at started_at completed_at".split()
)
"""The native job fields, read in one call (it raises KeyError when one is missing)."""


def _job_from_native_checked(payload: Any) -> Job:
    """:func:`job_from_native` for any payload: every field checked, missing ones defaulted."""
    if not isinstance(payload, dict):
        raise ProtocolError(f"expected a job object, got {_describe(payload)}")
    get = payload.get
    job_id = get("id")
    if type(job_id) is not str:
        if type(job_id) is int:
            job_id = str(job_id)
        else:
            raise _bad("id", "a string", job_id)
    word = get("status")
    if type(word) is not str:
        raise _bad("status", "a string", word)
    status = status_from_word(word)
    for key, types, expected in _OPTIONAL_FIELDS:
        value = get(key)
        if value is not None and type(value) not in types:
            raise _bad(key, expected, value)
    config = get("config")
    if config is None:
        config = {}
    elif type(config) is not dict:
        raise _bad("config", "an object", config)
    created, started, completed, updated = (
        None if (text := get(key)) is None else parse_time(text, key)
        for key in ("created_at", "started_at", "completed_at", "updated_at")
    )
    return _assemble(
        job_id,
        status,
        get("name"),
        get("progress"),
        get("message"),
        get("result"),
        get("error"),
        get("priority"),
        config,
        created,
        started,
        completed,
        updated,
        get("version"),
        payload,
    )


_OPTIONAL_FIELDS: Final = (
    ("progress", _NUMBER, "a number or null"),
    ("name", (str,), "a string or null"),
    ("message", (str,), "a string or null"),
    ("error", (str,), "a string or null"),
    ("priority", (int,), "an integer or null"),
    ("version", (int,), "an integer or null"),
)
"""The native job fields that may be null, the types each may have, and how to say so."""


def _assemble(
    job_id: str,
    status: JobStatus,
    name: str | None,
    progress: float | None,
    message: str | None,
    result: Any,
    error: str | None,
    priority: int | None,
    config: dict[str, Any],
    created_at: datetime | None,
    started_at: datetime | None,
    completed_at: datetime | None,
    updated_at: datetime | None,
    version: int | None,
    raw: Any,
) -> Job:
    """A Job from checked values, its slots set directly (see :class:`_JobBuilder`)."""
    job: Any = _JobBuilder()
    job.id = job_id
    job.status = status
    job.name = name
    job.progress = progress
    job.message = message
    job.result = result
    job.error = error
    job.priority = priority
    job.config = config
    job.created_at = created_at
    job.started_at = started_at
    job.completed_at = completed_at
    job.updated_at = updated_at
    job.version = version
    job.raw = raw
    job.__class__ = Job
    built: Job = job
    return built


class _JobBuilder(Job):
    """A Job under construction: the converter sets its slots, then makes it a :class:`Job`
    (``__class__`` assignment: same slots, nothing added).

    Job is frozen, so its ``__init__`` sets each of its 15 slots through
    ``object.__setattr__``, a call each; on the hot path (an SSE event per update) this class,
    whose attribute assignment is the plain one, lets each slot be set by a plain assignment
    instead, which the interpreter does inline: building a Job costs a third of what it did.
    Every field must be set (an unset slot would raise AttributeError when read):
    tests/core/test_models.py checks that both builders set all of them, and that what they
    build is a plain Job.
    """

    __slots__ = ()
    __init__ = object.__init__  # made with no arguments: cheaper than object.__new__(cls)
    __setattr__ = object.__setattr__
    __delattr__ = object.__delattr__


def job_to_native(job: Job) -> dict[str, Any]:
    """Turn a :class:`Job` into a native-protocol job object (the inverse of job_from_native)."""
    return {
        "id": job.id,
        "name": job.name,
        "status": job.status.value,
        "progress": job.progress,
        "message": job.message,
        "result": job.result,
        "error": job.error,
        "priority": job.priority,
        "config": dict(job.config),
        "created_at": format_time(job.created_at),
        "updated_at": format_time(job.updated_at),
        "started_at": format_time(job.started_at),
        "completed_at": format_time(job.completed_at),
        "version": job.version,
    }


# Each QueueStats field and the names APIs use for it, first match wins.
_STATS_NAMES: dict[str, tuple[str, ...]] = {
    "total": ("total", "total_jobs"),
    "pending": ("pending", "pending_jobs"),
    "running": ("running", "running_jobs"),
    "completed": ("completed", "completed_jobs"),
    "failed": ("failed", "failed_jobs"),
    "cancelled": ("cancelled", "cancelled_jobs"),
    "active_workers": ("active_workers",),
    "total_workers": ("total_workers",),
}


def _count(payload: Mapping[str, Any], *names: str) -> int | None:
    """The first of ``names`` present in ``payload`` as an integer count, else None."""
    for name in names:
        value = payload.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, _NUMBER):
            raise ProtocolError(f"field {name!r}: expected a count, got {_describe(value)}")
        return int(value)
    return None


def queue_stats_from(payload: Any) -> QueueStats:
    """Build :class:`QueueStats` from ``GET /stats`` (``total_jobs`` is read as ``total``).

    Raises:
        ProtocolError: the payload is not an object, or a count is not a number.
    """
    if not isinstance(payload, dict):
        raise ProtocolError(f"expected a queue statistics object, got {_describe(payload)}")
    counts = {field: _count(payload, *names) for field, names in _STATS_NAMES.items()}
    return QueueStats(**counts, raw=payload)


def cleanup_result_from(payload: Any) -> CleanupResult:
    """Build :class:`CleanupResult` from a cleanup answer (``cleaned_jobs`` or ``removed_jobs``).

    Raises:
        ProtocolError: the payload has neither count.
    """
    if not isinstance(payload, dict):
        raise ProtocolError(f"expected a cleanup result object, got {_describe(payload)}")
    cleaned = _count(payload, "cleaned_jobs", "removed_jobs")
    if cleaned is None:
        raise ProtocolError(
            f"cleanup answer has neither 'cleaned_jobs' nor 'removed_jobs': {_describe(payload)}"
        )
    return CleanupResult(cleaned_jobs=cleaned, raw=payload)


converter.register_structure_hook(Job, lambda payload, _type: job_from_native(payload))
converter.register_unstructure_hook(Job, job_to_native)
converter.register_structure_hook(QueueStats, lambda payload, _type: queue_stats_from(payload))
converter.register_structure_hook(
    CleanupResult, lambda payload, _type: cleanup_result_from(payload)
)
converter.register_structure_hook(datetime, lambda value, _type: parse_time(value))
converter.register_unstructure_hook(datetime, format_time)
converter.register_structure_hook(JobStatus, lambda word, _type: status_from_word(word))
