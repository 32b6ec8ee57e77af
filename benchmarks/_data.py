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


# --- many jobs, each with many versions: the multiplexed stream of bench_stream.py ---------------

DEFAULT_STREAM_JOBS = 1_000


def job_state(job: int, step: int, steps: int, version: int) -> dict[str, Any]:
    """Job ``job`` at step ``step`` of ``steps`` (0: pending, the last: completed), as the
    native protocol sends it (every field, ~300 bytes once encoded)."""
    last = steps - 1
    status = "pending" if step == 0 else "completed" if step == last else "running"
    return {
        "id": f"job-{job:06d}",
        "name": f"render-{job % 997}",
        "status": status,
        "progress": None if step == 0 else round(100 * step / last, 1),
        "message": None if step == 0 else f"step {step}/{last}",
        "result": {"frames": 240, "bytes": 1_000_000 + job} if status == "completed" else None,
        "error": None,
        "priority": 1 + job % 4,
        "config": {"steps": last},
        "created_at": _time(job),
        "updated_at": _time(job + step),
        "started_at": None if step == 0 else _time(job + 1),
        "completed_at": _time(job + step) if status == "completed" else None,
        "version": version,
    }


def make_jobs_stream(
    jobs: int = DEFAULT_STREAM_JOBS, events: int = DEFAULT_EVENTS
) -> tuple[bytes, list[int], list[dict[str, Any]]]:
    """A multiplexed stream of ``jobs`` jobs, ``events // jobs`` versions each, as the native
    ``/events?ids=`` route sends it: every job's snapshot first (its pending state), then every
    later change in version order (the jobs advance in turn), each job's last one terminal.

    Returns:
        The stream's bytes, the offset where each event starts (event ``i`` has version
        ``i + 1``: resuming after version ``v`` starts at ``offsets[v]``), and the snapshots
        (what ``GET /jobs?ids=`` answers before the stream opens).
    """
    steps = events // jobs
    if steps < 2 or steps * jobs != events:
        raise ValueError(f"{events} events for {jobs} jobs: need a multiple, 2 or more each")
    parts: list[bytes] = []
    offsets: list[int] = []
    snapshots: list[dict[str, Any]] = []
    size = 0
    version = 0
    for step in range(steps):
        for job in range(jobs):
            version += 1
            payload = job_state(job, step, steps, version)
            if step == 0:
                snapshots.append(payload)
            data = json.dumps(payload, separators=(",", ":"))
            part = f"id: {version}\nevent: job\ndata: {data}\n\n".encode()
            offsets.append(size)
            size += len(part)
            parts.append(part)
    offsets.append(size)
    return b"".join(parts), offsets, snapshots
