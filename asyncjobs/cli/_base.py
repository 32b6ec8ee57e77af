"""What every command shares: exit statuses, settings, running a command and its error line.

Every client command runs in a fresh event loop through :func:`run_async`, which turns the
errors a user can meet into one line on stderr and an exit status (:data:`EXIT_CODES_HELP`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import textwrap
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import attrs

from asyncjobs import (
    APIError,
    AsyncJobsError,
    AuthenticationError,
    Client,
    Job,
    JobStatus,
    RetryPolicy,
    TransportError,
    UnsupportedOperationError,
)

CLI_RETRY = RetryPolicy(attempts=5, max_total=5.0)
"""At a terminal, a server that cannot be reached is said within seconds: the command line
retries for 5 s, not the library's 30 s."""

__all__ = [
    "DEFAULT_URL",
    "EXIT_CANCELLED",
    "EXIT_CODES_HELP",
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "Commands",
    "Settings",
    "UsageError",
    "WrongBaseURLError",
    "add_command",
    "check_base_url",
    "command",
    "describe_error",
    "error_line",
    "exit_code_for",
    "exit_help",
    "run_async",
    "worst_exit_code",
]

Commands = argparse._SubParsersAction  # the type of ``parser.add_subparsers()``

DEFAULT_URL = "http://127.0.0.1:8000/api/v1"

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_CANCELLED = 4
EXIT_TIMEOUT = 5
EXIT_INTERRUPTED = 130

_EXIT_MEANINGS = {
    EXIT_OK: "done (watch, wait, submit --wait: every job completed)",
    EXIT_ERROR: "error: the command could not be done (connection, token, not found, ...)",
    EXIT_USAGE: "usage error: a bad command, option or value",
    EXIT_FAILED: "a job failed",
    EXIT_CANCELLED: "a job was cancelled",
    EXIT_TIMEOUT: "timed out (--timeout) before every job ended",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}
_WORST_RULE = (
    "wait exits with the worst of its jobs: 5 if one is unfinished, else 3 if one\n"
    "failed, else 4 if one was cancelled, else 0."
)


def exit_help(*, outcomes: bool) -> str:
    """The exit statuses a command can end with, as an epilog table.

    Args:
        outcomes: The command follows jobs to their end (watch, wait, submit --wait), so
            3, 4 and 5 say how they ended.
    """
    shown = [
        code
        for code in _EXIT_MEANINGS
        if outcomes or code not in (EXIT_FAILED, EXIT_CANCELLED, EXIT_TIMEOUT)
    ]
    lines = ["exit status:"] + [f"  {code:<3}  {_EXIT_MEANINGS[code]}" for code in shown]
    if outcomes:
        lines.append(_WORST_RULE)
    return "\n".join(lines)


EXIT_CODES_HELP = exit_help(outcomes=True)
"""Every exit status of the command line and what it means (the main ``--help`` epilog)."""

_OUTCOME_CODES = {
    JobStatus.COMPLETED: EXIT_OK,
    JobStatus.FAILED: EXIT_FAILED,
    JobStatus.CANCELLED: EXIT_CANCELLED,
}
# Worst last: an unfinished job outweighs a failed one, which outweighs a cancelled one.
_SEVERITY = (EXIT_OK, EXIT_CANCELLED, EXIT_FAILED, EXIT_TIMEOUT)


def exit_code_for(job: Job) -> int:
    """0 for a completed job, 3 failed, 4 cancelled, 5 for one that has not ended."""
    return _OUTCOME_CODES.get(job.status, EXIT_TIMEOUT)


def worst_exit_code(jobs: Iterable[Job]) -> int:
    """The exit status of several jobs: unfinished (5), else failed (3), cancelled (4), 0."""
    return max((exit_code_for(job) for job in jobs), key=_SEVERITY.index, default=EXIT_OK)


class UsageError(Exception):
    """A bad option value found after parsing (shown as one line, exit status 2)."""


class WrongBaseURLError(Exception):
    """A 404 from a route that is not a job's: the base URL most likely misses the API's path."""


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


# -- settings and the client ---------------------------------------------------------------------


@attrs.frozen
class Settings:
    """Where and how to connect: options first, then the environment, then the defaults."""

    url: str
    token: str | None
    profile: str

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        """Read ``--url``/``ASYNCJOBS_URL``, ``--token``/``ASYNCJOBS_TOKEN``, ``--profile``."""
        return cls(
            url=getattr(args, "url", None) or os.environ.get("ASYNCJOBS_URL") or DEFAULT_URL,
            token=getattr(args, "token", None) or os.environ.get("ASYNCJOBS_TOKEN") or None,
            profile=getattr(args, "profile", None)
            or os.environ.get("ASYNCJOBS_PROFILE")
            or "native",
        )

    def open_client(self) -> Client:
        """A client for these settings; a bad URL or profile is a :class:`UsageError`."""
        try:
            return Client(self.url, token=self.token, profile=self.profile, retry=CLI_RETRY)
        except (ValueError, TypeError) as exc:
            raise UsageError(str(exc).replace("base_url", "--url")) from None


# Where each built-in profile's job routes begin (DESIGN.md section 5): the base URL's path.
_API_PATHS = {
    "native": "/api/v1",
    "compileo": "/api/v1/jobs",
    "job-management": "/api/v1",
    "mammoth": "/api/v2",
    "fiddler": "/v3",
    "dataiku": "/dip/publicapi/projects/<PROJECT_KEY>",
}


def base_url_hint(settings: Settings) -> str:
    """What to check when a route that is not a job's answers 404."""
    path = _API_PATHS.get(settings.profile)
    if path is None:
        return "is the base URL right? it should end where the API's job routes begin"
    hint = f"is the base URL right? the {settings.profile} API lives under {path}"
    if not settings.url.rstrip("/").endswith(path):
        hint += f": try --url {settings.url.rstrip('/')}{path}"
    return hint


async def _routes_missing(client: Client) -> bool:
    """Whether a route that names no job (list, else stats) answers 404 too."""
    try:
        async with contextlib.aclosing(client.list_jobs(limit=1)) as jobs:
            async for _ in jobs:
                break
    except UnsupportedOperationError:
        try:
            await client.queue_stats()
        except APIError as exc:
            return exc.status == 404
        except AsyncJobsError:
            return False
    except APIError as exc:
        return exc.status == 404
    except AsyncJobsError:
        return False
    return False


async def check_base_url(client: Client, exc: APIError, settings: Settings) -> None:
    """Raise :class:`WrongBaseURLError` if ``exc`` is a 404 and the API's list route 404s too.

    A 404 for a job id the server does not know (its list route answering) is left alone.
    """
    if exc.status == 404 and await _routes_missing(client):
        message = f"{describe_error(exc, settings.url)} ({base_url_hint(settings)})"
        raise WrongBaseURLError(message) from exc


# -- running a command -----------------------------------------------------------------------------


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
    except WrongBaseURLError as exc:
        error_line(str(exc))
        return EXIT_ERROR
    except AsyncJobsError as exc:
        error_line(describe_error(exc, url))
        return EXIT_ERROR


async def _as_coroutine(main: Callable[[], Awaitable[int]]) -> int:
    return await main()


Body = Callable[[Client, argparse.Namespace], Awaitable[int]]


def command(body: Body) -> Callable[[argparse.Namespace], int]:
    """Wrap a coroutine taking a client into an argparse handler (see :func:`run_async`)."""

    def handler(args: argparse.Namespace) -> int:
        settings = Settings.from_args(args)

        async def main() -> int:
            async with settings.open_client() as client:
                args.settings = settings  # for commands that check the base URL themselves
                try:
                    return await body(client, args)
                except APIError as exc:
                    await check_base_url(client, exc, settings)
                    raise

        return run_async(main, url=settings.url)

    return handler


def add_command(
    commands: Commands[argparse.ArgumentParser],
    name: str,
    *,
    help: str,
    description: str | None = None,
    parents: Iterable[argparse.ArgumentParser] = (),
    outcomes: bool = False,
) -> Any:
    """Add a subcommand whose ``--help`` ends with its exit statuses (see :func:`exit_help`)."""
    text = description or help[0].upper() + help[1:] + "."
    return commands.add_parser(
        name,
        help=help,
        description=textwrap.fill(text, 88),
        parents=list(parents),
        epilog=exit_help(outcomes=outcomes),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
