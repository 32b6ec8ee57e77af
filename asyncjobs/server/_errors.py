"""Errors of the reference server and their JSON bodies.

Every error the server answers has the native body
``{"error": "<reason phrase>", "details": "<what was wrong>", "timestamp": "..."}``, plus
extra fields where useful (``job_ids`` for a 403/404 about several jobs). Handlers raise
:class:`ApiError`; :func:`error_middleware` turns it, aiohttp's own HTTP errors (unknown route,
wrong method, body too large) and unexpected exceptions into such answers.
"""

from __future__ import annotations

import http
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from aiohttp import web

from asyncjobs._converter import format_time

from ._json import dumps
from ._snapshot import utc_now

__all__ = [
    "ApiError",
    "bad_request",
    "conflict",
    "error_body",
    "error_middleware",
    "error_response",
    "forbidden",
    "not_found",
]

logger = logging.getLogger("asyncjobs.server")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ApiError(Exception):
    """An error answer: raise it from a handler and the middleware renders it.

    Args:
        status: The HTTP status (4xx or 5xx).
        details: What was wrong, naming each bad field; shown to the client as ``details``.
        headers: Extra response headers (``Retry-After``, ``Allow``...).
        extra: Extra fields of the JSON body (e.g. ``{"job_ids": [...]}``).
    """

    def __init__(
        self,
        status: int,
        details: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {_reason(status)}: {details}")
        self.status = status
        self.details = details
        self.headers: dict[str, str] = dict(headers or {})
        self.extra: dict[str, Any] = dict(extra or {})

    @property
    def reason(self) -> str:
        """The HTTP reason phrase of ``status``."""
        return _reason(self.status)

    def response(self) -> web.Response:
        """This error as a native JSON error answer."""
        return error_response(self.status, self.details, headers=self.headers, extra=self.extra)


def error_body(status: int, details: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The native error body for ``status``."""
    body: dict[str, Any] = {
        "error": _reason(status),
        "details": details,
        "timestamp": format_time(utc_now()),
    }
    if extra:
        body.update(extra)
    return body


def error_response(
    status: int,
    details: str,
    *,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> web.Response:
    """A native JSON error answer."""
    return web.Response(
        status=status,
        body=dumps(error_body(status, details, extra)),
        content_type="application/json",
        headers=headers,
    )


def bad_request(details: str) -> ApiError:
    """A 400 error; ``details`` names the bad field."""
    return ApiError(400, details)


def _about_jobs(status: int, job_ids: Iterable[str], *, one: str, many: str) -> ApiError:
    """An error about these job ids: ``one`` or ``many`` with the id or the ids (repr'd) in
    its ``{}``, the ids also in ``job_ids``."""
    ids = list(job_ids)
    details = (one if len(ids) == 1 else many).format(", ".join(map(repr, ids)))
    return ApiError(status, details, extra={"job_ids": ids})


def not_found(job_ids: Iterable[str]) -> ApiError:
    """A 404 error about these job ids (listed in ``details`` and in ``job_ids``)."""
    return _about_jobs(404, job_ids, one="no job with id {}", many="no jobs with ids {}")


def forbidden(job_ids: Iterable[str]) -> ApiError:
    """A 403 error: these jobs belong to another caller."""
    return _about_jobs(
        403,
        job_ids,
        one="job {} belongs to another caller",
        many="jobs {} belong to another caller",
    )


def conflict(details: str) -> ApiError:
    """A 409 error: the job is in the wrong state for the operation."""
    return ApiError(409, details)


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> web.Response:
    status = exc.status
    headers = {
        name: value
        for name, value in exc.headers.items()
        if name.lower() not in ("content-type", "content-length")
    }
    if status == 404:
        details = f"no route for {request.method} {request.path}"
    elif status == 405:
        allowed = exc.headers.get("Allow", "")
        details = f"{request.method} is not allowed on {request.path}; allowed: {allowed}"
    elif status == 413:
        limit = request.app.get(MAX_BODY_SIZE_HINT)
        details = (
            f"the request body is larger than the limit of {limit} bytes"
            if limit
            else "the request body is too large"
        )
    else:
        details = exc.text or exc.reason
    return error_response(status, details, headers=headers)


MAX_BODY_SIZE_HINT = web.AppKey("asyncjobs.max_body_size", int)
"""The app's body size limit, for the 413 message."""


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every error as a native JSON error answer.

    :class:`ApiError` becomes its answer; aiohttp's HTTP errors (404 for an unknown route, 405,
    413) get a JSON body; any other exception is logged and answered with 500.
    """
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _from_http_exception(request, exc)
    except Exception as exc:
        logger.exception("unexpected error handling %s %s", request.method, request.path)
        return error_response(500, f"internal server error ({type(exc).__name__})")
