"""The compileo shape: the status / long-poll / stream REST API (seeds/ROUTES.md section 1).

Mounted at ``/api/v1/jobs``::

    GET  /status/{job_id}            JobStatusResponse (updated_at = completed_at or now)
    GET  /status/{job_id}/poll       ?timeout=1..300 (else 422)&current_status=<word>
    GET  /status/{job_id}/stream     data-only SSE (see :mod:`._compileo_stream`)
    GET  /queue/stats                *_jobs counts, queue health
    POST /cancel/{job_id}            {"message"}; 404 unless pending, scheduled or running
    POST /restart/{job_id}           {"message"}; 404 unless failed or cancelled

Auth: ``X-API-Key`` (401 ``{"error": "Unauthorized", "message"}``); keys authenticate but own
nothing, so every key sees every job, as in the real API. Errors: ``{"detail": ...}``. There is
no submit route: jobs come from :meth:`JobServer.create_job`. Words beyond the five statuses:
``scheduled`` (pending) and ``retrying`` (running), set with :meth:`Shape.set_status`.

Options: ``rate_limit``: ``(requests, seconds)`` per client address, answered beyond with 429,
``Retry-After`` and the ``X-RateLimit-*`` headers (the real API: 200 per 60 s; default off).
"""

from __future__ import annotations

import collections
import json
import math
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any, ClassVar

from aiohttp import web

from asyncjobs._models import JobStatus
from asyncjobs.server._errors import ApiError
from asyncjobs.server._json import dumps
from asyncjobs.server._snapshot import Owner, Snapshot, utc_now

from ._base import Handler, Shape, naive_time
from ._compileo_stream import CompileoStream

__all__ = ["CompileoShape"]

_JSON = "application/json"


class CompileoShape(Shape):
    """The compileo API's routes on the shared store (see the module docstring)."""

    name: ClassVar[str] = "compileo"
    extra_words: ClassVar[Mapping[str, JobStatus]] = {
        "scheduled": JobStatus.PENDING,
        "retrying": JobStatus.RUNNING,
    }
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"rate_limit"})

    def setup(self) -> None:
        """Check the ``rate_limit`` option: ``(requests, seconds)``."""
        limit = self.options.get("rate_limit")
        self._limit: tuple[int, float] | None = None
        if limit is not None:
            try:
                count, window = limit
                self._limit = (int(count), float(window))
            except (TypeError, ValueError):
                raise ValueError(
                    f"rate_limit: expected (requests, seconds), got {limit!r}"
                ) from None
            if self._limit[0] < 1 or not self._limit[1] > 0:
                raise ValueError(
                    f"rate_limit: expected (requests >= 1, seconds > 0), got {limit!r}"
                )
        self._hits: dict[str, collections.deque[float]] = {}

    @classmethod
    def base_path(cls, options: Mapping[str, Any]) -> str:
        """``/api/v1/jobs``."""
        return "/api/v1/jobs"

    def add_to(self, app: web.Application) -> None:
        """Register the routes (the poll and stream only when offered)."""
        prefix = self.base_path(self.options)
        router = app.router
        router.add_get(f"{prefix}/status/{{job_id}}", self.handle(self.get), allow_head=False)
        if "long-poll" in self.transports:
            router.add_get(
                f"{prefix}/status/{{job_id}}/poll", self.handle(self.poll), allow_head=False
            )
        if "sse" in self.transports:
            router.add_get(
                f"{prefix}/status/{{job_id}}/stream", self.handle(self.stream), allow_head=False
            )
        router.add_get(f"{prefix}/queue/stats", self.handle(self.stats), allow_head=False)
        router.add_post(f"{prefix}/cancel/{{job_id}}", self.handle(self.cancel))
        router.add_post(f"{prefix}/restart/{{job_id}}", self.handle(self.restart))
        self.add_catch_all(app, prefix)

    # -- the API's ways ----------------------------------------------------------------------

    def handle(self, handler: Handler) -> Handler:
        """Rate-limit (when configured), then run the handler with the API's error bodies."""
        inner = super().handle(handler)

        async def limited(request: web.Request) -> web.StreamResponse:
            if self._limit is not None:
                refused = self._rate_limited(request.remote or "?")
                if refused is not None:
                    return refused
            return await inner(request)

        return limited

    def _rate_limited(self, client: str) -> web.Response | None:
        assert self._limit is not None
        count, window = self._limit
        now = time.monotonic()
        hits = self._hits.setdefault(client, collections.deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) < count:
            hits.append(now)
            return None
        wait = max(1, math.ceil(hits[0] + window - now))
        headers = {
            "Retry-After": str(wait),
            "X-RateLimit-Limit": str(count),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(time.time()) + wait),
        }
        body = {"detail": "Too many requests. Please try again later."}
        return web.Response(status=429, body=dumps(body), content_type=_JSON, headers=headers)

    def error_response(self, exc: ApiError) -> web.Response:
        """``{"detail": ...}``; a 401 is ``{"error": "Unauthorized", "message": ...}``."""
        body: dict[str, Any]
        if exc.status == 401:
            body = {"error": "Unauthorized", "message": exc.details}
        elif "detail" in exc.extra:
            body = {"detail": exc.extra["detail"]}
        else:
            body = {"detail": exc.details}
        return web.Response(
            status=exc.status, body=dumps(body), content_type=_JSON, headers=exc.headers
        )

    def authenticate(self, request: web.Request) -> str | None:
        """The ``X-API-Key`` (any request on an open server)."""
        return self.check_token(
            request.headers.get("X-API-Key"), "Missing X-API-Key header", "Invalid API key"
        )

    def _job(self, request: web.Request) -> Snapshot:
        self.authenticate(request)
        job_id = request.match_info["job_id"]
        snapshot = self.store.get(job_id)
        if snapshot is None:
            raise ApiError(404, f"Job {job_id} not found")
        return snapshot

    # -- rendering ---------------------------------------------------------------------------

    def _fields(self, snapshot: Snapshot) -> dict[str, Any]:
        job = snapshot.job
        result = job.result
        if result is not None and not isinstance(result, dict):
            result = {"result": result}  # the API's result is a dict or null
        return {
            "job_id": job.id,
            "status": self.word(snapshot),
            "progress": float(job.progress or 0.0),
            "current_step": job.message or "",
            "result": result,
            "error": job.error,
            "created_at": naive_time(job.created_at),
            "started_at": naive_time(job.started_at),
            "completed_at": naive_time(job.completed_at),
        }

    def _response(self, snapshot: Snapshot) -> web.Response:
        fields = dict(snapshot.memo(self.memo_key("json"), self._fields))
        # The API's quirk: updated_at is completed_at, else the time of the answer.
        fields["updated_at"] = fields["completed_at"] or naive_time(utc_now())
        return web.Response(body=dumps(fields), content_type=_JSON)

    def _event(self, snapshot: Snapshot) -> bytes:
        job = snapshot.job
        stamp = naive_time(job.completed_at or utc_now())
        # Built with an f-string, as the API does: a '"' in the step makes invalid JSON.
        return (
            f'data: {{"job_id": "{job.id}", "status": "{self.word(snapshot)}", '
            f'"progress": {float(job.progress or 0.0)}, '
            f'"current_step": "{job.message or ""}", "timestamp": "{stamp}"}}\n\n'
        ).encode()

    def _change_key(self, snapshot: Snapshot) -> Hashable:
        job = snapshot.job
        return (self.word(snapshot), job.progress, job.completed_at or job.created_at)

    # -- handlers ----------------------------------------------------------------------------

    async def get(self, request: web.Request) -> web.Response:
        """``GET /status/{job_id}``."""
        return self._response(self._job(request))

    async def poll(self, request: web.Request) -> web.Response:
        """``GET /status/{job_id}/poll``: at once if ``current_status`` differs, else on the next
        change of status or progress, else after ``timeout`` with the unchanged job."""
        timeout = _timeout_param(request.query.get("timeout"))
        snapshot = self._job(request)
        job_id = snapshot.job_id
        current = request.query.get("current_status")
        if current and current != self.word(snapshot):
            return self._response(snapshot)
        initial = self._change_key(snapshot)
        loop_time = time.monotonic
        deadline = loop_time() + timeout
        while (remaining := deadline - loop_time()) > 0:
            changed = await self.store.wait_for_change(job_id, snapshot.version, remaining)
            if changed is None:
                raise ApiError(404, f"Job {job_id} not found")
            if changed.version == snapshot.version:
                break  # timed out, or the server is closing
            snapshot = changed
            if self._change_key(snapshot) != initial:
                break
        return self._response(snapshot)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """``GET /status/{job_id}/stream``."""
        self.authenticate(request)
        stream = CompileoStream(
            self.streams,
            request.match_info["job_id"],
            encode=self._event,
            change_key=self._change_key,
        )
        return await stream.serve_job(request, self.store)

    async def stats(self, request: web.Request) -> web.Response:
        """``GET /queue/stats``: counts by the API's words, of every job."""
        self.authenticate(request)
        counts = dict.fromkeys(("pending", "scheduled", "running", "retrying"), 0)
        counts.update(dict.fromkeys(("completed", "failed", "cancelled"), 0))
        total = 0
        for snapshot in self.store.snapshots():
            counts[self.word(snapshot)] += 1
            total += 1
        runner = self.service.runner
        body = {
            **{f"{word}_jobs": count for word, count in counts.items()},
            "total_jobs": total,
            "queue_type": "memory",
            "cache_size": total,
            "active_workers": 0 if runner is None else runner.active_workers,
            "queue_health": {
                "status": "healthy",
                "resource_utilization": "optimal",
                "limit_enforcement": "active" if self._limit else "inactive",
            },
        }
        return web.Response(body=dumps(body), content_type=_JSON)

    async def cancel(self, request: web.Request) -> web.Response:
        """``POST /cancel/{job_id}``."""
        return self._act(request, self.service.cancel, done="cancelled")

    async def restart(self, request: web.Request) -> web.Response:
        """``POST /restart/{job_id}``."""
        return self._act(request, self.service.restart, done="restarted")

    def _act(
        self, request: web.Request, operation: Callable[[Owner, str], object], *, done: str
    ) -> web.Response:
        """Run ``operation`` on the request's job; the API answers a state conflict with 404.

        Args:
            request: The request naming the job.
            operation: The service's operation (cancel, restart).
            done: Its past participle, as the API's messages say it (``"cancelled"``).
        """
        snapshot = self._job(request)
        job_id = snapshot.job_id
        try:
            operation(snapshot.owner, job_id)
        except ApiError as exc:
            if exc.status != 409:
                raise
            raise ApiError(404, f"Job {job_id} not found or cannot be {done}") from None
        return _message(f"Job {job_id} {done} successfully")


def _message(text: str) -> web.Response:
    return web.Response(body=dumps({"message": text}), content_type=_JSON)


def _timeout_param(text: str | None) -> float:
    """The poll's ``timeout`` (1..300, default 30); FastAPI's 422 otherwise."""
    if text is None:
        return 30.0
    problem: dict[str, Any] | None = None
    try:
        value = int(text)
    except ValueError:
        problem = {
            "type": "int_parsing",
            "msg": "Input should be a valid integer, unable to parse string as an integer",
        }
    else:
        if value < 1:
            problem = {
                "type": "greater_than_equal",
                "msg": "Input should be greater than or equal to 1",
            }
        elif value > 300:
            problem = {
                "type": "less_than_equal",
                "msg": "Input should be less than or equal to 300",
            }
    if problem is not None:
        detail = [{**problem, "loc": ["query", "timeout"], "input": text}]
        raise ApiError(422, json.dumps(detail), extra={"detail": detail})
    return float(value)
