"""Test your code against a real job server on loopback instead of mocks.

:class:`JobServer` runs the reference server (:mod:`asyncjobs.server`) on 127.0.0.1 and a free
port, like :class:`aiohttp.test_utils.TestServer`, and lets a test drive job states and the
network directly::

    from asyncjobs.testing import JobServer

    async with JobServer() as server:
        job = server.create_job(name="export")
        ...                                   # point your code at server.url
        server.update_job(job.id, status="running", progress=40, message="step 2")
        server.update_job(job.id, status="completed", result={"rows": 10})

Changes made with :meth:`~JobServer.create_job` and :meth:`~JobServer.update_job` reach SSE
streams and long polls at once, exactly like changes made through the API.

Test hooks (all synchronous, usable between awaits of the test):

- what arrived: :attr:`~JobServer.requests`, :meth:`~JobServer.request_count`;
- connections: :attr:`~JobServer.connections_opened`, :attr:`~JobServer.open_connections`,
  :attr:`~JobServer.open_streams`;
- faults: :meth:`~JobServer.fail_next` (answer with an error status instead),
  :meth:`~JobServer.drop_next` (close the connection without an answer, optionally after
  handling the request), :meth:`~JobServer.cut_streams` and :meth:`~JobServer.cut_streams_after`
  (close SSE connections mid-stream), :meth:`~JobServer.stall_streams` /
  :meth:`~JobServer.resume_streams` (streams go silent without closing),
  :meth:`~JobServer.set_heartbeat`;
- waiting: :meth:`~JobServer.wait_until` polls a condition (e.g. "one stream is open").
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from aiohttp import web

from ._models import Job, JobStatus
from .server._app import (
    DEFAULT_MAX_BODY_SIZE,
    DEFAULT_WORKERS,
    SERVICE,
    SHAPE,
    STREAMS,
    create_app,
)
from .server._hooks import RecordedRequest, ServerHooks
from .server._service import JobService
from .server._snapshot import UnknownJobError
from .server._sse import StreamHub
from .server._store import JobStore
from .server.shapes import Shape, base_path_for

__all__ = ["JobServer", "RecordedRequest", "UnknownJobError"]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


_UNSET: Final = _Unset()


def _status(value: JobStatus | str) -> JobStatus:
    if isinstance(value, JobStatus):
        status = value
    else:
        try:
            status = JobStatus(value)
        except ValueError:
            status = JobStatus.UNKNOWN
    if status is JobStatus.UNKNOWN:
        words = ", ".join(s.value for s in JobStatus if s is not JobStatus.UNKNOWN)
        raise ValueError(f"status: expected one of {words}, got {value!r}")
    return status


def _check_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate job fields given to create_job/update_job; turn status words into JobStatus."""
    if "status" in fields:
        fields["status"] = _status(fields["status"])
    progress = fields.get("progress")
    if progress is not None and (
        isinstance(progress, bool)
        or not isinstance(progress, int | float)
        or not math.isfinite(progress)
        or not 0 <= progress <= 100
    ):
        raise ValueError(f"progress: expected a number 0..100 or None, got {progress!r}")
    priority = fields.get("priority")
    if "priority" in fields and (
        isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 4
    ):
        raise ValueError(f"priority: expected an integer 1..4, got {priority!r}")
    for name in ("name", "message", "error"):
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name}: expected a string or None, got {value!r}")
    if "config" in fields:
        config = fields["config"]
        if config is None:
            fields["config"] = {}
        elif not isinstance(config, Mapping):
            raise ValueError(f"config: expected a mapping, got {config!r}")
        else:
            fields["config"] = dict(config)
    for name in ("created_at", "started_at", "completed_at"):
        value = fields.get(name)
        if value is not None and not (isinstance(value, datetime) and value.tzinfo is not None):
            raise ValueError(f"{name}: expected a timezone-aware datetime or None, got {value!r}")
    return fields


class JobServer:
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
        profile: The API shape served: ``"native"`` or a built-in profile's name
            (``"compileo"``, ``"job-management"``, ``"mammoth"``, ``"fiddler"``,
            ``"dataiku"``); :attr:`url` is then that API's base URL and :attr:`shape` its
            test hooks. With ``tokens``, each API's own credential (an API key, a key and
            secret, HTTP basic's user name, a bearer token) must be one of them.
        profile_options: Options of the shape, e.g. ``{"rate_limit": (200, 60)}`` for
            ``compileo`` or ``{"project_key": "SALES"}`` for ``dataiku``.
        shutdown_timeout: Seconds :meth:`close` waits for requests still being handled.

    Raises:
        TypeError: ``tokens`` is a single string.
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
        profile: str = "native",
        shutdown_timeout: float = 5.0,
        profile_options: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(tokens, str | bytes):
            raise TypeError(
                f"tokens must be an iterable of token strings or None, not a single "
                f"{type(tokens).__name__}: wrap one token in a list"
            )
        self._base_path = base_path_for(profile, profile_options)
        self._tokens = tuple(tokens) if tokens is not None else None
        self._host = host
        self._port = port
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
        self._server: asyncio.Server | None = None
        self._closed = False

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening (``async with`` does it for you).

        Raises:
            RuntimeError: already started or closed.
        """
        if self._runner is not None or self._closed:
            raise RuntimeError("a JobServer can be started only once")
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
        self._server = await loop.create_server(
            self._hooks.protocol_factory(factory), self._host, self._port
        )
        self._port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop the server: end every stream and long poll, stop every simulated job, close
        every connection, and wait for all of it. Idempotent."""
        if self._closed:
            return
        self._closed = True
        server, runner = self._server, self._runner
        if server is not None:
            server.close()
        if runner is not None:
            await runner.cleanup()
        # Every connection is closed by now; one that is not (a client that never sent a
        # request) must not make shutdown hang.
        self._hooks.abort_connections()
        if server is not None:
            await server.wait_closed()

    async def __aenter__(self) -> JobServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- where -------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        """The interface the server listens on."""
        return self._host

    @property
    def port(self) -> int:
        """The port the server listens on (known once started)."""
        return self._port

    @property
    def origin(self) -> str:
        """``http://host:port``, without the API path."""
        if self._server is None:
            raise RuntimeError("the JobServer is not started yet: use 'async with JobServer()'")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

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

    # -- jobs ----------------------------------------------------------------------------------

    def create_job(
        self,
        name: str | None = None,
        *,
        token: str | _Unset | None = _UNSET,
        id: str | None = None,
        status: JobStatus | str = JobStatus.PENDING,
        progress: float | None = None,
        message: str | None = None,
        result: Any = None,
        error: str | None = None,
        priority: int = 2,
        config: Mapping[str, Any] | None = None,
        created_at: datetime | None = None,
        started_at: datetime | None = None,
        completed_at: datetime | None = None,
        log: Iterable[str] = (),
    ) -> Job:
        """Store a job directly, as if submitted (never run, even with ``auto_run``).

        Args:
            name: The job's name.
            token: The owning caller; defaults to the first configured token (None on an open
                server).
            id: The job's id; a fresh opaque one when None.
            status: A :class:`JobStatus` or its word; a running job gets ``started_at``, a
                terminal one ``completed_at`` (now) unless given.
            progress, message, result, error, priority, config: The job's fields.
            created_at, started_at, completed_at: Timezone-aware datetimes, else "now"/unset.
            log: The job's first log lines.

        Returns:
            The job as stored (with its version).

        Raises:
            ValueError: a field is out of range, or the id is taken.
        """
        owner = (self._tokens[0] if self._tokens else None) if isinstance(token, _Unset) else token
        fields: dict[str, Any] = {
            "name": name,
            "status": status,
            "progress": progress,
            "message": message,
            "result": result,
            "error": error,
            "priority": priority,
            "config": config,
        }
        for key, value in (
            ("created_at", created_at),
            ("started_at", started_at),
            ("completed_at", completed_at),
        ):
            if value is not None:
                fields[key] = value
        _check_fields(fields)
        snapshot = self.store.create(owner=owner, job_id=id, **fields)
        for line in log:
            self.store.append_log(snapshot.job_id, line)
        return snapshot.job

    def update_job(
        self,
        job_id: str,
        *,
        name: str | _Unset | None = _UNSET,
        status: JobStatus | str | _Unset = _UNSET,
        progress: float | _Unset | None = _UNSET,
        message: str | _Unset | None = _UNSET,
        result: Any = _UNSET,
        error: str | _Unset | None = _UNSET,
        priority: int | _Unset = _UNSET,
        config: Mapping[str, Any] | _Unset | None = _UNSET,
        started_at: datetime | _Unset | None = _UNSET,
        completed_at: datetime | _Unset | None = _UNSET,
        log: str | None = None,
    ) -> Job:
        """Change a job; the change takes the next version and reaches streams and long polls.

        Only the fields given change. Setting ``status`` to running sets ``started_at`` (when
        unset), a terminal status sets ``completed_at``, and a terminal status also stops the
        job's simulation on an ``auto_run`` server. No state rules apply: any status may follow
        any other.

        Args:
            job_id: The job.
            log: Also append this line to the job's log.

        Returns:
            The job's new version.

        Raises:
            UnknownJobError: no such job (a :class:`KeyError`).
            ValueError: a field is out of range.
        """
        changes = {
            key: value
            for key, value in (
                ("name", name),
                ("status", status),
                ("progress", progress),
                ("message", message),
                ("result", result),
                ("error", error),
                ("priority", priority),
                ("config", config),
                ("started_at", started_at),
                ("completed_at", completed_at),
            )
            if not isinstance(value, _Unset)
        }
        _check_fields(changes)
        if job_id not in self.store:
            raise UnknownJobError(job_id)
        if log is not None:
            self.store.append_log(job_id, log)
        return self._service.force_update(job_id, **changes).job

    def get_job(self, job_id: str) -> Job:
        """The job as stored now.

        Raises:
            UnknownJobError: no such job (a :class:`KeyError`).
        """
        return self.store[job_id].job

    def delete_job(self, job_id: str) -> None:
        """Delete a job whatever its state; streams following it stop waiting for it.

        Raises:
            UnknownJobError: no such job (a :class:`KeyError`).
        """
        self._service.force_delete(job_id)

    @property
    def jobs(self) -> list[Job]:
        """Every job, oldest first."""
        return [snapshot.job for snapshot in self.store.snapshots()]

    def get_log(self, job_id: str) -> list[str]:
        """The job's log lines.

        Raises:
            UnknownJobError: no such job (a :class:`KeyError`).
        """
        return self.store.log(job_id)

    # -- requests and connections ---------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in arrival order (faulted ones included)."""
        return self._hooks.requests

    def request_count(self, method: str | None = None, path: str | None = None) -> int:
        """How many requests arrived with this method and path.

        Args:
            method: e.g. ``"GET"`` (any case); None: any method.
            path: A path relative to :attr:`url` (``"/jobs"``) or absolute (``"/api/v1/jobs"``),
                with shell-style wildcards (``"/jobs/*/events"``); None: any path.
        """
        return len(self._hooks.matching(method, path))

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        self._hooks.requests.clear()

    @property
    def connections_opened(self) -> int:
        """How many TCP connections the server has accepted so far."""
        return self._hooks.connections_opened

    @property
    def open_connections(self) -> int:
        """How many TCP connections are open now."""
        return self._hooks.open_connections

    @property
    def open_streams(self) -> int:
        """How many SSE responses are streaming now."""
        return self._streams.open_streams

    @property
    def streams_opened(self) -> int:
        """How many SSE streams were opened so far."""
        return self._streams.streams_opened

    @property
    def events_sent(self) -> int:
        """How many job events the SSE streams have written so far (pings not counted)."""
        return self._streams.events_sent

    @property
    def open_polls(self) -> int:
        """How many long polls are waiting now."""
        return self.store.waiter_count

    # -- faults --------------------------------------------------------------------------------

    def fail_next(
        self,
        count: int = 1,
        status: int = 503,
        *,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status`` instead of handling them.

        Faults apply before authentication, in the order they were added; a request takes the
        first matching one.

        Args:
            count: How many requests.
            status: The status to answer with (e.g. 503, 429, 500).
            headers: Extra headers, e.g. ``{"Retry-After": "1"}``. A 429 without Retry-After
                gets ``Retry-After: 0``.
            body: The body: bytes or str as is, anything else as JSON; None: the native error
                body.
            method: Only requests with this method (None: any).
            path: Only requests with this path (see :meth:`request_count`).
        """
        self._hooks.add_fault(
            "fail", count, status=status, headers=headers, body=body, method=method, path=path
        )

    def drop_next(
        self,
        count: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        after_handling: bool = False,
    ) -> None:
        """Close the connection of the next ``count`` matching requests without an answer.

        Args:
            count: How many requests.
            method: Only requests with this method (None: any).
            path: Only requests with this path (see :meth:`request_count`).
            after_handling: Handle the request first (a submit creates its job), then drop the
                connection instead of answering: how a test proves a retried submit creates one
                job.

        Note:
            aiohttp's client repeats an idempotent request (GET, HEAD, OPTIONS, PUT, DELETE...)
            once by itself when the server disconnects, before any retry policy of yours sees
            an error: to make such a request fail, drop it twice (``count=2``).
        """
        self._hooks.add_fault(
            "drop_after" if after_handling else "drop", count, method=method, path=path
        )

    def clear_faults(self) -> None:
        """Forget every injected fault not yet applied."""
        self._hooks.clear_faults()

    def cut_streams(self) -> int:
        """Close every open SSE stream's connection mid-stream, with no terminal event.

        Returns:
            How many streams were cut.
        """
        return self._streams.cut_all()

    def cut_streams_after(self, n_events: int) -> None:
        """Cut every open SSE stream once ``n_events`` more job events have been written.

        Events are counted across all streams; a burst is written exactly up to the limit.
        One shot: call again for another cut. ``0`` cuts now.
        """
        self._streams.cut_after(n_events)

    def stall_streams(self) -> None:
        """Make every SSE stream (open or opened later) silent: no events and no pings, but the
        connection stays open. Changes queue up until :meth:`resume_streams`."""
        self._streams.stall()

    def resume_streams(self) -> None:
        """End :meth:`stall_streams`: streams send what queued up, then carry on."""
        self._streams.resume()

    @property
    def heartbeat(self) -> float:
        """The SSE heartbeat interval in seconds."""
        return self._streams.heartbeat

    def set_heartbeat(self, seconds: float) -> None:
        """Change the SSE heartbeat interval, for open streams too."""
        self._streams.set_heartbeat(seconds)

    # -- waiting -------------------------------------------------------------------------------

    async def wait_until(
        self,
        condition: Callable[[], bool],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the condition
        interval: float = 0.005,
    ) -> None:
        """Wait until ``condition()`` is true, e.g. ``lambda: server.open_streams == 1``.

        Raises:
            TimeoutError: it is still false after ``timeout`` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if loop.time() >= deadline:
                raise TimeoutError(f"condition still false after {timeout} s")
            await asyncio.sleep(interval)
