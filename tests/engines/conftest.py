"""Fixtures of the engine tests: a :class:`Client` per real engine, and a request counter.

The engines are real: a Ray head node (its dashboard serves the Job Submission API) and Celery
behind Flower, started on loopback by ``.ci/engines/with-engines`` (or ``engines.sh`` in
``.ci/run``), which exports where they listen:

- ``ASYNCJOBS_RAY_URL`` (``Client(url, profile="ray")``) and ``ASYNCJOBS_RAY_PYTHON`` (the
  engines venv's python, for entrypoints);
- ``ASYNCJOBS_FLOWER_URL`` and ``ASYNCJOBS_FLOWER_AUTH`` (``Client(url, profile="flower",
  token="user:password")``); the worker runs the tasks of ``celery_app/tasks.py``.

Without those variables the tests of that engine are skipped with a reason that says how to
start it, unless ``ASYNCJOBS_REQUIRE_ENGINES=1`` (``.ci/run`` and ``with-engines`` set it): then
they fail, so that CI never skips them silently.

Every test counts the HTTP requests its client sends (an aiohttp trace on a session the test
owns); the tests that wait on many jobs record "requests per waited job", printed at the end of
the run and written to ``build/engine-requests.txt``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from _engine_helpers import MEASURED, RequestCounter

from asyncjobs import Client

ROOT = Path(__file__).resolve().parents[2]
REQUESTS_REPORT = ROOT / "build" / "engine-requests.txt"

HOW_TO_RUN = (
    "start the engines and run these tests with `.ci/engines/with-engines` "
    "(`--only ray` or `--only flower` for one; see tests/engines/README.md)"
)


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason``, or fail when ``ASYNCJOBS_REQUIRE_ENGINES=1`` (CI)."""
    if os.environ.get("ASYNCJOBS_REQUIRE_ENGINES") == "1":
        pytest.fail(f"ASYNCJOBS_REQUIRE_ENGINES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def engine_env(name: str) -> str:
    """The environment variable ``name``, or skip (fail in CI) saying how to get it."""
    value = os.environ.get(name, "").strip()
    if not value:
        skip_or_fail(f"{name} is not set: {HOW_TO_RUN}")
    return value


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not MEASURED:
        return
    terminalreporter.section("requests per waited job (real engines)")
    for line in MEASURED:
        terminalreporter.write_line(line)
    REQUESTS_REPORT.parent.mkdir(parents=True, exist_ok=True)
    REQUESTS_REPORT.write_text("\n".join(MEASURED) + "\n")


@pytest.fixture
def counter() -> RequestCounter:
    return RequestCounter()


@pytest.fixture
async def counted_session(counter: RequestCounter) -> AsyncIterator[aiohttp.ClientSession]:
    """A session the test owns, counting every request sent on it."""
    async with aiohttp.ClientSession(trace_configs=[counter.trace()]) as session:
        yield session


@pytest.fixture
def ray_env() -> SimpleNamespace:
    """Where the Ray head node listens, and the python its entrypoints should use."""
    return SimpleNamespace(
        url=engine_env("ASYNCJOBS_RAY_URL"),
        python=os.environ.get("ASYNCJOBS_RAY_PYTHON") or "python3",
    )


@pytest.fixture
async def ray(
    ray_env: SimpleNamespace, counted_session: aiohttp.ClientSession
) -> AsyncIterator[Client]:
    """A client of the Ray dashboard's Job Submission API (profile ``ray``)."""
    async with Client(ray_env.url, profile="ray", session=counted_session) as client:
        yield client


@pytest.fixture
def flower_env() -> SimpleNamespace:
    """Where Flower listens, and its ``user:password``."""
    return SimpleNamespace(
        url=engine_env("ASYNCJOBS_FLOWER_URL"),
        auth=os.environ.get("ASYNCJOBS_FLOWER_AUTH") or "user:password",
    )


@pytest.fixture
async def flower(
    flower_env: SimpleNamespace, counted_session: aiohttp.ClientSession
) -> AsyncIterator[Client]:
    """A client of Celery through Flower's REST API (profile ``flower``, basic auth)."""
    async with Client(
        flower_env.url, profile="flower", token=flower_env.auth, session=counted_session
    ) as client:
        yield client
