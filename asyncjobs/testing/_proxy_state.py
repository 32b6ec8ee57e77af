"""What :class:`~asyncjobs.testing.FaultProxy` keeps: the faults given to it
(:class:`ProxyFault`), and its connections with the position and armed faults of each of their
two directions (internal)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Literal

import attrs

__all__ = ["Direction", "FaultKind", "ProxyFault"]

Direction = Literal["down", "up"]
"""``"down"``: server to client (answers); ``"up"``: client to server (requests)."""

FaultKind = Literal["reset", "close", "stall", "corrupt", "drip", "replace"]


@attrs.define(eq=False)
class ProxyFault:
    """A fault given to a :class:`FaultProxy`; returned by its methods so a test can look at
    what it did.

    Attributes:
        kind: ``"reset"``, ``"close"``, ``"stall"``, ``"corrupt"``, ``"drip"`` or ``"replace"``.
        direction: Which bytes it acts on (see :data:`Direction`).
        remaining: How many more exchanges may take it; None: every matching one until
            :meth:`FaultProxy.clear`.
        on_request: Only exchanges whose request contains these bytes; None: any.
        after_bytes: Where it acts: this many bytes into the answer (or request); with
            ``in_event``, this many bytes after the next ``data:`` prefix.
        in_event: Act inside the next SSE event (after its ``data:`` prefix) rather than at a
            plain offset.
        taken: How many exchanges took it so far.
        applied: How many times it acted so far (an exchange that ended before the fault's
            position took it without it acting).
    """

    kind: FaultKind
    direction: Direction = "down"
    remaining: int | None = 1
    on_request: bytes | None = None
    after_bytes: int = 0
    in_event: bool = False
    seconds: float = 0.0
    value: int | None = None
    chunk: int = 1
    delay: float = 0.0
    old: bytes = b""
    new: bytes = b""
    taken: int = 0
    applied: int = 0


@attrs.define(eq=False)
class _Armed:
    """A fault taken by one direction of one exchange: where it acts, once known."""

    fault: ProxyFault
    trigger: int | None  # the position (bytes into the exchange's direction) where it acts
    taken_at: int  # the position when it was taken (an in-event trigger comes after)


@attrs.define(eq=False)
class _Side:
    """One direction of one connection: its writer, its position and what acts on it."""

    direction: Direction
    writer: asyncio.StreamWriter | None = None
    pos: int = 0  # bytes forwarded in the current exchange
    tail: bytes = b""  # the last bytes forwarded (finds a ``data:`` split across reads)
    exchange: int = -1  # the exchange the armed faults belong to
    armed: list[_Armed] = attrs.Factory(list)
    taken: set[int] = attrs.Factory(set)  # ids of the faults the current exchange took
    chaos_at: int | None = None  # where chaos draws next (None: no chaos on this answer)
    hold_until: float = 0.0  # stalled until this loop time
    drip: tuple[int, float] | None = None  # (chunk size, delay) once dripping


@attrs.define(eq=False)
class _Conn:
    """One proxied connection: the client's socket and the server's."""

    client_reader: asyncio.StreamReader
    client_writer: asyncio.StreamWriter
    up: _Side = attrs.Factory(lambda: _Side("up"))  # towards the server (its socket)
    down: _Side = attrs.Factory(lambda: _Side("down"))  # towards the client
    request: bytes = b""  # the request being answered (its first bytes)
    exchange: int = 0
    answered: bool = True  # the server has sent bytes since the client last did
    ended: bool = False

    def writers(self) -> Iterator[asyncio.StreamWriter]:
        yield self.client_writer
        if self.up.writer is not None:
            yield self.up.writer


def _as_bytes(value: bytes | str | None) -> bytes | None:
    return value.encode("utf-8") if isinstance(value, str) else value
