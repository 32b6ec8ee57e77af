"""Test hooks of the reference server: request recording, fault injection, connection counting.

:class:`ServerHooks` is what :class:`asyncjobs.testing.JobServer` exposes. Its middleware records
every request in arrival order and applies injected faults before anything else (authentication
included), so a fault looks like the network or a proxy failing, not like the API answering.
:class:`CountingProtocol` wraps each connection's aiohttp protocol to count TCP connections
exactly.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import attrs
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy, MultiDictProxy
from yarl import URL

from ._errors import error_response
from ._json import dumps

__all__ = ["CountingProtocol", "RecordedRequest", "ServerHooks"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One request as the server received it.

    Attributes:
        method: The HTTP method, upper case.
        path: The URL path as sent, e.g. ``/api/v1/jobs/abc/events`` (percent-decoded).
        query_string: The raw query string, still percent-encoded (``ids=a%2Cb,c``).
        headers: The request headers (case-insensitive).
    """

    method: str
    path: str
    query_string: str
    headers: CIMultiDictProxy[str]

    @property
    def query(self) -> MultiDictProxy[str]:
        """The query parameters, decoded."""
        return URL.build(query_string=self.query_string, encoded=True).query


def _match_path(pattern: str | None, path: str, base_path: str) -> bool:
    if pattern is None:
        return True
    if fnmatch.fnmatchcase(path, pattern):
        return True
    return pattern.startswith("/") and fnmatch.fnmatchcase(path, base_path + pattern)


@attrs.define(kw_only=True, eq=False)
class _Fault:
    kind: Literal["fail", "drop", "drop_after"]
    remaining: int
    method: str | None
    path: str | None
    status: int = 503
    headers: Mapping[str, str] | None = None
    body: Any = None

    def response(self) -> web.Response:
        headers = dict(self.headers or {})
        if self.status == 429 and not any(h.lower() == "retry-after" for h in headers):
            headers["Retry-After"] = "0"
        body = self.body
        if body is None:
            return error_response(
                self.status,
                "injected failure (JobServer.fail_next)",
                headers=headers,
            )
        if isinstance(body, bytes):
            return web.Response(status=self.status, body=body, headers=headers)
        if isinstance(body, str):
            return web.Response(status=self.status, text=body, headers=headers)
        headers.setdefault("Content-Type", "application/json")
        return web.Response(status=self.status, body=dumps(body), headers=headers)


class ServerHooks:
    """Recording, fault injection and connection counting for one server.

    Args:
        base_path: The API's base path; path patterns that start with ``/`` match relative to it
            too (``"/jobs"`` matches ``/api/v1/jobs``).
    """

    def __init__(self, *, base_path: str = "/api/v1") -> None:
        self.base_path = base_path.rstrip("/")
        self.requests: list[RecordedRequest] = []
        self.connections_opened = 0
        self._connections: set[CountingProtocol] = set()
        self._faults: list[_Fault] = []

    # -- requests ------------------------------------------------------------------------------

    def matching(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """The recorded requests with this method and path pattern (None: any)."""
        wanted = None if method is None else method.upper()
        return [
            request
            for request in self.requests
            if (wanted is None or request.method == wanted)
            and _match_path(path, request.path, self.base_path)
        ]

    # -- faults --------------------------------------------------------------------------------

    def add_fault(
        self, kind: Literal["fail", "drop", "drop_after"], count: int, **fields: Any
    ) -> None:
        """Queue a fault for the next ``count`` matching requests."""
        if count < 1:
            raise ValueError(f"count: expected at least 1, got {count}")
        method = fields.pop("method", None)
        self._faults.append(
            _Fault(
                kind=kind,
                remaining=count,
                method=None if method is None else method.upper(),
                **fields,
            )
        )

    def clear_faults(self) -> None:
        """Forget every fault not yet applied."""
        self._faults.clear()

    @property
    def pending_faults(self) -> int:
        """How many requests injected faults will still hit."""
        return sum(fault.remaining for fault in self._faults)

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._faults:
            if (fault.method is None or fault.method == method) and _match_path(
                fault.path, path, self.base_path
            ):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Record the request, then apply the first matching fault, if any."""
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query_string=request.rel_url.raw_query_string,
                headers=CIMultiDictProxy(CIMultiDict(request.headers)),
            )
        )
        fault = self._take_fault(request.method, request.path)
        if fault is None:
            return await handler(request)
        if fault.kind == "fail":
            return fault.response()
        if fault.kind == "drop":
            _drop(request)
            return web.Response(status=204)  # never sent: the connection is gone
        response = await handler(request)
        _drop(request)
        return response

    # -- connections ---------------------------------------------------------------------------

    @property
    def open_connections(self) -> int:
        """How many counted connections are open now."""
        return len(self._connections)

    def abort_connections(self) -> int:
        """Abort every counted connection still open (the last step of a shutdown).

        Returns:
            How many connections were aborted.
        """
        connections = list(self._connections)
        for connection in connections:
            connection.abort()
        return len(connections)

    def protocol_factory(
        self, factory: Callable[[], asyncio.Protocol]
    ) -> Callable[[], asyncio.Protocol]:
        """Wrap a server's protocol factory so that every connection is counted."""

        def make() -> asyncio.Protocol:
            return CountingProtocol(factory(), self)

        return make


def _drop(request: web.Request) -> None:
    transport = request.transport
    if transport is not None and not transport.is_closing():
        transport.close()


class CountingProtocol(asyncio.Protocol):
    """An asyncio protocol that forwards everything to aiohttp's and counts the connection."""

    __slots__ = ("_hooks", "_inner", "_transport")

    def __init__(self, inner: asyncio.Protocol, hooks: ServerHooks) -> None:
        self._inner = inner
        self._hooks = hooks
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._hooks.connections_opened += 1
        self._hooks._connections.add(self)
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._hooks._connections.discard(self)
        self._inner.connection_lost(exc)

    def abort(self) -> None:
        """Abort the connection (no-op once closed)."""
        transport = self._transport
        if transport is not None and isinstance(transport, asyncio.WriteTransport):
            transport.abort()

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()
