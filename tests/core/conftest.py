"""The sans-I/O core's tests (SSE decoder, models and converter, exceptions, URLs): bytes and
dicts in, values out. No server here, and ``no_network`` makes sure of it: a test of this layer
that opens a connection fails. ``json_backend`` runs a test with each JSON backend.
"""

import socket
from collections.abc import Iterator

import pytest

from asyncjobs import _json


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any socket connection attempt fails: the core knows nothing of sockets."""

    def refuse(self: socket.socket, *args: object) -> None:
        raise AssertionError(f"a core test tried to connect to {args}: the core is sans-I/O")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture(params=_json.BACKENDS)
def json_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test once per JSON backend of :mod:`asyncjobs._json` (orjson, then the standard
    library): the event parsers made during the test decode with it."""
    name = request.param
    if name not in _json.available():
        pytest.skip(f"{name} is not installed (the test extra installs it, as CI does)")
    with _json.using(name):
        yield name
