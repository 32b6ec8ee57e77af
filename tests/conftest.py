"""Shared fixtures: anyio runs every async test on asyncio (aiohttp cannot run on trio).

``server``, ``client`` and ``fast`` serve the live-update tests (watch, waiting, cancellation):
a JobServer with a short heartbeat and a client on it. A test module may define its own
``server`` (with other options); pytest then uses the module's.
"""

from collections.abc import AsyncIterator

import pytest
from _live_helpers import shorten_timings

from asyncjobs import Client
from asyncjobs.testing import JobServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def server() -> AsyncIterator[JobServer]:
    """A JobServer with a 0.2 s heartbeat and a 20 ms reconnect hint."""
    async with JobServer(heartbeat=0.2, retry_ms=20) as server:
        yield server


@pytest.fixture
async def client(server: JobServer) -> AsyncIterator[Client]:
    """A Client on ``server``."""
    async with Client(server.url) as client:
        yield client


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shorten the watch and waiting tunables (stall limits, reconnect delays)."""
    shorten_timings(monkeypatch)
