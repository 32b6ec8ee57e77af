"""Reading fields of foreign job payloads, for the built-in profiles (sans-I/O).

Each reader takes the payload, a key and the API's name for messages, and returns the value in
the model's type or raises :class:`ProtocolError` naming the field, what was expected and what
came. Missing keys and nulls are None; the empty strings some APIs send for "nothing" are None.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from asyncjobs._converter import parse_time
from asyncjobs._exceptions import ProtocolError
from asyncjobs._models import JobStatus, status_from_word

__all__ = [
    "as_object",
    "error_fields",
    "epoch_ms",
    "epoch_seconds",
    "field_id",
    "field_number",
    "field_status",
    "field_text",
    "field_time",
    "id_in",
    "list_field",
    "list_under",
    "nested",
    "snippet",
    "unwrapped",
]


def snippet(value: Any, size: int = 80) -> str:
    """A short ``repr`` of ``value`` for error messages."""
    text = repr(value)
    return text if len(text) <= size else text[: size - 3] + "..."


def _bad(api: str, field: str, expected: str, value: Any) -> ProtocolError:
    return ProtocolError(
        f"{api} job payload field {field!r}: expected {expected}, got {snippet(value)}"
    )


def as_object(payload: Any, api: str, what: str = "a job object") -> Mapping[str, Any]:
    """``payload`` as a JSON object.

    Raises:
        ProtocolError: it is not an object.
    """
    if not isinstance(payload, dict):
        raise ProtocolError(f"{api}: expected {what}, got {snippet(payload)}")
    return payload


def unwrapped(payload: Any, key: str) -> Any:
    """The object under ``key`` when ``payload`` comes in such an envelope (e.g.
    ``{"data": {...}}``), else ``payload`` as it is."""
    if isinstance(payload, dict):
        inner = payload.get(key)
        if isinstance(inner, dict):
            return inner
    return payload


def nested(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """The object under ``key``, or an empty mapping when it is absent or not an object."""
    value = payload.get(key)
    return value if isinstance(value, dict) else {}


def field_id(payload: Mapping[str, Any], key: str, api: str) -> str:
    """A required job id (a non-empty string, or an integer made a string).

    Raises:
        ProtocolError: the id is missing or of another type.
    """
    value = payload.get(key)
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _bad(api, key, "a job id (a non-empty string or an integer)", value)


def field_text(payload: Mapping[str, Any], key: str, api: str) -> str | None:
    """An optional string; ``""`` is None.

    Raises:
        ProtocolError: the value is neither a string nor null.
    """
    value = payload.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    raise _bad(api, key, "a string or null", value)


def field_status(
    payload: Mapping[str, Any],
    key: str,
    api: str,
    words: Mapping[str, JobStatus] | None = None,
    *,
    field: str | None = None,
) -> JobStatus:
    """A required status word, mapped by :func:`~asyncjobs._models.status_from_word` (the API's
    own ``words`` first); an unknown word is ``JobStatus.UNKNOWN``.

    Args:
        field: The field's name in messages when it is not ``key`` (e.g. a nested path).

    Raises:
        ProtocolError: the word is missing or not a string.
    """
    word = payload.get(key)
    if not isinstance(word, str):
        raise _bad(api, field or key, "a string", word)
    return status_from_word(word, words)


def field_number(payload: Mapping[str, Any], key: str, api: str) -> float | None:
    """An optional number (int or float, never a boolean).

    Raises:
        ProtocolError: the value is neither a number nor null.
    """
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    raise _bad(api, key, "a number or null", value)


def field_time(payload: Mapping[str, Any], key: str, api: str) -> datetime | None:
    """An optional time: ISO 8601 (a naive one is taken as UTC), else the other spellings
    real servers use: a lower-case ``t`` or ``z``, a `` UTC`` or `` GMT`` suffix, RFC 2822
    (``Sun, 21 Jan 2024 10:35:22 GMT``) or seconds (or milliseconds) since the epoch.

    Raises:
        ProtocolError: the value is not a time.
    """
    value = payload.get(key)
    if value is None or value == "":
        return None
    try:
        return parse_time(value, f"{api} {key}")
    except ProtocolError:
        parsed = _odd_time(value)
        if parsed is None:
            raise
        return parsed


_ZONE_SUFFIXES = (" UTC", " GMT", "UTC", "GMT")
_MS_EPOCH = 100_000_000_000  # larger epoch numbers are milliseconds (beyond the year 5138)


def _odd_time(value: Any) -> datetime | None:
    """A time in one of the non-ISO spellings of :func:`field_time`, or None."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return _epoch(float(text))
        except ValueError:
            pass
        upper = text.upper()
        for suffix in _ZONE_SUFFIXES:
            if upper.endswith(suffix):
                upper = upper[: -len(suffix)].rstrip() + "+00:00"
                break
        try:
            return _utc(datetime.fromisoformat(upper))
        except ValueError:
            pass
        try:
            return _utc(email.utils.parsedate_to_datetime(text))
        except (TypeError, ValueError, IndexError):
            return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _epoch(float(value))
    return None


def _epoch(seconds: float) -> datetime | None:
    if not math.isfinite(seconds) or seconds < 0:
        return None
    if seconds >= _MS_EPOCH:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _epoch_field(
    payload: Mapping[str, Any], key: str, api: str, *, per_second: int, unit: str
) -> datetime | None:
    value = payload.get(key)
    if value is None or value == 0:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / per_second, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    raise _bad(api, key, f"{unit} since the epoch", value)


def epoch_ms(payload: Mapping[str, Any], key: str, api: str) -> datetime | None:
    """An optional time in milliseconds since the epoch; 0 means "not yet" (None).

    Raises:
        ProtocolError: the value is not a number.
    """
    return _epoch_field(payload, key, api, per_second=1000, unit="milliseconds")


def epoch_seconds(payload: Mapping[str, Any], key: str, api: str) -> datetime | None:
    """An optional time in seconds since the epoch (int or float); 0 means "not yet" (None).

    Raises:
        ProtocolError: the value is not a number.
    """
    return _epoch_field(payload, key, api, per_second=1, unit="seconds")


def id_in(payload: Any) -> str | None:
    """The job id an answer carries: itself, or under ``job_id`` or ``id``."""
    if isinstance(payload, dict):
        for key in ("job_id", "id"):
            found = id_in(payload.get(key))
            if found is not None:
                return found
        return None
    if isinstance(payload, str | int) and not isinstance(payload, bool) and payload != "":
        return str(payload)
    return None


def list_under(data: Mapping[str, Any], key: str, where: str) -> list[Any]:
    """The list under ``key`` of an answer already known to be an object.

    Args:
        where: What the answer is, to begin the message, e.g. ``"flower queue lengths"``.

    Raises:
        ProtocolError: the value is missing or not a list.
    """
    value = data.get(key)
    if not isinstance(value, list):
        raise ProtocolError(f"{where}: expected a list under {key!r}, got {snippet(value)}")
    return value


def list_field(payload: Any, key: str, operation: str) -> list[Any]:
    """The list under ``key`` of ``operation``'s answer (e.g. a native list page's ``jobs``).

    Raises:
        ProtocolError: the answer is not an object, or the value is not a list.
    """
    if not isinstance(payload, dict):
        raise ProtocolError(f"{operation} answer: expected an object, got {snippet(payload)}")
    return list_under(payload, key, f"{operation} answer")


# -- error bodies ---------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return str(value)


def _fastapi_detail(detail: Any) -> str | None:
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = item.get("loc")
                where = ".".join(str(p) for p in loc) if isinstance(loc, list) else None
                msg = _text(item.get("msg")) or snippet(item)
                parts.append(f"{where}: {msg}" if where else msg)
            else:
                parts.append(str(item))
        return "; ".join(parts) or None
    return _text(detail)


def error_fields(body: Any) -> tuple[str | None, str | None]:
    """Read ``(error, details)`` from an error body of any known shape.

    Args:
        body: The decoded JSON body, or the body's text when it is not JSON.

    Returns:
        The reason (e.g. ``"Not Found"``, an error code or type) and what was wrong, each None
        when the body does not say.
    """
    if isinstance(body, str):
        text = body.strip()
        return None, (text[:500] if text else None)
    if not isinstance(body, dict):
        return None, None
    error = body.get("error")
    if isinstance(error, dict):  # {"error": {"code", "message", "errors": [...]}}
        message = _text(error.get("message"))
        code = _text(error.get("code"))
        reasons = error.get("errors")
        if isinstance(reasons, list):
            extra = [
                _text(r.get("message")) or _text(r.get("reason")) or ""
                for r in reasons
                if isinstance(r, dict)
            ]
            extra = [e for e in extra if e and e != message]
            if extra:
                message = "; ".join([m for m in (message, *extra) if m])
        return code, message
    if "errorType" in body:  # Dataiku
        return _text(body.get("errorType")), _text(
            body.get("detailedMessage") or body.get("message")
        )
    details = body.get("details")
    if details is None:
        details = body.get("message")
    if details is None and "detail" in body:
        return _text(error), _fastapi_detail(body.get("detail"))
    if details is not None and not isinstance(details, str):
        details = snippet(details, 500)
    return _text(error), _text(details)
