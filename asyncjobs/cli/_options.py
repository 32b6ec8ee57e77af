"""The options the commands share (connection, output, display) and the types of their values.

Each type function is an argparse ``type=``: it returns the value or raises
``argparse.ArgumentTypeError`` with what was expected (a usage error, exit status 2).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any, TypeVar

from asyncjobs import JobStatus

from ._base import DEFAULT_URL

__all__ = [
    "PRIORITY_NAMES",
    "add_connection_options",
    "config_arg",
    "connection_options",
    "count_arg",
    "hours_arg",
    "job_id_arg",
    "priority_arg",
    "seconds_arg",
    "status_arg",
    "view_options",
]

_N = TypeVar("_N", int, float)

_PRIORITIES = {"low": 1, "normal": 2, "high": 3, "urgent": 4}
PRIORITY_NAMES = {value: name for name, value in _PRIORITIES.items()}
"""Priority numbers to their names: 1 low, 2 normal, 3 high, 4 urgent."""


def add_connection_options(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """Add ``--url``, ``--token``, ``--profile`` and ``--json`` to ``parser``.

    The options are accepted both before and after the command. The main parser holds the
    defaults; each command's copy uses ``argparse.SUPPRESS`` so that it does not overwrite a
    value given before the command with its own default.
    """
    unset: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {}
    group = parser.add_argument_group("connection and output")
    group.add_argument(
        "--url",
        help=f"the API's base URL (default: $ASYNCJOBS_URL, else {DEFAULT_URL})",
        **unset,
    )
    group.add_argument("--token", help="the API token (default: $ASYNCJOBS_TOKEN)", **unset)
    group.add_argument(
        "--profile",
        help="the API's profile, e.g. native, compileo, job-management "
        "(default: $ASYNCJOBS_PROFILE, else native)",
        **unset,
    )
    group.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per line, for scripts",
        **unset,
    )


def connection_options() -> argparse.ArgumentParser:
    """A parent parser with the connection options, for each command."""
    common = argparse.ArgumentParser(add_help=False)
    add_connection_options(common, suppress=True)
    return common


def view_options() -> argparse.ArgumentParser:
    """A parent parser with ``--plain`` and ``--force-terminal``, for the live commands."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("display")
    group.add_argument(
        "--plain", action="store_true", help="print a line per update instead of live bars"
    )
    group.add_argument(
        "--force-terminal",
        action="store_true",
        help="draw live bars even when stdout is not a terminal",
    )
    return common


def priority_arg(text: str) -> int:
    """argparse type: a priority, 1..4 or low, normal, high, urgent."""
    value = _PRIORITIES.get(text.lower())
    if value is None:
        try:
            value = int(text)
        except ValueError:
            value = 0
    if not 1 <= value <= 4:
        raise argparse.ArgumentTypeError(
            f"expected 1..4 or low, normal, high, urgent; got {text!r}"
        )
    return value


def config_arg(text: str) -> dict[str, Any]:
    """argparse type: a JSON object."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def _number(text: str, parse: Callable[[str], _N], fits: Callable[[_N], bool], expected: str) -> _N:
    """``text`` read by ``parse``, when the value ``fits``.

    Raises:
        argparse.ArgumentTypeError: ``expected ..., got 'text'``: not a number, or out of range.
    """
    try:
        value = parse(text)
    except ValueError:
        pass
    else:
        if fits(value):
            return value
    raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")


def seconds_arg(text: str) -> float:
    """argparse type: a number of seconds > 0."""
    return _number(text, float, lambda value: value > 0, "a number of seconds > 0")


def count_arg(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _number(text, int, lambda value: value >= 0, "an integer >= 0")


def hours_arg(text: str) -> int:
    """argparse type: a whole number of hours, 1..168 (a week)."""
    return _number(text, int, lambda value: 1 <= value <= 168, "whole hours 1..168")


def job_id_arg(text: str) -> str:
    """argparse type: a non-empty job id."""
    if not text:
        raise argparse.ArgumentTypeError("expected a job id, got an empty string")
    return text


def status_arg(text: str) -> str:
    """argparse type: a status word (pending, running, completed, failed, cancelled)."""
    words = [status.value for status in JobStatus if status is not JobStatus.UNKNOWN]
    if text.lower() not in words:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(words)}; got {text!r}")
    return text.lower()
