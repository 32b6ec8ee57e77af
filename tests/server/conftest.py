"""Fixtures of the reference server's and the test harness's tests.

``server`` is a plain JobServer, its heartbeat long enough that no ping lands inside a test
that reads a stream block by block. ``http`` is a bare aiohttp session, so these tests speak
the wire protocol without the client.
"""

from collections.abc import AsyncIterator

import aiohttp
import pytest

from asyncjobs.testing import JobServer


@pytest.fixture
async def server() -> AsyncIterator[JobServer]:
    """A JobServer with a 5 s heartbeat."""
    async with JobServer(heartbeat=5) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session
