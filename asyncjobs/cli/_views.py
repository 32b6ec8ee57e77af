"""Choosing how to show jobs: rich bars on a terminal, else plain lines, or JSON lines.

rich is the optional ``cli`` extra: :mod:`._rich` is imported here once, at import time, and
everything falls back to :mod:`._plain` when it is missing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import IO

from asyncjobs import Job

from ._format import Tally
from ._plain import JobView, JsonView, PlainView, print_plain_summary

try:
    from . import _rich
except ImportError:  # rich (the cli extra) is not installed
    HAVE_RICH = False
else:
    HAVE_RICH = True

__all__ = ["HAVE_RICH", "make_view", "print_summary", "use_rich"]


def use_rich(*, plain: bool, force_terminal: bool, stream: IO[str] | None = None) -> bool:
    """Whether to draw with rich: not ``--plain``, rich installed, and a terminal (or forced)."""
    if plain or not HAVE_RICH:
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
    label_width: int = 12,
    title: str | None = None,
    subtitle: str | None = None,
    tally: Callable[[], Tally] | None = None,
) -> JobView:
    """The view the options and the terminal call for: JSON lines, rich bars or plain lines.

    ``title`` and ``subtitle`` head rich bars and plain lines alike; ``tally`` is drawn below
    rich bars only (plain lines already say every change).
    """
    if json_lines:
        return JsonView()
    if use_rich(plain=plain, force_terminal=force_terminal):
        return _rich.RichView(
            force_terminal=force_terminal, label=label, title=title, subtitle=subtitle, tally=tally
        )
    header = [line for line in (title, subtitle) if line]
    return PlainView(label=label, label_width=label_width, header=header)


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
    if rich and HAVE_RICH:
        _rich.print_rich_summary(
            jobs, force_terminal=force_terminal, label=label, title=title, footer=footer
        )
    else:
        print_plain_summary(jobs, label=label, title=title, footer=footer)
