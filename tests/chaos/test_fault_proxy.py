"""FaultProxy itself: each fault does what its docstring says, counted, and nothing is left.

Raw sockets (asyncio streams) speak to a JobServer through the proxy, so each test sees the
exact bytes and the exact error a client gets.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from _live_helpers import bounded, wait_until

from asyncjobs.testing import FaultProxy, JobServer

pytestmark = pytest.mark.anyio

REQUEST = b"GET /api/v1/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


async def fetch(proxy: FaultProxy) -> tuple[bytes, BaseException | None]:
    """Send one request through the proxy; the bytes received and how the read ended."""
    reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
    received = b""
    error: BaseException | None = None
    try:
        writer.write(REQUEST)
        while True:
            chunk = await bounded(reader.read(65536), "the answer did not end")
            if not chunk:
                break
            received += chunk
    except ConnectionError as exc:
        error = exc
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return received, error


async def test_the_proxy_forwards_faithfully_counts_and_leaves_nothing_open() -> None:
    """Without faults an answer arrives whole; bytes and connections are counted; closing
    the proxy leaves no connection."""
    async with JobServer() as server, FaultProxy(server.host, server.port) as proxy:
        body, error = await fetch(proxy)
        assert error is None and body.startswith(b"HTTP/1.1 200") and body.endswith(b"}")
        assert proxy.bytes_up == len(REQUEST) and proxy.bytes_down == len(body)
        assert proxy.connections_accepted == 1 and proxy.faults_applied == 0
        await wait_until(lambda: proxy.open_connections == 0, message="connection left open")
    assert proxy.open_connections == 0


async def test_reset_after_n_bytes_sends_exactly_n_bytes_then_a_tcp_reset() -> None:
    """``reset(after_bytes=10)``: the client reads 10 bytes, then ECONNRESET."""
    async with JobServer() as server, FaultProxy(server.host, server.port) as proxy:
        fault = proxy.reset(after_bytes=10)
        body, error = await fetch(proxy)
        assert body == b"HTTP/1.1 2" and isinstance(error, ConnectionResetError), (body, error)
        assert fault.applied == 1 and proxy.applied["reset"] == 1
        whole, error = await fetch(proxy)  # count=1: the next answer is whole
        assert error is None and whole.endswith(b"}")


async def test_truncate_closes_cleanly_after_n_bytes() -> None:
    """``truncate(after_bytes=12)``: 12 bytes, then a clean end of stream (no error)."""
    async with JobServer() as server, FaultProxy(server.host, server.port) as proxy:
        proxy.truncate(after_bytes=12)
        body, error = await fetch(proxy)
        assert body == b"HTTP/1.1 200" and error is None


async def test_corrupt_changes_one_byte_at_its_offset() -> None:
    """``corrupt(after_bytes=5)``: only that byte differs (its lowest bit flipped)."""
    async with JobServer() as server, FaultProxy(server.host, server.port) as proxy:
        proxy.corrupt(after_bytes=5)
        body, _ = await fetch(proxy)
        assert body.startswith(b"HTTP/0.1 200"), body[:12]


async def test_stall_holds_the_answer_then_forwards_all_of_it() -> None:
    """``stall(0.3)``: nothing arrives for 0.3 s, then the whole answer."""
    async with JobServer() as server, FaultProxy(server.host, server.port) as proxy:
        proxy.stall(0.3)
        loop = asyncio.get_running_loop()
        started = loop.time()
        body, error = await fetch(proxy)
        assert loop.time() - started >= 0.3  # a lower bound: the stall really held it
        assert error is None and body.endswith(b"}")


async def test_refuse_resets_new_connections_for_its_duration() -> None:
    """``refuse(s)``: a new connection is reset before any byte; after ``clear`` they work."""
    async with JobServer() as server, FaultProxy(server.host, server.port) as proxy:
        proxy.refuse(30)
        body, error = await fetch(proxy)
        assert body == b"" and isinstance(error, ConnectionError), (body, error)
        assert proxy.connections_refused == 1
        proxy.clear()
        body, error = await fetch(proxy)
        assert error is None and body.endswith(b"}")


async def test_chaos_with_the_same_seed_draws_the_same_faults() -> None:
    """Two runs of the same sequence of answers with the same seed meet the same faults."""
    outcomes: list[list[tuple[int, bool]]] = []
    for _ in range(2):
        async with JobServer() as server, FaultProxy(server.host, server.port) as proxy:
            proxy.chaos(reset_rate=0.3, truncate_rate=0.3, window=200, seed=5)
            run = []
            for _ in range(12):
                body, error = await fetch(proxy)
                run.append((len(body), error is None))
            outcomes.append(run)
            assert proxy.faults_applied >= 3
    assert outcomes[0] == outcomes[1]
