"""The fiddler shape: the Celery-state jobs API (seeds/ROUTES.md section 4).

Mounted at ``/v3``::

    GET /jobs/{job_id}?verbose=True|False
        {"data": JobResp, "api_version": "3.0", "kind": "NORMAL"}

``JobResp`` is ``{id, name, status, progress, info, error_message, error_reason, extras}``;
statuses ``PENDING STARTED SUCCESS FAILURE REVOKED`` (and ``RETRY``, set with
:meth:`Shape.set_status`). A completed job's result is ``extras`` (a non-object one as
``{"result": ...}``); a failed job's error is ``error_message`` and ``error_reason`` is the part of
the error before its first ``": "`` when that looks like an exception's name (``"ValueError: bad
row"``), else ``"Exception"``. ``verbose=True`` adds the job's log to ``info``.

Auth: ``Authorization: Bearer <token>``. Errors: ``{"error": {"code", "message", "errors":
[{"reason", "message", "help"}]}, "api_version": "3.0", "kind": "ERROR"}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from aiohttp import web

from asyncjobs._models import JobStatus
from asyncjobs.server._errors import ApiError
from asyncjobs.server._json import dumps
from asyncjobs.server._snapshot import Owner, Snapshot

from ._base import CELERY_WORDS, Shape

__all__ = ["FiddlerShape"]

_JSON = "application/json"
_EXCEPTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(Error|Exception|Failed|Failure)")
_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "ObjectNotFound"}


def _split_error(error: str | None) -> tuple[str | None, str | None]:
    """``(error_reason, error_message)`` of a failed job's error."""
    if error is None:
        return None, None
    head, sep, tail = error.partition(": ")
    if sep and _EXCEPTION_NAME.fullmatch(head):
        return head, tail
    return "Exception", error


class FiddlerShape(Shape):
    """The Celery-state API's route on the shared store (see the module docstring)."""

    name: ClassVar[str] = "fiddler"
    words: ClassVar[Mapping[JobStatus, str]] = CELERY_WORDS
    extra_words: ClassVar[Mapping[str, JobStatus]] = {"RETRY": JobStatus.RUNNING}

    @classmethod
    def base_path(cls, options: Mapping[str, Any]) -> str:
        """``/v3``."""
        return "/v3"

    def add_to(self, app: web.Application) -> None:
        """Register the route."""
        prefix = self.base_path(self.options)
        app.router.add_get(f"{prefix}/jobs/{{job_id}}", self.handle(self.get), allow_head=False)
        self.add_catch_all(app, prefix)

    # -- the API's ways ----------------------------------------------------------------------

    def error_response(self, exc: ApiError) -> web.Response:
        """The API's error envelope."""
        reason = _REASONS.get(exc.status, "Error")
        body = {
            "error": {
                "code": exc.status,
                "message": exc.details,
                "errors": [{"reason": reason, "message": exc.details, "help": ""}],
            },
            "api_version": "3.0",
            "kind": "ERROR",
        }
        return web.Response(
            status=exc.status, body=dumps(body), content_type=_JSON, headers=exc.headers
        )

    def authenticate(self, request: web.Request) -> Owner:
        """The bearer token."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.strip().partition(" ")
        if header and scheme.lower() != "bearer":
            token = ""
        return self.check_token(
            token.strip() or None, "Authorization header is missing", "Invalid token"
        )

    def _render(self, snapshot: Snapshot) -> dict[str, Any]:
        job = snapshot.job
        reason: str | None = None
        message: str | None = None
        if job.status is JobStatus.FAILED:
            reason, message = _split_error(job.error or "failed")
        extras: Any = None
        if job.status is JobStatus.COMPLETED and job.result is not None:
            extras = job.result if isinstance(job.result, dict) else {"result": job.result}
        return {
            "id": job.id,
            "name": job.name or "",
            "status": self.word(snapshot),
            "progress": float(job.progress or 0.0),
            "info": {},
            "error_message": message,
            "error_reason": reason,
            "extras": extras,
        }

    # -- handlers ----------------------------------------------------------------------------

    async def get(self, request: web.Request) -> web.Response:
        """``GET /jobs/{job_id}?verbose=``."""
        caller = self.authenticate(request)
        job_id = request.match_info["job_id"]
        verbose = request.query.get("verbose", "False")
        if verbose.lower() not in ("true", "false", "1", "0"):
            raise ApiError(400, f"verbose: expected a boolean, got {verbose!r}")
        snapshot = self.store.get(job_id)
        if snapshot is None or not self.service.can_see(caller, snapshot):
            raise ApiError(404, f"Job with id {job_id!r} not found")
        data = snapshot.memo(self.memo_key("job"), self._render)
        if verbose.lower() in ("true", "1"):
            data = {**data, "info": {**data["info"], "log": self.store.log(job_id)}}
        body = {"data": data, "api_version": "3.0", "kind": "NORMAL"}
        return web.Response(body=dumps(body), content_type=_JSON)
