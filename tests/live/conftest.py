"""Fixtures of the live layer's tests (``asyncjobs/live``: the hub, watch, waiting,
cancellation, scale): a JobServer with a short heartbeat and a client on it, and
``json_backend`` (a test once per JSON backend).

A test module may define its own ``server`` (``test_scale.py`` does); pytest then uses the
module's.
"""

from collections.abc import AsyncIterator

import pytest

from asyncjobs import Client
from asyncjobs.testing import JobServer


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
