"""The job-management shape: the REST API with JWT auth (seeds/ROUTES.md section 2).

Mounted at ``/api/v1``::

    POST   /auth/login             {username, password} -> {access_token, expires_in}
    POST   /jobs/submit            {name, config, priority} -> {job_id, message}
    GET    /jobs/list              ?status=&limit= -> a bare array of the caller's jobs
    GET    /jobs/{job_id}          Job; 404; 403 for another user's job
    DELETE /jobs/{job_id}          {success, message}; 400 while pending or running
    POST   /jobs/{job_id}/cancel   {success, message}; 400 unless pending or running
    GET    /jobs/stats             {total_jobs, pending, ...}: global, not per user
    POST   /jobs/cleanup           ?max_age_hours=1..168 -> {success, removed_jobs, message}

Auth: ``Authorization: Bearer <token>``, where the token is a configured one or one issued by
``/auth/login`` (any non-empty credentials; its user name is the caller). Errors:
``{"error": "<reason>", "details", "timestamp"}``; like the real handlers, most failures are 400s
whose details read ``"Failed to ...: 400 Bad Request: ..."``. Jobs render as the API's marshalled
job: ``config`` is dropped, the result is ``result_files``, the failure is ``error_message``.
"""

from __future__ import annotations

import base64
import http
import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from aiohttp import web

from asyncjobs._models import JobStatus
from asyncjobs.server._errors import ApiError
from asyncjobs.server._json import dumps
from asyncjobs.server._snapshot import EVERYONE, Owner, Snapshot, utc_now

from ._base import Shape, naive_time

__all__ = ["JobManagementShape"]

_JSON = "application/json"
_TOKEN_SECONDS = 24 * 3600


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _wrapped(action: str, exc: ApiError) -> ApiError:
    """The real handlers' ``except Exception`` turning an error into a 400 about ``action``."""
    return ApiError(400, f"Failed to {action}: {exc.status} {_reason(exc.status)}: {exc.details}")


def _result_files(result: Any) -> list[str]:
    if result is None:
        return []
    if isinstance(result, list):
        return [item if isinstance(item, str) else json.dumps(item) for item in result]
    return [result if isinstance(result, str) else json.dumps(result)]


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    if start is None:
        return None
    return int(((end or utc_now()) - start).total_seconds())


class JobManagementShape(Shape):
    """The job-management API's routes on the shared store (see the module docstring)."""

    name: ClassVar[str] = "job-management"

    issued: dict[str, str]
    """Tokens issued by ``/auth/login`` and the user name each stands for."""

    def setup(self) -> None:
        """No token issued yet."""
        self.issued = {}

    @classmethod
    def base_path(cls, options: Mapping[str, Any]) -> str:
        """``/api/v1``."""
        return "/api/v1"

    def add_to(self, app: web.Application) -> None:
        """Register the routes."""
        prefix = self.base_path(self.options)
        router = app.router
        router.add_post(f"{prefix}/auth/login", self.handle(self.login))
        router.add_post(f"{prefix}/jobs/submit", self.handle(self.submit))
        router.add_get(f"{prefix}/jobs/list", self.handle(self.list), allow_head=False)
        router.add_get(f"{prefix}/jobs/stats", self.handle(self.stats), allow_head=False)
        router.add_post(f"{prefix}/jobs/cleanup", self.handle(self.cleanup))
        router.add_get(f"{prefix}/jobs/{{job_id}}", self.handle(self.get), allow_head=False)
        router.add_delete(f"{prefix}/jobs/{{job_id}}", self.handle(self.delete))
        router.add_post(f"{prefix}/jobs/{{job_id}}/cancel", self.handle(self.cancel))
        self.add_catch_all(app, prefix)

    # -- the API's ways ----------------------------------------------------------------------

    def error_response(self, exc: ApiError) -> web.Response:
        """``{"error": "<reason phrase>", "details", "timestamp"}``."""
        body = {
            "error": _reason(exc.status),
            "details": exc.details,
            "timestamp": naive_time(utc_now()),
        }
        return web.Response(
            status=exc.status, body=dumps(body), content_type=_JSON, headers=exc.headers
        )

    def authenticate(self, request: web.Request) -> Owner:
        """The bearer token's user: a login's user name, or a configured token itself."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token in self.issued:
            return self.issued[token] if self.service.tokens else None
        if not self.service.tokens:
            return None
        if not header:
            raise ApiError(
                401, "Authorization header is required. Please provide a valid JWT token."
            )
        if scheme.lower() != "bearer" or token not in self.service.tokens:
            raise ApiError(401, "Invalid token format.")
        return token

    def _job(self, caller: Owner, job_id: str) -> Snapshot:
        snapshot = self.store.get(job_id)
        if snapshot is None:
            raise ApiError(404, f"Job not found: {job_id}")
        if not self.service.can_see(caller, snapshot):
            raise ApiError(403, "Access denied to this job")
        return snapshot

    def _render(self, snapshot: Snapshot) -> dict[str, Any]:
        job = snapshot.job
        running = job.status is JobStatus.RUNNING
        remaining = None
        progress = round(job.progress or 0)
        if running and job.started_at is not None and progress > 0:
            elapsed = _seconds(job.started_at, None) or 0
            remaining = int(elapsed * (100 - progress) / progress) if elapsed > 0 else None
        return {
            "id": job.id,
            "name": job.name or "",
            "status": self.word(snapshot),
            "priority": job.priority or 2,
            "created_at": naive_time(job.created_at),
            "started_at": naive_time(job.started_at),
            "completed_at": naive_time(job.completed_at),
            "progress": progress,
            "message": job.message or "",
            "error_message": job.error,
            "result_files": _result_files(job.result),
            "user_id": snapshot.owner or "anonymous",
            "duration": _seconds(job.started_at, job.completed_at),
            "estimated_remaining": remaining,
        }

    # -- handlers ----------------------------------------------------------------------------

    async def login(self, request: web.Request) -> web.Response:
        """``POST /auth/login``: any non-empty user name and password get a 24 h token."""
        data = await _json_body(request)
        username = data.get("username")
        password = data.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise ApiError(400, "Username and password are required")
        if not username.strip() or not password.strip():
            raise ApiError(401, "Invalid credentials")
        token = _jwt(username)
        self.issued[token] = username
        return _json({"access_token": token, "expires_in": _TOKEN_SECONDS})

    async def submit(self, request: web.Request) -> web.Response:
        """``POST /jobs/submit``."""
        caller = self.authenticate(request)
        data = await _json_body(request)
        try:
            name = data.get("name")
            config = data.get("config")
            priority = data.get("priority", 2)
            if not name or not isinstance(name, str):
                raise ApiError(400, "Job name is required")
            if not config or not isinstance(config, dict):
                raise ApiError(400, "Job configuration is required")
            if isinstance(priority, bool) or priority not in (1, 2, 3, 4):
                raise ApiError(400, "Priority must be between 1 (low) and 4 (urgent)")
            snapshot, _ = self.service.submit(caller, name=name, config=config, priority=priority)
        except ApiError as exc:
            raise _wrapped("submit job", exc) from None
        return _json({"job_id": snapshot.job_id, "message": "Job submitted successfully"})

    async def list(self, request: web.Request) -> web.Response:
        """``GET /jobs/list``: the caller's jobs, newest first, filtered, at most ``limit``."""
        caller = self.authenticate(request)
        query = request.query
        status: JobStatus | None = None
        word = query.get("status")
        if word:
            try:
                status = JobStatus(word.lower())
            except ValueError:
                status = None
            if status is None or status is JobStatus.UNKNOWN:
                raise _wrapped("list jobs", ApiError(400, f"Invalid status: {word}"))
        limit = _flask_int(query.get("limit"))
        scope = self.service.scope(caller)
        items = [
            snapshot
            for snapshot in self.store.snapshots(scope)
            if status is None or snapshot.job.status is status
        ]
        items.reverse()
        if limit:
            items = items[:limit]
        key = self.memo_key("job")
        return _json([snapshot.memo(key, self._render) for snapshot in items])

    async def get(self, request: web.Request) -> web.Response:
        """``GET /jobs/{job_id}``."""
        caller = self.authenticate(request)
        snapshot = self._job(caller, request.match_info["job_id"])
        return _json(snapshot.memo(self.memo_key("job"), self._render))

    async def delete(self, request: web.Request) -> web.Response:
        """``DELETE /jobs/{job_id}``."""
        caller = self.authenticate(request)
        snapshot = self._job(caller, request.match_info["job_id"])
        if not snapshot.is_terminal:
            raise _wrapped(
                "delete job", ApiError(400, "Cannot delete job (may be running or pending)")
            )
        self.store.delete(snapshot.job_id)
        return _json({"success": True, "message": "Job deleted successfully"})

    async def cancel(self, request: web.Request) -> web.Response:
        """``POST /jobs/{job_id}/cancel``."""
        caller = self.authenticate(request)
        snapshot = self._job(caller, request.match_info["job_id"])
        try:
            self.service.cancel(snapshot.owner, snapshot.job_id)
        except ApiError as exc:
            if exc.status != 409:
                raise
            raise _wrapped(
                "cancel job",
                ApiError(400, "Cannot cancel job (may already be completed or cancelled)"),
            ) from None
        return _json({"success": True, "message": "Job cancelled successfully"})

    async def stats(self, request: web.Request) -> web.Response:
        """``GET /jobs/stats``: every user's jobs, as in the real API."""
        self.authenticate(request)
        counts = dict.fromkeys(self.words.values(), 0)
        total = 0
        for snapshot in self.store.snapshots(EVERYONE):
            counts[self.words[snapshot.job.status]] += 1
            total += 1
        runner = self.service.runner
        return _json(
            {
                "total_jobs": total,
                **counts,
                "active_workers": 0 if runner is None else runner.active_workers,
                "total_workers": 0 if runner is None else runner.total_workers,
            }
        )

    async def cleanup(self, request: web.Request) -> web.Response:
        """``POST /jobs/cleanup?max_age_hours=H``: every user's old finished jobs go."""
        self.authenticate(request)
        hours = _flask_int(request.query.get("max_age_hours"))
        hours = 24 if hours is None else hours
        if not 1 <= hours <= 168:
            raise _wrapped("cleanup jobs", ApiError(400, "max_age_hours must be between 1 and 168"))
        cutoff = self.store.now() - timedelta(hours=hours)
        old = [
            snapshot.job_id
            for snapshot in self.store.snapshots(EVERYONE)
            if snapshot.is_terminal
            and snapshot.job.completed_at is not None
            and snapshot.job.completed_at < cutoff
        ]
        for job_id in old:
            self.store.delete(job_id)
        return _json(
            {
                "success": True,
                "removed_jobs": len(old),
                "message": f"Cleaned up {len(old)} old jobs",
            }
        )


def _json(value: Any) -> web.Response:
    return web.Response(body=dumps(value), content_type=_JSON)


def _flask_int(text: str | None) -> int | None:
    """``request.args.get(name, type=int)``: None when absent or not an integer."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


async def _json_body(request: web.Request) -> dict[str, Any]:
    if request.content_type != _JSON:
        raise ApiError(
            415, "Request must have Content-Type: application/json header for JSON endpoints."
        )
    try:
        data = await request.json()
    except ValueError:
        raise ApiError(
            400, "The browser (or proxy) sent a request that this server could not understand."
        ) from None
    if not isinstance(data, dict):
        raise ApiError(400, "Job data is required")
    return data


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jwt(identity: str) -> str:
    """A JWT-looking token (header.payload.signature); the server only looks it up."""
    now = int(utc_now().timestamp())
    header = _b64(b'{"alg":"HS256","typ":"JWT"}')
    payload = _b64(json.dumps({"sub": identity, "iat": now, "exp": now + _TOKEN_SECONDS}).encode())
    return f"{header}.{payload}.{_b64(secrets.token_bytes(32))}"
