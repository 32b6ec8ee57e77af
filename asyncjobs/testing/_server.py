"""The reference job server on loopback as an async context manager: :class:`JobServer`.

Building the app, starting and stopping it, and where it listens are here; driving jobs is
:class:`~._jobs.JobDriving` and the network's test hooks are :class:`~._hooks.NetworkHooks`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from aiohttp import web

from asyncjobs.server import (
    DEFAULT_MAX_BODY_SIZE,
    DEFAULT_WORKERS,
    SERVICE,
    STREAMS,
    JobService,
    JobStore,
    ServerHooks,
    StreamHub,
    create_app,
)
from asyncjobs.server._app import SHAPE
from asyncjobs.server.shapes import Shape, base_path_for

from ._hooks import NetworkHooks
from ._jobs import JobDriving
from ._listening import Listening

__all__ = ["JobServer"]


class JobServer(Listening, JobDriving, NetworkHooks):
    """The reference job server on 127.0.0.1, as an async context manager.

    Args:
        tokens: Accepted bearer tokens; each token is a caller that sees only its own jobs.
            None: no authentication (one anonymous caller sees every job).
        auto_run: Run submitted jobs as simulations (config ``duration``, ``steps``, ``fail``,
            ``result``, ``error``). Jobs made with :meth:`create_job` are never run.
        heartbeat: Seconds of silence after which an SSE stream sends ``: ping``.
        host: The interface to listen on.
        port: The port; 0 picks a free one.
        max_body_size: Request bodies over this many bytes are answered with 413.
        transports: The live-update transports offered: ``"sse"``, ``"long-poll"``. The routes
            of a transport left out answer 404, so a client falls back.
        workers: How many simulated jobs may run at once (auto_run).
        retry_ms: The ``retry:`` value sent at the start of each SSE stream.
        profile: The API shape served: ``"native"``, a built-in profile's name
            (``"compileo"``, ``"job-management"``, ``"mammoth"``, ``"fiddler"``,
            ``"dataiku"``, ``"ray"``, ``"flower"``), or a :class:`Shape` subclass serving
            your own API (docs/custom-shapes.md); :attr:`url` is then that API's base URL
            and :attr:`shape` its test hooks. With ``tokens``, each API's own credential (an
            API key, a key and secret, HTTP basic's user name, a bearer token) must be one of
            them.
        profile_options: Options of the shape, e.g. ``{"rate_limit": (200, 60)}`` for
            ``compileo``, ``{"project_key": "SALES"}`` for ``dataiku``, or
            ``{"visibility_delay": 0}`` for ``flower``.
        shutdown_timeout: Seconds :meth:`close` waits for requests still being handled.

    Closing (``async with`` does it) ends every stream and long poll, stops every simulated
    job, closes every connection and waits for all of it.

    Raises:
        TypeError: ``tokens`` is a single string, or ``profile`` is neither a name nor a
            Shape subclass.
        ValueError: an unknown profile or transport, or a bad heartbeat.

    Example::

        async with JobServer(auto_run=True, heartbeat=0.5) as server:
            async with Client(server.url) as client:
                job = await client.submit_job("x", {"duration": 0.1})
    """

    def __init__(
        self,
        *,
        tokens: Iterable[str] | None = None,
        auto_run: bool = False,
        heartbeat: float = 15.0,
        host: str = "127.0.0.1",
        port: int = 0,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        transports: Collection[str] = ("sse", "long-poll"),
        workers: int = DEFAULT_WORKERS,
        retry_ms: int = 1000,
        profile: str | type[Shape] = "native",
        shutdown_timeout: float = 5.0,
        profile_options: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(tokens, str | bytes):
            raise TypeError(
                f"tokens must be an iterable of token strings or None, not a single "
                f"{type(tokens).__name__}: wrap one token in a list"
            )
        self._base_path = base_path_for(profile, profile_options)
        super().__init__(host, port)
        self._tokens = tuple(tokens) if tokens is not None else None
        self._shutdown_timeout = shutdown_timeout
        self._hooks = ServerHooks(base_path=self._base_path)
        self._app = create_app(
            tokens=self._tokens,
            auto_run=auto_run,
            workers=workers,
            heartbeat=heartbeat,
            retry_ms=retry_ms,
            max_body_size=max_body_size,
            transports=transports,
            hooks=self._hooks,
            profile=profile,
            profile_options=profile_options,
        )
        self._service: JobService = self._app[SERVICE]
        self._streams: StreamHub = self._app[STREAMS]
        self._runner: web.AppRunner | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    async def _listen(self) -> asyncio.Server:
        runner = web.AppRunner(
            self._app,
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=self._shutdown_timeout,
        )
        self._runner = runner
        await runner.setup()
        factory = runner.server
        assert factory is not None
        loop = asyncio.get_running_loop()
        return await loop.create_server(
            self._hooks.protocol_factory(factory), self._host, self._port
        )

    async def _shut_down(self) -> None:
        """End every stream and long poll, stop every simulated job, close every connection."""
        if self._runner is not None:
            await self._runner.cleanup()
        # Every connection is closed by now; one that is not (a client that never sent a
        # request) must not make shutdown hang.
        self._hooks.abort_connections()

    # -- where -------------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        """``http://host:port``, without the API path."""
        return self._origin()

    @property
    def url(self) -> str:
        """The base URL to give a client: ``http://127.0.0.1:<port>/api/v1`` (another
        profile's base path when serving one, e.g. ``/api/v2`` for ``mammoth``)."""
        return self.origin + self._base_path

    @property
    def shape(self) -> Shape | None:
        """The API shape served (test hooks such as ``set_status``); None for ``native``."""
        return self._app.get(SHAPE)

    @property
    def tokens(self) -> tuple[str, ...]:
        """The configured tokens (empty on an open server)."""
        return self._tokens or ()

    @property
    def app(self) -> web.Application:
        """The aiohttp application."""
        return self._app

    @property
    def service(self) -> JobService:
        """The job operations (shared by every route module of the server)."""
        return self._service

    @property
    def store(self) -> JobStore:
        """The job store (for advanced tests; prefer the methods below)."""
        return self._service.store
