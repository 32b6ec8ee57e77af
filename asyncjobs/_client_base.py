"""How a :class:`~asyncjobs.Client` is built, opened and closed: its options checked, its
request pipeline (:mod:`._transport`), job operations (:class:`~._api.JobAPI`) and hub
(:class:`~.live.Hub`). The operations themselves are in :mod:`._client`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import TracebackType
from typing import Self

import aiohttp

from ._api import JobAPI
from ._hooks import Hooks
from ._transport import DEFAULT_RETRY, HTTPClient, RetryPolicy
from ._validation import check_base_url, check_header_value, check_headers, check_int, check_timeout
from .live import Hub
from .profiles import Profile, get_profile

__all__ = ["ClientBase"]


class ClientBase:
    """What every :class:`Client` is made of: its options, its request pipeline, its job
    operations and its hub, and how it opens and closes. The operations are :class:`Client`'s."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        session: aiohttp.ClientSession | None = None,
        profile: str | Profile = "native",
        timeout: float | None = 30.0,
        retry: RetryPolicy | None = None,
        max_connections: int = 100,
        hooks: Hooks | None = None,
    ) -> None:
        url = check_base_url(base_url)
        if token is not None:
            check_header_value("token", token)
            if not token:
                raise ValueError("token must be a non-empty string or None")
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise TypeError(
                f"session must be an aiohttp.ClientSession, got {type(session).__name__}"
            )
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError(f"retry must be a RetryPolicy or None, got {type(retry).__name__}")
        if hooks is not None and not isinstance(hooks, Hooks):
            raise TypeError(f"hooks must be a Hooks or None, got {type(hooks).__name__}")
        self._profile: Profile = get_profile(profile)
        self._http = HTTPClient(
            url,
            profile=self._profile,
            token=token,
            headers=check_headers(headers),
            session=session,
            timeout=check_timeout(timeout),
            retry=DEFAULT_RETRY if retry is None else retry,
            max_connections=check_int("max_connections", max_connections, 1, None),
            hooks=hooks,
        )
        self._api = JobAPI(self._http, self._profile)
        self._hub = Hub(self._api)
        self._closing: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, profile={self._profile.name!r})"

    @property
    def base_url(self) -> str:
        """The base URL requests are made under (no trailing slash)."""
        return self._http.base_url

    @property
    def profile(self) -> Profile:
        """The profile of the API this client talks to."""
        return self._profile

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._http.closed

    async def __aenter__(self) -> Self:
        if self._http.closed:
            raise RuntimeError("Client is closed: create a new Client")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """End shared subscriptions and close the session if the client owns it.

        Idempotent, and safe to call concurrently; the closing itself runs to the end even if
        the caller is cancelled. A caller-owned session stays open. Hook calls still running
        get 1 s to end, then are cancelled.
        """
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close())
        elif self._closing.done():
            return
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        try:
            await self._hub.aclose()
        finally:
            try:
                await self._http.aclose()
            finally:
                await self._http.hooks.aclose()
