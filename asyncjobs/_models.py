"""The value types of asyncjobs: job status, job, queue statistics, cleanup result.

Sans-I/O: nothing here knows about HTTP. Payloads become these types in :mod:`._converter`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Literal, TypeAlias

import attrs

__all__ = [
    "TERMINAL",
    "TRANSPORTS",
    "TRANSPORT_OPERATION",
    "CleanupResult",
    "Job",
    "JobStatus",
    "QueueStats",
    "Transport",
    "WatchTransport",
    "as_transport",
    "is_newer",
    "supersedes",
    "status_from_word",
]


class JobStatus(enum.StrEnum):
    """The state of a job, normalised across every API's vocabulary.

    The values are the native protocol's words. ``UNKNOWN`` stands for a word no profile knows:
    it is neither pending nor terminal, so a waiter keeps waiting.
    """

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        """True for ``COMPLETED``, ``FAILED`` and ``CANCELLED``: the job will not change again."""
        return self in TERMINAL


TERMINAL: Final = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
"""The statuses a job never leaves: completed, failed, cancelled."""

# Every status word of the APIs in shared/seeds (and their common spellings), lower-cased.
_VOCABULARY: dict[str, JobStatus] = {
    # pending
    "pending": JobStatus.PENDING,
    "queued": JobStatus.PENDING,
    "scheduled": JobStatus.PENDING,
    "not_started": JobStatus.PENDING,
    "created": JobStatus.PENDING,
    "submitted": JobStatus.PENDING,
    "waiting": JobStatus.PENDING,
    "received": JobStatus.PENDING,
    # running
    "running": JobStatus.RUNNING,
    "processing": JobStatus.RUNNING,
    "started": JobStatus.RUNNING,
    "in_progress": JobStatus.RUNNING,
    "retry": JobStatus.RUNNING,
    "retrying": JobStatus.RUNNING,
    # completed
    "completed": JobStatus.COMPLETED,
    "complete": JobStatus.COMPLETED,
    "success": JobStatus.COMPLETED,
    "succeeded": JobStatus.COMPLETED,
    "done": JobStatus.COMPLETED,
    "finished": JobStatus.COMPLETED,
    # failed
    "failed": JobStatus.FAILED,
    "failure": JobStatus.FAILED,
    "error": JobStatus.FAILED,
    "errored": JobStatus.FAILED,
    # cancelled
    "cancelled": JobStatus.CANCELLED,
    "canceled": JobStatus.CANCELLED,
    "revoked": JobStatus.CANCELLED,
    "aborted": JobStatus.CANCELLED,
    "stopped": JobStatus.CANCELLED,
    # our own word round-trips
    "unknown": JobStatus.UNKNOWN,
}
# The exact words are looked up first, so the common case costs one dict lookup.
_EXACT: dict[str, JobStatus] = {
    **_VOCABULARY,
    **{word.upper(): status for word, status in _VOCABULARY.items()},
}


def status_from_word(word: str, extra: Mapping[str, JobStatus] | None = None) -> JobStatus:
    """Map a status word of any known API to a :class:`JobStatus`, case-insensitively.

    Args:
        word: The word the API sent, e.g. ``"SUCCESS"``, ``"processing"`` or ``"ABORTED"``.
        extra: More words (lower-case keys) that take precedence, e.g. from a profile.

    Returns:
        The status; ``JobStatus.UNKNOWN`` for a word nobody knows (never an exception).
    """
    if extra:
        found = extra.get(word.lower())
        if found is not None:
            return found
    status = _EXACT.get(word)
    if status is None:
        status = _VOCABULARY.get(word.strip().lower().replace("-", "_").replace(" ", "_"))
    return JobStatus.UNKNOWN if status is None else status


@attrs.frozen(slots=True, kw_only=True)
class Job:
    """One job as the server last reported it.

    Attributes:
        id: The job's id (always a string; integer ids of some APIs are converted).
        status: The normalised status.
        name: The job's name, or None.
        progress: 0..100, or None when the API does not say.
        message: The current step, human readable, or None.
        result: The result (any JSON) once completed, else None.
        error: The failure reason once failed, else None.
        priority: 1 low, 2 normal, 3 high, 4 urgent; None when the API has no priorities.
        config: What was submitted (empty when the API does not return it).
        created_at, started_at, completed_at, updated_at: Timezone-aware UTC datetimes or None.
        version: The server's change counter for this state, or None when the API has none.
        raw: The whole payload as received (not compared by ``==``).
    """

    id: str
    status: JobStatus
    name: str | None = None
    progress: float | None = None
    message: str | None = None
    result: Any = attrs.field(default=None, hash=False)
    error: str | None = None
    priority: int | None = None
    config: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    updated_at: datetime | None = None
    version: int | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def is_terminal(self) -> bool:
        """True once the job is completed, failed or cancelled."""
        return self.status.is_terminal


@attrs.frozen(slots=True, kw_only=True)
class QueueStats:
    """Queue statistics (``GET /stats``); a count the API does not report is None."""

    total: int | None = None
    pending: int | None = None
    running: int | None = None
    completed: int | None = None
    failed: int | None = None
    cancelled: int | None = None
    active_workers: int | None = None
    total_workers: int | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen(slots=True, kw_only=True)
class CleanupResult:
    """The answer to a cleanup: how many finished jobs were deleted."""

    cleaned_jobs: int
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


_COMPARED: Final = (
    "progress",
    "message",
    "result",
    "error",
    "name",
    "priority",
    "started_at",
    "completed_at",
)


def is_newer(last: Job | None, job: Job) -> bool:
    """Whether ``job`` is a change after ``last`` (the de-duplication rule of every transport).

    With versions on both, only a greater version is. Without, a different status is, and so is
    any field the new state sets to another value; ``updated_at`` never counts (APIs fill it with
    "now") and a field the new state leaves empty is taken as "not reported", not as a change
    (stream events of some APIs carry only a few fields).
    """
    if last is None:
        return True
    version = job.version
    seen = last.version
    if version is not None and seen is not None:
        return version > seen
    if job.status is not last.status:
        return True
    for name in _COMPARED:
        value = getattr(job, name)
        if value is not None and value != getattr(last, name):
            return True
    return False


def supersedes(last: Job | None, job: Job) -> bool:
    """Whether ``job`` replaces ``last``: it is newer (:func:`is_newer`), or it has the same
    version yet says something else (a garbled event was taken at that version, and a read of
    the job now tells the truth: the read wins)."""
    if last is None:
        return True
    version = job.version
    seen = last.version
    if version is None or seen is None:
        return is_newer(last, job)
    if version != seen:
        return version > seen  # is_newer's rule, inline: this runs for every event
    if job.status is not last.status:
        return True
    return any(getattr(job, name) != getattr(last, name) for name in _COMPARED)


Transport: TypeAlias = Literal["sse", "long-poll", "poll"]
"""A way to follow a job: a Server-Sent Events stream, a long poll, or interval polling."""

WatchTransport: TypeAlias = Literal["auto", "sse", "long-poll", "poll"]
"""How ``watch`` follows a job: the best the server offers (``"auto"``), or one transport."""

TRANSPORTS: Final[tuple[Transport, ...]] = ("sse", "long-poll", "poll")
"""Every transport, best first (``"auto"`` tries them in this order)."""

TRANSPORT_OPERATION: Final[Mapping[Transport, str]] = {
    "sse": "events",
    "long-poll": "poll",
    "poll": "get",
}
"""The profile operation each transport needs (also what is remembered when it is lacking)."""


def as_transport(word: object) -> Transport | None:
    """``word`` as a :data:`Transport`, or None when it names none."""
    for transport in TRANSPORTS:
        if word == transport:
            return transport
    return None
