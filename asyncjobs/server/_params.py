"""Reading and checking request input for the native routes: every bad field is named.

Each reader raises :class:`~._errors.ApiError` 400 whose details name the field, say what was
expected and what came.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from aiohttp import web

from asyncjobs._models import JobStatus

from ._errors import ApiError, bad_request

__all__ = [
    "MAX_GET_IDS",
    "SubmitRequest",
    "decode_cursor",
    "encode_cursor",
    "query_ids",
    "read_json_object",
    "read_last_event_id",
    "read_number",
    "read_int",
    "read_status",
    "read_submit",
]

MAX_GET_IDS = 100
"""The most ids a GET with ``ids=`` may carry."""

_STATUS_WORDS = ", ".join(status.value for status in JobStatus if status is not JobStatus.UNKNOWN)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def query_ids(request: web.Request, name: str = "ids") -> list[str] | None:
    """The ids of a ``name=a,b,c`` query parameter, each one percent-decoded, duplicates dropped.

    Commas split ids only where they are literal: an id holding a comma arrives as ``%2C``.
    Repeated parameters add up.

    Returns:
        The ids in order, or None when the parameter is absent.

    Raises:
        ApiError: 400 when the parameter is present but holds no id, or an empty id.
    """
    raw = request.rel_url.raw_query_string
    found: list[str] | None = None
    for part in raw.split("&"):
        key, _sep, value = part.partition("=")
        if unquote_plus(key) != name:
            continue
        if found is None:
            found = []
        if not value:
            raise bad_request(f"{name}: expected a comma-separated list of job ids, got nothing")
        for piece in value.split(","):
            job_id = unquote_plus(piece)
            if not job_id:
                raise bad_request(f"{name}: empty job id in {value!r}")
            found.append(job_id)
    if found is None:
        return None
    return list(dict.fromkeys(found))


def read_int(
    query: Mapping[str, str], name: str, *, default: int | None, low: int, high: int | None = None
) -> int | None:
    """An integer query parameter within ``low..high``.

    Raises:
        ApiError: 400 naming the parameter.
    """
    text = query.get(name)
    if text is None:
        return default
    expected = f"an integer {low}..{high}" if high is not None else f"an integer >= {low}"
    try:
        value = int(text)
    except ValueError:
        raise bad_request(f"{name}: expected {expected}, got {_show(text)}") from None
    if value < low or (high is not None and value > high):
        raise bad_request(f"{name}: expected {expected}, got {value}")
    return value


def read_number(
    query: Mapping[str, str], name: str, *, default: float, low: float, high: float
) -> float:
    """A number query parameter within ``low..high``.

    Raises:
        ApiError: 400 naming the parameter.
    """
    text = query.get(name)
    if text is None:
        return default
    expected = f"a number {low:g}..{high:g}"
    try:
        value = float(text)
    except ValueError:
        raise bad_request(f"{name}: expected {expected}, got {_show(text)}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise bad_request(f"{name}: expected {expected}, got {_show(text)}")
    return value


def read_status(query: Mapping[str, str], name: str = "status") -> JobStatus | None:
    """A status filter (a native status word).

    Raises:
        ApiError: 400 naming the parameter and the accepted words.
    """
    text = query.get(name)
    if text is None or text == "":
        return None
    try:
        status = JobStatus(text)
    except ValueError:
        status = JobStatus.UNKNOWN
    if status is JobStatus.UNKNOWN:
        raise bad_request(f"{name}: expected one of {_STATUS_WORDS}, got {_show(text)}")
    return status


def read_last_event_id(request: web.Request) -> int | None:
    """The ``Last-Event-ID`` header as a version (None when absent or empty).

    Raises:
        ApiError: 400 when it is not a version number.
    """
    text = request.headers.get("Last-Event-ID")
    if text is None or not text.strip():
        return None
    try:
        value = int(text.strip())
    except ValueError:
        value = -1
    if value < 0:
        raise bad_request(
            f"Last-Event-ID: expected a version number (an event id this server sent), "
            f"got {_show(text)}"
        )
    return value


def encode_cursor(before: int, status: JobStatus | None) -> str:
    """An opaque cursor: where the next page starts and the filter it carries."""
    payload = json.dumps({"b": before, "s": None if status is None else status.value})
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[int, JobStatus | None]:
    """The position and status filter of a cursor from :func:`encode_cursor`.

    Raises:
        ApiError: 400 when the cursor was not issued by this server.
    """
    try:
        padded = text + "=" * (-len(text) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        before = payload["b"]
        word = payload["s"]
        if type(before) is not int or (word is not None and type(word) is not str):
            raise ValueError
        status = None if word is None else JobStatus(word)
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error):
        raise bad_request(
            f"cursor: not a cursor this server issued, got {_show(text)}; "
            "pass the next_cursor of a previous page unchanged"
        ) from None
    return before, status


async def read_json_object(request: web.Request, *, required: bool = False) -> dict[str, Any]:
    """The request body as a JSON object (an empty body is ``{}`` unless ``required``).

    Raises:
        ApiError: 400 for invalid JSON or a body that is not an object; 413 (from aiohttp) for
            a body over the size limit.
    """
    body = await request.read()
    if not body.strip():
        if required:
            raise bad_request("request body: expected a JSON object, got an empty body")
        return {}
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"request body: invalid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise bad_request(f"request body: expected a JSON object, got {_type_name(value)}")
    return value


class SubmitRequest:
    """A checked ``POST /jobs`` body."""

    __slots__ = ("config", "name", "priority")

    def __init__(self, name: str | None, config: dict[str, Any], priority: int) -> None:
        self.name = name
        self.config = config
        self.priority = priority


def read_submit(body: Mapping[str, Any]) -> SubmitRequest:
    """Check a submit body ``{name, config, priority}``.

    Raises:
        ApiError: 400 naming every bad field (in ``details`` and in the ``fields`` list).
    """
    problems: dict[str, str] = {}
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        problems["name"] = f"expected a string or null, got {_type_name(name)}"
    config = body.get("config")
    if config is None:
        config = {}
    elif not isinstance(config, dict):
        problems["config"] = f"expected an object, got {_type_name(config)}"
    priority = body.get("priority", 2)
    if priority is None:
        priority = 2
    elif isinstance(priority, bool) or not isinstance(priority, int):
        problems["priority"] = f"expected an integer 1..4, got {_type_name(priority)}"
    elif not 1 <= priority <= 4:
        problems["priority"] = f"expected an integer 1..4, got {priority}"
    if problems:
        details = "; ".join(f"{field}: {text}" for field, text in problems.items())
        raise ApiError(400, details, extra={"fields": list(problems)})
    return SubmitRequest(name, config, priority)
