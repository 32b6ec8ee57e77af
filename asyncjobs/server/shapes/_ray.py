"""The ray shape: Ray's Job Submission API, as the Ray dashboard serves it (ENGINES.md).

Mounted at the server's root (a client's base URL is ``http://host:port``); trailing slashes
are as Ray has them, so ``/api/jobs`` without the slash is 404::

    POST   /api/jobs/                 {"entrypoint", "submission_id"?, "runtime_env"?,
                                       "metadata"? (str -> str), "entrypoint_num_cpus"?,
                                       "entrypoint_num_gpus"?, "entrypoint_memory"?,
                                       "entrypoint_resources"?}
                                      -> {"job_id", "submission_id"} (job_id: a legacy copy)
    GET    /api/jobs/                 a bare JSON array of every job, oldest first (no filters)
    GET    /api/jobs/{id}             the job's JobDetails (by submission id or Ray job id)
    POST   /api/jobs/{id}/stop        {"stopped": true}, or false when it had finished
    DELETE /api/jobs/{id}             {"deleted": true}; 500 (RuntimeError) unless finished
    GET    /api/jobs/{id}/logs        {"logs": "<every log line so far>"}

JobDetails: ``type`` ("SUBMISSION"), ``job_id`` (null until the job runs, then a hex Ray job
id such as ``"02000000"``), ``submission_id`` (the store's job id; generated ones look like
``raysubmit_<16 chars>``), ``status`` (``PENDING RUNNING STOPPED SUCCEEDED FAILED``),
``entrypoint``, ``message``, ``error_type``, ``start_time`` and ``end_time`` (epoch ms, the
latter null until the end), ``metadata``, ``runtime_env``, ``driver_info``,
``driver_agent_http_address``, ``driver_node_id``, ``driver_exit_code`` and the
``entrypoint_*`` resources. A failed job has ``error_type`` ``"JOB_ENTRYPOINT_COMMAND_ERROR"``,
``driver_exit_code`` 1, and a ``message`` whose last line is the failure reason; a stopped job
reads ``"Job was intentionally stopped."``. No SSE, no long poll, no auth (tokens, when the
server has them, are not asked for: every caller sees every job).

Errors are plain text, as Ray's: 404 ``Job x does not exist``; 400 with a Python traceback
whose last line is the reason (an unknown field, a bad type, a bad simulation value); 500
``Server got itself in trouble`` for a body that is not JSON; 500 with a traceback ending in
``ValueError: Job with submission_id X already exists. Please use a different submission_id.``
for a duplicate ``submission_id``; 500 with a ``RuntimeError`` traceback for deleting a job that
has not finished. Unknown routes answer aiohttp's ``404: Not Found``.

The simulated run (``auto_run``) is read from ``metadata``, whose values Ray keeps as strings,
so the entrypoint stays free text: ``{"duration": "0.5"}`` runs 0.5 s (default 1),
``{"steps": "3"}`` writes that many progress lines to the log (default 5), and
``{"fail": "boom"}`` makes the job fail with the reason ``boom`` (an empty value: succeed).
The log holds ``started``, ``step i/n`` per step, then ``completed``, ``failed: <reason>`` or
``cancelled``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
import string
import traceback
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from aiohttp import web

from asyncjobs._models import JobStatus
from asyncjobs.server._errors import ApiError
from asyncjobs.server._json import dumps
from asyncjobs.server._snapshot import Owner, Snapshot

from ._base import Shape

__all__ = ["JobSubmitRequest", "RayShape", "new_submission_id", "simulation_config"]

_JSON = "application/json"
_TEXT = "text/plain"
_ID_CHARACTERS = "".join(sorted(set(string.ascii_letters + string.digits) - set("IloO0")))
_TROUBLE = "500 Internal Server Error\n\nServer got itself in trouble"
_NODE_ID = "7d2f" * 14
_AGENT = "http://127.0.0.1:52365"
_MESSAGES = {
    JobStatus.PENDING: "Job has not started yet. It may be waiting for resources (CPUs, GPUs, "
    "memory, custom resources) to become available. It may be waiting for the runtime "
    "environment to be set up.",
    JobStatus.RUNNING: "Job is currently running.",
    JobStatus.COMPLETED: "Job finished successfully.",
    JobStatus.CANCELLED: "Job was intentionally stopped.",
}
_FAILED = (
    "Job entrypoint command failed with exit code 1, last available logs "
    "(truncated to 20,000 chars):\n"
)


def new_submission_id() -> str:
    """A fresh id the way Ray makes them: ``raysubmit_`` and 16 unambiguous characters."""
    rand = random.SystemRandom()
    return "raysubmit_" + "".join(rand.choices(_ID_CHARACTERS, k=16))


@dataclasses.dataclass
class JobSubmitRequest:
    """A submit body, checked the way Ray's own request type checks it (same messages)."""

    entrypoint: str
    submission_id: str | None = None
    job_id: str | None = None
    runtime_env: dict[str, Any] | None = None
    metadata: dict[str, str] | None = None
    entrypoint_num_cpus: float | None = None
    entrypoint_num_gpus: float | None = None
    entrypoint_memory: int | None = None
    entrypoint_resources: dict[str, float] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.entrypoint, str):
            raise TypeError(f"entrypoint must be a string, got {type(self.entrypoint)}")
        for name in ("submission_id", "job_id"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a string if provided, got {type(value)}")
        for name in ("runtime_env", "metadata", "entrypoint_resources"):
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, dict):
                raise TypeError(f"{name} must be a dict, got {type(value)}")
            for key in value:
                if not isinstance(key, str):
                    raise TypeError(f"{name} keys must be strings, got {type(key)}")
        for value in (self.metadata or {}).values():
            if not isinstance(value, str):
                raise TypeError(f"metadata values must be strings, got {type(value)}")
        for value in (self.entrypoint_resources or {}).values():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"entrypoint_resources values must be numbers, got {type(value)}")
        for name in ("entrypoint_num_cpus", "entrypoint_num_gpus", "entrypoint_memory"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise TypeError(f"{name} must be a number, got {type(value)}")


def simulation_config(metadata: Mapping[str, str]) -> dict[str, Any]:
    """The simulated runner's config read from a submit's ``metadata`` (see the module).

    Raises:
        ValueError: a ``duration`` or ``steps`` value that is not a number in range.
    """
    config: dict[str, Any] = {}
    duration = metadata.get("duration")
    if duration is not None:
        try:
            seconds = float(duration)
        except ValueError:
            seconds = math.nan
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"metadata.duration: expected seconds >= 0, got {duration!r}")
        config["duration"] = seconds
    steps = metadata.get("steps")
    if steps is not None:
        if not steps.isdigit() or int(steps) > 10_000:
            raise ValueError(f"metadata.steps: expected an integer 0..10000, got {steps!r}")
        config["steps"] = int(steps)
    reason = metadata.get("fail")
    if reason:
        config["fail"] = True
        config["error"] = reason
    return config


def _traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def _pid(ray_id: str) -> int:
    return 40000 + int.from_bytes(bytes.fromhex(ray_id), "little")


def _ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


class RayShape(Shape):
    """Ray's Job Submission routes on the shared store (see the module docstring)."""

    name: ClassVar[str] = "ray"
    words: ClassVar[Mapping[JobStatus, str]] = {
        JobStatus.PENDING: "PENDING",
        JobStatus.RUNNING: "RUNNING",
        JobStatus.COMPLETED: "SUCCEEDED",
        JobStatus.FAILED: "FAILED",
        JobStatus.CANCELLED: "STOPPED",
    }

    LIVE_TRANSPORTS: ClassVar[frozenset[str] | None] = frozenset()
    """No live-update transport: clients of this API poll."""

    def setup(self) -> None:
        """No Ray job id given yet."""
        self._ray_ids: dict[str, str] = {}
        self._by_ray_id: dict[str, str] = {}
        self._next_ray_id = 2  # Ray's first submitted job is 02000000

    @classmethod
    def base_path(cls, options: Mapping[str, Any]) -> str:
        """The root: a client's base URL is ``http://host:port``."""
        return ""

    @classmethod
    def id_factory(cls, options: Mapping[str, Any]) -> Callable[[], str]:
        """``raysubmit_`` ids (:func:`new_submission_id`)."""
        return new_submission_id

    def add_to(self, app: web.Application) -> None:
        """Register the routes (and aiohttp's plain 404 for every other path)."""
        router = app.router
        router.add_post("/api/jobs/", self.handle(self.submit))
        router.add_get("/api/jobs/", self.handle(self.list), allow_head=False)
        router.add_get("/api/jobs/{job_id}", self.handle(self.get), allow_head=False)
        router.add_post("/api/jobs/{job_id}/stop", self.handle(self.stop))
        router.add_delete("/api/jobs/{job_id}", self.handle(self.delete))
        router.add_get("/api/jobs/{job_id}/logs", self.handle(self.logs), allow_head=False)
        self.add_catch_all(app, "")

    # -- the store's Subscriber ---------------------------------------------------------------

    def deliver(self, snapshot: Snapshot) -> None:
        """Give a job its Ray job id once it leaves PENDING (Ray's driver starts)."""
        super().deliver(snapshot)
        job_id = snapshot.job_id
        if snapshot.job.status is not JobStatus.PENDING and job_id not in self._ray_ids:
            ray_id = self._next_ray_id.to_bytes(4, "little").hex()
            self._next_ray_id += 1
            self._ray_ids[job_id] = ray_id
            self._by_ray_id[ray_id] = job_id

    def job_deleted(self, job_id: str) -> None:
        """Forget the job's Ray job id."""
        super().job_deleted(job_id)
        ray_id = self._ray_ids.pop(job_id, None)
        if ray_id is not None:
            self._by_ray_id.pop(ray_id, None)

    # -- the API's ways ----------------------------------------------------------------------

    async def _no_route(self, request: web.Request) -> web.StreamResponse:
        raise ApiError(404, "404: Not Found")

    def error_response(self, exc: ApiError) -> web.Response:
        """The error's text as it is (Ray answers plain text, often a traceback)."""
        return web.Response(
            status=exc.status, text=exc.details, content_type=_TEXT, headers=exc.headers
        )

    def authenticate(self, request: web.Request) -> Owner:
        """Nobody: the Ray dashboard has no auth."""
        return None

    def ray_job_id(self, job_id: str) -> str | None:
        """The Ray job id (driver id) of a job, None until it has run."""
        return self._ray_ids.get(job_id)

    def _render(self, snapshot: Snapshot) -> dict[str, Any]:
        job = snapshot.job
        config = job.config
        ray_id = self._ray_ids.get(job.id)
        status = job.status
        if status is JobStatus.FAILED:
            message: str | None = _FAILED + (job.error or "failed")
            error_type: str | None = "JOB_ENTRYPOINT_COMMAND_ERROR"
            exit_code: int | None = 1
        else:
            message = _MESSAGES.get(status)
            error_type = None
            exit_code = 0 if status is JobStatus.COMPLETED else None
        entrypoint = config.get("entrypoint")
        return {
            "type": "SUBMISSION",
            "job_id": ray_id,
            "submission_id": job.id,
            "driver_info": None
            if ray_id is None
            else {"id": ray_id, "node_ip_address": "127.0.0.1", "pid": str(_pid(ray_id))},
            "status": self.word(snapshot),
            "entrypoint": entrypoint if isinstance(entrypoint, str) else job.name or "",
            "message": message,
            "error_type": error_type,
            "start_time": _ms(job.created_at),
            "end_time": _ms(job.completed_at),
            "metadata": config.get("metadata") or {},
            "runtime_env": config.get("runtime_env") or {},
            "driver_agent_http_address": None if ray_id is None else _AGENT,
            "driver_node_id": None if ray_id is None else _NODE_ID,
            "driver_exit_code": exit_code,
            "entrypoint_num_cpus": config.get("entrypoint_num_cpus"),
            "entrypoint_num_gpus": config.get("entrypoint_num_gpus"),
            "entrypoint_memory": config.get("entrypoint_memory"),
            "entrypoint_resources": config.get("entrypoint_resources"),
        }

    def _job(self, request: web.Request) -> Snapshot:
        given = request.match_info["job_id"]
        snapshot = self.store.get(self._by_ray_id.get(given, given))
        if snapshot is None:
            raise ApiError(404, f"Job {given} does not exist")
        return snapshot

    def _json(self, data: Any) -> web.Response:
        return web.Response(body=dumps(data), content_type=_JSON)

    # -- handlers ----------------------------------------------------------------------------

    async def submit(self, request: web.Request) -> web.Response:
        """``POST /api/jobs/``: ``{"job_id", "submission_id"}``."""
        raw = await request.read()
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(500, _TROUBLE) from None
        try:
            parsed = JobSubmitRequest(**body)
            config = simulation_config(parsed.metadata or {})
        except (TypeError, ValueError) as exc:
            raise ApiError(400, _traceback(exc)) from None
        submission_id = parsed.submission_id or parsed.job_id or self.store.new_id()
        if submission_id in self.store:
            try:
                raise ValueError(
                    f"Job with submission_id {submission_id} already exists. "
                    "Please use a different submission_id."
                )
            except ValueError as exc:
                raise ApiError(500, _traceback(exc)) from None
        fields = {
            field.name: getattr(parsed, field.name)
            for field in dataclasses.fields(parsed)
            if getattr(parsed, field.name) is not None and field.name != "job_id"
        }
        fields["submission_id"] = submission_id
        snapshot, _ = self.service.submit(
            self.authenticate(request), config={**fields, **config}, job_id=submission_id
        )
        self.store.append_log(snapshot.job_id, f"submitted: {parsed.entrypoint}")
        return self._json({"job_id": submission_id, "submission_id": submission_id})

    async def list(self, request: web.Request) -> web.Response:
        """``GET /api/jobs/``: every job, oldest first; query parameters are ignored."""
        key = self.memo_key("job")
        return self._json([s.memo(key, self._render) for s in self.store.snapshots()])

    async def get(self, request: web.Request) -> web.Response:
        """``GET /api/jobs/{id}``: the job's details."""
        snapshot = self._job(request)
        return self._json(snapshot.memo(self.memo_key("job"), self._render))

    async def stop(self, request: web.Request) -> web.Response:
        """``POST /api/jobs/{id}/stop``: ``{"stopped": <whether it was still going>}``."""
        snapshot = self._job(request)
        if snapshot.is_terminal:
            return self._json({"stopped": False})
        self.service.cancel(snapshot.owner, snapshot.job_id)
        return self._json({"stopped": True})

    async def delete(self, request: web.Request) -> web.Response:
        """``DELETE /api/jobs/{id}``: ``{"deleted": true}``; 500 for a job still going."""
        snapshot = self._job(request)
        if not snapshot.is_terminal:
            try:
                raise RuntimeError(
                    f"Attempted to delete job '{snapshot.job_id}', but it is in a "
                    f"non-terminal state JobStatus.{self.word(snapshot)}."
                )
            except RuntimeError as exc:
                raise ApiError(500, _traceback(exc)) from None
        self.service.delete(snapshot.owner, snapshot.job_id)
        return self._json({"deleted": True})

    async def logs(self, request: web.Request) -> web.Response:
        """``GET /api/jobs/{id}/logs``: ``{"logs": "<the whole log so far>"}``."""
        snapshot = self._job(request)
        text = "".join(f"{line}\n" for line in self.store.log(snapshot.job_id))
        return self._json({"logs": text})
