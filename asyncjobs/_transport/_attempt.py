"""One attempt of an ordinary request, as :meth:`.HTTPClient.request` makes it (each retry is
another): sent within the client's timeout and request budget, redirects followed, the body
read, aiohttp's errors translated, and the request and response hooks told.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import aiohttp
from yarl import URL

from asyncjobs._exceptions import TransportError

from ._errors import FOREIGN_ERRORS, translate_error
from ._observe import observed
from ._response import Response

if TYPE_CHECKING:
    from ._http import HTTPClient

__all__ = ["send_attempt"]

logger = logging.getLogger("asyncjobs")


def _status(response: Response) -> int:
    return response.status


async def send_attempt(
    http: HTTPClient,
    method: str,
    url: URL,
    path: str,
    *,
    data: bytes | None,
    call_headers: Mapping[str, str],
    limit: float | None,
    slots: asyncio.Semaphore,
    operation: str,
    route: str,
    attempt: int,
    lasting: bool,
) -> Response:
    """One attempt of ``operation`` (its ``attempt``-th), the hooks told when they listen."""
    plain = _attempt_plain(
        http, method, url, path, data=data, call_headers=call_headers, limit=limit, slots=slots
    )
    hooks = http.hooks
    if hooks.request or hooks.response:
        return await observed(
            hooks,
            plain,
            _status,
            method=method,
            path=path,
            route=route,
            url=url,
            operation=operation,
            attempt=attempt,
            long_lived=lasting,
        )
    return await plain


async def _attempt_plain(
    http: HTTPClient,
    method: str,
    url: URL,
    path: str,
    *,
    data: bytes | None,
    call_headers: Mapping[str, str],
    limit: float | None,
    slots: asyncio.Semaphore,
) -> Response:
    session = http.connections.session()
    begun = time.monotonic()
    client_timeout = aiohttp.ClientTimeout(total=None, sock_connect=limit)
    try:
        async with asyncio.timeout(limit), slots:
            raw = await http.send(
                session,
                method,
                url,
                data=data,
                call_headers=call_headers,
                client_timeout=client_timeout,
            )
            async with raw:
                body = await raw.read()
    except FOREIGN_ERRORS as exc:
        logger.debug("%s %s failed: %r", method, path, exc)
        raise translate_error(exc, method=method, path=path) from exc
    except TimeoutError as exc:
        logger.debug("%s %s timed out after %s s", method, path, limit)
        raise TransportError(
            f"no complete answer to {method} {path} within {limit} s (the client's timeout)"
        ) from exc
    logger.debug(
        "%s %s -> %d (%.1f ms)", method, path, raw.status, (time.monotonic() - begun) * 1000
    )
    return Response(raw.status, raw.headers, body, method=method, path=path)
