"""The fault-giving methods of :class:`~asyncjobs.testing.FaultProxy` (:meth:`reset`,
:meth:`truncate`, :meth:`stall`, :meth:`corrupt`, :meth:`replace`, :meth:`drip`, :meth:`refuse`,
:meth:`chaos`, :meth:`clear`, :meth:`reset_open`, :meth:`stall_open`): each checks its
arguments and hands the engine a fault, or acts on the open connections (internal)."""

from __future__ import annotations

import asyncio

from ._proxy_engine import ProxyEngine
from ._proxy_state import Direction, ProxyFault, _as_bytes

__all__ = ["FaultScripts"]


class FaultScripts(ProxyEngine):
    """The faults a test gives :class:`~asyncjobs.testing.FaultProxy` (its public face, which
    documents their common arguments)."""

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
