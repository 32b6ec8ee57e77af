"""What the loopback servers of the testing kit share: listening on ``host:port``.

:class:`Listening` is the base of :class:`~asyncjobs.testing.JobServer` and
:class:`~asyncjobs.testing.FaultProxy`: started once, closed idempotently, an async context
manager, and where it listens. A subclass says how it listens (:meth:`Listening._listen`) and
what it shuts down once it stops listening (:meth:`Listening._shut_down`).
"""

from __future__ import annotations

import asyncio
from typing import Self

__all__ = ["Listening"]


class Listening:
    """A server on ``host:port`` (port 0: a free one, known once started), as an async context
    manager."""

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._started = False
        self._server: asyncio.Server | None = None
        self._closed = False

    async def _listen(self) -> asyncio.Server:
        """Start listening on :attr:`host` and :attr:`port`."""
        raise NotImplementedError

    async def _shut_down(self) -> None:
        """What closing does once listening has stopped, before the listener is waited for."""

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening (``async with`` does it for you).

        Raises:
            RuntimeError: already started or closed.
        """
        if self._started or self._closed:
            raise RuntimeError(f"a {type(self).__name__} can be started only once")
        self._started = True
        self._server = await self._listen()
        self._port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening, end every connection and task of the server and wait for all of
        it. Idempotent."""
        if self._closed:
            return
        self._closed = True
        server = self._server
        if server is not None:
            server.close()
        await self._shut_down()
        if server is not None:
            await server.wait_closed()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- where -------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        """The interface listened on."""
        return self._host

    @property
    def port(self) -> int:
        """The port listened on (known once started)."""
        return self._port

    def _origin(self) -> str:
        """``http://host:port``.

        Raises:
            RuntimeError: not started yet.
        """
        if self._server is None:
            name = type(self).__name__
            raise RuntimeError(f"the {name} is not started yet: use 'async with {name}()'")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"
