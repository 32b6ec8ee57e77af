"""Live views without rich: a line per change (logs and pipes) or a JSON object per state.

:class:`JobView` is what every live view offers (the rich one too, in :mod:`._rich`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import IO, Protocol

from asyncjobs import Job, JobStatus
from asyncjobs._closing import ClosedOnExit

from ._format import (
    format_progress,
    format_seconds,
    job_duration,
    job_outcome,
    job_to_json,
    plain_table,
    write_json,
)

__all__ = ["JobView", "JsonView", "PlainView", "print_plain_summary"]


class JobView(Protocol):
    """A live display of jobs: one :meth:`update` per state seen; a context manager."""

    def update(self, job: Job) -> None:
        """Show this state of the job (a job seen for the first time is added)."""

    def __enter__(self) -> JobView: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class PlainView(ClosedOnExit):
    """One line per visible change (status, progress or message), for logs and pipes.

    Args:
        stream: Where to write (stdout by default).
        label: The name shown for a job (its name, else its id, by default).
        label_width: The width of the name column (it grows for longer names).
        header: Lines written once, on entering the view.
    """

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        label: Callable[[Job], str] | None = None,
        label_width: int = 12,
        header: Sequence[str] = (),
    ) -> None:
        self._stream = sys.stdout if stream is None else stream
        self._label = label or (lambda job: job.name or job.id)
        self._seen: dict[str, tuple[JobStatus, float | None, str | None]] = {}
        self._start = time.monotonic()
        self._width = label_width
        self._header = header

    def update(self, job: Job) -> None:
        """Print a line if the job's status, progress or message changed."""
        key = (job.status, job.progress, job.message)
        if self._seen.get(job.id) == key:
            return
        self._seen[job.id] = key
        label = self._label(job)
        self._width = max(self._width, min(len(label), 28))
        line = (
            f"{time.monotonic() - self._start:6.2f}s  {label:<{self._width}}  "
            f"{job.status.value:<9} {format_progress(job)}"
        )
        if job.is_terminal:
            outcome = job_outcome(job, 60)
            if outcome:
                line += f"  {outcome}"
        elif job.message:
            line += f"  {job.message}"
        self._stream.write(line + "\n")
        self._stream.flush()

    def __enter__(self) -> PlainView:
        for line in self._header:
            self._stream.write(line + "\n")
        self._stream.flush()
        return self

    def close(self) -> None:
        """Finish the view (what ``with`` does on leaving): flush what was written."""
        self._stream.flush()


class JsonView(ClosedOnExit):
    """Each state as one JSON object on its own line (``--json``)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = sys.stdout if stream is None else stream

    def update(self, job: Job) -> None:
        """Write the job as a JSON line."""
        write_json(job_to_json(job), self._stream)

    def close(self) -> None:
        """Finish the view: nothing to do, each line is written whole."""


def print_plain_summary(
    jobs: Sequence[Job],
    *,
    label: Callable[[Job], str] | None = None,
    title: str = "Summary",
    footer: str | None = None,
) -> None:
    """Print a table of final jobs (job, status, duration, result or error) and a footer."""
    name = label or (lambda job: job.name or job.id)
    print(f"\n{title}")
    print(
        plain_table(
            ["JOB", "STATUS", "DURATION", "RESULT / ERROR"],
            (
                [name(job), job.status.value, format_seconds(job_duration(job)), job_outcome(job)]
                for job in jobs
            ),
        )
    )
    if footer:
        print(footer)
    sys.stdout.flush()
