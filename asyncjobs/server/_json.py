"""JSON encoding shared by the server's routes: compact, ASCII-only, bytes out."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps"]

_encoder = json.JSONEncoder(separators=(",", ":"))


def dumps(value: Any) -> bytes:
    """Encode ``value`` as compact JSON bytes (never containing a raw newline)."""
    return _encoder.encode(value).encode("ascii")
