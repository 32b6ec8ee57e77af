"""RFC 3339 times of the payloads (sans-I/O): read, checked (:func:`parse_time`) or cached for
the hot path of :func:`~asyncjobs._converter.job_from_native` (:func:`_utc_time`), and written
(:func:`format_time`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from ._exceptions import ProtocolError

__all__ = ["format_time", "parse_time"]


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def parse_time(value: Any, field: str = "time") -> datetime | None:
    """Parse an RFC 3339 time into a timezone-aware UTC datetime.

    A time without an offset is taken as UTC. ``None`` stays ``None``.

    Raises:
        ProtocolError: the value is not a time; the message names ``field``.
    """
    # The checked path: no cache (job_from_native caches the times that repeat).
    if type(value) is str:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ProtocolError(
                f"field {field!r}: expected an RFC 3339 time, got {_describe(value)}"
            ) from None
        return parsed if parsed.tzinfo is UTC else _as_utc(parsed)
    if value is None:
        return None
    if isinstance(value, datetime):
        return _as_utc(value)
    if isinstance(value, str):  # a str subclass
        return parse_time(str(value), field)
    raise ProtocolError(f"field {field!r}: expected an RFC 3339 time, got {_describe(value)}")


def _as_utc(value: datetime) -> datetime:
    tz = value.tzinfo
    if tz is UTC:
        return value
    if tz is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_time(value: datetime | None) -> str | None:
    """Format a datetime as RFC 3339 UTC with a ``Z`` suffix (None stays None)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    else:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")


_fromisoformat = datetime.fromisoformat

_TIMES_KEPT: Final = 4096
_times: dict[str, datetime] = {}
"""Recent times, by their exact text: each a UTC datetime (immutable, so Jobs can share it)."""


def _utc_time(text: str) -> datetime | None:
    """``text`` as a UTC datetime, cached; None when it is not a time or not a UTC one (the
    checked path says why). The cache holds at most ``_TIMES_KEPT`` times: when full, it is
    emptied (cheaper than evicting one at a time, and still bounded)."""
    try:
        parsed = _fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is not UTC:
        return None
    times = _times
    if len(times) >= _TIMES_KEPT:
        times.clear()
    times[text] = parsed
    return parsed
