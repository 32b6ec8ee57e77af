"""The sans-I/O core's tests (SSE decoder, models and converter, exceptions, URLs): bytes and
dicts in, values out. No server here, and ``no_network`` makes sure of it: a test of this layer
that opens a connection fails. ``json_backend`` runs a test with each JSON backend.
"""

import socket

import pytest


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any socket connection attempt fails: the core knows nothing of sockets."""

    def refuse(self: socket.socket, *args: object) -> None:
        raise AssertionError(f"a core test tried to connect to {args}: the core is sans-I/O")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
