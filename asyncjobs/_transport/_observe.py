"""The request and response hooks around one attempt of a request (see :mod:`asyncjobs._hooks`)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import attrs
from yarl import URL

from asyncjobs._exceptions import ProtocolError, TransportError
from asyncjobs._hooks import HookRunner, RequestEvent, ResponseEvent

__all__ = ["observed"]

_R = TypeVar("_R")


async def observed(
    hooks: HookRunner,
    work: Awaitable[_R],
    status_of: Callable[[_R], int],
    *,
    method: str,
    path: str,
    route: str,
    url: URL,
    operation: str,
    attempt: int,
    long_lived: bool,
) -> _R:
    """Await one attempt of a request between its ``on_request`` and ``on_response`` hooks.

    The response hook gets the status (``status_of`` the result) or the TransportError or
    ProtocolError the attempt raised; an attempt cancelled by its caller fires none.
    """
    request = RequestEvent(
        method=method,
        path=path,
        route=route,
        url=str(url),
        operation=operation,
        attempt=attempt,
        long_lived=long_lived,
    )
    if hooks.request:
        hooks.emit(hooks.request, request)
    started_at = time.time()
    begun = time.monotonic()
    status: int | None = None
    error: Exception | None = None
    try:
        result = await work
        status = status_of(result)
    except (TransportError, ProtocolError) as exc:
        error = exc
        raise
    finally:
        if hooks.response and (status is not None or error is not None):
            # The response event repeats every field of the request event, then adds its own.
            response = ResponseEvent(
                **attrs.asdict(request, recurse=False),
                status=status,
                error=error,
                started_at=started_at,
                elapsed=time.monotonic() - begun,
            )
            hooks.emit(hooks.response, response)
    return result
