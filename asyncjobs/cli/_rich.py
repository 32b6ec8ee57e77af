"""Live progress bars and summary tables drawn with rich (the ``cli`` extra).

Importing this module raises ImportError when rich is not installed: :mod:`._views` imports it
in a ``try`` and falls back to the plain views of :mod:`._plain`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rich import box
from rich.console import Console, RenderableType
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskID
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Column, Table
from rich.text import Text

from asyncjobs import Job, JobStatus
from asyncjobs._closing import ClosedOnExit

from ._format import STATUS_ICONS, Tally, format_seconds, job_duration, job_outcome

__all__ = ["RichView", "make_console", "print_rich_summary", "status_text"]

STATUS_STYLES: dict[JobStatus, str] = {
    JobStatus.PENDING: "grey50",
    JobStatus.RUNNING: "cyan",
    JobStatus.COMPLETED: "green",
    JobStatus.FAILED: "red",
    JobStatus.CANCELLED: "yellow",
    JobStatus.UNKNOWN: "magenta",
}


def make_console(*, force_terminal: bool = False, stderr: bool = False) -> Console:
    """A console on stdout (or stderr), treated as a terminal when ``force_terminal``."""
    return Console(force_terminal=True if force_terminal else None, stderr=stderr, highlight=False)


def status_text(status: JobStatus) -> Text:
    """The status word with its icon, in its colour."""
    return Text(f"{STATUS_ICONS[status]} {status.value}", style=STATUS_STYLES[status])


def _job(task: Task) -> Job:
    job: Job = task.fields["job"]
    return job


class _IconColumn(ProgressColumn):
    """A spinner while the job runs, its status icon otherwise."""

    def __init__(self) -> None:
        super().__init__(table_column=Column(width=1, no_wrap=True))
        self._spinner = Spinner("dots", style=STATUS_STYLES[JobStatus.RUNNING])

    def render(self, task: Task) -> RenderableType:
        job = _job(task)
        if job.status is JobStatus.RUNNING:
            return self._spinner.render(task.get_time())
        return Text(STATUS_ICONS[job.status], style=STATUS_STYLES[job.status])


class _StatusBarColumn(BarColumn):
    """The bar, coloured by the job's status; a pulse while it runs without a progress figure."""

    def render(self, task: Task) -> ProgressBar:
        job = _job(task)
        style = STATUS_STYLES[job.status]
        unknown = job.status is JobStatus.RUNNING and job.progress is None
        if job.status is JobStatus.COMPLETED:
            completed = 100.0
        else:
            completed = job.progress or 0.0
        return ProgressBar(
            total=None if unknown else 100.0,
            completed=completed,
            width=self.bar_width,
            pulse=unknown,
            animation_time=task.get_time(),
            style="bar.back",
            complete_style=style,
            finished_style=style,
            pulse_style=style,
        )


class _PercentColumn(ProgressColumn):
    def __init__(self) -> None:
        super().__init__(table_column=Column(width=4, justify="right", no_wrap=True))

    def render(self, task: Task) -> RenderableType:
        job = _job(task)
        if job.status is JobStatus.COMPLETED:
            return Text("100%", style=STATUS_STYLES[job.status])
        if job.progress is None:
            return Text("-", style="grey50")
        return Text(f"{job.progress:3.0f}%")


class _StatusColumn(ProgressColumn):
    """The status word, then the step message (or, once ended, the result or the error)."""

    def __init__(self) -> None:
        super().__init__(table_column=Column(no_wrap=True, overflow="ellipsis", min_width=10))

    def render(self, task: Task) -> RenderableType:
        job = _job(task)
        text = Text(f"{job.status.value:<9}", style=STATUS_STYLES[job.status])
        detail = job_outcome(job, 60) if job.is_terminal else (job.message or "")
        if detail:
            style = "red" if job.status is JobStatus.FAILED else "grey62"
            text.append(" ")
            text.append(detail, style=style)
        return text


class _ElapsedColumn(ProgressColumn):
    def __init__(self) -> None:
        super().__init__(table_column=Column(width=6, justify="right", no_wrap=True))

    def render(self, task: Task) -> RenderableType:
        job = _job(task)
        if job.status is JobStatus.PENDING:
            return Text("queued", style="grey50")
        return Text(format_seconds(job_duration(job)), style="grey62")


def _header(title: str, subtitle: str | None) -> Text:
    """The title (its part before the first " · " highlighted), then the subtitle, dimmed."""
    brand, sep, rest = title.partition(" · ")
    text = Text()
    text.append(brand, style="bold magenta")
    text.append(sep + rest, style="bold")
    if subtitle:
        text.append(f"\n{subtitle}", style="grey62")
    text.append("\n")
    return text


_TALLY_ORDER = (
    JobStatus.RUNNING,
    JobStatus.PENDING,
    JobStatus.COMPLETED,
    JobStatus.FAILED,
    JobStatus.CANCELLED,
)


def _footer(tally: Tally) -> Text:
    """Jobs by status, each in its colour, then the note."""
    text = Text("\n")
    for status in _TALLY_ORDER:
        text.append(f"{tally.counts.get(status, 0)} {status.value}", style=STATUS_STYLES[status])
        text.append("  ")
    if tally.note:
        text.append(f"\n{tally.note}", style="grey62")
    return text


class _JobProgress(Progress):
    """A Progress with an optional header above the bars and a live footer below them."""

    def __init__(
        self,
        *columns: ProgressColumn,
        header: RenderableType | None,
        tally: Callable[[], Tally] | None,
        **kwargs: Any,
    ) -> None:
        self._header = header
        self._tally = tally
        super().__init__(*columns, **kwargs)

    def get_renderables(self) -> Iterable[RenderableType]:
        if self._header is not None:
            yield self._header
        yield self.make_tasks_table(self.tasks)
        if self._tally is not None:
            yield _footer(self._tally())


class RichView(ClosedOnExit):
    """One live bar per job: icon, name, bar, percentage, status and message, elapsed time.

    Args:
        force_terminal: Draw as on a terminal even when stdout is not one.
        label: The name shown for a job (its name, else its id, by default).
        title: Drawn above the bars (its part before the first " · " highlighted).
        subtitle: Drawn below the title, dimmed.
        tally: Called at each refresh; its counts and note are drawn below the bars.
        console: The console to draw on (stdout by default).
    """

    def __init__(
        self,
        *,
        force_terminal: bool = False,
        label: Callable[[Job], str] | None = None,
        title: str | None = None,
        subtitle: str | None = None,
        tally: Callable[[], Tally] | None = None,
        console: Console | None = None,
    ) -> None:
        self.console = console or make_console(force_terminal=force_terminal)
        self._label = label or (lambda job: job.name or job.id)
        self._tasks: dict[str, TaskID] = {}
        width = self.console.width
        self._progress = _JobProgress(
            _IconColumn(),
            _NameColumn(self._label),
            _StatusBarColumn(bar_width=max(10, min(30, width // 5))),
            _PercentColumn(),
            _ElapsedColumn(),
            _StatusColumn(),
            header=None if title is None else _header(title, subtitle),
            tally=tally,
            console=self.console,
            refresh_per_second=12,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def update(self, job: Job) -> None:
        """Add the job's bar, or move it to this state."""
        task_id = self._tasks.get(job.id)
        if task_id is None:
            self._tasks[job.id] = self._progress.add_task(self._label(job), total=100.0, job=job)
        else:
            self._progress.update(task_id, job=job)

    def __enter__(self) -> RichView:
        self._progress.start()
        return self

    def close(self) -> None:
        """Finish the view (what ``with`` does on leaving): draw the bars once more, then stop."""
        self._progress.refresh()
        self._progress.stop()


class _NameColumn(ProgressColumn):
    def __init__(self, label: Callable[[Job], str]) -> None:
        super().__init__(table_column=Column(no_wrap=True, overflow="ellipsis", max_width=24))
        self._label = label

    def render(self, task: Task) -> RenderableType:
        return Text(self._label(_job(task)), style="bold")


def print_rich_summary(
    jobs: Sequence[Job],
    *,
    force_terminal: bool = False,
    label: Callable[[Job], str] | None = None,
    title: str = "Summary",
    footer: str | None = None,
    console: Console | None = None,
) -> None:
    """Print the final jobs as a table (job, status, duration, result or error), then ``footer``."""
    console = console or make_console(force_terminal=force_terminal)
    name = label or (lambda job: job.name or job.id)
    labels = [name(job) for job in jobs]
    table = Table(title=title, box=box.SIMPLE_HEAVY, title_style="bold", title_justify="left")
    table.add_column("Job", style="bold", no_wrap=True, min_width=max(map(len, labels), default=3))
    with_ids = console.width >= 100
    if with_ids:
        table.add_column("Id", style="grey50", no_wrap=True)
    table.add_column("Status", no_wrap=True, min_width=11)
    table.add_column("Duration", justify="right", no_wrap=True, min_width=8)
    table.add_column("Result / error", overflow="ellipsis", no_wrap=True, max_width=48)
    for shown, job in zip(labels, jobs, strict=True):
        outcome = Text(job_outcome(job), style="red" if job.status is JobStatus.FAILED else "")
        cells: list[RenderableType] = [shown]
        if with_ids:
            cells.append(job.id)
        cells += [status_text(job.status), format_seconds(job_duration(job)), outcome]
        table.add_row(*cells)
    console.print()
    console.print(table)
    if footer:
        console.print(footer, markup=False, style="grey62")
