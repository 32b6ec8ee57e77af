"""The job operations of the reference server, independent of any API's routes.

:class:`JobService` holds the rules every API shape shares: who may see which job (bearer tokens),
which state allows which operation (409 otherwise), idempotent submission, and handing jobs to the
simulated runner. Route modules parse requests, call it, and render what it returns; its errors
are :class:`~._errors.ApiError` with the HTTP status each rule implies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from asyncjobs._models import JobStatus

from ._errors import ApiError, bad_request, conflict, forbidden, not_found
from ._runner import SimulatedRunner, Simulation
from ._snapshot import EVERYONE, Owner, Scope, Snapshot
from ._store import JobStore

__all__ = ["JobService"]

_CANCELLABLE = frozenset({JobStatus.PENDING, JobStatus.RUNNING})
_RESTARTABLE = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})
_FINISHED = frozenset(status for status in JobStatus if status.is_terminal)


class JobService:
    """The operations on jobs, as a caller may perform them.

    Args:
        store: Where the jobs live.
        tokens: The accepted bearer tokens, each one a caller who sees only its own jobs; None
            or empty: an open server with one anonymous caller who sees every job.
        runner: Runs submitted jobs (``auto_run``); None: jobs change only when told to.
    """

    def __init__(
        self,
        store: JobStore,
        *,
        tokens: Iterable[str] | None = None,
        runner: SimulatedRunner | None = None,
    ) -> None:
        self.store = store
        self.runner = runner
        self.tokens: frozenset[str] = frozenset(tokens or ())

    @property
    def auth_enabled(self) -> bool:
        """True when tokens are configured."""
        return bool(self.tokens)

    # -- callers -------------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> Owner:
        """The caller an ``Authorization`` header stands for.

        Returns:
            The caller's token, or None on an open server (any header is then ignored).

        Raises:
            ApiError: 401 when tokens are configured and the header is missing or unknown.
        """
        if not self.tokens:
            return None
        challenge = {"WWW-Authenticate": 'Bearer realm="asyncjobs"'}
        if not authorization:
            raise ApiError(401, "missing 'Authorization: Bearer <token>' header", headers=challenge)
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(
                401, "the Authorization header must be 'Bearer <token>'", headers=challenge
            )
        if token.strip() not in self.tokens:
            raise ApiError(401, "unknown bearer token", headers=challenge)
        return token.strip()

    def scope(self, caller: Owner) -> Scope:
        """Whose jobs ``caller`` sees."""
        return caller if self.tokens else EVERYONE

    def can_see(self, caller: Owner, snapshot: Snapshot) -> bool:
        """True when ``caller`` may see this job."""
        return not self.tokens or snapshot.owner == caller

    def job(self, caller: Owner, job_id: str) -> Snapshot:
        """The caller's job.

        Raises:
            ApiError: 404 no such job; 403 another caller's job.
        """
        snapshot = self.store.get(job_id)
        if snapshot is None:
            raise not_found([job_id])
        if not self.can_see(caller, snapshot):
            raise forbidden([job_id])
        return snapshot

    def jobs(self, caller: Owner, job_ids: Iterable[str]) -> tuple[list[Snapshot], list[str]]:
        """The caller's jobs among ``job_ids`` (in that order), and the ids not found.

        Another caller's job counts as not found.
        """
        found: list[Snapshot] = []
        missing: list[str] = []
        for job_id in job_ids:
            snapshot = self.store.get(job_id)
            if snapshot is None or not self.can_see(caller, snapshot):
                missing.append(job_id)
            else:
                found.append(snapshot)
        return found, missing

    def jobs_strict(self, caller: Owner, job_ids: Iterable[str]) -> list[Snapshot]:
        """All of ``job_ids`` as the caller's jobs (for a stream).

        Raises:
            ApiError: 404 listing every unknown id; else 403 listing another caller's ids.
        """
        found: list[Snapshot] = []
        unknown: list[str] = []
        others: list[str] = []
        for job_id in job_ids:
            snapshot = self.store.get(job_id)
            if snapshot is None:
                unknown.append(job_id)
            elif not self.can_see(caller, snapshot):
                others.append(job_id)
            else:
                found.append(snapshot)
        if unknown:
            raise not_found(unknown)
        if others:
            raise forbidden(others)
        return found

    # -- operations ----------------------------------------------------------------------------

    def submit(
        self,
        caller: Owner,
        *,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
        priority: int = 2,
        idempotency_key: str | None = None,
        job_id: str | None = None,
    ) -> tuple[Snapshot, bool]:
        """Create a job for ``caller`` (and queue it when the server runs jobs).

        ``job_id`` names the job (an API whose caller picks the id); a fresh id when None.

        Returns:
            The job and True, or the job first created with the same ``idempotency_key`` by the
            same caller and False.

        Raises:
            ApiError: 400 when the config cannot be simulated (auto-run servers only).
            ValueError: ``job_id`` is already taken.
        """
        if idempotency_key is not None:
            existing = self.store.find_idempotent(caller, idempotency_key)
            if existing is not None:
                return existing, False
        config = dict(config or {})
        if self.runner is not None:
            try:
                Simulation.from_config(config)
            except ValueError as exc:
                raise bad_request(str(exc)) from None
        snapshot = self.store.create(
            owner=caller,
            name=name,
            config=config,
            priority=priority,
            idempotency_key=idempotency_key,
            job_id=job_id,
        )
        if self.runner is not None:
            self.runner.enqueue(snapshot.job_id, priority)
        return snapshot, True

    def _job_in(
        self, caller: Owner, job_id: str, allowed: frozenset[JobStatus], rule: str
    ) -> Snapshot:
        """The caller's job, when its status allows the operation.

        Raises:
            ApiError: 404, 403, or 409 naming the job's status and ``rule``.
        """
        snapshot = self.job(caller, job_id)
        status = snapshot.job.status
        if status not in allowed:
            raise conflict(f"job {job_id!r} is {status.value}; {rule}")
        return snapshot

    def cancel(self, caller: Owner, job_id: str) -> Snapshot:
        """Cancel a pending or running job.

        Raises:
            ApiError: 404, 403, or 409 when the job has already finished.
        """
        self._job_in(caller, job_id, _CANCELLABLE, "only pending or running jobs can be cancelled")
        if self.runner is not None:
            self.runner.stop(job_id)
        self.store.append_log(job_id, "cancelled")
        return self.store.update(job_id, status=JobStatus.CANCELLED, message="cancelled")

    def restart(self, caller: Owner, job_id: str) -> Snapshot:
        """Run a failed or cancelled job again: it becomes pending, with no result or error.

        Raises:
            ApiError: 404, 403, or 409 when the job is not failed or cancelled.
        """
        self._job_in(caller, job_id, _RESTARTABLE, "only failed or cancelled jobs can be restarted")
        self.store.append_log(job_id, "restarted")
        restarted = self.store.update(
            job_id,
            status=JobStatus.PENDING,
            progress=None,
            message=None,
            result=None,
            error=None,
            started_at=None,
            completed_at=None,
        )
        if self.runner is not None:
            self.runner.enqueue(job_id, restarted.job.priority or 2)
        return restarted

    def delete(self, caller: Owner, job_id: str) -> Snapshot:
        """Delete a finished job.

        Returns:
            The job's last version.

        Raises:
            ApiError: 404, 403, or 409 when the job has not finished.
        """
        self._job_in(
            caller, job_id, _FINISHED, "only finished jobs can be deleted (cancel it first)"
        )
        return self.store.delete(job_id)

    def log(self, caller: Owner, job_id: str) -> list[str]:
        """The job's log lines.

        Raises:
            ApiError: 404 or 403.
        """
        self.job(caller, job_id)
        return self.store.log(job_id)

    def stats(self, caller: Owner) -> dict[str, int]:
        """Counts of the caller's jobs by status, and the runner's workers."""
        counts = dict.fromkeys(JobStatus, 0)
        total = 0
        for snapshot in self.store.snapshots(self.scope(caller)):
            counts[snapshot.job.status] += 1
            total += 1
        runner = self.runner
        return {
            "total": total,
            "pending": counts[JobStatus.PENDING],
            "running": counts[JobStatus.RUNNING],
            "completed": counts[JobStatus.COMPLETED],
            "failed": counts[JobStatus.FAILED],
            "cancelled": counts[JobStatus.CANCELLED],
            "active_workers": 0 if runner is None else runner.active_workers,
            "total_workers": 0 if runner is None else runner.total_workers,
        }

    def cleanup(self, caller: Owner, max_age_hours: float) -> int:
        """Delete the caller's jobs that finished more than ``max_age_hours`` ago.

        Returns:
            How many jobs were deleted.
        """
        cutoff = self.store.now() - timedelta(hours=max_age_hours)
        old = [
            snapshot.job_id
            for snapshot in self.store.snapshots(self.scope(caller))
            if snapshot.job.is_terminal
            and snapshot.job.completed_at is not None
            and snapshot.job.completed_at < cutoff
        ]
        for job_id in old:
            self.store.delete(job_id)
        return len(old)

    # -- the test harness's direct access (no caller, no state rules) ---------------------------

    def force_update(self, job_id: str, **changes: Any) -> Snapshot:
        """Change a job as told; a terminal status also stops its simulation."""
        status = changes.get("status")
        if self.runner is not None and status is not None and status.is_terminal:
            self.runner.stop(job_id)
        return self.store.update(job_id, **changes)

    def force_delete(self, job_id: str) -> Snapshot:
        """Delete a job whatever its state (stopping its simulation)."""
        if self.runner is not None:
            self.runner.stop(job_id)
        return self.store.delete(job_id)
