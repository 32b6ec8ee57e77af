"""Following redirects by hand, so that credentials only ever go to the base URL's origin."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Final

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from asyncjobs._exceptions import ProtocolError

__all__ = ["MAX_REDIRECTS", "send_following_redirects"]

logger = logging.getLogger("asyncjobs")

MAX_REDIRECTS: Final = 10
_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})

HeadersFor = Callable[[Mapping[str, str], bool], CIMultiDict[str]]
"""Builds a request's headers from the call's own, with or without the credentials."""


async def send_following_redirects(
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    *,
    data: bytes | None,
    call_headers: Mapping[str, str],
    headers_for: HeadersFor,
    origin: URL,
    client_timeout: aiohttp.ClientTimeout,
) -> aiohttp.ClientResponse:
    """Send a request and follow its redirects (at most :data:`MAX_REDIRECTS`).

    Credentials go with the request only while it stays on ``origin``; a 303 (and a 301 or 302
    answering a POST) becomes a GET without a body, as browsers do.

    Returns:
        The first answer that is not a redirect (body unread).

    Raises:
        ProtocolError: too many redirects, or one to something other than an http(s) URL.
    """
    credentials = True
    headers = dict(call_headers)
    for _ in range(MAX_REDIRECTS + 1):
        response = await session.request(
            method,
            url,
            data=data,
            headers=headers_for(headers, credentials),
            allow_redirects=False,
            raise_for_status=False,
            timeout=client_timeout,
        )
        location = response.headers.get("Location")
        if response.status not in _REDIRECT_STATUSES or location is None:
            return response
        response.release()
        target = _redirect_target(url, location, method)
        if credentials and target.origin() != origin:
            credentials = False
            logger.debug("redirect to another origin: credentials are not sent there")
        status = response.status
        if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
            method, data = "GET", None
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        logger.debug("following %d redirect to %s", status, target.with_query(None))
        url = target
    raise ProtocolError(f"more than {MAX_REDIRECTS} redirects from {method} {url.path}")


def _redirect_target(url: URL, location: str, method: str) -> URL:
    try:
        encoded = location.isascii() and " " not in location
        target = url.join(URL(location, encoded=encoded))
    except ValueError:
        target = None
    if target is None or target.scheme not in ("http", "https") or not target.host:
        raise ProtocolError(
            f"refusing to follow a redirect from {method} {url.path} to {location!r}: "
            "expected an http(s) URL"
        )
    return target
