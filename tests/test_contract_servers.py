"""DESIGN.md section 3 against servers other than the reference one: tiny aiohttp apps on
loopback that speak the native protocol with the liberties section 2 allows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from _client_apps import serve
from aiohttp import web

from asyncjobs import Client, JobNotFoundError, JobStatus, RetryPolicy

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
