"""The client's aiohttp session and its two connection budgets.

Ordinary requests and long-lived ones (event streams, long polls) draw on separate budgets of
``max_connections`` each, so that however many streams and long polls are open, a submit or a
read on the same client goes through at once. The owned session's connector has no limit of
its own: the budgets are the limits.
"""

from __future__ import annotations

import asyncio

import aiohttp

__all__ = ["Connections"]


class Connections:
    """The session (owned, created lazily in the running loop, or the caller's) and the budgets.

    Args:
        session: A caller-owned session (never closed here; its own connector limit applies
            too), or None to own one.
        max_connections: The size of each budget.
    """

    __slots__ = ("_closed", "_owns", "_session", "budget", "requests", "streams")

    def __init__(self, session: aiohttp.ClientSession | None, max_connections: int) -> None:
        self._session = session
        self._owns = session is None
        self._closed = False
        self.budget = max_connections
        """The size of each budget."""
        self.requests = asyncio.Semaphore(max_connections)
        """Held by each attempt of an ordinary request, from sending to the end of the body."""
        self.streams = asyncio.Semaphore(max_connections)
        """Held by each open event stream and each long poll."""

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` was called."""
        return self._closed

    @property
    def owns_session(self) -> bool:
        """True when the session is the client's own (and closed with it)."""
        return self._owns

    def session(self) -> aiohttp.ClientSession:
        """The session to send with.

        Raises:
            RuntimeError: the client is closed, or the caller's session is.
        """
        if self._closed:
            raise RuntimeError("Client is closed: create a new Client to make more requests")
        session = self._session
        if session is None:
            session = self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),
                timeout=aiohttp.ClientTimeout(total=None),
            )
            # aiohttp silently repeats a GET or DELETE once when the connection drops; the
            # RetryPolicy is the one authority on repeats (attempts=1 means one), and only it
            # knows when a repeated cancel's 409 or delete's 404 may mean success.
            if hasattr(session, "_retry_connection"):
                session._retry_connection = False
        elif session.closed:
            raise RuntimeError("the aiohttp session given to Client(session=...) is closed")
        return session

    def current(self) -> aiohttp.ClientSession | None:
        """The session if one exists yet (for tests and introspection), else None."""
        return self._session

    async def aclose(self) -> None:
        """Close the session if it is the client's own; later use raises RuntimeError."""
        if self._closed:
            return
        self._closed = True
        session, self._session = self._session, None
        if self._owns and session is not None:
            await session.close()
