"""The job store: every job, the server-wide version counter, ownership and idempotency keys.

The store knows nothing of HTTP and nothing of any API's shape: route modules (the native
protocol, or another API's profile) read :class:`Snapshot` objects from it and render them as they
need. Every change to any job takes the next value of one counter (``version``), so versions order
all changes. Each change is published synchronously (by :class:`~._fanout.Fanout`) to exactly the
subscribers interested in it: the subscribers of that job id, the subscribers of all jobs of that
job's owner, and the subscribers of every job; long-poll waiters are indexed by job id the same
way. Nothing here scans every subscriber on a change.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, Final

import attrs

from asyncjobs._models import Job, JobStatus

from ._fanout import Fanout
from ._snapshot import EVERYONE, Owner, Scope, Snapshot, Subscriber, UnknownJobError, utc_now

__all__ = ["JobStore"]

# The fields a change may set; the store itself sets updated_at and version.
_CHANGEABLE: Final = frozenset(
    {
        "name",
        "status",
        "progress",
        "message",
        "result",
        "error",
        "priority",
        "config",
        "created_at",
        "started_at",
        "completed_at",
    }
)


@attrs.define(slots=True, eq=False)
class _Record:
    snapshot: Snapshot
    seq: int
    log: list[str] = attrs.Factory(list)
    idempotency_key: str | None = None


class JobStore:
    """Every job of one server, its change counter and its subscribers.

    Args:
        clock: Returns "now" as a timezone-aware UTC datetime (tests may freeze it).
    """

    def __init__(self, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._clock = clock
        self._version = 0
        self._seq = 0
        self._jobs: dict[str, _Record] = {}
        self._idempotency: dict[tuple[Owner, str], str] = {}
        self._fanout = Fanout()
        self._closed = False

    # -- reading -------------------------------------------------------------------------------

    @property
    def version(self) -> int:
        """The last version handed out (0 before the first change)."""
        return self._version

    def now(self) -> datetime:
        """The store's clock."""
        return self._clock()

    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._jobs

    def get(self, job_id: str) -> Snapshot | None:
        """The current version of a job, or None when there is no such job."""
        record = self._jobs.get(job_id)
        return None if record is None else record.snapshot

    def __getitem__(self, job_id: str) -> Snapshot:
        record = self._jobs.get(job_id)
        if record is None:
            raise UnknownJobError(job_id)
        return record.snapshot

    def snapshots(self, scope: Scope = EVERYONE) -> Iterator[Snapshot]:
        """The current version of every job in ``scope``, oldest first."""
        if scope is EVERYONE:
            for record in self._jobs.values():
                yield record.snapshot
        else:
            for record in self._jobs.values():
                if record.snapshot.owner == scope:
                    yield record.snapshot

    def page(
        self,
        scope: Scope,
        *,
        status: JobStatus | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> tuple[list[Snapshot], int | None]:
        """One page of jobs, newest first.

        Args:
            scope: Whose jobs.
            status: Only jobs in this status.
            before: Only jobs created before the job with this position (from a previous page).
            limit: The page size.

        Returns:
            The page and the position to continue from (None when this was the last page).
        """
        found: list[Snapshot] = []
        last_seq = 0
        everyone = scope is EVERYONE
        for record in reversed(self._jobs.values()):
            if before is not None and record.seq >= before:
                continue
            snapshot = record.snapshot
            if not everyone and snapshot.owner != scope:
                continue
            if status is not None and snapshot.job.status is not status:
                continue
            if len(found) == limit:
                return found, last_seq
            found.append(snapshot)
            last_seq = record.seq
        return found, None

    def log(self, job_id: str) -> list[str]:
        """The job's log lines (a copy)."""
        record = self._jobs.get(job_id)
        if record is None:
            raise UnknownJobError(job_id)
        return list(record.log)

    def find_idempotent(self, owner: Owner, key: str) -> Snapshot | None:
        """The job this owner created with this Idempotency-Key, if it still exists."""
        job_id = self._idempotency.get((owner, key))
        return None if job_id is None else self.get(job_id)

    # -- writing -------------------------------------------------------------------------------

    def new_id(self) -> str:
        """A fresh, opaque job id."""
        while True:
            job_id = secrets.token_hex(8)
            if job_id not in self._jobs:
                return job_id

    def create(
        self,
        *,
        owner: Owner = None,
        job_id: str | None = None,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Snapshot:
        """Store a new job and publish it.

        Args:
            owner: The owning caller's token (None: the anonymous caller).
            job_id: The id; a fresh one when None.
            idempotency_key: Remember the job under ``(owner, key)``.
            **fields: Any :class:`Job` field except ``id``, ``updated_at`` and ``version``;
                ``status`` defaults to pending, ``priority`` to 2, ``config`` to ``{}``.

        Returns:
            The first version of the job.

        Raises:
            ValueError: ``job_id`` is already taken.
            TypeError: a field that is not a job field.
        """
        unknown = set(fields) - _CHANGEABLE
        if unknown:
            raise TypeError(f"not job fields: {', '.join(sorted(unknown))}")
        if job_id is None:
            job_id = self.new_id()
        elif job_id in self._jobs:
            raise ValueError(f"a job with id {job_id!r} already exists")
        now = self._clock()
        status = fields.pop("status", JobStatus.PENDING)
        fields.setdefault("priority", 2)
        fields.setdefault("config", {})
        fields.setdefault("created_at", now)
        if status is JobStatus.RUNNING or (status.is_terminal and "started_at" not in fields):
            fields.setdefault("started_at", now)
        if status.is_terminal:
            fields.setdefault("completed_at", now)
        self._version += 1
        job = Job(id=job_id, status=status, updated_at=now, version=self._version, **fields)
        snapshot = Snapshot(job, owner)
        self._seq += 1
        self._jobs[job_id] = _Record(snapshot, self._seq, idempotency_key=idempotency_key)
        if idempotency_key is not None:
            self._idempotency[(owner, idempotency_key)] = job_id
        self._fanout.publish(snapshot)
        return snapshot

    def update(self, job_id: str, **changes: Any) -> Snapshot:
        """Change a job, give it the next version, and publish the new version.

        Setting ``status`` also keeps the times right unless they are given: running sets
        ``started_at`` (when unset), a terminal status sets ``completed_at``, a non-terminal one
        clears it.

        Returns:
            The new version.

        Raises:
            UnknownJobError: no such job.
            TypeError: a field that cannot be changed.
        """
        record = self._jobs.get(job_id)
        if record is None:
            raise UnknownJobError(job_id)
        unknown = set(changes) - _CHANGEABLE
        if unknown:
            raise TypeError(f"not changeable job fields: {', '.join(sorted(unknown))}")
        old = record.snapshot.job
        now = self._clock()
        status = changes.get("status")
        if status is not None and status is not old.status:
            if status is JobStatus.RUNNING and old.started_at is None:
                changes.setdefault("started_at", now)
            if status.is_terminal:
                changes.setdefault("completed_at", now)
            else:
                changes.setdefault("completed_at", None)
        self._version += 1
        job = attrs.evolve(old, **changes, updated_at=now, version=self._version)
        snapshot = Snapshot(job, record.snapshot.owner)
        record.snapshot = snapshot
        self._fanout.publish(snapshot)
        return snapshot

    def append_log(self, job_id: str, line: str) -> None:
        """Add a line to the job's log (a log line is not a change: no new version)."""
        record = self._jobs.get(job_id)
        if record is None:
            raise UnknownJobError(job_id)
        record.log.append(line)

    def delete(self, job_id: str) -> Snapshot:
        """Remove a job; its subscribers and long-poll waiters are told.

        Returns:
            The job's last version.

        Raises:
            UnknownJobError: no such job.
        """
        record = self._jobs.pop(job_id, None)
        if record is None:
            raise UnknownJobError(job_id)
        snapshot = record.snapshot
        if record.idempotency_key is not None:
            self._idempotency.pop((snapshot.owner, record.idempotency_key), None)
        self._fanout.deleted(snapshot)
        return snapshot

    # -- change fan-out ------------------------------------------------------------------------

    def subscribe(
        self,
        subscriber: Subscriber,
        *,
        job_ids: Iterable[str] = (),
        scope: Scope | None = None,
    ) -> None:
        """Publish changes to ``subscriber`` from now on.

        Args:
            subscriber: Receives every change of the jobs it follows.
            job_ids: Follow these jobs.
            scope: Follow every job of this owner (or of :data:`EVERYONE`), later ones included;
                None: no such subscription.

        Raises:
            ValueError: ``subscriber`` is already subscribed.
        """
        self._fanout.subscribe(subscriber, job_ids, scope)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop publishing to ``subscriber`` (idempotent)."""
        self._fanout.unsubscribe(subscriber)

    @property
    def subscriber_count(self) -> int:
        """How many subscribers are registered."""
        return self._fanout.subscriber_count

    # -- long polls ----------------------------------------------------------------------------

    async def wait_for_change(self, job_id: str, after: int, seconds: float) -> Snapshot | None:
        """Wait until the job's version is greater than ``after``, at most ``seconds``.

        Returns:
            The job's current version: a newer one as soon as it exists, else the unchanged one
            after ``seconds`` (or at once when the store closes); None when the job does not
            exist or is deleted meanwhile.
        """
        record = self._jobs.get(job_id)
        if record is None:
            return None
        if record.snapshot.version > after or self._closed:
            return record.snapshot
        try:
            return await self._fanout.wait(job_id, seconds)
        except TimeoutError:
            return self.get(job_id)

    @property
    def waiter_count(self) -> int:
        """How many long polls are waiting."""
        return self._fanout.waiter_count

    def close(self) -> None:
        """Answer every waiting long poll now (with the job's current version); idempotent."""
        self._closed = True
        self._fanout.wake_all(self.get)
