"""DESIGN.md section 2 as the reference server speaks it, checked with a plain aiohttp session
(no asyncjobs client): answers, status codes, error bodies, pages, long polls and SSE streams."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from _live_helpers import bounded, wait_until
from yarl import URL

from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio

JOB_FIELDS = {
    "id",
    "name",
    "status",
    "progress",
    "message",
    "result",
    "error",
    "priority",
    "config",
    "created_at",
    "updated_at",
    "started_at",
    "completed_at",
    "version",
}
AUTH = {"Authorization": "Bearer alice"}


@pytest.fixture
async def server() -> AsyncIterator[JobServer]:
    async with JobServer(tokens=["alice", "bob"], heartbeat=0.1, retry_ms=25) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    server: JobServer,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[int, Any, Mapping[str, str]]:
    """One request; the answer's status, JSON (or text) and headers."""
    url = URL(server.url + path, encoded=True)  # sent as written: %2C stays %2C
    async with http.request(
        method, url, headers=AUTH if headers is None else headers, **kwargs
    ) as response:
        text = await response.text()
        body: Any = text
        if response.content_type == "application/json":
            body = json.loads(text)
        return response.status, body, response.headers


def assert_error_body(body: Any, error: str, *words: str) -> None:
    assert set(body) >= {"error", "details", "timestamp"}
    assert body["error"] == error
    for word in words:
        assert word in body["details"]


async def read_stream(response: aiohttp.ClientResponse, limit: float = 1.0) -> tuple[str, bool]:
    """What an SSE response sends within ``limit`` seconds, and whether it closed by then."""
    data = b""
    try:
        async with asyncio.timeout(limit):
            async for chunk in response.content.iter_any():
                data += chunk
    except TimeoutError:
        return data.decode(), False
    return data.decode(), True


def events(text: str) -> list[dict[str, Any]]:
    """The ``event: job`` events of a stream: their id and Job."""
    found = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if lines.get("event") == "job":
            job = json.loads(lines["data"])
            assert int(lines["id"]) == job["version"]
            found.append(job)
    return found


async def test_submit_answers_201_and_a_repeated_key_200_with_the_first_job(
    http: aiohttp.ClientSession, server: JobServer
) -> None:
    """POST /jobs: 201 with a full Job; the same Idempotency-Key from the same caller: 200,
    the first job; from another caller: a new job."""
    body = {"name": "resize", "config": {"w": 640}, "priority": 3}
    keyed = {**AUTH, "Idempotency-Key": "k-1"}
    status, first, _ = await call(http, server, "POST", "/jobs", json=body, headers=keyed)
    assert status == 201
    assert set(first) == JOB_FIELDS
    assert (first["status"], first["priority"], first["config"]) == ("pending", 3, {"w": 640})
    assert first["created_at"].endswith("Z")
    assert datetime.fromisoformat(first["created_at"]).utcoffset() is not None
    status, again, _ = await call(http, server, "POST", "/jobs", json=body, headers=keyed)
    assert (status, again["id"]) == (200, first["id"])
    other = {"Authorization": "Bearer bob", "Idempotency-Key": "k-1"}
    status, bobs, _ = await call(http, server, "POST", "/jobs", json=body, headers=other)
    assert status == 201 and bobs["id"] != first["id"]
    status, plain, _ = await call(http, server, "POST", "/jobs", json={})
    assert (status, plain["priority"], plain["name"], plain["config"]) == (201, 2, None, {})


async def test_bad_input_is_400_naming_each_bad_field(
    http: aiohttp.ClientSession, server: JobServer
) -> None:
    """400 with the native error body; details names every bad field."""
    bad = {"name": 5, "config": [1], "priority": 9}
    status, body, _ = await call(http, server, "POST", "/jobs", json=bad)
    assert status == 400
    assert_error_body(body, "Bad Request", "name", "config", "priority")
    for path, word in (
        ("/jobs?limit=0", "limit"),
        ("/jobs?limit=101", "limit"),
        ("/jobs?status=bogus", "status"),
        ("/jobs?cursor=nonsense", "cursor"),
        ("/jobs?ids=", "ids"),
        ("/events?ids=", "ids"),
    ):
        status, body, _ = await call(http, server, "GET", path)
        assert status == 400, path
        assert_error_body(body, "Bad Request", word)
    status, body, _ = await call(http, server, "POST", "/cleanup?max_age_hours=169")
    assert status == 400
    assert_error_body(body, "Bad Request", "max_age_hours")


async def test_auth_errors_and_another_callers_jobs(
    http: aiohttp.ClientSession, server: JobServer
) -> None:
    """401 without or with a bad token; 403 for another caller's job; batch reads list it as
    not found; a stream of it is 403 listing it."""
    job = server.create_job(name="alices")
    for headers in ({}, {"Authorization": "Bearer mallory"}):
        status, body, _ = await call(http, server, "GET", f"/jobs/{job.id}", headers=headers)
        assert status == 401
        assert_error_body(body, "Unauthorized")
    bob = {"Authorization": "Bearer bob"}
    status, body, _ = await call(http, server, "GET", f"/jobs/{job.id}", headers=bob)
    assert status == 403
    assert_error_body(body, "Forbidden", job.id)
    status, body, _ = await call(http, server, "GET", f"/jobs?ids={job.id}", headers=bob)
    assert (status, body) == (200, {"jobs": [], "not_found": [job.id]})
    status, body, _ = await call(http, server, "GET", f"/events?ids={job.id}", headers=bob)
    assert status == 403 and job.id in body["details"]


async def test_batch_get_and_pages(http: aiohttp.ClientSession, server: JobServer) -> None:
    """GET /jobs?ids= answers jobs and not_found (a %2C is part of an id); GET /jobs pages
    newest first, 50 by default, and the cursor carries the filter."""
    comma = server.create_job(name="c", id="a,b")
    status, body, _ = await call(http, server, "GET", "/jobs?ids=a%2Cb,ghost")
    assert status == 200
    assert [job["id"] for job in body["jobs"]] == [comma.id]
    assert body["not_found"] == ["ghost"]
    created = [server.create_job(name=f"j{i}", status="running") for i in range(60)]
    status, page, _ = await call(http, server, "GET", "/jobs")
    assert [job["id"] for job in page["jobs"]] == [job.id for job in reversed(created)][:50]
    assert isinstance(page["next_cursor"], str)
    status, page, _ = await call(http, server, "GET", "/jobs?status=running&limit=40")
    seen = [job["id"] for job in page["jobs"]]
    status, page, _ = await call(http, server, "GET", f"/jobs?cursor={page['next_cursor']}")
    seen += [job["id"] for job in page["jobs"]]
    assert page["next_cursor"] is None
    assert seen == [job.id for job in reversed(created)]


async def test_cancel_restart_delete_log_stats_cleanup(
    http: aiohttp.ClientSession, server: JobServer
) -> None:
    """The state rules (409 otherwise), DELETE 204, the log as text/plain, stats keys, and
    cleanup by completed_at."""
    job = server.create_job(name="x", status="running", log=["line one"])
    status, body, _ = await call(http, server, "POST", f"/jobs/{job.id}/restart")
    assert status == 409
    assert_error_body(body, "Conflict")
    status, body, _ = await call(http, server, "DELETE", f"/jobs/{job.id}")
    assert status == 409
    status, body, _ = await call(http, server, "POST", f"/jobs/{job.id}/cancel")
    assert (status, body["status"]) == (200, "cancelled")
    status, body, _ = await call(http, server, "POST", f"/jobs/{job.id}/cancel")
    assert status == 409
    status, body, _ = await call(http, server, "POST", f"/jobs/{job.id}/restart")
    assert (status, body["status"], body["completed_at"]) == (200, "pending", None)
    status, text, headers = await call(http, server, "GET", f"/jobs/{job.id}/log")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert "line one" in text
    status, stats, _ = await call(http, server, "GET", "/stats")
    assert set(stats) == {
        "total",
        "pending",
        "running",
        "completed",
        "failed",
        "cancelled",
        "active_workers",
        "total_workers",
    }
    assert (stats["total"], stats["pending"]) == (1, 1)
    server.update_job(job.id, status="completed")
    status, body, _ = await call(http, server, "DELETE", f"/jobs/{job.id}")
    assert (status, body) == (204, "")
    status, body, _ = await call(http, server, "GET", f"/jobs/{job.id}")
    assert status == 404
    assert_error_body(body, "Not Found", job.id)
    status, body, _ = await call(http, server, "POST", "/cleanup")
    assert (status, body) == (200, {"cleaned_jobs": 0})


async def test_long_poll_answers_on_a_newer_version_or_after_its_timeout(
    http: aiohttp.ClientSession, server: JobServer
) -> None:
    """GET /jobs/{id}/poll: at once without after=; held until version > after; the same job
    after timeout seconds; timeout outside 1..300 is 400."""
    job = server.create_job(name="x")
    assert job.version is not None
    status, body, _ = await call(http, server, "GET", f"/jobs/{job.id}/poll")
    assert (status, body["version"]) == (200, job.version)
    # Held for up to 60 s: the change made while it is held must answer it at once (a bounded
    # wait far below the poll's timeout, not a measure of elapsed time).
    path = f"/jobs/{job.id}/poll?after={job.version}&timeout=60"
    poll = asyncio.ensure_future(call(http, server, "GET", path))
    await wait_until(lambda: server.open_polls == 1, message="the long poll was never held")
    assert not poll.done()
    server.update_job(job.id, progress=10)
    status, body, _ = await bounded(poll, "the held long poll did not answer the newer version")
    assert status == 200 and body["version"] > job.version and body["progress"] == 10
    for bad in ("0", "301"):
        status, body, _ = await call(http, server, "GET", f"/jobs/{job.id}/poll?timeout={bad}")
        assert status == 400 and "timeout" in body["details"]


async def test_job_stream_snapshot_changes_retry_ping_and_end(
    http: aiohttp.ClientSession, server: JobServer
) -> None:
    """GET /jobs/{id}/events: retry: first, the snapshot, every change in version order,
    ': ping' while silent, and the stream closes after the terminal event."""
    job = server.create_job(name="x", status="running")
    async with http.get(server.url + f"/jobs/{job.id}/events", headers=AUTH) as response:
        assert response.status == 200
        assert response.content_type == "text/event-stream"
        loop = asyncio.get_running_loop()
        # 0.25 s of silence is the behaviour: a heartbeat (0.2 s) must send ': ping' meanwhile.
        loop.call_later(0.25, lambda: server.update_job(job.id, progress=50))
        loop.call_later(0.3, lambda: server.update_job(job.id, status="completed"))
        text, closed = await read_stream(response)
    assert closed
    assert text.startswith("retry: 25\n")
    assert ": ping\n" in text
    sent = events(text)
    assert [j["status"] for j in sent] == ["running", "running", "completed"]
    assert [j["version"] for j in sent] == sorted({j["version"] for j in sent})


async def test_streams_of_many_jobs_honour_last_event_id_and_end_or_stay_open(
    http: aiohttp.ClientSession, server: JobServer
) -> None:
    """With ids: only snapshots newer than Last-Event-ID, closed after the last terminal event;
    without ids: all the caller's jobs, later ones included, and it stays open."""
    a = server.create_job(name="a", status="completed")
    b = server.create_job(name="b", status="running")
    server.create_job(name="bobs", token="bob")
    headers = {**AUTH, "Last-Event-ID": str(a.version)}
    async with http.post(server.url + "/events", json={"ids": [a.id, b.id]}, headers=headers) as r:
        asyncio.get_running_loop().call_later(
            0.05, lambda: server.update_job(b.id, status="failed")
        )
        text, closed = await read_stream(r)
    assert closed
    assert [(j["id"], j["status"]) for j in events(text)] == [(b.id, "running"), (b.id, "failed")]
    async with http.get(server.url + "/events", headers=AUTH) as r:
        asyncio.get_running_loop().call_later(0.05, lambda: server.create_job(name="c"))
        text, closed = await read_stream(r, 0.3)
    assert not closed
    assert [j["name"] for j in events(text)] == ["a", "b", "c"]
    status, body, _ = await call(http, server, "POST", "/events", json={"ids": ["ghost", "gone"]})
    assert status == 404 and "ghost" in body["details"] and "gone" in body["details"]
