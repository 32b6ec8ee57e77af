"""What every layer's tests need: anyio runs each async test on asyncio (aiohttp cannot run on
trio), ``fast`` shortens the live tunables for the fault tests of several layers, and
``json_backend`` runs a test once per JSON backend (orjson, the standard library).

Each layer's directory has its own ``conftest.py`` with the fixtures only its tests use (the
``server`` and ``client`` of ``live/``, ``transport/``, ``client/``...). The helper modules
``_live_helpers`` and ``_client_apps`` sit here, importable from every directory
(``pythonpath = ["tests"]`` in ``pyproject.toml``).
"""

from collections.abc import Iterator

import pytest
from _live_helpers import shorten_timings

from asyncjobs import _json


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shorten the watch and waiting tunables (stall limits, reconnect delays)."""
    shorten_timings(monkeypatch)


@pytest.fixture(params=_json.BACKENDS)
def json_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test once per JSON backend of :mod:`asyncjobs._json` (orjson, then the standard
    library): the event parsers made during the test decode with it."""
    name = request.param
    if name not in _json.available():
        pytest.skip(f"{name} is not installed (the test extra installs it, as CI does)")
    with _json.using(name):
        yield name
