"""The request pipeline: the one place asyncjobs talks HTTP.

:class:`HTTPClient` owns (or borrows) the aiohttp session and turns an *operation* of the
client's profile into a request: it builds the URL (each path parameter one encoded segment),
adds auth and default headers, bounds the request with the client's timeout, follows redirects
itself (credentials never go to another origin), retries what is safe to repeat per the
:class:`RetryPolicy`, honours a shared ``Retry-After`` pause, and maps every failure onto the
exception tree. aiohttp's exceptions are translated at this boundary, by
:func:`._response.translate_error`, and nowhere else.
"""

from __future__ import annotations

import asyncio
import enum
import json as _json
import logging
import time
from collections.abc import Collection, Mapping
from typing import Any, Final

import aiohttp
import attrs
from multidict import CIMultiDict
from yarl import URL

from asyncjobs._exceptions import APIError, TransportError, UnsupportedOperationError
from asyncjobs._hooks import HookRunner, Hooks, RetryEvent
from asyncjobs._urls import build_url, fill_path
from asyncjobs._version import __version__
from asyncjobs.profiles import Profile, Route

from ._attempt import send_attempt
from ._errors import nothing_sent, translate_error
from ._pause import PauseGate
from ._redirects import MAX_REDIRECTS, send_following_redirects
from ._response import PAUSE_STATUSES, Response, api_error, transient
from ._retry import RetryPolicy, parse_retry_after
from ._session import Connections

__all__ = ["MAX_REDIRECTS", "UNSET", "HTTPClient", "Response", "translate_error"]

logger = logging.getLogger("asyncjobs")


class _Unset(enum.Enum):
    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET
"""The default of ``timeout=`` in :meth:`HTTPClient.request`: the client's own timeout."""


def json_body(value: Any, headers: dict[str, str]) -> bytes | None:
    """``value`` as a compact UTF-8 JSON body (None for none), setting its Content-Type."""
    if value is None:
        return None
    headers.setdefault("Content-Type", "application/json")
    return _json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


class HTTPClient:
    """Requests and streams for one client: session, URLs, auth, timeouts, retries, errors.

    Args:
        base_url: The encoded base URL, without a trailing ``/``.
        profile: The API's profile.
        token: The credential sent as the profile says, or None.
        headers: Extra headers for every request (credentials included: they are never sent
            to another origin on a redirect).
        session: A caller-owned session (never closed here), or None to own one, created
            lazily inside the running loop.
        timeout: Seconds for one ordinary request, start to end; None for no limit.
        retry: The retry policy.
        max_connections: The size of each of the two connection budgets: ordinary requests,
            and long-lived ones (event streams, long polls).
        hooks: The user's event hooks, or None.
    """

    def __init__(
        self,
        base_url: str,
        *,
        profile: Profile,
        token: str | None,
        headers: Mapping[str, str] | None,
        session: aiohttp.ClientSession | None,
        timeout: float | None,
        retry: RetryPolicy,
        max_connections: int,
        hooks: Hooks | None = None,
    ) -> None:
        self.base_url = base_url
        self.hooks = HookRunner(hooks)
        """The user's hooks: every layer reaches them here."""
        self.profile = profile
        self.timeout = timeout
        self.retry = retry
        self.origin = URL(base_url).origin()
        """The base URL's origin: the only one credentials are sent to."""
        self.connections = Connections(session, max_connections)
        self._gate = PauseGate()
        # Sent everywhere: identification and the profile's fixed headers.
        self._plain_headers: CIMultiDict[str] = CIMultiDict(
            {"User-Agent": f"asyncjobs/{__version__}"}
        )
        self._plain_headers.update(profile.headers)
        # Sent to the base URL's origin only.
        self._credentials: CIMultiDict[str] = CIMultiDict(headers or {})
        if token is not None:
            self._credentials.update(profile.auth_headers(token))

    def __repr__(self) -> str:
        return f"HTTPClient(base_url={self.base_url!r}, profile={self.profile.name!r})"

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` was called."""
        return self.connections.closed

    @property
    def owns_session(self) -> bool:
        """True when the session is the client's own (and closed with it)."""
        return self.connections.owns_session

    async def aclose(self) -> None:
        """Close the session if the client owns it; later requests raise RuntimeError."""
        await self.connections.aclose()

    # -- the shared pause ----------------------------------------------------------------

    def pause(self, seconds: float, *, status: int = 429) -> None:
        """Hold every request and stream opening of this client for ``seconds`` from now.

        Called when a 429 or 503 carries ``Retry-After``; a later, shorter pause never
        shortens one already set.
        """
        self._gate.pause(seconds, status=status)

    def paused_for(self) -> float:
        """Seconds left of the current pause (0 when not paused)."""
        return self._gate.remaining()

    async def wait_if_paused(self) -> None:
        """Wait until the server's ``Retry-After`` pause (if any) is over."""
        await self._gate.wait()

    # -- building requests ---------------------------------------------------------------

    def route(self, operation: str) -> Route:
        """The profile's route of ``operation``.

        Raises:
            UnsupportedOperationError: the profile has no such operation.
        """
        route = self.profile.routes.get(operation)
        if route is None:
            raise UnsupportedOperationError(self.profile.name, operation)
        return route

    def headers(self, call: Mapping[str, str] | None, credentials: bool) -> CIMultiDict[str]:
        """The headers of a request: the fixed ones, the credentials (to the base URL's origin
        only), then the call's own."""
        headers = CIMultiDict(self._plain_headers)
        if credentials:
            headers.update(self._credentials)
        if call:
            for name, value in call.items():
                if credentials or name not in self._credentials:
                    headers[name] = value
        return headers

    async def send(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        *,
        data: bytes | None,
        call_headers: Mapping[str, str],
        client_timeout: aiohttp.ClientTimeout,
    ) -> aiohttp.ClientResponse:
        """Send one request through ``session`` with this client's :meth:`headers`, following
        its redirects; credentials go only to :attr:`origin` (see
        :func:`._redirects.send_following_redirects`). No timeout, retry or error translation:
        the callers add theirs."""
        return await send_following_redirects(
            session,
            method,
            url,
            data=data,
            call_headers=call_headers,
            headers_for=self.headers,
            origin=self.origin,
            client_timeout=client_timeout,
        )

    def url_for(
        self,
        operation: str,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> URL:
        """The full URL of ``operation`` (for logging or for callers that need it).

        Raises:
            UnsupportedOperationError: the profile has no such operation.
        """
        route = self.route(operation)
        return build_url(self.base_url, fill_path(route.path, path_params), params)

    # -- requests ------------------------------------------------------------------------

    async def request(
        self,
        operation: str,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | _Unset | None = UNSET,  # noqa: ASYNC109
        idempotent: bool | None = None,
        tolerate_after_retry: Collection[int] = (),
        lasting: bool = False,
    ) -> Response:
        """Perform ``operation`` and return its complete 2xx answer.

        Args:
            operation: A profile operation, e.g. ``"get"``.
            path_params: Values of the route's placeholders (each one encoded path segment).
            params: Query parameters (an :class:`~._urls.Encoded` value is used verbatim).
            json: A JSON body, or None for none.
            headers: Extra headers for this request.
            timeout: Seconds for one attempt, start to end (default: the client's timeout;
                None: no limit). A long poll passes its poll timeout plus a margin.
            idempotent: Whether the request may be repeated; None: as the route says.
            tolerate_after_retry: Error statuses returned (not raised) when an earlier attempt
                may have reached the server (its connection broke after sending): the 409 of a
                repeated cancel or the 404 of a repeated delete may mean the first one worked,
                which the caller then checks.
            lasting: The server holds the request (a long poll): it draws on the budget of
                long-lived connections, not on that of ordinary requests.

        Returns:
            The answer, body read: 2xx, or a status of ``tolerate_after_retry`` after an
            uncertain attempt (``Response.attempts > 1``).

        Raises:
            UnsupportedOperationError: the profile has no such operation.
            APIError: a non-2xx answer (the subclass for its status), after retries.
            TransportError: no answer (refused, reset, timed out), after retries.
            ProtocolError: a broken answer or redirect.
            RuntimeError: the client is closed.
        """
        route = self.route(operation)
        method = route.method
        path = fill_path(route.path, path_params)
        url = build_url(self.base_url, path, params)
        call_headers = dict(headers or {})
        data = json_body(json, call_headers)
        safe = route.safe if idempotent is None else idempotent
        limit = self.timeout if isinstance(timeout, _Unset) else timeout
        policy = self.retry
        slots = self.connections.streams if lasting else self.connections.requests
        started = time.monotonic()
        attempt = 0
        uncertain = False  # an earlier attempt may have been handled by the server
        while True:
            attempt += 1
            await self._gate.wait_within(
                started=started, budget=policy.max_total, method=method, path=path
            )
            try:
                response = await send_attempt(
                    self,
                    method,
                    url,
                    path,
                    data=data,
                    call_headers=call_headers,
                    limit=limit,
                    slots=slots,
                    operation=operation,
                    route=route.path,
                    attempt=attempt,
                    lasting=lasting,
                )
            except TransportError as exc:
                retryable = policy.retry_connection_errors and (safe or nothing_sent(exc.__cause__))
                if retryable and attempt < policy.attempts:
                    delay = policy.backoff(attempt)
                    if time.monotonic() - started + delay <= policy.max_total:
                        logger.debug(
                            "retrying %s %s in %.2f s after %s (attempt %d of %d)",
                            method,
                            path,
                            delay,
                            exc,
                            attempt + 1,
                            policy.attempts,
                        )
                        self._retrying(operation, method, path, attempt, delay, str(exc), error=exc)
                        uncertain = uncertain or not nothing_sent(exc.__cause__)
                        await asyncio.sleep(delay)
                        continue
                if retryable and policy.attempts > 1:
                    self._give_up(method, path, attempt, started, str(exc))
                raise
            response = attrs.evolve(response, operation=operation, attempts=attempt)
            status = response.status
            if 200 <= status < 300 or (uncertain and status in tolerate_after_retry):
                return response
            retry_after = parse_retry_after(response.headers)
            if retry_after is not None and status in PAUSE_STATUSES:
                self.pause(retry_after, status=status)
            retryable = safe and policy.retries_status(status) and transient(response, self.profile)
            if retryable and attempt < policy.attempts:
                delay = retry_after if retry_after is not None else policy.backoff(attempt)
                if time.monotonic() - started + delay <= policy.max_total:
                    logger.debug(
                        "retrying %s %s in %.2f s after %d (attempt %d of %d)",
                        method,
                        path,
                        delay,
                        status,
                        attempt + 1,
                        policy.attempts,
                    )
                    self._retrying(operation, method, path, attempt, delay, str(status), status)
                    await asyncio.sleep(delay)
                    continue
            if retryable and policy.attempts > 1:
                self._give_up(method, path, attempt, started, str(status))
            raise self.error_for(response, path_params=path_params, retry_after=retry_after)

    def _retrying(
        self,
        operation: str,
        method: str,
        path: str,
        attempt: int,
        delay: float,
        reason: str,
        status: int | None = None,
        *,
        error: Exception | None = None,
    ) -> None:
        hooks = self.hooks
        if hooks.retry:
            event = RetryEvent(
                method=method,
                path=path,
                operation=operation,
                attempt=attempt,
                attempts=self.retry.attempts,
                delay=delay,
                reason=reason,
                status=status,
                error=error,
            )
            hooks.emit(hooks.retry, event)

    def _give_up(self, method: str, path: str, attempt: int, started: float, reason: str) -> None:
        logger.info(
            "giving up on %s %s after %d attempt%s in %.1f s: %s",
            method,
            path,
            attempt,
            "" if attempt == 1 else "s",
            time.monotonic() - started,
            reason,
        )

    def error_for(
        self,
        response: Response,
        *,
        path_params: Mapping[str, str] | None = None,
        retry_after: float | None = None,
    ) -> APIError:
        """The :class:`APIError` subclass instance describing a non-2xx ``response``."""
        return api_error(
            response,
            profile=self.profile,
            base_url=self.base_url,
            path_params=path_params,
            retry_after=retry_after,
        )
