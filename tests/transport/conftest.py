"""Fixtures of the transport layer's tests (``asyncjobs/_transport``: the request pipeline,
retries, the pause, error translation, redirects, event streams).

Most tests build their own ``Client`` (with a retry policy, a timeout, a token) on ``server``,
or stage a misbehaving server with ``_client_apps.serve``.
"""

from collections.abc import AsyncIterator

import pytest

from asyncjobs.testing import JobServer


@pytest.fixture
async def server() -> AsyncIterator[JobServer]:
    """A JobServer with a 0.1 s heartbeat, so a stream stays busy with pings."""
    async with JobServer(heartbeat=0.1) as server:
        yield server
