"""Running the reference server on a socket until told to stop (the ``serve`` command)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterable

from aiohttp import web

from ._app import API_PREFIX, DEFAULT_MAX_BODY_SIZE, create_app

__all__ = ["serve"]


async def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    tokens: Iterable[str] | None = None,
    auto_run: bool = True,
    workers: int = 8,
    heartbeat: float = 15.0,
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the native API on ``host:port`` until ``stop`` is set, SIGINT or SIGTERM.

    Args:
        host: The interface to listen on.
        port: The port (0: a free one).
        tokens: Accepted bearer tokens (None: open server).
        auto_run: Run submitted jobs as simulations.
        workers: How many simulated jobs run at once.
        heartbeat: SSE heartbeat interval in seconds.
        max_body_size: Request body limit in bytes.
        stop: Set it to stop the server.
        handle_signals: Stop on SIGINT and SIGTERM (where the loop supports signal handlers).
        on_ready: Called with the base URL (ending in ``/api/v1``) once the server listens.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    app = create_app(
        tokens=tokens,
        auto_run=auto_run,
        workers=workers,
        heartbeat=heartbeat,
        max_body_size=max_body_size,
    )
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=5.0)
    await runner.setup()
    installed: list[signal.Signals] = []
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        if handle_signals:
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(signum, stop.set)
                    installed.append(signum)
        if on_ready is not None:
            addresses = runner.addresses
            bound = addresses[0][1] if addresses else port
            shown = f"[{host}]" if ":" in host else host
            on_ready(f"http://{shown}:{bound}{API_PREFIX}")
        await stop.wait()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
        await runner.cleanup()
