"""Fixtures of the contract tests: DESIGN.md sections 2 (wire protocol) and 3 (public API)
checked as an outside suite would, against the reference server.

``server`` and ``client`` serve ``test_contract_api.py``; ``test_contract_protocol.py`` uses
its own ``server`` (with tokens) and a bare aiohttp session, ``test_contract_servers.py`` tiny
apps standing for other servers, ``test_contract_sync.py`` a server on a thread of its own.
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
