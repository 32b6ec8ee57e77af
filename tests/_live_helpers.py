"""Helpers of the watch/wait tests: short tunings, counting the client's own tasks."""

from __future__ import annotations

import asyncio

import pytest

from asyncjobs._tuning import TUNING

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
