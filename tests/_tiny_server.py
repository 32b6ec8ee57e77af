"""A tiny aiohttp app on loopback whose handlers are plain functions, for tests that stage a
real API's quirks (``Routes``) and count what reached it (``hits``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web


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
async def serve(routes: Routes) -> AsyncIterator[str]:
    runner = web.AppRunner(routes.app, handler_cancellation=True, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield f"http://127.0.0.1:{port}{routes.prefix}"
    finally:
        await runner.cleanup()
