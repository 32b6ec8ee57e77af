"""The exception tree (``_exceptions.py``) is exactly as DESIGN.md draws it, each HTTP status
maps to its class, and the errors carry what they name."""

from __future__ import annotations

import pytest

from asyncjobs import (
    APIError,
    AsyncJobsError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    JobCancelledError,
    JobFailedError,
    JobNotFoundError,
    JobTimeoutError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    ServerError,
    TransportError,
    UnsupportedOperationError,
)
from asyncjobs._exceptions import api_error_class


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (APIError, AsyncJobsError),
        (BadRequestError, APIError),
        (AuthenticationError, APIError),
        (PermissionDeniedError, APIError),
        (JobNotFoundError, APIError),
        (ConflictError, APIError),
        (RateLimitError, APIError),
        (ServerError, APIError),
        (TransportError, AsyncJobsError),
        (ProtocolError, AsyncJobsError),
        (UnsupportedOperationError, AsyncJobsError),
        (JobFailedError, AsyncJobsError),
        (JobCancelledError, AsyncJobsError),
        (JobTimeoutError, AsyncJobsError),
        (JobTimeoutError, TimeoutError),
    ],
)
def test_exception_tree(cls: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(cls, parent)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (422, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, JobNotFoundError),
        (409, ConflictError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
        (413, APIError),
    ],
)
def test_status_codes_map_to_classes(status: int, cls: type[APIError]) -> None:
    assert api_error_class(status) is cls


def test_job_timeout_error_details() -> None:
    err = JobTimeoutError("late", job_id="j1", timeout=2.5, details={"pending_job_ids": ["j1"]})
    assert err.details == {"job_id": "j1", "timeout": 2.5, "pending_job_ids": ["j1"]}
    assert isinstance(err, TimeoutError)


def test_unsupported_operation_names_profile_and_operation() -> None:
    err = UnsupportedOperationError("mammoth", "cancel_job")
    assert "mammoth" in str(err)
    assert "cancel_job" in str(err)
    assert (err.profile, err.operation) == ("mammoth", "cancel_job")
