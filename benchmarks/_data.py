"""The benchmark stream: native-protocol job events, as the reference server sends them.

Every event is ``id: <version>\\nevent: job\\ndata: <Job JSON>\\n\\n`` (DESIGN.md section 2), about
330 bytes, with the job's status, progress and times varying from event to event so that the JSON
decoder and the model converter see realistic, non-repeating payloads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["CHUNK_SIZE", "DEFAULT_EVENTS", "chunked", "job_payload", "make_stream"]

DEFAULT_EVENTS = 100_000
CHUNK_SIZE = 65_536  # what aiohttp's iter_any() typically hands over for a fast stream

_EPOCH = datetime(2025, 3, 1, 9, 0, 0, tzinfo=UTC)
_STEPS = ("queued", "fetching", "rendering", "encoding", "uploading")


def _time(seconds: int) -> str:
    return (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def job_payload(n: int) -> dict[str, Any]:
    """Return the n-th job snapshot of the stream (a native Job object, DESIGN.md section 2)."""
    job = n // 10
    step = n % 10
    status = "pending" if step == 0 else "completed" if step == 9 else "running"
    started = None if step == 0 else _time(job * 11 + 1)
    return {
        "id": f"job-{job:06d}",
        "name": f"render-{job % 997}",
        "status": status,
        "progress": step * 11 if step < 9 else 100,
        "message": _STEPS[step // 2],
        "result": {"frames": 240, "bytes": 1_000_000 + job} if status == "completed" else None,
        "error": None,
        "priority": 1 + job % 4,
        "config": {"steps": 10},
        "created_at": _time(job * 11),
        "updated_at": _time(job * 11 + step),
        "started_at": started,
        "completed_at": _time(job * 11 + 9) if status == "completed" else None,
        "version": n + 1,
    }


def make_stream(events: int = DEFAULT_EVENTS) -> bytes:
    """Return ``events`` SSE job events as one ``bytes`` object."""
    parts = []
    for n in range(events):
        payload = job_payload(n)
        data = json.dumps(payload, separators=(",", ":"))
        parts.append(f"id: {payload['version']}\nevent: job\ndata: {data}\n\n")
    return "".join(parts).encode()


def chunked(data: bytes, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield ``data`` in pieces of ``size`` bytes, the way a socket read loop would."""
    view = memoryview(data)
    for start in range(0, len(data), size):
        yield bytes(view[start : start + size])
