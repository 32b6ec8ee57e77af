"""Shared pieces of the client commands: exit statuses, error lines, running a command.

Every command runs in a fresh event loop through :func:`run_async`, which turns the errors a
user can meet into one line on stderr and an exit status:

- 0: done (for ``watch``, ``wait`` and ``submit --wait``: every job completed);
- 1, 2, 3: a job failed, was cancelled, or the wait timed out (the worst one for ``wait``);
- 4: the command could not be done (connection refused, 401, 404, another API error);
- 2 also for a usage error (a bad option or ``--url``), as argparse does; 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from ._client import Client
from ._exceptions import AsyncJobsError, AuthenticationError, TransportError
from ._models import Job, JobStatus

__all__ = [
    "DEFAULT_URL",
    "EXIT_CANCELLED",
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "PRIORITY_NAMES",
    "UsageError",
    "command",
    "describe_error",
    "error_line",
    "exit_code_for",
    "run_async",
]

DEFAULT_URL = "http://127.0.0.1:8000/api/v1"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CANCELLED = 2
EXIT_TIMEOUT = 3
EXIT_ERROR = 4
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_PRIORITIES = {"low": 1, "normal": 2, "high": 3, "urgent": 4}
PRIORITY_NAMES = {value: name for name, value in _PRIORITIES.items()}
"""Priority numbers to their names: 1 low, 2 normal, 3 high, 4 urgent."""

_OUTCOME_CODES = {
    JobStatus.COMPLETED: EXIT_OK,
    JobStatus.FAILED: EXIT_FAILED,
    JobStatus.CANCELLED: EXIT_CANCELLED,
}


class UsageError(Exception):
    """A bad option value found after parsing (shown as one line, exit status 2)."""


def exit_code_for(job: Job) -> int:
    """0 for a completed job, 1 failed, 2 cancelled, 3 for one that has not ended."""
    return _OUTCOME_CODES.get(job.status, EXIT_TIMEOUT)


def error_line(message: str) -> None:
    """Print ``asyncjobs: <message>`` on stderr."""
    print(f"asyncjobs: {message}", file=sys.stderr, flush=True)


def describe_error(exc: AsyncJobsError, url: str) -> str:
    """The one line shown for an error, with a hint of what to do where there is one."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, TransportError):
        return f"{text} (is a server running at {url}? set --url or ASYNCJOBS_URL)"
    if isinstance(exc, AuthenticationError):
        return f"{text} (pass --token or set ASYNCJOBS_TOKEN)"
    return text


# -- running a command ----------------------------------------------------------------------


def run_async(main: Callable[[], Awaitable[int]], *, url: str = DEFAULT_URL) -> int:
    """Run ``main`` in a fresh event loop and turn its errors into one line and an exit status."""
    try:
        return asyncio.run(_as_coroutine(main))
    except KeyboardInterrupt:
        error_line("interrupted")
        return EXIT_INTERRUPTED
    except UsageError as exc:
        error_line(f"error: {exc}")
        return EXIT_USAGE
    except AsyncJobsError as exc:
        error_line(describe_error(exc, url))
        return EXIT_ERROR


async def _as_coroutine(main: Callable[[], Awaitable[int]]) -> int:
    return await main()


def _settings(args: argparse.Namespace) -> tuple[str, str | None, str]:
    url = args.url or os.environ.get("ASYNCJOBS_URL") or DEFAULT_URL
    token = args.token or os.environ.get("ASYNCJOBS_TOKEN") or None
    profile = args.profile or os.environ.get("ASYNCJOBS_PROFILE") or "native"
    return url, token, profile


def _open_client(args: argparse.Namespace) -> Client:
    url, token, profile = _settings(args)
    try:
        return Client(url, token=token, profile=profile)
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc).replace("base_url", "--url")) from None


def command(body: Callable[[Client, argparse.Namespace], Awaitable[int]]) -> Callable[..., int]:
    """Wrap a coroutine taking a client into an argparse handler."""

    def handler(args: argparse.Namespace) -> int:
        async def main() -> int:
            async with _open_client(args) as client:
                return await body(client, args)

        return run_async(main, url=_settings(args)[0])

    return handler


# -- option types ------------------------------------------------------------------------------


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


def seconds_arg(text: str) -> float:
    """argparse type: a number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def count_arg(text: str) -> int:
    """argparse type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


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
