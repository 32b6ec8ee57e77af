"""What every layer's tests need: anyio runs each async test on asyncio (aiohttp cannot run on
trio), and ``fast`` shortens the live tunables for the fault tests of several layers.

Each layer's directory has its own ``conftest.py`` with the fixtures only its tests use (the
``server`` and ``client`` of ``live/``, ``transport/``, ``client/``...). The helper modules
``_live_helpers`` and ``_client_apps`` sit here, importable from every directory
(``pythonpath = ["tests"]`` in ``pyproject.toml``).
"""

import pytest
from _live_helpers import shorten_timings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shorten the watch and waiting tunables (stall limits, reconnect delays)."""
    shorten_timings(monkeypatch)
