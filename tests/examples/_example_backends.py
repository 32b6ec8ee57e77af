"""The two example backends behind one switch, for the tests: ``serve(kind, jobs_url)``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

KINDS = ["aiohttp", "fastapi"]


@contextlib.asynccontextmanager
async def serve(kind: str, jobs_url: str) -> AsyncIterator[str]:
    """Run the ``kind`` backend (its example's ``running()``, its default heartbeat) on a free
    port; yields its URL."""
    if kind == "aiohttp":
        import web_backend

        async with web_backend.running(jobs_url) as url:
            yield url
    else:
        import fastapi_backend

        async with fastapi_backend.running(jobs_url) as url:
            yield url
