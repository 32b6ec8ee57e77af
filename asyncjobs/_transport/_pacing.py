"""Pacing a busy event stream (see :class:`._stream.EventStream`'s ``coalesce``): its
connection is not read until its coalescing window ends, reading paused at the transport
meanwhile, so what arrives piles up in the socket and one wake-up decodes it all.
"""

from __future__ import annotations

import asyncio

import aiohttp

__all__ = ["hold_reading"]


async def hold_reading(response: aiohttp.ClientResponse | None, seconds: float) -> None:
    """Let a busy connection's data pile up, unread, for ``seconds`` (to its window's end)."""
    connection = None if response is None else response.connection
    transport = None if connection is None else connection.transport
    # Not where reading is off already: aiohttp pauses a transport itself when its buffer is
    # full (there is data to read then), and resuming it here would override that.
    if transport is None or transport.is_closing():
        return
    try:
        if not transport.is_reading():
            return
        transport.pause_reading()
    except (NotImplementedError, RuntimeError):  # a transport without flow control
        return
    try:
        await asyncio.sleep(seconds)
    finally:
        if not transport.is_closing():
            transport.resume_reading()
