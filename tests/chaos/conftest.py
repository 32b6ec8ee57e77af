"""Faults of the network and of servers: ``FaultProxy`` between a Client and a JobServer
(resets, truncation, stalls, corrupted bytes, refusals, drip), and hostile servers staged by tiny
``aiohttp.web`` apps (streams cut mid-event, closed early, silent, slow, answering garbage). The
client must resume exactly, never end a watch early, never hang a waiter, and leave nothing
behind. ``fast`` (root conftest) shortens stall limits and backoffs.

``loop_errors`` collects what the event loop's exception handler reports (above all "Task
exception was never retrieved"), so a test can assert that no background task died unseen.
``run_script`` runs a scenario of ``_scenarios.py`` in a subprocess, with aiohttp's C parser or
its pure-Python one (``AIOHTTP_NO_EXTENSIONS=1``, what PyPy and some platforms get).
``json_backend`` runs a test once per JSON backend (orjson, the standard library).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """The contexts the running loop's exception handler got during the test.

    Read it through ``_scenarios.assert_no_loop_errors``, which first collects garbage (a task's
    unretrieved exception is reported when the task is collected).
    """
    errors: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        errors.append(context)

    loop.set_exception_handler(handler)
    try:
        yield errors
    finally:
        loop.set_exception_handler(previous)


ScriptRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_script() -> ScriptRunner:
    """Run ``_scenarios.<name>(**kwargs)`` in a fresh interpreter; ``pure_python=True`` sets
    ``AIOHTTP_NO_EXTENSIONS=1`` (and the script checks aiohttp really took its Python parser).
    Fails with the script's output if it exits non-zero or outlives ``timeout``."""

    def run(
        name: str, *, pure_python: bool, timeout: float = 40.0, **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE), str(ROOT / "tests")])
        env.pop("AIOHTTP_NO_EXTENSIONS", None)
        if pure_python:
            env["AIOHTTP_NO_EXTENSIONS"] = "1"
        code = (
            "import asyncio, _scenarios\n"
            f"_scenarios.check_parser(pure_python={pure_python!r})\n"
            f"asyncio.run(_scenarios.{name}(**{kwargs!r}))\n"
        )
        parser = "pure-Python" if pure_python else "C"
        try:
            done = subprocess.run(
                [sys.executable, "-c", code],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(
                f"{name} with aiohttp's {parser} parser did not end within {timeout} s "
                f"(a hang); its output:\n{exc.stdout!s}\n{exc.stderr!s}"
            ) from None
        if done.returncode != 0:
            raise AssertionError(
                f"{name} with aiohttp's {parser} parser failed (exit {done.returncode}):\n"
                f"{done.stdout}\n{done.stderr[-4000:]}"
            )
        return done

    return run
