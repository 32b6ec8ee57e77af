"""The values the job store hands out: owners and scopes, job versions, subscribers.

A :class:`Snapshot` is one version of one job with its encodings cached, shared by every route,
stream and long poll that serves that version.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final, Protocol, TypeVar

from asyncjobs._converter import job_to_native
from asyncjobs._models import Job

from ._json import dumps

__all__ = [
    "EVERYONE",
    "Everyone",
    "Owner",
    "Scope",
    "Snapshot",
    "Subscriber",
    "UnknownJobError",
    "utc_now",
]

_T = TypeVar("_T")

Owner = str | None
"""Who owns a job: a caller's token, or None for the anonymous caller of an open server."""


class Everyone:
    """The type of :data:`EVERYONE`: a scope that covers the jobs of every owner."""

    _instance: Everyone | None = None

    def __new__(cls) -> Everyone:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "EVERYONE"


EVERYONE: Final = Everyone()
"""The scope of an open server (no tokens): every job, whoever created it."""

Scope = Owner | Everyone
"""Whose jobs an operation covers: one owner's, or :data:`EVERYONE`'s."""


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UnknownJobError(KeyError):
    """No job with that id is in the store (a :class:`KeyError`, so a :class:`LookupError`).

    Attributes:
        job_id: The id that was looked up.
    """

    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job with id {job_id!r}")
        self.job_id = job_id

    def __str__(self) -> str:
        # KeyError's own __str__ shows the repr of its argument; the message reads better.
        return str(self.args[0])


class Snapshot:
    """One version of one job, shared by everything that serves it.

    Encodings are computed at most once per version and shared across every stream, poll and
    GET that sends this version (``json`` and ``sse`` for the native protocol, :meth:`memo` for
    any other shape).

    Attributes:
        job: The job as stored.
        owner: The token of the caller who owns the job (None: the anonymous caller).
    """

    __slots__ = ("_json", "_memo", "_sse", "job", "owner")

    def __init__(self, job: Job, owner: Owner) -> None:
        self.job = job
        self.owner = owner
        self._json: bytes | None = None
        self._sse: bytes | None = None
        self._memo: dict[str, Any] | None = None

    @property
    def job_id(self) -> str:
        """The job's id."""
        return self.job.id

    @property
    def version(self) -> int:
        """The job's version (the server-wide counter's value at this change)."""
        version = self.job.version
        assert version is not None
        return version

    @property
    def is_terminal(self) -> bool:
        """True when the job is completed, failed or cancelled in this version."""
        return self.job.status.is_terminal

    @property
    def json(self) -> bytes:
        """The native-protocol Job JSON (DESIGN.md section 2), exactly as GET returns it."""
        data = self._json
        if data is None:
            data = self._json = dumps(job_to_native(self.job))
        return data

    @property
    def sse(self) -> bytes:
        """The native SSE event of this version: ``id: <version>``, ``event: job``, the JSON."""
        data = self._sse
        if data is None:
            data = self._sse = b"id: %d\nevent: job\ndata: %s\n\n" % (self.version, self.json)
        return data

    def memo(self, key: str, compute: Callable[[Snapshot], _T]) -> _T:
        """Compute ``compute(self)`` once per version and key, then return the cached value."""
        memo = self._memo
        if memo is None:
            memo = self._memo = {}
        try:
            value: _T = memo[key]
        except KeyError:
            value = memo[key] = compute(self)
        return value

    def __repr__(self) -> str:
        return f"<Snapshot {self.job.id!r} v{self.job.version} {self.job.status.value}>"


class Subscriber(Protocol):
    """What the store publishes changes to (an SSE stream, for instance).

    Both methods are called synchronously inside the change; they must only queue work.
    """

    def deliver(self, snapshot: Snapshot) -> None:
        """A job this subscriber follows changed; ``snapshot`` is its new version."""

    def job_deleted(self, job_id: str) -> None:
        """A job this subscriber follows was deleted."""
