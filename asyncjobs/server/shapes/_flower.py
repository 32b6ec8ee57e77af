"""The flower shape: Celery through Flower's REST API (ENGINES.md), on the shared store.

Mounted at the server's root (a client's base URL is ``http://host:port``)::

    POST /api/task/async-apply/{name}  {"args": [...], "kwargs": {...}}
                                       -> {"task-id": uuid, "state": "PENDING"}
                                       (404 for a name not registered; 500, empty, for
                                       arguments that do not fit the task)
    POST /api/task/send-task/{name}    the same, unchecked: a bad call fails at the worker,
                                       an unregistered name stays PENDING
    GET  /api/task/info/{id}           Flower's task view; 404 "Unknown task 'id'"
    GET  /api/task/result/{id}         the result backend: {"task-id", "state"} (+ "result",
                                       JSON data, once ready; + "traceback" on FAILURE);
                                       an unknown id is PENDING; ?timeout=T waits (500 when
                                       still not ready)
    GET  /api/tasks                    {id: task view}; limit, offset, sort_by (-: descending;
                                       name, state, received, started), state, taskname,
                                       workername ("All" = no filter)
    GET  /api/task/types               {"task-types": [names seen]}
    POST /api/task/revoke/{id}         ?terminate=true&signal=SIGTERM -> {"message":
                                       "Revoked 'id'"}, even for an unknown id
    GET  /api/queues/length            {"active_queues": [{"name": "celery", "messages": N}]}
    GET  /api/workers                  {"celery@asyncjobs": {...}}

States: ``PENDING`` (sent), ``RECEIVED``, ``STARTED``, ``SUCCESS``, ``FAILURE``, ``REVOKED``
(and ``RETRY``, set with :meth:`Shape.set_status`). The task view has ``uuid, name, state,
sent, received, started, succeeded, failed, revoked`` (epoch seconds), ``args``, ``kwargs``
and ``result`` as Python repr strings, ``exception`` (``"ValueError('boom')"``),
``traceback``, ``worker``, ``runtime``, ``retries`` and Celery's other fields. A revoke of a
pending or received task revokes it; of a running one only with ``terminate``; a running
task revoked without it runs on.

What each task does is in :mod:`._flower_tasks`: ``tasks.add(x, y)`` returns ``x + y``,
``tasks.sleep(seconds, result=None)`` runs ``seconds`` then returns ``result``,
``tasks.fail(message="boom", seconds=0)`` runs ``seconds`` then raises
``ValueError(message)``. On an ``auto_run`` server a task is PENDING when sent, RECEIVED
``receive_delay`` seconds later, and STARTED ``start_delay`` seconds after that.

Options:

- ``tasks``: the registered task names (default ``tasks.add``, ``tasks.sleep``,
  ``tasks.fail``); other registered names take any arguments and return None at once.
- ``visibility_delay`` (default 0.015 s): for this long after its submit a task is unknown
  to ``info`` and ``/api/tasks`` (Flower learns of tasks from events); 0 turns it off. It is
  also the shape's attribute, changeable while the server runs.
- ``receive_delay``, ``start_delay`` (default 0.005 s each): the steps described above.
- ``basic_auth``: the accepted credentials: ``("user", "password")`` (the default), a
  ``"user:password"`` string, a list of them, or None for an open API (as with Flower's
  ``FLOWER_UNAUTHENTICATED_API``). Without valid credentials every ``/api/*`` route answers
  401 with an empty body. The server's ``tokens``, when given, are accepted too
  (``"user:password"`` whole, or a bare token as the user name).

Errors are Flower's: the message as the body (``text/html``, tornado's default), or an empty
body (401, and 500 for a call that breaks inside Celery). Every caller sees every task.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import uuid
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from aiohttp import web

from asyncjobs._models import JobStatus
from asyncjobs.server._errors import ApiError
from asyncjobs.server._json import dumps
from asyncjobs.server._snapshot import Owner, Snapshot

from ._base import CELERY_WORDS
from ._flower_arguments import bool_argument, paging, task_args
from ._flower_tasks import BUILT_IN_TASKS, check_call, list_tasks, plan_of
from ._flower_view import FlowerView, TaskMeta, check_delay, credentials_option

__all__ = ["FlowerShape"]

_JSON = "application/json"
_HTML = "text/html"
_NOT_FOUND = "<html><title>404: Not Found</title><body>404: Not Found</body></html>"


class FlowerShape(FlowerView):
    """Flower's REST routes on the shared store (see the module docstring).

    Attributes:
        visibility_delay: Seconds a task stays unknown to ``info`` and ``/api/tasks`` after
            its submit (a test may change it while the server runs).
    """

    name: ClassVar[str] = "flower"
    words: ClassVar[Mapping[JobStatus, str]] = CELERY_WORDS
    extra_words: ClassVar[Mapping[str, JobStatus]] = {
        "RECEIVED": JobStatus.PENDING,
        "RETRY": JobStatus.RUNNING,
    }
    OPTIONS: ClassVar[frozenset[str]] = frozenset(
        {"tasks", "visibility_delay", "receive_delay", "start_delay", "basic_auth"}
    )

    LIVE_TRANSPORTS: ClassVar[frozenset[str] | None] = frozenset()
    """No live-update transport: clients of this API poll."""

    def setup(self) -> None:
        """The checked options as attributes; no task seen yet."""
        self._meta: dict[str, TaskMeta] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self.visibility_delay: float = self.options["visibility_delay"]
        self.registered: frozenset[str] = self.options["tasks"]
        self._credentials: frozenset[str] | None = self.options["basic_auth"]

    @classmethod
    def check_options(cls, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Also check the task names, delays and credentials."""
        checked = super().check_options(options)
        names = checked.setdefault("tasks", tuple(BUILT_IN_TASKS))
        if isinstance(names, str) or not all(isinstance(name, str) and name for name in names):
            raise ValueError(f"tasks: expected a collection of task names, got {names!r}")
        checked["tasks"] = frozenset(names)
        check_delay(checked, "visibility_delay", 0.015)
        check_delay(checked, "receive_delay", 0.005)
        check_delay(checked, "start_delay", 0.005)
        checked["basic_auth"] = credentials_option(checked.get("basic_auth", ("user", "password")))
        return checked

    @classmethod
    def base_path(cls, options: Mapping[str, Any]) -> str:
        """The root: a client's base URL is ``http://host:port``."""
        return ""

    def add_to(self, app: web.Application) -> None:
        """Register the routes (tornado's 404 page for every other path)."""
        router = app.router
        for kind in ("async-apply", "send-task"):
            router.add_post(f"/api/task/{kind}/{{name}}", self.handle(self.submit))
        router.add_get("/api/task/info/{task_id}", self.handle(self.info), allow_head=False)
        router.add_get("/api/task/result/{task_id}", self.handle(self.result), allow_head=False)
        router.add_post("/api/task/revoke/{task_id}", self.handle(self.revoke))
        router.add_get("/api/tasks", self.handle(self.tasks), allow_head=False)
        router.add_get("/api/task/types", self.handle(self.types), allow_head=False)
        router.add_get("/api/queues/length", self.handle(self.queues), allow_head=False)
        router.add_get("/api/workers", self.handle(self.workers), allow_head=False)
        self.add_catch_all(app, "")
        app.on_shutdown.append(self._stop_timers)

    async def _stop_timers(self, app: web.Application) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    # -- the store's Subscriber ---------------------------------------------------------------

    def job_deleted(self, job_id: str) -> None:
        """Forget the task's Flower-side facts and timers."""
        super().job_deleted(job_id)
        self._meta.pop(job_id, None)
        timer = self._timers.pop(job_id, None)
        if timer is not None:
            timer.cancel()

    # -- the API's ways ----------------------------------------------------------------------

    async def _no_route(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=404, text=_NOT_FOUND, content_type=_HTML)

    def error_response(self, exc: ApiError) -> web.Response:
        """The message as the body, as Flower's API handlers write it (may be empty)."""
        return web.Response(
            status=exc.status, text=exc.details, content_type=_HTML, headers=exc.headers
        )

    def authenticate(self, request: web.Request) -> Owner:
        """HTTP basic against ``basic_auth`` (and the server's tokens).

        Raises:
            ApiError: 401 with an empty body, as Flower's API answers it.
        """
        credentials = self._credentials
        tokens = self.service.tokens
        if credentials is None and not tokens:
            return None
        scheme, _, encoded = request.headers.get("Authorization", "").strip().partition(" ")
        try:
            given = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            given = ""
        if scheme == "Basic" and ":" in given:
            if any(hmac.compare_digest(given, known) for known in credentials or ()):
                return None
            if given in tokens or given.partition(":")[0] in tokens:
                return None
        raise ApiError(401, "")

    def _visible(self, snapshot: Snapshot | None) -> Snapshot | None:
        """The task unless Flower has not heard of it yet (the visibility delay)."""
        if snapshot is None:
            return None
        meta = self._meta.get(snapshot.job_id)
        if meta is not None and self.visibility_delay > 0:
            age = asyncio.get_running_loop().time() - meta.sent_clock
            if age < self.visibility_delay:
                return None
        return snapshot

    @staticmethod
    def _json(data: Any) -> web.Response:
        return web.Response(body=dumps(data), content_type=_JSON)

    # -- the simulated worker ----------------------------------------------------------------

    def _later(self, job_id: str, delay: float, step: Callable[[str], None]) -> None:
        loop = asyncio.get_running_loop()
        self._timers[job_id] = loop.call_later(delay, self._run_step, job_id, step)

    def _run_step(self, job_id: str, step: Callable[[str], None]) -> None:
        self._timers.pop(job_id, None)
        snapshot = self.store.get(job_id)
        if snapshot is not None and snapshot.job.status is JobStatus.PENDING:
            step(job_id)

    def _receive(self, job_id: str) -> None:
        meta = self._meta.get(job_id)
        if meta is not None:
            meta.received = self.store.now().timestamp()
        self.set_status(job_id, "RECEIVED")
        self._later(job_id, self.options["start_delay"], self._start)

    def _start(self, job_id: str) -> None:
        runner = self.service.runner
        if runner is not None:
            runner.enqueue(job_id)

    # -- handlers ----------------------------------------------------------------------------

    async def submit(self, request: web.Request) -> web.Response:
        """``POST /api/task/async-apply/{name}`` and ``/send-task/{name}``."""
        self.authenticate(request)
        name = request.match_info["name"]
        checked = request.path.startswith("/api/task/async-apply/")
        args, kwargs = task_args(await request.read(), self.decode)
        registered = name in self.registered
        if checked:
            if not registered:
                raise ApiError(404, f"Unknown task '{name}'")
            try:
                check_call(name, args, kwargs)
            except TypeError:
                raise ApiError(500, "") from None
        plan = plan_of(name, args, kwargs)
        config: dict[str, Any] = {
            "args": args,
            "kwargs": kwargs,
            "duration": plan.duration,
            "steps": 0,
            "return_value": plan.result,
            "fail": plan.error is not None,
            "error": plan.error or "",
        }
        task_id = str(uuid.uuid4())
        snapshot = self.store.create(name=name, config=config, job_id=task_id)
        self._meta[task_id] = TaskMeta(
            sent=(snapshot.job.created_at or self.store.now()).timestamp(),
            sent_clock=asyncio.get_running_loop().time(),
        )
        if self.service.runner is not None and registered:
            self._later(task_id, self.options["receive_delay"], self._receive)
        return self._json({"task-id": task_id, "state": "PENDING"})

    async def info(self, request: web.Request) -> web.Response:
        """``GET /api/task/info/{id}``: the task as Flower sees it."""
        self.authenticate(request)
        task_id = request.match_info["task_id"]
        snapshot = self._visible(self.store.get(task_id))
        if snapshot is None:
            raise ApiError(404, f"Unknown task '{task_id}'")
        return self._json(self.view(snapshot))

    async def result(self, request: web.Request) -> web.Response:
        """``GET /api/task/result/{id}[?timeout=T]``: what the result backend holds."""
        self.authenticate(request)
        task_id = request.match_info["task_id"]
        raw_timeout = request.query.get("timeout")
        timeout: float | None = None
        if raw_timeout is not None:
            try:
                timeout = float(raw_timeout)
            except ValueError:
                raise ApiError(500, "") from None
        snapshot = self.store.get(task_id)
        if timeout and snapshot is not None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while not snapshot.is_terminal:
                left = deadline - loop.time()
                if left <= 0:
                    raise ApiError(500, "")  # celery.exceptions.TimeoutError
                newer = await self.store.wait_for_change(task_id, snapshot.version, left)
                if newer is None:
                    break
                snapshot = newer
        return self._json(self.backend_answer(task_id, snapshot, ready=bool(timeout)))

    async def revoke(self, request: web.Request) -> web.Response:
        """``POST /api/task/revoke/{id}?terminate=&signal=``: ``{"message": "Revoked 'id'"}``."""
        self.authenticate(request)
        task_id = request.match_info["task_id"]
        terminate = bool_argument(request.query.get("terminate", "false"))
        snapshot = self.store.get(task_id)
        if snapshot is not None:
            status = snapshot.job.status
            if status is JobStatus.PENDING or (status is JobStatus.RUNNING and terminate):
                timer = self._timers.pop(task_id, None)
                if timer is not None:
                    timer.cancel()
                meta = self._meta.get(task_id)
                if meta is not None:
                    meta.revoke_reason = "terminated" if status is JobStatus.RUNNING else "revoked"
                self.service.cancel(snapshot.owner, task_id)
        return self._json({"message": f"Revoked '{task_id}'"})

    async def tasks(self, request: web.Request) -> web.Response:
        """``GET /api/tasks``: ``{id: task}``, Flower's paging, sorting and filters."""
        self.authenticate(request)
        query = request.query
        offset, limit = paging(query)

        def wanted(name: str) -> str | None:
            value = query.get(name)
            return None if value in (None, "", "All") else value

        views = [
            self.view(snapshot)
            for snapshot in self.store.snapshots()
            if self._visible(snapshot) is not None
        ]
        try:
            selected = list(
                list_tasks(
                    views,
                    limit=limit,
                    offset=offset,
                    sort_by=query.get("sort_by") or None,
                    state=wanted("state"),
                    taskname=wanted("taskname"),
                    workername=wanted("workername"),
                )
            )
        except ValueError:
            raise ApiError(500, "") from None  # Flower's assert on sort_by
        return self._json({task["uuid"]: task for task in selected})

    async def types(self, request: web.Request) -> web.Response:
        """``GET /api/task/types``: the names of the tasks seen."""
        self.authenticate(request)
        names = sorted({s.job.name for s in self.store.snapshots() if s.job.name})
        return self._json({"task-types": names})

    async def queues(self, request: web.Request) -> web.Response:
        """``GET /api/queues/length``: the tasks no worker has received yet."""
        self.authenticate(request)
        waiting = sum(
            1
            for snapshot in self.store.snapshots()
            if snapshot.job.status is JobStatus.PENDING and self.word(snapshot) == "PENDING"
        )
        return self._json({"active_queues": [{"name": "celery", "messages": waiting}]})

    async def workers(self, request: web.Request) -> web.Response:
        """``GET /api/workers``: the one simulated worker."""
        self.authenticate(request)
        return self._json(self.worker_info())
