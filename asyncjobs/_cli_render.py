"""How the command line shows jobs: live views (rich bars, plain lines, JSON lines) and tables.

Everything here but :func:`make_view` and :func:`print_summary` works without rich; those two
import :mod:`._cli_rich` only when rich is installed and the output is a terminal (or forced).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import IO, Any, Protocol

import attrs

from ._models import Job, JobStatus

__all__ = [
    "JobView",
    "JsonView",
    "PlainView",
    "describe_job",
    "format_seconds",
    "format_value",
    "job_duration",
    "job_outcome",
    "job_to_json",
    "make_view",
    "plain_table",
    "print_summary",
    "rich_available",
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


def rich_available() -> bool:
    """Whether rich (the ``cli`` extra) can be imported."""
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


# -- values ------------------------------------------------------------------------------------


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


def format_progress(job: Job) -> str:
    """``" 45%"``, or ``"   -"`` when the job reports no progress."""
    return "   -" if job.progress is None else f"{job.progress:3.0f}%"


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


# -- live views ------------------------------------------------------------------------------


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


class PlainView:
    """One line per visible change (status, progress or message), for logs and pipes.

    Args:
        stream: Where to write (stdout by default).
        label: The name shown for a job (its name, else its id, by default).
        label_width: The width of the name column (it grows for longer names).
    """

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        label: Callable[[Job], str] | None = None,
        label_width: int = 12,
    ) -> None:
        self._stream = sys.stdout if stream is None else stream
        self._label = label or (lambda job: job.name or job.id)
        self._seen: dict[str, tuple[JobStatus, float | None, str | None]] = {}
        self._start = time.monotonic()
        self._width = label_width

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
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stream.flush()


class JsonView:
    """Each state as one JSON object on its own line (``--json``)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = sys.stdout if stream is None else stream

    def update(self, job: Job) -> None:
        """Write the job as a JSON line."""
        write_json(job_to_json(job), self._stream)

    def __enter__(self) -> JsonView:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


def use_rich(*, plain: bool, force_terminal: bool, stream: IO[str] | None = None) -> bool:
    """Whether to draw with rich: not ``--plain``, rich installed, and a terminal (or forced)."""
    if plain or not rich_available():
        return False
    if force_terminal:
        return True
    stream = sys.stdout if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def make_view(
    *,
    json_lines: bool = False,
    plain: bool = False,
    force_terminal: bool = False,
    label: Callable[[Job], str] | None = None,
) -> JobView:
    """The view the options and the terminal call for: JSON lines, rich bars or plain lines."""
    if json_lines:
        return JsonView()
    if use_rich(plain=plain, force_terminal=force_terminal):
        from ._cli_rich import RichView

        return RichView(force_terminal=force_terminal, label=label)
    return PlainView(label=label)


def print_summary(
    jobs: Sequence[Job],
    *,
    rich: bool,
    force_terminal: bool = False,
    label: Callable[[Job], str] | None = None,
    title: str = "Summary",
    footer: str | None = None,
) -> None:
    """Print a table of final jobs (job, status, duration, result or error) and a footer line."""
    if rich:
        from ._cli_rich import print_rich_summary

        print_rich_summary(
            jobs, force_terminal=force_terminal, label=label, title=title, footer=footer
        )
        return
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
