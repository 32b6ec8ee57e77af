"""The reference job server: the native protocol (DESIGN.md section 2) on aiohttp.web.

Build it with :func:`create_app` and run it with aiohttp's runners, or use
:class:`asyncjobs.testing.JobServer` (tests) or ``python -m asyncjobs serve`` (a shell).

With ``auto_run=True`` the server runs each submitted job as a simulation described by its
config: ``{"duration": 1.0, "steps": 5, "fail": false, "result": ..., "error": "..."}``; the job
advances ``steps`` times over ``duration`` seconds (progress, a ``"step i/n"`` message and a log
line each), then completes with ``result`` (default ``{"steps": n}``) or fails with ``error``.

The server never imports the client: it shares only the sans-I/O models and converter.
"""

from ._app import (
    API_PREFIX,
    DEFAULT_MAX_BODY_SIZE,
    DEFAULT_WORKERS,
    HOOKS,
    SERVICE,
    STREAMS,
    create_app,
)
from ._errors import ApiError, error_body
from ._hooks import RecordedRequest, ServerHooks
from ._runner import SimulatedRunner, Simulation
from ._service import JobService
from ._snapshot import EVERYONE, Snapshot, UnknownJobError
from ._sse import EventStream, StreamHub, encode_event
from ._store import JobStore

__all__ = [
    "API_PREFIX",
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_WORKERS",
    "EVERYONE",
    "HOOKS",
    "SERVICE",
    "STREAMS",
    "ApiError",
    "EventStream",
    "JobService",
    "JobStore",
    "RecordedRequest",
    "ServerHooks",
    "SimulatedRunner",
    "Simulation",
    "Snapshot",
    "StreamHub",
    "UnknownJobError",
    "create_app",
    "encode_event",
    "error_body",
]
