"""Fixtures of the live layer's tests (``asyncjobs/live``: the hub, watch, waiting,
cancellation, scale): a JobServer with a short heartbeat and a client on it, and
``json_backend`` (a test once per JSON backend).

A test module may define its own ``server`` (``test_scale.py`` does); pytest then uses the
module's.
"""

from collections.abc import AsyncIterator, Iterator

import pytest

from asyncjobs import Client, _json
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


@pytest.fixture(params=_json.BACKENDS)
def json_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test once per JSON backend of :mod:`asyncjobs._json` (orjson, then the standard
    library): the event parsers made during the test decode with it."""
    name = request.param
    if name not in _json.available():
        pytest.skip(f"{name} is not installed (the test extra installs it, as CI does)")
    with _json.using(name):
        yield name
