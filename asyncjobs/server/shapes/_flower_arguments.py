"""How the flower shape reads its requests' arguments as Flower (tornado) does, answering bad
ones as Flower does: a submit body's ``args`` and ``kwargs``, a bool query argument, and the
paging of ``/api/tasks``. The routes are in :mod:`._flower`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from asyncjobs.server._errors import ApiError

__all__ = ["bool_argument", "paging", "task_args"]

_TRUE = frozenset({"y", "yes", "t", "true", "on", "1"})
_FALSE = frozenset({"n", "no", "f", "false", "off", "0"})


def task_args(raw: bytes, decode: Callable[[bytes], Any]) -> tuple[list[Any], dict[str, Any]]:
    """Flower's reading of a submit body: ``args`` (a list) and ``kwargs``."""
    try:
        options = decode(raw) if raw else {}
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    if not isinstance(options, dict):
        raise ApiError(400, "invalid options")
    args = options.pop("args", [])
    kwargs = options.pop("kwargs", {})
    if not isinstance(args, list):
        raise ApiError(400, "args must be an array")
    if not isinstance(kwargs, dict):
        raise ApiError(500, "")  # apply_async breaks on it
    return args, kwargs


def bool_argument(raw: str) -> bool:
    """A bool query argument, spelled as tornado accepts it."""
    if raw.lower() not in _TRUE | _FALSE:
        raise ApiError(400, f"Invalid argument '{raw}' of type 'bool'")
    return raw.lower() in _TRUE


def paging(query: Mapping[str, str]) -> tuple[int, int | None]:
    """``/api/tasks``'s ``offset`` (at least 0) and ``limit`` (None: no limit)."""
    raw_limit = query.get("limit") or None
    raw_offset = query.get("offset", "0")
    try:
        offset = max(int(raw_offset), 0)
    except ValueError:
        raise ApiError(400, f"Invalid argument '{raw_offset}' of type 'int'") from None
    try:
        limit = None if raw_limit is None else int(raw_limit)
    except ValueError:
        raise ApiError(500, "") from None
    return offset, limit
