"""DESIGN.md section 3 against servers other than the reference one: tiny aiohttp apps on
loopback that speak the native protocol with the liberties section 2 allows."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from _client_apps import serve
from aiohttp import web

from asyncjobs import Client, Job, JobCancelledError, JobNotFoundError, JobStatus, RetryPolicy

pytestmark = pytest.mark.anyio


class Jobs:
    """A minimal native server: GET /jobs/{id} only, plus an optional batch read."""

    def __init__(self, *, batch: str) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.batch = batch

    def add(self, job_id: str, status: str = "pending") -> None:
        self.jobs[job_id] = {"id": job_id, "status": status, "version": 1}

    async def get_one(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        job = self.jobs.get(request.match_info["job_id"])
        if job is None:
            return web.json_response({"error": "Not Found", "details": "no such job"}, status=404)
        return web.json_response(job)

    async def get_many(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        ids = request.query["ids"].split(",")
        missing = [job_id for job_id in ids if job_id not in self.jobs]
        if self.batch == "404-when-any-missing" and missing:
            return web.json_response(
                {"error": "Not Found", "details": f"unknown: {missing}"}, status=404
            )
        found = [self.jobs[job_id] for job_id in reversed(ids) if job_id in self.jobs]
        return web.json_response({"jobs": found, "not_found": missing})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/jobs/{job_id}", self.get_one)
        if self.batch == "none":
            app.router.add_post("/api/jobs", self.get_one)  # GET /jobs then answers 405
        else:
            app.router.add_get("/api/jobs", self.get_many)
        return app


@pytest.fixture(params=["none", "404-when-any-missing"])
async def jobs(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Jobs, str]]:
    jobs = Jobs(batch=request.param)
    async with serve(jobs.app()) as origin:
        yield jobs, origin + "/api"


async def test_get_jobs_without_batched_reads_keeps_order_and_names_every_unknown_id(
    jobs: tuple[Jobs, str],
) -> None:
    """A server whose batch read answers 405 (not offered) or a bare 404: get_jobs reads the
    jobs one by one, keeps input order and names every unknown id."""
    server, url = jobs
    for job_id in ("a", "b", "c"):
        server.add(job_id, "running")
    async with Client(url, retry=RetryPolicy(attempts=1)) as client:
        got = await client.get_jobs(["c", "a", "b", "a"])
        assert [job.id for job in got] == ["c", "a", "b", "a"]
        assert all(job.status is JobStatus.RUNNING for job in got)
        with pytest.raises(JobNotFoundError) as caught:
            await client.get_jobs(["a", "ghost-1", "b", "ghost-2"])
    assert set(caught.value.job_ids) == {"ghost-1", "ghost-2"}
    assert "ghost-1" in str(caught.value) and "ghost-2" in str(caught.value)


class ShortStreams:
    """A native server whose SSE streams send what they have, repeat an old version, and close
    early (before the terminal event), as a flaky proxy would; no long poll."""

    def __init__(self) -> None:
        self.versions: dict[str, list[dict[str, Any]]] = {}
        self.last_event_ids: list[str | None] = []
        self.shown: dict[str, int] = {}

    def add(self, job_id: str, *statuses: str) -> None:
        self.versions[job_id] = [
            {"id": job_id, "status": status, "version": 10 * (index + 1) + len(self.versions)}
            for index, status in enumerate(statuses)
        ]

    def current(self, job_id: str) -> dict[str, Any]:
        return self.versions[job_id][self.shown.get(job_id, 0)]

    async def get_one(self, request: web.Request) -> web.Response:
        job_id = request.match_info["job_id"]
        if job_id not in self.versions:
            return web.json_response({"error": "Not Found", "details": "no"}, status=404)
        return web.json_response(self.current(job_id))

    async def get_many(self, request: web.Request) -> web.Response:
        ids = request.query["ids"].split(",")
        return web.json_response(
            {
                "jobs": [self.current(i) for i in ids if i in self.versions],
                "not_found": [i for i in ids if i not in self.versions],
            }
        )

    async def _stream(self, request: web.Request, ids: list[str]) -> web.StreamResponse:
        self.last_event_ids.append(request.headers.get("Last-Event-ID"))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"retry: 10\n\n")
        for job_id in ids:
            old = self.current(job_id)
            # advance the job by one version per connection, send it and an older one again
            self.shown[job_id] = min(self.shown.get(job_id, 0) + 1, len(self.versions[job_id]) - 1)
            for job in (self.current(job_id), old):
                data = json.dumps(job).encode()
                await response.write(b"id: %d\nevent: job\ndata: %s\n\n" % (job["version"], data))
        return response  # closes early: no terminal event needed

    async def job_events(self, request: web.Request) -> web.StreamResponse:
        return await self._stream(request, [request.match_info["job_id"]])

    async def events(self, request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            ids = (await request.json())["ids"]
        else:
            ids = request.query["ids"].split(",")
        return await self._stream(request, ids)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/jobs/{job_id}", self.get_one)
        app.router.add_get("/api/jobs", self.get_many)
        app.router.add_get("/api/jobs/{job_id}/events", self.job_events)
        app.router.add_get("/api/events", self.events)
        app.router.add_post("/api/events", self.events)
        return app


@pytest.fixture
async def short(fast: None) -> AsyncIterator[tuple[ShortStreams, str]]:
    server = ShortStreams()
    async with serve(server.app()) as origin:
        yield server, origin + "/api"


async def test_watch_over_streams_that_close_early_sees_each_version_once(
    short: tuple[ShortStreams, str],
) -> None:
    """Streams that close before the terminal event and repeat an old version: watch resumes,
    yields each version once, in order, and ends only after the terminal state."""
    server, url = short
    server.add("a", "pending", "running", "running", "completed")
    async with Client(url) as client:
        seen = [job async for job in client.watch("a", transport="sse", timeout=5)]
    assert [job.version for job in seen] == [10, 20, 30, 40]
    assert seen[-1].status is JobStatus.COMPLETED
    assert server.last_event_ids[1:] and all(i is not None for i in server.last_event_ids[1:])


async def test_many_job_waits_over_streams_that_close_early(
    short: tuple[ShortStreams, str],
) -> None:
    """watch_jobs and wait_for_jobs over multi-job streams that close early: every version
    once, the final states in input order."""
    server, url = short
    server.add("a", "pending", "running", "completed")
    server.add("b", "running", "failed")
    async with Client(url) as client:
        seen = [
            (job.id, job.version or 0) async for job in client.watch_jobs(["a", "b"], timeout=5)
        ]
        for job_id, last in (("a", 30), ("b", 21)):
            versions = [version for i, version in seen if i == job_id]
            assert versions == sorted(set(versions))  # each once, oldest first
            assert versions[-1] == last  # ends only after the terminal state
        server.add("c", "pending", "completed")
        server.add("d", "running", "cancelled")
        final = await client.wait_for_jobs(["d", "c"], timeout=5, return_exceptions=True)
    assert isinstance(final[0], JobCancelledError) and final[0].job.id == "d"
    assert isinstance(final[1], Job) and final[1].id == "c"
