"""Driving jobs from a test: create, change, read and delete them directly in the store.

:class:`JobDriving` is the part of :class:`~asyncjobs.testing.JobServer` that a test uses to put
jobs in any state; each change takes the next version and reaches SSE streams and long polls at
once, exactly like a change made through the API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from asyncjobs._models import Job, JobStatus
from asyncjobs.server import JobService, UnknownJobError

from ._fields import UNSET, Unset, check_fields

__all__ = ["JobDriving"]


class JobDriving:
    """Create, change, read and delete jobs with no caller and no state rules (a base of
    :class:`~asyncjobs.testing.JobServer`)."""

    _tokens: tuple[str, ...] | None
    _service: JobService

    # -- jobs ----------------------------------------------------------------------------------

    def create_job(
        self,
        name: str | None = None,
        *,
        token: str | Unset | None = UNSET,
        id: str | None = None,
        status: JobStatus | str = JobStatus.PENDING,
        progress: float | None = None,
        message: str | None = None,
        result: Any = None,
        error: str | None = None,
        priority: int = 2,
        config: Mapping[str, Any] | None = None,
        created_at: datetime | None = None,
        started_at: datetime | None = None,
        completed_at: datetime | None = None,
        log: Iterable[str] = (),
    ) -> Job:
        """Store a job directly, as if submitted (never run, even with ``auto_run``).

        Args:
            name: The job's name.
            token: The owning caller; defaults to the first configured token (None on an open
                server).
            id: The job's id; a fresh opaque one when None.
            status: A :class:`JobStatus` or its word; a running job gets ``started_at``, a
                terminal one ``completed_at`` (now) unless given.
            progress, message, result, error, priority, config: The job's fields.
            created_at, started_at, completed_at: Timezone-aware datetimes, else "now"/unset.
            log: The job's first log lines.

        Returns:
            The job as stored (with its version).

        Raises:
            ValueError: a field is out of range, or the id is taken.
        """
        owner = (self._tokens[0] if self._tokens else None) if isinstance(token, Unset) else token
        fields: dict[str, Any] = {
            "name": name,
            "status": status,
            "progress": progress,
            "message": message,
            "result": result,
            "error": error,
            "priority": priority,
            "config": config,
        }
        for key, value in (
            ("created_at", created_at),
            ("started_at", started_at),
            ("completed_at", completed_at),
        ):
            if value is not None:
                fields[key] = value
        check_fields(fields)
        snapshot = self._service.store.create(owner=owner, job_id=id, **fields)
        for line in log:
            self._service.store.append_log(snapshot.job_id, line)
        return snapshot.job

    def update_job(
        self,
        job_id: str,
        *,
        name: str | Unset | None = UNSET,
        status: JobStatus | str | Unset = UNSET,
        progress: float | Unset | None = UNSET,
        message: str | Unset | None = UNSET,
        result: Any = UNSET,
        error: str | Unset | None = UNSET,
        priority: int | Unset = UNSET,
        config: Mapping[str, Any] | Unset | None = UNSET,
        started_at: datetime | Unset | None = UNSET,
        completed_at: datetime | Unset | None = UNSET,
        log: str | None = None,
    ) -> Job:
        """Change a job; the change takes the next version and reaches streams and long polls.

        Only the fields given change. Setting ``status`` to running sets ``started_at`` (when
        unset), a terminal status sets ``completed_at``, and a terminal status also stops the
        job's simulation on an ``auto_run`` server. No state rules apply: any status may follow
        any other.

        Args:
            job_id: The job.
            log: Also append this line to the job's log.

        Returns:
            The job's new version.

        Raises:
            UnknownJobError: no such job (a :class:`KeyError`).
            ValueError: a field is out of range.
        """
        changes = {
            key: value
            for key, value in (
                ("name", name),
                ("status", status),
                ("progress", progress),
                ("message", message),
                ("result", result),
                ("error", error),
                ("priority", priority),
                ("config", config),
                ("started_at", started_at),
                ("completed_at", completed_at),
            )
            if not isinstance(value, Unset)
        }
        check_fields(changes)
        if job_id not in self._service.store:
            raise UnknownJobError(job_id)
        if log is not None:
            self._service.store.append_log(job_id, log)
        return self._service.force_update(job_id, **changes).job

    def get_job(self, job_id: str) -> Job:
        """The job as stored now.

        Raises:
            UnknownJobError: no such job (a :class:`KeyError`).
        """
        return self._service.store[job_id].job

    def delete_job(self, job_id: str) -> None:
        """Delete a job whatever its state; streams following it stop waiting for it.

        Raises:
            UnknownJobError: no such job (a :class:`KeyError`).
        """
        self._service.force_delete(job_id)

    @property
    def jobs(self) -> list[Job]:
        """Every job, oldest first."""
        return [snapshot.job for snapshot in self._service.store.snapshots()]

    def get_log(self, job_id: str) -> list[str]:
        """The job's log lines.

        Raises:
            UnknownJobError: no such job (a :class:`KeyError`).
        """
        return self._service.store.log(job_id)
