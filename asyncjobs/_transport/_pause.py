"""The client-wide pause a server asks for with ``Retry-After`` on a 429 or 503.

One :class:`PauseGate` per client: every request and stream opening passes through it, so when
the server says "come back in N seconds" the whole client waits, not just the one request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from http import HTTPStatus

from asyncjobs._exceptions import APIError, RateLimitError, api_error_class

__all__ = ["PauseGate"]

logger = logging.getLogger("asyncjobs")


class PauseGate:
    """Holds traffic until a deadline; a later, shorter pause never shortens one already set."""

    __slots__ = ("_status", "_until")

    def __init__(self) -> None:
        self._until = 0.0
        self._status = 0

    def pause(self, seconds: float, *, status: int = 429) -> None:
        """Hold traffic for ``seconds`` from now (the answer's status is kept for errors)."""
        until = time.monotonic() + seconds
        if until > self._until:
            self._until = until
            self._status = status
            logger.debug("pausing all requests for %.2f s (%d with Retry-After)", seconds, status)

    def remaining(self) -> float:
        """Seconds left of the pause (0 when not paused)."""
        return max(0.0, self._until - time.monotonic())

    async def wait(self) -> None:
        """Wait until the pause (if any) is over, however long it is."""
        while True:  # the pause may be extended while we sleep
            left = self.remaining()
            if left <= 0:
                return
            await asyncio.sleep(left)

    async def wait_within(self, *, started: float, budget: float, method: str, path: str) -> None:
        """Wait out the pause, unless it would end past ``started + budget``: then raise at once.

        Raises:
            RateLimitError: the pause came from a 429 and outlasts the budget (``retry_after``
                is the time left).
            APIError: likewise for a pause that came from a 503 (a ServerError).
        """
        while (left := self.remaining()) > 0:
            if time.monotonic() - started + left > budget:
                raise self._too_long(left, budget, method, path)
            logger.debug("%s %s waits %.2f s for the server's pause", method, path, left)
            await asyncio.sleep(left)

    def _too_long(self, left: float, budget: float, method: str, path: str) -> APIError:
        status = self._status
        message = (
            f"{status} {HTTPStatus(status).phrase}: the server asked this client to pause for "
            f"{left:.1f} s more (Retry-After), longer than the retry budget of {budget:g} s "
            f"allows for {method} {path}"
        )
        if status == 429:
            return RateLimitError(message, retry_after=left, method=method)
        return api_error_class(status)(message, status=status, method=method)
