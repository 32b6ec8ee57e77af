"""The exceptions asyncjobs raises.

Every exception derives from :class:`AsyncJobsError`, so ``except AsyncJobsError`` catches
everything the library raises on purpose::

    AsyncJobsError
    ├── APIError                 .status .error .details .body
    │   ├── BadRequestError          400, 422
    │   ├── AuthenticationError      401
    │   ├── PermissionDeniedError    403
    │   ├── JobNotFoundError         404
    │   ├── ConflictError            409
    │   ├── RateLimitError           429  .retry_after
    │   └── ServerError              5xx
    ├── TransportError           connection refused, reset, read timeout
    ├── ProtocolError            a response that is not what the protocol says
    ├── UnsupportedOperationError  the profile's API has no such operation
    ├── JobFailedError           .job .details
    ├── JobCancelledError        .job .details
    └── JobTimeoutError          also a builtin TimeoutError; .job_id .timeout .job .details

Exceptions of aiohttp never escape the client: they are translated into
:class:`TransportError` (or :class:`ProtocolError`) at the one place the client talks to the
network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._models import Job

__all__ = [
    "APIError",
    "AsyncJobsError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "JobCancelledError",
    "JobFailedError",
    "JobNotFoundError",
    "JobTimeoutError",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "ServerError",
    "TransportError",
    "UnsupportedOperationError",
    "api_error_class",
]


class AsyncJobsError(Exception):
    """Base class of every exception asyncjobs raises.

    Attributes:
        idempotency_key: On an error raised by ``submit_job``: the ``Idempotency-Key`` the
            submit was sent with. The job may or may not have been created; submitting again
            with ``idempotency_key=`` this key creates it at most once. None otherwise.
    """

    idempotency_key: str | None = None


class APIError(AsyncJobsError):
    """The server answered with an HTTP error status.

    Attributes:
        status: The HTTP status code.
        error: The ``error`` string of the JSON error body (the reason phrase), or None.
        details: The ``details`` string of the JSON error body (what was wrong), or None.
        body: The parsed JSON body of the answer, or its text when it is not JSON.
        method: The HTTP method of the request, when known.
        url: The URL of the request, when known (never with credentials).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        error: str | None = None,
        details: str | None = None,
        body: Any = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.details = details
        self.body = body
        self.method = method
        self.url = url


class BadRequestError(APIError):
    """The server rejected the request's input (400 or 422); ``details`` names the bad field."""


class AuthenticationError(APIError):
    """No token, or a token the server does not accept (401)."""


class PermissionDeniedError(APIError):
    """The job belongs to another caller (403)."""


class JobNotFoundError(APIError):
    """No such job (404).

    Attributes:
        job_ids: The ids that were not found, when the client knows them (for
            :meth:`Client.get_jobs` all of them), else an empty tuple.
    """

    def __init__(self, message: str, *, job_ids: Iterable[str] = (), **kwargs: Any) -> None:
        kwargs.setdefault("status", 404)
        super().__init__(message, **kwargs)
        self.job_ids: tuple[str, ...] = tuple(job_ids)


class ConflictError(APIError):
    """The job is in the wrong state for the operation (409), e.g. cancelling a finished job."""


class RateLimitError(APIError):
    """Too many requests (429), after the retry policy gave up.

    Attributes:
        retry_after: Seconds the server asked the client to wait, or None.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("status", 429)
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """The server failed (5xx), after the retry policy gave up where the request was safe."""


class _DetailedError(AsyncJobsError):
    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details: dict[str, Any] = dict(details or {})


class TransportError(_DetailedError):
    """The request did not get an answer: connection refused or reset, DNS, read timeout.

    Attributes:
        details: More about the failure, e.g. ``idempotency_key`` for a submit.
    """


class ProtocolError(_DetailedError):
    """The server answered something the protocol does not allow (bad JSON, a missing field).

    Attributes:
        details: More about the failure, e.g. ``idempotency_key`` for a submit.
    """


class UnsupportedOperationError(AsyncJobsError):
    """The API behind the client's profile has no such operation.

    Attributes:
        profile: The profile's name.
        operation: The operation's name, e.g. ``"cancel_job"``.
    """

    def __init__(self, profile: str, operation: str, hint: str | None = None) -> None:
        message = f"the {profile!r} profile's API has no {operation} operation"
        if hint:
            message = f"{message}: {hint}"
        super().__init__(message)
        self.profile = profile
        self.operation = operation


class _JobEndedError(AsyncJobsError):
    def __init__(self, message: str, *, job: Job, details: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.job = job
        self.details: dict[str, Any] = dict(details)


class JobFailedError(_JobEndedError):
    """The job ended failed.

    Attributes:
        job: The final :class:`Job`.
        details: ``{"job_id": ..., "failure_reason": ...}`` plus whatever else the API says
            (``error_reason`` for Celery-style APIs).
    """


class JobCancelledError(_JobEndedError):
    """The job ended cancelled (revoked, aborted).

    Attributes:
        job: The final :class:`Job`.
        details: ``{"job_id": ...}``.
    """


class JobTimeoutError(AsyncJobsError, TimeoutError):
    """A wait or watch ran out of time before the job ended.

    It is also a builtin :class:`TimeoutError`, so ``except TimeoutError`` catches it.

    Attributes:
        job_id: The job waited for (for many jobs, the first unfinished one in input order).
        timeout: The timeout in seconds.
        job: The last state seen of that job, or None.
        details: ``{"job_id": ..., "timeout": ...}``; for many jobs also ``pending_job_ids``.
    """

    def __init__(
        self,
        message: str,
        *,
        job_id: str,
        timeout: float | None,
        job: Job | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.timeout = timeout
        self.job = job
        self.details: dict[str, Any] = {"job_id": job_id, "timeout": timeout, **(details or {})}


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: JobNotFoundError,
    409: ConflictError,
    422: BadRequestError,
    429: RateLimitError,
}


def api_error_class(status: int) -> type[APIError]:
    """Return the :class:`APIError` subclass for an HTTP error status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, APIError)
