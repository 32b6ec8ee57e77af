"""Complete answers of the request pipeline: :class:`Response`, and the :class:`APIError` an
error status becomes (:func:`api_error`). Nothing here knows aiohttp (see :mod:`._errors`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from email.message import Message
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import attrs
from yarl import URL

from asyncjobs import _json as fast_json
from asyncjobs._exceptions import (
    APIError,
    JobNotFoundError,
    ProtocolError,
    RateLimitError,
    ServerError,
    api_error_class,
)

if TYPE_CHECKING:
    from asyncjobs.profiles import Profile

__all__ = ["PAUSE_STATUSES", "Response", "api_error"]

_SNIPPET = 200


def _snippet(body: bytes) -> str:
    text = body[:_SNIPPET].decode("utf-8", errors="replace")
    return repr(text + "...") if len(body) > _SNIPPET else repr(text)


def _charset(content_type: str | None) -> str:
    if not content_type:
        return "utf-8"
    message = Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    return charset if isinstance(charset, str) else "utf-8"


@attrs.frozen
class Response:
    """A complete answer (status, headers, the whole body) to one request.

    Attributes:
        status: The HTTP status.
        headers: The response headers (case-insensitive).
        body: The body, decompressed.
        operation: The profile operation it answers, e.g. ``"get"``.
        method: The request's method.
        path: The request's path below the base URL (for messages).
        attempts: How many attempts it took (1 unless retried).
    """

    status: int
    headers: Mapping[str, str]
    body: bytes
    operation: str = ""
    method: str = ""
    path: str = ""
    attempts: int = 1

    def json(self) -> Any:
        """The body as JSON.

        Raises:
            ProtocolError: the body is not JSON; the message names the operation, the status,
                the content type and the start of the body.
        """
        try:
            try:
                text = self.body.decode("utf-8-sig")  # a BOM is skipped, as json.loads does
            except UnicodeDecodeError:  # UTF-16 or UTF-32, which json.loads detects
                return json.loads(self.body)
            return fast_json.loads(text)  # the JSON backend of event data (orjson if present)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            content_type = self.headers.get("Content-Type", "no content type")
            raise ProtocolError(
                f"expected a JSON body from {self.method} {self.path} ({self.operation}, "
                f"{self.status}), got {content_type!r}: {_snippet(self.body)}"
            ) from None

    def text(self) -> str:
        """The body as text, decoded with the charset of its ``Content-Type`` (else UTF-8)."""
        charset = _charset(self.headers.get("Content-Type"))
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


PAUSE_STATUSES = frozenset({429, 503})
"""Statuses whose ``Retry-After`` pauses all of a client's traffic to the server."""


def error_body(response: Response) -> Any:
    """An error answer's body: its JSON, else its text (``""`` for none)."""
    try:
        return json.loads(response.body) if response.body else ""
    except ValueError:
        return response.text()


def classify(response: Response, profile: Profile, body: Any = None) -> type[APIError]:
    """The :class:`APIError` subclass of a non-2xx ``response``: the profile's
    :meth:`~asyncjobs.Profile.classify_error`, else by status."""
    if body is None:
        body = error_body(response)
    found = profile.classify_error(response.status, body, operation=response.operation or None)
    return found if found is not None else api_error_class(response.status)


def transient(response: Response, profile: Profile) -> bool:
    """Whether an error answer may be retried as the retry policy says: not when the profile
    classifies it as something other than a server error or a rate limit."""
    return issubclass(classify(response, profile), ServerError | RateLimitError)


def api_error(
    response: Response,
    *,
    profile: Profile,
    base_url: str,
    path_params: Mapping[str, str] | None = None,
    retry_after: float | None = None,
) -> APIError:
    """The :class:`APIError` subclass instance describing a non-2xx ``response``.

    The message reads like ``404 Not Found from GET /jobs/abc: job 'abc' does not exist``
    (the server's details, else its error, else the start of the body); ``.body`` is the parsed
    JSON (or the text), ``.error`` and ``.details`` are read by ``profile.parse_error``.

    Args:
        response: The answer.
        profile: The profile that reads the error body.
        base_url: The client's base URL (for ``.url``).
        path_params: The request's path parameters: a 404's ``job_ids`` holds ``job_id``.
        retry_after: The answer's ``Retry-After`` in seconds, if any.
    """
    status = response.status
    body = error_body(response)
    error, details = profile.parse_error(body)
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = error or "Error"
    message = f"{status} {phrase} from {response.method} {response.path}"
    summary = details or (error if error and error != phrase else None)
    if summary:
        message = f"{message}: {summary}"
    if retry_after is not None and status in PAUSE_STATUSES:
        message = f"{message} (Retry-After: {retry_after:g} s)"
    fields: dict[str, Any] = {
        "status": status,
        "error": error,
        "details": details,
        "body": body,
        "method": response.method,
        "url": str(URL(base_url + response.path, encoded=True)),
    }
    cls = classify(response, profile, body)
    if issubclass(cls, RateLimitError):
        return cls(message, retry_after=retry_after, **fields)
    if issubclass(cls, JobNotFoundError):
        job_id = (path_params or {}).get("job_id")
        return cls(message, job_ids=() if job_id is None else (job_id,), **fields)
    return cls(message, **fields)
