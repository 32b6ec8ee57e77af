"""Helpers of the live tests: short tunings, counting the client's own tasks, bounded waits,
the hub's listeners of a job.

Every wait in a test is bounded and fails with a message naming what did not happen
(:func:`wait_until`, :func:`within`, :func:`next_within`): a lost update fails its test in
seconds instead of wedging the run until pytest-timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

import pytest

from asyncjobs._tuning import TUNING

if TYPE_CHECKING:
    from asyncjobs import Client

_T = TypeVar("_T")

# How long a test waits for something that should happen at once on loopback: generous, since
# the machine is shared, yet far below pytest-timeout.
PATIENCE = 5.0

# Tasks of the server (it runs in the test's event loop) are not the client's.
_SERVER_MARKERS = ("aiohttp/web_", "asyncjobs/server/", "asyncjobs/testing/")


def client_tasks() -> set[asyncio.Task[object]]:
    """Every task of the running loop except the current one and the server's."""
    current = asyncio.current_task()
    found: set[asyncio.Task[object]] = set()
    for task in asyncio.all_tasks():
        if task is current:
            continue
        coro = task.get_coro()
        code = getattr(coro, "cr_code", None)
        filename = "" if code is None else code.co_filename
        if any(marker in filename for marker in _SERVER_MARKERS):
            continue
        found.add(task)
    return found


async def assert_no_new_tasks(before: set[asyncio.Task[object]], *, within: float = 0.5) -> None:
    """Within a moment, every task started since ``before`` has ended."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        left = {task for task in client_tasks() - before if not task.done()}
        if not left:
            return
        if loop.time() >= deadline:
            names = sorted(task.get_coro().__qualname__ for task in left)  # type: ignore[union-attr]
            raise AssertionError(f"tasks left running: {names}")
        await asyncio.sleep(0.005)


def shorten_timings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short stall limits, backoffs and polling intervals, so fault tests take milliseconds."""
    monkeypatch.setattr(TUNING, "stall_floor", 0.5)
    monkeypatch.setattr(TUNING, "reconnect_base", 0.02)
    monkeypatch.setattr(TUNING, "reconnect_cap", 0.2)
    monkeypatch.setattr(TUNING, "failure_budget", 5.0)
    monkeypatch.setattr(TUNING, "poll_start", 0.02)
    monkeypatch.setattr(TUNING, "poll_cap", 0.1)
    monkeypatch.setattr(TUNING, "reopen_interval", 0.01)


async def wait_until(
    predicate: Callable[[], object],
    *,
    timeout: float = PATIENCE,  # noqa: ASYNC109 - a deadline for the condition
    message: str | Callable[[], str],
    interval: float = 0.002,
) -> None:
    """Poll ``predicate`` every few ms until it is true.

    Raises:
        AssertionError: still false after ``timeout`` seconds; says ``message`` (a callable
            is called then, so it can show the state at that moment).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"{text} (still not so after {timeout} s)")
        await asyncio.sleep(interval)


@asynccontextmanager
async def within(seconds: float, what: str) -> AsyncIterator[None]:
    """Bound the block to ``seconds``; past that, fail with ``what`` did not happen.

    Only the block's own deadline becomes an AssertionError: a TimeoutError raised inside
    (a ``JobTimeoutError``) goes through unchanged.
    """
    scope = asyncio.timeout(seconds)
    try:
        async with scope:
            yield
    except TimeoutError:
        if scope.expired():
            raise AssertionError(f"{what} (not within {seconds} s)") from None
        raise


async def bounded(
    awaitable: Awaitable[_T],
    what: str,
    *,
    timeout: float = PATIENCE,  # noqa: ASYNC109 - a deadline for the awaitable
) -> _T:
    """Await ``awaitable`` for at most ``timeout`` seconds, else fail saying ``what``."""
    async with within(timeout, what):
        return await awaitable


async def next_within(
    iterator: AsyncIterator[_T],
    what: str,
    *,
    timeout: float = PATIENCE,  # noqa: ASYNC109 - a deadline for the next item
) -> _T:
    """The iterator's next item within ``timeout`` seconds, else fail saying ``what``."""
    return await bounded(anext(iterator), what, timeout=timeout)


def act_when(
    predicate: Callable[[], object],
    action: Callable[[], object],
    *,
    message: str,
    timeout: float = PATIENCE,
) -> asyncio.Task[None]:
    """Run ``action()`` in the background as soon as ``predicate()`` holds (at most
    ``timeout`` seconds on). Await the task to see a failure; a test ending first cancels it."""

    async def run() -> None:
        await wait_until(predicate, timeout=timeout, message=message)
        action()

    return asyncio.ensure_future(run())


def hub_listeners(client: Client, job_id: str) -> list[object]:
    """The listeners the client's hub holds for a job (none when it does not follow it)."""
    entry = client._hub._entries.get(job_id)
    return [] if entry is None else list(entry.listeners)
