"""aiohttp's exceptions, translated onto the asyncjobs tree: the one place the client names them.

:data:`FOREIGN_ERRORS` is what every ``except`` around aiohttp catches, and
:func:`translate_error` what it raises instead. Besides ``aiohttp.ClientError`` it covers
``aiohttp.http_exceptions.HttpProcessingError``, which aiohttp's pure-Python parser (PyPy,
``AIOHTTP_NO_EXTENSIONS=1``) raises for broken framing and which is no ``ClientError``.
"""

from __future__ import annotations

from typing import Final

import aiohttp
from aiohttp import http_exceptions

from asyncjobs._exceptions import AsyncJobsError, ProtocolError, TransportError

__all__ = ["FOREIGN_ERRORS", "nothing_sent", "translate_error"]

FOREIGN_ERRORS: Final = (aiohttp.ClientError, http_exceptions.HttpProcessingError)
"""Every exception aiohttp raises for a request or a response body (catch these, translate)."""


def translate_error(exc: BaseException, *, method: str, path: str) -> AsyncJobsError:
    """Map an aiohttp exception (or a timeout) onto the asyncjobs tree.

    A failure to get a usable answer (refused, reset, timed out, cut off) is a
    :class:`TransportError`; an answer that breaks HTTP or the rules is a
    :class:`ProtocolError`, except broken payload framing, which is a cut-off answer (a
    connection broken mid-body looks the same) and so a :class:`TransportError`, resumable.
    Raise the result ``from exc``.
    """
    where = f"{method} {path}"
    if isinstance(exc, aiohttp.ClientSSLError):
        return TransportError(f"TLS failed connecting for {where}: {exc}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or str(exc.os_error) or type(exc.os_error).__name__
        return TransportError(f"cannot connect to {exc.host}:{exc.port} for {where}: {reason}")
    if isinstance(exc, aiohttp.ServerTimeoutError | TimeoutError):
        return TransportError(f"timed out waiting for the server during {where}: {exc}")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return TransportError(f"the server closed the connection during {where}")
    if isinstance(exc, aiohttp.ClientPayloadError | http_exceptions.PayloadEncodingError):
        return TransportError(f"the answer to {where} was cut off: {exc}")
    if isinstance(exc, aiohttp.ClientConnectionError):
        return TransportError(f"the connection failed during {where}: {exc!r}")
    if isinstance(
        exc,
        aiohttp.ClientResponseError
        | aiohttp.InvalidURL
        | aiohttp.RedirectClientError
        | aiohttp.NonHttpUrlClientError
        | http_exceptions.HttpProcessingError,
    ):
        return ProtocolError(f"invalid answer to {where}: {exc}")
    return TransportError(f"{where} failed: {exc!r}")


def nothing_sent(exc: BaseException | None) -> bool:
    """Whether a failure happened before the request could reach the server."""
    return isinstance(exc, aiohttp.ClientConnectorError) and not isinstance(
        exc, aiohttp.ClientSSLError
    )
