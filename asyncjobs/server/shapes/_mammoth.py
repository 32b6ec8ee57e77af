"""The mammoth shape: the integer-id jobs API (seeds/ROUTES.md section 3).

Mounted at ``/api/v2``::

    GET /jobs/{job_id}          {"job": JobSchema}
    GET /jobs?job_ids=1,2,3     {"jobs": [JobSchema, ...]}  (unknown ids are left out)

``JobSchema`` is ``{id: int, status, response: {...}, last_updated_at, created_at, path,
operation}``. Statuses: pending and running jobs are ``processing``, completed ``success``,
failed ``failure`` (``error`` with :meth:`Shape.set_status`), cancelled ``error``. A completed
job's ``response`` is its result (a non-object result as ``{"result": ...}``); a failed one's holds
the failure reason where the ``failure_reason_at`` option says, one of the places versions of the
API used: ``failure_reason`` (default), ``error``, ``response.detail``, ``response.error``.

Auth: ``X-API-KEY`` (a configured token) and a non-empty ``X-API-SECRET``; ``X-WORKSPACE-ID``
is accepted. Errors: ``{"detail": ...}``. Job ids are integers counting up from 1000.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from aiohttp import web

from asyncjobs._converter import format_time
from asyncjobs._models import JobStatus
from asyncjobs.server._errors import ApiError
from asyncjobs.server._json import dumps
from asyncjobs.server._params import query_ids
from asyncjobs.server._snapshot import Owner, Snapshot

from ._base import Shape

__all__ = ["MammothShape"]

_JSON = "application/json"
_PLACES = ("failure_reason", "error", "response.detail", "response.error")


class MammothShape(Shape):
    """The integer-id API's routes on the shared store (see the module docstring)."""

    name: ClassVar[str] = "mammoth"
    words: ClassVar[Mapping[JobStatus, str]] = {
        JobStatus.PENDING: "processing",
        JobStatus.RUNNING: "processing",
        JobStatus.COMPLETED: "success",
        JobStatus.FAILED: "failure",
        JobStatus.CANCELLED: "error",
    }
    extra_words: ClassVar[Mapping[str, JobStatus]] = {"error": JobStatus.FAILED}
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"failure_reason_at"})

    @classmethod
    def check_options(cls, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Also check ``failure_reason_at``."""
        checked = super().check_options(options)
        place = checked.setdefault("failure_reason_at", "failure_reason")
        if place not in _PLACES:
            raise ValueError(f"failure_reason_at: expected one of {_PLACES}, got {place!r}")
        return checked

    @classmethod
    def base_path(cls, options: Mapping[str, Any]) -> str:
        """``/api/v2``."""
        return "/api/v2"

    @classmethod
    def id_factory(cls, options: Mapping[str, Any]) -> Callable[[], str]:
        """Integers from 1000 up."""
        counter = itertools.count(1000)
        return lambda: str(next(counter))

    def add_to(self, app: web.Application) -> None:
        """Register the routes."""
        prefix = self.base_path(self.options)
        app.router.add_get(f"{prefix}/jobs", self.handle(self.get_many), allow_head=False)
        app.router.add_get(f"{prefix}/jobs/{{job_id}}", self.handle(self.get), allow_head=False)
        self.add_catch_all(app, prefix)

    # -- the API's ways ----------------------------------------------------------------------

    def error_response(self, exc: ApiError) -> web.Response:
        """``{"detail": ...}``."""
        return web.Response(
            status=exc.status,
            body=dumps({"detail": exc.details}),
            content_type=_JSON,
            headers=exc.headers,
        )

    def authenticate(self, request: web.Request) -> Owner:
        """The ``X-API-KEY``, which needs a non-empty ``X-API-SECRET`` beside it."""
        key = request.headers.get("X-API-KEY")
        owner = self.check_token(key, "Missing API key or secret", "Invalid API key or secret")
        if owner is not None and not request.headers.get("X-API-SECRET"):
            raise ApiError(401, "Missing API key or secret")
        return owner

    def _render(self, snapshot: Snapshot) -> dict[str, Any]:
        job = snapshot.job
        response: dict[str, Any] = {}
        if job.status is JobStatus.COMPLETED and job.result is not None:
            response = job.result if isinstance(job.result, dict) else {"result": job.result}
        elif job.status is JobStatus.FAILED:
            reason = job.error or "Job failed"
            place = self.options["failure_reason_at"]
            if place.startswith("response."):
                response = {"response": {place.removeprefix("response."): reason}}
            else:
                response = {place: reason}
        elif job.status is JobStatus.CANCELLED:
            response = {"error": job.error or "cancelled"}
        config = job.config
        path = config.get("path")
        return {
            "id": int(job.id) if job.id.isdigit() else job.id,
            "status": self.word(snapshot),
            "response": response,
            "last_updated_at": format_time(job.updated_at),
            "created_at": format_time(job.created_at),
            "path": path if isinstance(path, str) else "/api/v2/jobs",
            "operation": job.name or "",
        }

    def _visible(self, caller: Owner, job_id: str) -> Snapshot | None:
        snapshot = self.store.get(job_id)
        if snapshot is None or not self.service.can_see(caller, snapshot):
            return None
        return snapshot

    # -- handlers ----------------------------------------------------------------------------

    async def get(self, request: web.Request) -> web.Response:
        """``GET /jobs/{job_id}``: ``{"job": ...}``."""
        caller = self.authenticate(request)
        job_id = request.match_info["job_id"]
        snapshot = self._visible(caller, job_id)
        if snapshot is None:
            raise ApiError(404, f"Job {job_id} not found")
        job = snapshot.memo(self.memo_key("job"), self._render)
        return web.Response(body=dumps({"job": job}), content_type=_JSON)

    async def get_many(self, request: web.Request) -> web.Response:
        """``GET /jobs?job_ids=1,2,3``: ``{"jobs": [...]}`` of the ids it knows, in order."""
        caller = self.authenticate(request)
        try:
            ids = query_ids(request, "job_ids")
        except ApiError as exc:
            raise ApiError(422, exc.details) from None
        if ids is None:
            raise ApiError(422, "job_ids: field required")
        key = self.memo_key("job")
        jobs = [
            snapshot.memo(key, self._render)
            for job_id in ids
            if (snapshot := self._visible(caller, job_id)) is not None
        ]
        return web.Response(body=dumps({"jobs": jobs}), content_type=_JSON)
