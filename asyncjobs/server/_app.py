"""The reference server's aiohttp application.

:func:`create_app` builds everything one server needs (store, service, runner, streams) and mounts
the native routes under ``/api/v1``. The parts are reachable through the app keys, so other route
modules (other APIs' shapes) can share the same store and service.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from aiohttp import web

from ._errors import MAX_BODY_SIZE_HINT, error_middleware
from ._hooks import ServerHooks
from ._native import TRANSPORTS, NativeRoutes
from ._runner import SimulatedRunner
from ._service import JobService
from ._sse import StreamHub
from ._store import JobStore
from .shapes import NATIVE_BASE_PATH, Shape, ShapedStore, get_shape

__all__ = [
    "API_PREFIX",
    "BASE_PATH",
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_WORKERS",
    "HOOKS",
    "SERVICE",
    "SHAPE",
    "STREAMS",
    "create_app",
]

API_PREFIX = NATIVE_BASE_PATH
"""Where the native routes are mounted."""

DEFAULT_MAX_BODY_SIZE = 1_048_576
"""Request bodies over this many bytes are answered with 413."""

DEFAULT_WORKERS = 1000
"""How many simulated jobs may run at once by default: enough for thousands of short test jobs."""

SERVICE = web.AppKey("asyncjobs.service", JobService)
"""The app's :class:`JobService` (its ``store`` and ``runner`` hang off it)."""

STREAMS = web.AppKey("asyncjobs.streams", StreamHub)
"""The app's :class:`StreamHub`."""

HOOKS = web.AppKey("asyncjobs.hooks", ServerHooks)
"""The app's :class:`ServerHooks`, when it was built with hooks."""

SHAPE = web.AppKey("asyncjobs.shape", Shape)
"""The app's API shape (its test hooks, e.g. ``set_status``), unless it serves ``native``."""

BASE_PATH = web.AppKey("asyncjobs.base_path", str)
"""The path of the base URL a client of the app is given (``/api/v1`` for ``native``)."""


def create_app(
    *,
    tokens: Iterable[str] | None = None,
    auto_run: bool = False,
    workers: int = DEFAULT_WORKERS,
    heartbeat: float = 15.0,
    retry_ms: int = 1000,
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    transports: Collection[str] = ("sse", "long-poll"),
    hooks: ServerHooks | None = None,
    profile: str | type[Shape] = "native",
    profile_options: Mapping[str, Any] | None = None,
) -> web.Application:
    """Build the reference job server as an aiohttp application.

    Args:
        tokens: Accepted bearer tokens, each one a caller that sees only its own jobs; None or
            empty: no authentication, one anonymous caller.
        auto_run: Run submitted jobs as simulations (see :mod:`asyncjobs.server`).
        workers: How many simulated jobs run at once (auto_run only).
        heartbeat: Seconds of silence after which an SSE stream sends ``: ping``.
        retry_ms: The ``retry:`` value sent at the start of each SSE stream.
        max_body_size: Request bodies over this many bytes are answered with 413.
        transports: The live-update transports offered (``"sse"``, ``"long-poll"``); the routes
            of the others answer 404.
        hooks: Record requests and inject faults (the test harness passes its own).
        profile: The API shape to serve: ``"native"``, a built-in profile's name
            (``"compileo"``, ``"job-management"``, ``"mammoth"``, ``"fiddler"``,
            ``"dataiku"``, ``"ray"``, ``"flower"``), or a :class:`~.shapes.Shape` subclass
            serving a custom API; each is mounted at its own base path (:data:`BASE_PATH`).
        profile_options: Options of that shape (see its module, e.g. compileo's
            ``rate_limit``, dataiku's ``project_key``).

    Raises:
        ValueError: an unknown profile or transport, or options the shape does not take.
        TypeError: ``profile`` is neither a name nor a Shape subclass.

    Returns:
        The application; run it with :class:`aiohttp.web.AppRunner` (``handler_cancellation=True``
        makes a stream whose client left end at once rather than at its next heartbeat).
    """
    shape_class = get_shape(profile)
    if shape_class is None:
        if profile_options:
            raise ValueError("profile_options: the 'native' profile takes no options")
        store = JobStore()
    else:
        unknown = set(transports) - TRANSPORTS
        if unknown:
            raise ValueError(
                f"transports: unknown {sorted(unknown)}; expected some of {sorted(TRANSPORTS)}"
            )
        options = shape_class.check_options(profile_options)
        store = ShapedStore(shape_class.id_factory(options))
    runner = SimulatedRunner(store, workers=workers) if auto_run else None
    service = JobService(store, tokens=tokens, runner=runner)
    streams = StreamHub(heartbeat=heartbeat, retry_ms=retry_ms)
    middlewares = [error_middleware]
    if hooks is not None:
        middlewares.insert(0, hooks.middleware)
    app = web.Application(client_max_size=max_body_size, middlewares=middlewares)
    app[SERVICE] = service
    app[STREAMS] = streams
    app[MAX_BODY_SIZE_HINT] = max_body_size
    if hooks is not None:
        app[HOOKS] = hooks
    if shape_class is None:
        NativeRoutes(service, streams, transports=transports).add_to(app, API_PREFIX)
        app[BASE_PATH] = API_PREFIX
    else:
        shape = shape_class(service, streams, transports=transports, options=options)
        shape.add_to(app)
        app[SHAPE] = shape
        app[BASE_PATH] = shape.base_path(shape.options)

    async def on_shutdown(app: web.Application) -> None:
        if runner is not None:
            await runner.close()
        streams.close_all()
        store.close()

    app.on_shutdown.append(on_shutdown)
    return app
