"""The native protocol's profile (DESIGN.md section 2): what :mod:`asyncjobs.server` speaks."""

from __future__ import annotations

from ._base import Profile, Route

__all__ = ["NATIVE"]

NATIVE = Profile(
    name="native",
    routes={
        "submit": Route("POST", "/jobs", idempotent=True),  # carries an Idempotency-Key
        "get": Route("GET", "/jobs/{job_id}"),
        "get_many": Route("GET", "/jobs"),
        "list": Route("GET", "/jobs"),
        "cancel": Route("POST", "/jobs/{job_id}/cancel", idempotent=True),
        "restart": Route("POST", "/jobs/{job_id}/restart", idempotent=True),
        "delete": Route("DELETE", "/jobs/{job_id}"),
        "log": Route("GET", "/jobs/{job_id}/log"),
        "poll": Route("GET", "/jobs/{job_id}/poll"),
        "events": Route("GET", "/jobs/{job_id}/events"),
        "events_many": Route("GET", "/events"),
        "events_many_post": Route("POST", "/events", idempotent=True),
        "stats": Route("GET", "/stats"),
        "cleanup": Route("POST", "/cleanup"),
    },
    auth="bearer",
    transports=("sse", "long-poll", "poll"),
)
"""The native protocol of DESIGN.md section 2 (what :mod:`asyncjobs.server` speaks)."""
