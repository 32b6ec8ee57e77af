"""The forwarding engine of :class:`~asyncjobs.testing.FaultProxy`: its connections, the pumps
that copy bytes each way, and where armed faults act on them (internal)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections import Counter
from collections.abc import Coroutine
from typing import Any

from ._proxy_state import Direction, ProxyFault, _Armed, _Conn, _Side

__all__ = ["ProxyEngine"]

_READ_SIZE = 65_536
_REQUEST_KEPT = 8192  # bytes of a request kept for ``on_request`` matching
_DATA = b"\ndata:"  # the start of an SSE data line
_POLL = 0.02  # how often a stalled pump looks at whether the stall was lifted


class _Stop(Exception):
    """The connection was ended by a fault."""


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close the socket with a TCP RST (``SO_LINGER`` 0), not a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class ProxyEngine:
    """Accepting, forwarding and faulting connections; :class:`FaultProxy` is its public face
    and sets these attributes up."""

    target_host: str
    target_port: int
    _host: str
    _port: int
    _server: asyncio.Server | None
    _closed: bool
    _conns: set[_Conn]
    _tasks: set[asyncio.Task[None]]
    _faults: list[ProxyFault]
    _refuse_until: float
    _chaos: dict[str, float] | None
    _chaos_on: bytes | None
    _chaos_window: int
    _chaos_stall: float
    _rng: random.Random
    connections_accepted: int
    connections_refused: int
    bytes_up: int
    bytes_down: int
    applied: Counter[str]

    def _add(self, fault: ProxyFault) -> ProxyFault:
        if fault.remaining is not None and fault.remaining < 1:
            raise ValueError(f"count must be >= 1 or None, got {fault.remaining!r}")
        if fault.after_bytes < 0:
            raise ValueError(f"after_bytes must be >= 0, got {fault.after_bytes!r}")
        if fault.direction not in ("down", "up"):
            raise ValueError(f"direction must be 'down' or 'up', got {fault.direction!r}")
        self._faults.append(fault)
        return fault

    def _matching(self, pattern: bytes | None) -> list[_Conn]:
        return [
            conn
            for conn in self._conns
            if not conn.ended and (pattern is None or pattern in conn.request)
        ]

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections_accepted += 1
        if self._closed or asyncio.get_running_loop().time() < self._refuse_until:
            self.connections_refused += 1
            _reset(writer)
            return
        conn = _Conn(reader, writer)
        self._conns.add(conn)
        self._spawn(self._serve(conn))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _serve(self, conn: _Conn) -> None:
        pumps: list[asyncio.Task[None]] = []
        try:
            try:
                reader, writer = await asyncio.open_connection(self.target_host, self.target_port)
            except OSError:
                _reset(conn.client_writer)  # the server is down: the client sees a reset
                return
            conn.up.writer = writer
            conn.down.writer = conn.client_writer
            if conn.ended:  # closed while connecting
                _reset(writer)
                return
            pumps = [
                self._spawn(self._pump(conn, conn.client_reader, conn.up, "up")),
                self._spawn(self._pump(conn, reader, conn.down, "down")),
            ]
            await asyncio.wait(pumps)
        finally:
            for pump in pumps:
                pump.cancel()
            self._end(conn, reset=False)

    def _end(self, conn: _Conn, *, reset: bool) -> None:
        """Close both sockets of ``conn`` (with RSTs if ``reset``) and forget it."""
        conn.ended = True
        self._conns.discard(conn)
        for writer in conn.writers():
            if reset:
                _reset(writer)
            elif not writer.is_closing():
                writer.close()

    async def _pump(
        self, conn: _Conn, reader: asyncio.StreamReader, side: _Side, direction: Direction
    ) -> None:
        writer = side.writer
        assert writer is not None
        try:
            while True:
                data = await reader.read(_READ_SIZE)
                if not data:
                    if not writer.is_closing() and writer.can_write_eof():
                        writer.write_eof()
                    return
                if direction == "up":
                    if conn.answered:  # a new request: a new exchange
                        conn.answered = False
                        conn.exchange += 1
                        conn.request = b""
                    if len(conn.request) < _REQUEST_KEPT:
                        conn.request = (conn.request + data)[:_REQUEST_KEPT]
                else:
                    conn.answered = True
                if side.exchange != conn.exchange:
                    self._begin(conn, side, direction)
                if self._faults:
                    self._take(conn, side, direction)
                await self._forward(conn, side, direction, data)
        except _Stop:
            return
        except (ConnectionError, OSError):
            self._end(conn, reset=True)  # a broken side breaks the other one too

    def _begin(self, conn: _Conn, side: _Side, direction: Direction) -> None:
        """A new exchange starts moving bytes on ``side``; :meth:`chaos` draws its fault."""
        side.exchange = conn.exchange
        side.pos = 0
        side.tail = b""
        side.armed = []  # what the last exchange did not reach is spent
        side.taken = set()
        side.chaos_at = None
        if self._chaos is not None and direction == "down":
            pattern = self._chaos_on
            if pattern is None or pattern in conn.request:
                side.chaos_at = 0

    def _take(self, conn: _Conn, side: _Side, direction: Direction) -> None:
        """``side`` moves bytes: its exchange takes the waiting faults it matches (once each)."""
        for fault in list(self._faults):
            if fault.direction != direction or id(fault) in side.taken:
                continue
            if fault.on_request is not None and fault.on_request not in conn.request:
                continue
            side.taken.add(id(fault))
            self._arm(side, fault)
            fault.taken += 1
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)

    def _arm(self, side: _Side, fault: ProxyFault) -> None:
        trigger = None if fault.in_event else side.pos + fault.after_bytes
        side.armed.append(_Armed(fault, trigger, side.pos))

    def _draw(self, side: _Side, end: int) -> None:
        """:meth:`chaos` draws a fault for each window of the answer that starts before
        ``end``."""
        rates = self._chaos
        while side.chaos_at is not None and side.chaos_at < end:
            base = side.chaos_at
            side.chaos_at = base + self._chaos_window
            if rates is None:
                side.chaos_at = None
                return
            rng = self._rng
            roll = rng.random()
            offset = rng.randrange(self._chaos_window)
            for kind, rate in rates.items():
                if roll < rate:
                    fault = ProxyFault(kind, seconds=self._chaos_stall)  # type: ignore[arg-type]
                    fault.taken = 1
                    side.armed.append(_Armed(fault, base + offset, base))
                    break
                roll -= rate

    async def _forward(self, conn: _Conn, side: _Side, direction: Direction, data: bytes) -> None:
        for armed in side.armed:
            fault = armed.fault
            if fault.kind == "replace" and fault.value and fault.old in data:
                times = min(fault.value, data.count(fault.old))
                data = data.replace(fault.old, fault.new, times)
                fault.value -= times
                fault.applied += times
                self.applied["replace"] += times
        if side.chaos_at is not None:
            self._draw(side, side.pos + len(data))
        while True:
            self._find_events(side, data)
            first: _Armed | None = None
            cut = len(data)
            for armed in side.armed:
                trigger = armed.trigger
                if trigger is None or armed.fault.kind == "replace":
                    continue
                offset = max(0, trigger - side.pos)
                # A corrupted byte needs the byte; the others act at the end of a read too.
                if offset < cut or (
                    offset == cut and armed.fault.kind != "corrupt" and first is None
                ):
                    first, cut = armed, offset
            head, data = data[:cut], data[cut:]
            if head:
                await self._write(side, head)
            if first is None:
                return
            side.armed.remove(first)
            data = self._act(conn, side, first.fault, data)
            if not data:
                return

    def _find_events(self, side: _Side, data: bytes) -> None:
        """Place the triggers of in-event faults whose ``data:`` line starts in ``data``."""
        waiting = [a for a in side.armed if a.trigger is None]
        if not waiting:
            return
        # Before the exchange's first byte counts as a line start.
        tail = side.tail if side.pos else b"\n"
        buf = tail + data
        start = 0
        while waiting:
            index = buf.find(_DATA, start)
            if index < 0:
                return
            end = side.pos - len(tail) + index + len(_DATA)  # just after "data:"
            start = index + 1
            for armed in list(waiting):
                if end > armed.taken_at:
                    armed.trigger = end + armed.fault.after_bytes
                    waiting.remove(armed)

    def _act(self, conn: _Conn, side: _Side, fault: ProxyFault, rest: bytes) -> bytes:
        """Apply ``fault`` at the current position; returns the bytes still to forward."""
        fault.applied += 1
        self.applied[fault.kind] += 1
        kind = fault.kind
        if kind == "reset":
            self._end(conn, reset=True)
            raise _Stop
        if kind == "close":
            self._end(conn, reset=False)
            raise _Stop
        if kind == "stall":
            loop = asyncio.get_running_loop()
            side.hold_until = max(side.hold_until, loop.time() + fault.seconds)
        elif kind == "drip":
            side.drip = (fault.chunk, fault.delay)
        elif kind == "corrupt" and rest:
            old = rest[0]
            new = fault.value if fault.value is not None else old ^ 0x01
            rest = bytes([new]) + rest[1:]
        return rest

    async def _write(self, side: _Side, data: bytes) -> None:
        writer = side.writer
        assert writer is not None
        loop = asyncio.get_running_loop()
        # Polled, not an Event: the deadline moves (stall_open extends it, clear ends it).
        while side.hold_until > loop.time():  # noqa: ASYNC110
            await asyncio.sleep(min(_POLL, side.hold_until - loop.time()))
        drip = side.drip
        pieces = (
            [data]
            if drip is None
            else [data[i : i + drip[0]] for i in range(0, len(data), drip[0])]
        )
        for piece in pieces:
            if writer.is_closing():
                raise _Stop
            writer.write(piece)
            await writer.drain()
            side.pos += len(piece)
            side.tail = (side.tail + piece)[-len(_DATA) :]
            if side.direction == "down":
                self.bytes_down += len(piece)
            else:
                self.bytes_up += len(piece)
            if side.drip is not None:
                await asyncio.sleep(side.drip[1])
