"""What JobServer and FaultProxy share (asyncjobs.testing._listening.Listening): started once,
closed idempotently, where they listen."""

from __future__ import annotations

import asyncio

import pytest

from asyncjobs.testing import FaultProxy, JobServer
from asyncjobs.testing._listening import Listening

pytestmark = pytest.mark.anyio


def _servers() -> list[Listening]:
    return [JobServer(), FaultProxy("127.0.0.1", 9)]


@pytest.mark.parametrize("index", [0, 1], ids=["JobServer", "FaultProxy"])
async def test_lifecycle_and_where(index: int) -> None:
    server = _servers()[index]
    name = type(server).__name__
    with pytest.raises(RuntimeError, match=rf"the {name} is not started yet: use 'async with"):
        server._origin()
    assert server.port == 0
    async with server:
        assert server.host == "127.0.0.1"
        assert server.port > 0
        assert server._origin() == f"http://127.0.0.1:{server.port}"
        with pytest.raises(RuntimeError, match=f"a {name} can be started only once"):
            await server.start()
        # listening: a connection is accepted
        _, writer = await asyncio.open_connection(server.host, server.port)
        writer.close()
    await server.close()  # idempotent
    with pytest.raises(RuntimeError, match="started only once"):
        await server.start()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(server.host, server.port)


async def test_ipv6_origin_is_bracketed() -> None:
    server = Listening("::1", 8080)
    server._server = object()  # type: ignore[assignment]  # as if started
    assert server._origin() == "http://[::1]:8080"
