"""Opening a streaming answer (an SSE stream) through the request pipeline: no retries, no
total timeout, the stream budget held while it is open, aiohttp's errors translated."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from asyncjobs._exceptions import TransportError
from asyncjobs._urls import build_url, fill_path

from ._errors import FOREIGN_ERRORS, translate_error
from ._http import HTTPClient, json_body
from ._observe import observed
from ._response import PAUSE_STATUSES, Response
from ._retry import parse_retry_after

__all__ = ["open_stream"]

logger = logging.getLogger("asyncjobs")


def _status(response: aiohttp.ClientResponse) -> int:
    return response.status


@asynccontextmanager
async def open_stream(
    http: HTTPClient,
    operation: str,
    *,
    path_params: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
    method: str | None = None,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """Open a streaming answer (an SSE stream) of ``operation``; no retries, no total timeout.

    The connection and the wait for the response headers are bounded by the client's
    timeout; reading the body is not (detecting a stalled stream is the caller's job).
    aiohttp errors raised while the caller reads the body inside the block come out as
    :class:`TransportError`. The connection is released on exit, cancellation included.

    Args:
        operation: A profile operation, e.g. ``"events"``.
        path_params: Values of the route's placeholders.
        params: Query parameters (an :class:`~._urls.Encoded` value is used verbatim).
        json: A JSON body, or None.
        headers: Extra headers (``Accept: text/event-stream`` unless given, and e.g.
            ``Last-Event-ID``).
        method: Overrides the route's method.

    Yields:
        The aiohttp response, status 2xx, body unread.

    Raises:
        UnsupportedOperationError: the profile has no such operation.
        APIError: a non-2xx answer, raised before yielding (so 404, 405, 406 and 501 can be
            taken as "not offered").
        TransportError: no answer, or the stream broke while being read.
        RuntimeError: the client is closed.
    """
    route = http.route(operation)
    verb = (method or route.method).upper()
    path = fill_path(route.path, path_params)
    url = build_url(http.base_url, path, params)
    call_headers = {"Accept": "text/event-stream", **(headers or {})}
    data = json_body(json, call_headers)
    await http.wait_if_paused()
    async with http.connections.streams:  # held while the stream is open
        session = http.connections.session()
        client_timeout = aiohttp.ClientTimeout(
            total=None, connect=None, sock_connect=http.timeout, sock_read=None
        )

        async def send() -> aiohttp.ClientResponse:
            try:
                async with asyncio.timeout(http.timeout):
                    return await http.send(
                        session,
                        verb,
                        url,
                        data=data,
                        call_headers=call_headers,
                        client_timeout=client_timeout,
                    )
            except FOREIGN_ERRORS as exc:
                raise translate_error(exc, method=verb, path=path) from exc
            except TimeoutError as exc:
                raise TransportError(
                    f"no answer to {verb} {path} within {http.timeout} s (the client's timeout)"
                ) from exc

        hooks = http.hooks
        if hooks.request or hooks.response:
            raw = await observed(
                hooks,
                send(),
                _status,
                method=verb,
                path=path,
                route=route.path,
                url=url,
                operation=operation,
                attempt=1,
                long_lived=True,
            )
        else:
            raw = await send()
        logger.debug("%s %s -> %d (stream)", verb, path, raw.status)
        try:
            if not 200 <= raw.status < 300:
                await _raise_for_stream(http, raw, operation, verb, path, path_params)
            try:
                yield raw
            except FOREIGN_ERRORS as exc:
                raise translate_error(exc, method=verb, path=path) from exc
        finally:
            if raw.content.at_eof():
                raw.release()
            else:
                raw.close()


async def _raise_for_stream(
    http: HTTPClient,
    raw: aiohttp.ClientResponse,
    operation: str,
    method: str,
    path: str,
    path_params: Mapping[str, str] | None,
) -> None:
    try:
        async with asyncio.timeout(http.timeout):
            body = await raw.read()
    except (*FOREIGN_ERRORS, TimeoutError):
        body = b""
    response = Response(
        raw.status, raw.headers, body, operation=operation, method=method, path=path
    )
    retry_after = parse_retry_after(raw.headers)
    if retry_after is not None and raw.status in PAUSE_STATUSES:
        http.pause(retry_after, status=raw.status)
    raise http.error_for(response, path_params=path_params, retry_after=retry_after)
