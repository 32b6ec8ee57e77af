"""Fixtures of the ``Client`` facade's tests (every operation, argument checks, lifecycle):
a plain JobServer and a client on it. ``test_sync.py`` has its own (a server on a thread of its
own, since the ``SyncClient`` runs its loop in another thread).
"""

from collections.abc import AsyncIterator

import pytest

from asyncjobs import Client
from asyncjobs.testing import JobServer


@pytest.fixture
async def server() -> AsyncIterator[JobServer]:
    """A JobServer with its defaults."""
    async with JobServer() as server:
        yield server


@pytest.fixture
async def client(server: JobServer) -> AsyncIterator[Client]:
    """A Client on ``server``."""
    async with Client(server.url) as client:
        yield client
