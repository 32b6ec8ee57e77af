"""A loopback TCP proxy that injects network faults: :class:`FaultProxy`.

Put it between your code and any server (a :class:`~asyncjobs.testing.JobServer`, your own
service) to see what your code does when the network misbehaves: connections reset or closed
part-way through an answer or inside an SSE event, answers that stall, corrupted bytes, refused
connections, a slow drip, or all of these at random from a seed::

    async with JobServer(auto_run=True) as server, FaultProxy(server.host, server.port) as proxy:
        async with Client(proxy.url_for(server.url)) as client:
            proxy.reset(on_request="/events", in_event=True)  # cut the next stream mid-event
            job = await client.submit_job("x", {"duration": 0.5})
            assert (await client.wait_for_job(job.id)).id == job.id
        assert proxy.faults_applied == 1

The proxy speaks no HTTP: it forwards bytes. To aim a fault at an answer, it watches the
alternation of HTTP/1.1 (a request, then its answer): an *exchange* is the bytes a client sends
(the request) and the bytes the server sends back before the client sends again (the answer; for
an SSE stream, the whole stream). A fault is *taken* by the next exchange that matches it (its
``direction`` and ``on_request``) when that exchange next moves bytes in the fault's direction,
at most once per exchange; one already under way takes it too (an open SSE stream, at its next
event or ping). It acts ``after_bytes`` later: counted from the start of the answer
(``direction="down"``, the default) or request (``direction="up"``), headers included, when the
exchange takes it as it starts, else from where it took it. A fault that its exchange ends
before reaching is spent without acting (:attr:`ProxyFault.applied` tells).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from urllib.parse import urlsplit, urlunsplit

__all__ = ["Direction", "FaultKind", "FaultProxy", "ProxyFault"]

from ._listening import Listening
from ._proxy_scripts import FaultScripts
from ._proxy_state import Direction, FaultKind, ProxyFault, _Conn


class FaultProxy(Listening, FaultScripts):
    """A TCP proxy on loopback in front of ``target_host:target_port`` that injects faults, as
    an async context manager (like :class:`~asyncjobs.testing.JobServer`).

    Everything is forwarded faithfully until a fault is given. Each fault method returns the
    :class:`ProxyFault`; faults wait in the order given and each exchange (a request and its
    answer, see the module docstring) takes every waiting fault it matches. Common arguments:

    - ``count``: how many exchanges take the fault (default 1); None: every matching one
      until :meth:`clear`;
    - ``direction``: ``"down"`` (the answer, server to client; default) or ``"up"`` (the
      request, client to server);
    - ``on_request``: only exchanges whose request contains these bytes (a str is UTF-8), e.g.
      ``"GET /api/v1/jobs?ids="`` or ``"/events"``; the first 8 KiB of the request are kept;
    - ``after_bytes``: act this many bytes into the answer (or request), headers included;
    - ``in_event``: act inside the next SSE event instead: ``after_bytes`` after the next line
      that starts with ``data:`` (its prefix forwarded).

    Counters (read at any time): :attr:`connections_accepted`, :attr:`connections_refused`,
    :attr:`open_connections`, :attr:`bytes_up`, :attr:`bytes_down`, :attr:`faults_applied`
    and :attr:`applied` (by kind).

    Args:
        target_host: The server's host.
        target_port: The server's port.
        host: The interface to listen on.
        port: The port to listen on; 0 picks a free one.
        seed: Seeds the random choices of :meth:`chaos` (None: unseeded).

    Example::

        async with JobServer() as server, FaultProxy(server.host, server.port) as proxy:
            url = proxy.url_for(server.url)       # http://127.0.0.1:<proxy port>/api/v1
            proxy.stall(5.0, on_request="/events")

    Closing (``async with`` does it) stops listening, resets every open connection (both its
    sockets) and waits for every task of the proxy: nothing is left behind.
    """

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int | None = None,
    ) -> None:
        super().__init__(host, port)
        self.target_host = target_host
        self.target_port = target_port
        self._conns: set[_Conn] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._faults: list[ProxyFault] = []
        self._refuse_until = 0.0
        self._chaos: dict[str, float] | None = None
        self._chaos_on: bytes | None = None
        self._chaos_window = 4096
        self._chaos_stall = 1.0
        self._rng = random.Random(seed)
        self.connections_accepted = 0
        """Connections accepted so far (refused ones included)."""
        self.connections_refused = 0
        """Connections reset at once by :meth:`refuse`."""
        self.bytes_up = 0
        """Bytes forwarded from clients to the server."""
        self.bytes_down = 0
        """Bytes forwarded from the server to clients."""
        self.applied: Counter[str] = Counter()
        """How many times each kind of fault acted (random ones of :meth:`chaos` included)."""

    # -- lifecycle -----------------------------------------------------------------------------

    async def _listen(self) -> asyncio.Server:
        return await asyncio.start_server(self._accept, self._host, self._port)

    async def _shut_down(self) -> None:
        """Reset every open connection and wait for every task of the proxy."""
        for conn in list(self._conns):
            self._end(conn, reset=True)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- where -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://host:port`` of the proxy."""
        return self._origin()

    def url_for(self, url: str) -> str:
        """``url`` (the server's, e.g. ``server.url``) with the proxy's host and port: the
        same path through the proxy."""
        parts = urlsplit(url)
        return urlunsplit(parts._replace(netloc=urlsplit(self.url).netloc))

    # -- counters ------------------------------------------------------------------------------

    @property
    def open_connections(self) -> int:
        """Connections open now (each holds the client's socket and the server's)."""
        return len(self._conns)

    @property
    def faults_applied(self) -> int:
        """How many times a fault acted so far (random ones of :meth:`chaos` included)."""
        return sum(self.applied.values())

    # -- the engine ----------------------------------------------------------------------------
