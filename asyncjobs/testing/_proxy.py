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
from ._proxy_engine import (
    Direction,
    FaultKind,
    ProxyEngine,
    ProxyFault,
    _as_bytes,
    _Conn,
)


class FaultProxy(Listening, ProxyEngine):
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

    # -- faults --------------------------------------------------------------------------------

    def reset(
        self,
        *,
        after_bytes: int = 0,
        in_event: bool = False,
        count: int | None = 1,
        direction: Direction = "down",
        on_request: bytes | str | None = None,
    ) -> ProxyFault:
        """Reset the connection (a TCP RST to both the client and the server) at the fault's
        position, the bytes before it forwarded.

        The client sees ``ECONNRESET`` (aiohttp: ``ClientOSError`` or a payload error); with
        ``after_bytes=0`` on an answer, the server has handled the request but the client got
        nothing. Arguments: see the class docstring.
        """
        return self._add(
            ProxyFault("reset", direction, count, _as_bytes(on_request), after_bytes, in_event)
        )

    def truncate(
        self,
        *,
        after_bytes: int = 0,
        in_event: bool = False,
        count: int | None = 1,
        direction: Direction = "down",
        on_request: bytes | str | None = None,
    ) -> ProxyFault:
        """Close the connection cleanly (a FIN to both sides) at the fault's position, the
        bytes before it forwarded: an answer truncated, as if the server had closed.

        Arguments: see the class docstring.
        """
        return self._add(
            ProxyFault("close", direction, count, _as_bytes(on_request), after_bytes, in_event)
        )

    def stall(
        self,
        seconds: float,
        *,
        after_bytes: int = 0,
        in_event: bool = False,
        count: int | None = 1,
        direction: Direction = "down",
        on_request: bytes | str | None = None,
    ) -> ProxyFault:
        """Stop forwarding for ``seconds`` at the fault's position, the connection left open;
        then forward what queued up meanwhile (nothing is lost) and carry on.

        While stalled the proxy reads nothing more from that side, so the sender's writes
        back up as on a real stalled network. :meth:`clear` ends a stall early.
        Arguments: see the class docstring.
        """
        return self._add(
            ProxyFault(
                "stall", direction, count, _as_bytes(on_request), after_bytes, in_event, seconds
            )
        )

    def corrupt(
        self,
        *,
        after_bytes: int = 0,
        in_event: bool = False,
        value: int | None = None,
        count: int | None = 1,
        direction: Direction = "down",
        on_request: bytes | str | None = None,
    ) -> ProxyFault:
        """Change one byte: the one at the fault's position (``in_event=True``: by default the
        first byte after the next ``data:`` prefix, which breaks that event's data).

        Args:
            value: The byte's new value (0..255); None: the old value with its lowest bit
                flipped (``{`` becomes ``z``, ``1`` becomes ``0``).

        Other arguments: see the class docstring.
        """
        if value is not None and not 0 <= value <= 255:
            raise ValueError(f"value must be a byte (0..255), got {value!r}")
        return self._add(
            ProxyFault(
                "corrupt",
                direction,
                count,
                _as_bytes(on_request),
                after_bytes,
                in_event,
                value=value,
            )
        )

    def replace(
        self,
        old: bytes | str,
        new: bytes | str,
        *,
        times: int = 1,
        count: int | None = 1,
        direction: Direction = "down",
        on_request: bytes | str | None = None,
    ) -> ProxyFault:
        """Replace ``old`` with ``new`` (up to ``times`` occurrences per exchange) in the
        answer (or request): a wrong answer, e.g. another job's id, or an odd ``Content-Type``.

        Keep ``new`` as long as ``old`` unless a length change is the fault: the proxy does not
        fix ``Content-Length`` or chunk sizes. Matching is within one read of the proxy (on
        loopback an answer's head, or a small body, arrives in one read).
        Other arguments: see the class docstring.
        """
        old_b, new_b = _as_bytes(old), _as_bytes(new)
        assert old_b is not None and new_b is not None
        if not old_b:
            raise ValueError("old must not be empty")
        fault = ProxyFault("replace", direction, count, _as_bytes(on_request), old=old_b, new=new_b)
        fault.value = times
        return self._add(fault)

    def drip(
        self,
        *,
        chunk: int = 1,
        delay: float = 0.01,
        after_bytes: int = 0,
        in_event: bool = False,
        count: int | None = 1,
        direction: Direction = "down",
        on_request: bytes | str | None = None,
    ) -> ProxyFault:
        """From the fault's position on, forward ``chunk`` bytes at a time with ``delay``
        seconds after each, for the rest of the connection (or until :meth:`clear`).

        Arguments: see the class docstring.
        """
        if chunk < 1 or delay < 0:
            raise ValueError(f"chunk must be >= 1 and delay >= 0, got {chunk!r}, {delay!r}")
        return self._add(
            ProxyFault(
                "drip",
                direction,
                count,
                _as_bytes(on_request),
                after_bytes,
                in_event,
                chunk=chunk,
                delay=delay,
            )
        )

    def refuse(self, seconds: float) -> None:
        """Refuse new connections for ``seconds``: each is accepted and reset at once (a TCP
        RST before any byte), so a client sees ``ECONNRESET`` on its first read or write.

        The listener stays open (the port stays the proxy's, and no other process can take
        it); connections already open carry on. :meth:`clear` ends the refusal early.
        """
        loop = asyncio.get_running_loop()
        self._refuse_until = max(self._refuse_until, loop.time() + seconds)

    def chaos(
        self,
        *,
        reset_rate: float = 0.0,
        truncate_rate: float = 0.0,
        stall_rate: float = 0.0,
        corrupt_rate: float = 0.0,
        stall_seconds: float = 1.0,
        window: int = 4096,
        on_request: bytes | str | None = None,
        seed: int | None = None,
    ) -> None:
        """Random faults from now on: each answer (an exchange's server-to-client bytes) that
        starts after this call draws at most one fault per ``window`` bytes it carries: a
        reset with probability ``reset_rate``, a truncation (clean close) with
        ``truncate_rate``, a stall of ``stall_seconds`` with ``stall_rate``, a corrupted byte
        with ``corrupt_rate``, at a uniformly random offset in that window (an answer that
        ends first escapes it). A long SSE stream thus meets a fault every so many bytes.

        Args:
            on_request: Only answers to requests containing these bytes.
            seed: Reseeds the proxy's random generator, so that the same seed draws the same
                sequence of faults for the same sequence of answers (timing may still reorder
                concurrent answers).

        Raises:
            ValueError: a rate outside 0..1, or rates summing over 1.

        Calling it again replaces the rates; :meth:`clear` stops it.
        """
        rates = {
            "reset": reset_rate,
            "close": truncate_rate,
            "stall": stall_rate,
            "corrupt": corrupt_rate,
        }
        if any(not 0.0 <= rate <= 1.0 for rate in rates.values()) or sum(rates.values()) > 1.0:
            raise ValueError(f"rates must be within 0..1 and sum to at most 1, got {rates}")
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window!r}")
        if seed is not None:
            self._rng.seed(seed)
        self._chaos = rates
        self._chaos_on = _as_bytes(on_request)
        self._chaos_window = window
        self._chaos_stall = stall_seconds

    def clear(self) -> None:
        """Forward faithfully from now on: forget the faults not yet taken (and the ones that
        wait for their position), stop :meth:`chaos` and :meth:`refuse`, and end the stalls
        and drips in progress."""
        self._faults.clear()
        self._chaos = None
        self._refuse_until = 0.0
        for conn in self._conns:
            for side in (conn.up, conn.down):
                side.armed.clear()
                side.hold_until = 0.0
                side.drip = None

    def reset_open(self, *, on_request: bytes | str | None = None) -> int:
        """Reset every open connection now (whose current request contains ``on_request``,
        e.g. ``"/events"`` for every open SSE stream).

        Returns:
            How many were reset.
        """
        conns = self._matching(_as_bytes(on_request))
        for conn in conns:
            self._end(conn, reset=True)
        self.applied["reset"] += len(conns)
        return len(conns)

    def stall_open(self, seconds: float, *, on_request: bytes | str | None = None) -> int:
        """Stall every open connection now (whose current request contains ``on_request``):
        nothing more is forwarded to its client for ``seconds``, the connection left open.

        Returns:
            How many were stalled.
        """
        conns = self._matching(_as_bytes(on_request))
        until = asyncio.get_running_loop().time() + seconds
        for conn in conns:
            conn.down.hold_until = max(conn.down.hold_until, until)
        self.applied["stall"] += len(conns)
        return len(conns)

    # -- the engine ----------------------------------------------------------------------------
