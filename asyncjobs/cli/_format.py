"""How the command line writes values: jobs as JSON, durations, progress, outcomes, tables.

Pure functions of jobs and values (no terminal, no rich): the plain and rich views and the
commands share them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import IO, Any

import attrs

from asyncjobs import Job, JobStatus

__all__ = [
    "STATUS_ICONS",
    "Tally",
    "describe_job",
    "format_progress",
    "format_seconds",
    "format_value",
    "format_when",
    "job_duration",
    "job_outcome",
    "job_to_json",
    "plain_table",
    "plural",
    "write_json",
]

STATUS_ICONS: dict[JobStatus, str] = {
    JobStatus.PENDING: "·",
    JobStatus.RUNNING: "▸",
    JobStatus.COMPLETED: "✔",
    JobStatus.FAILED: "✘",
    JobStatus.CANCELLED: "⊘",
    JobStatus.UNKNOWN: "?",
}


@attrs.frozen
class Tally:
    """What a live view shows below its bars: jobs by status, then a line of notes."""

    counts: Mapping[JobStatus, int]
    note: str

    @classmethod
    def of(cls, jobs: Iterable[Job], note: str) -> Tally:
        """Count ``jobs`` by status."""
        counts = dict.fromkeys(JobStatus, 0)
        for job in jobs:
            counts[job.status] += 1
        return cls(counts, note)


def job_to_json(job: Job) -> dict[str, Any]:
    """The job as a JSON-ready dict of its normalised fields (``raw`` left out).

    Times are RFC 3339 strings, the status its native word.
    """
    out: dict[str, Any] = {}
    for field in attrs.fields(Job):
        if field.name == "raw":
            continue
        value = getattr(job, field.name)
        if isinstance(value, datetime):
            value = value.isoformat().replace("+00:00", "Z")
        elif isinstance(value, JobStatus):
            value = value.value
        elif field.name == "config":
            value = dict(value)
        out[field.name] = value
    return out


def write_json(obj: Any, stream: IO[str] | None = None) -> None:
    """Write one JSON object on one line and flush (for scripts reading line by line)."""
    stream = sys.stdout if stream is None else stream
    stream.write(json.dumps(obj, ensure_ascii=False, default=str, separators=(",", ":")) + "\n")
    stream.flush()


def format_value(value: Any, width: int = 48) -> str:
    """Compact JSON of ``value`` (a string as is), cut to ``width`` characters with an ellipsis."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def format_seconds(seconds: float | None) -> str:
    """``"4.2s"``, ``"3m07s"``, ``"2h05m"``; ``"-"`` for None."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_when(value: datetime | None) -> str:
    """An RFC 3339 time and how long ago it was; ``"-"`` for None."""
    if value is None:
        return "-"
    ago = (datetime.now(UTC) - value).total_seconds()
    text = value.isoformat(timespec="seconds").replace("+00:00", "Z")
    return f"{text} ({format_seconds(ago)} ago)" if ago >= 0 else text


def format_progress(job: Job) -> str:
    """``" 45%"``, or ``"   -"`` when the job reports no progress."""
    return "   -" if job.progress is None else f"{job.progress:3.0f}%"


def plural(count: int, noun: str) -> str:
    """``"1 job"``, ``"3 jobs"``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def job_duration(job: Job, now: datetime | None = None) -> float | None:
    """Seconds the job ran, from its start (else creation) to its end (else now), or None."""
    start = job.started_at or job.created_at
    if start is None:
        return None
    end = job.completed_at if job.is_terminal else None
    if end is None:
        end = job.updated_at if job.is_terminal else (now or datetime.now(UTC))
    if end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def job_outcome(job: Job, width: int = 48) -> str:
    """What the job ended with: its result, its error, or its current message."""
    if job.status is JobStatus.COMPLETED:
        return format_value(job.result, width)
    if job.status is JobStatus.FAILED:
        return format_value(job.error or "failed", width)
    if job.status is JobStatus.CANCELLED:
        return "cancelled" if job.progress is None else f"cancelled at {job.progress:.0f}%"
    return format_value(job.message or "", width)


def describe_job(job: Job) -> str:
    """One line for a job: id, status, progress, name, and its result, error or message."""
    parts = [job.id, f"{job.status.value:<9}", format_progress(job)]
    if job.name:
        parts.append(job.name)
    outcome = job_outcome(job, 60)
    if outcome:
        label = {"completed": "result", "failed": "error"}.get(job.status.value, "")
        parts.append(f"{label}={outcome}" if label else outcome)
    return "  ".join(parts)


def plain_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces, with a header line."""
    all_rows = [list(headers), *([str(cell) for cell in row] for row in rows)]
    widths = [max(len(row[i]) for row in all_rows) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in all_rows
    ]
    return "\n".join(lines)
