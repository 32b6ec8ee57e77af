"""Tiny purpose-built aiohttp.web apps for client tests that the JobServer cannot stage
(redirects to another host, a slow answer, an echo of the raw path, a real API's quirks), and
``Routes``: such an app whose handlers are plain functions, counting what reached it."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web


@asynccontextmanager
async def serve(app: web.Application, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Run ``app`` on ``host`` and a free port; yield its origin ``http://host:port``."""
    runner = web.AppRunner(app, handle_signals=False, handler_cancellation=True, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


class Routes:
    """An app under ``prefix`` whose handlers are plain functions of the request."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.app = web.Application()
        self.hits: list[str] = []
        self.open_streams = 0

    def add(self, method: str, path: str, handler: Callable[..., Any]) -> None:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            self.hits.append(f"{method} {path}")
            result: web.StreamResponse = await handler(request)
            return result

        self.app.router.add_route(method, self.prefix + path, wrapped)

    def count(self, hit: str) -> int:
        return self.hits.count(hit)


@asynccontextmanager
async def serve_routes(routes: Routes) -> AsyncIterator[str]:
    """Run ``routes``' app; yield its base URL (the origin and the routes' prefix)."""
    async with serve(routes.app) as origin:
        yield origin + routes.prefix


def unused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def job_json(job_id: str, status: str = "pending") -> dict[str, object]:
    """A minimal native job object."""
    return {"id": job_id, "status": status, "version": 1}
