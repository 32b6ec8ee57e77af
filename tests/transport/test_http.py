"""The request pipeline (``_transport/_http.py``): retries of what is safe to repeat, the
client's timeout on one request, URL encoding of ids, against the JobServer (and tiny apps)
on loopback."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import pytest
from _client_apps import serve, unused_port
from aiohttp import web

from asyncjobs import (
    Client,
    ConflictError,
    JobNotFoundError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from asyncjobs.profiles import NATIVE
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(attempts=3, backoff_base=0.01, backoff_cap=0.05)


# -- retries -----------------------------------------------------------------------------------


async def test_503_twice_with_retry_after_then_success(server: JobServer) -> None:
    """Two 503s with Retry-After: 1, then 200: the call succeeds after waiting as told, in
    exactly three requests."""
    job = server.create_job("x")
    server.fail_next(2, 503, headers={"Retry-After": "1"}, path=f"/jobs/{job.id}")
    async with Client(server.url) as client:
        started = time.monotonic()
        got = await client.get_job(job.id)
        elapsed = time.monotonic() - started
    assert got.id == job.id
    assert elapsed >= 2.0
    assert server.request_count("GET", f"/jobs/{job.id}") == 3


async def test_5xx_after_retries_raises_server_error(server: JobServer) -> None:
    """A 502 that persists is retried `attempts` times, then raised as ServerError."""
    server.fail_next(10, 502, path="/stats")
    async with Client(server.url, retry=FAST) as client:
        with pytest.raises(ServerError) as caught:
            await client.queue_stats()
    assert caught.value.status == 502
    assert server.request_count("GET", "/stats") == 3


async def test_429_after_retries_raises_rate_limit_error(server: JobServer) -> None:
    """A 429 that persists ends as RateLimitError carrying Retry-After."""
    server.fail_next(10, 429, headers={"Retry-After": "0"}, path="/stats")
    async with Client(server.url, retry=FAST) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.queue_stats()
    assert caught.value.status == 429
    assert caught.value.retry_after == 0
    assert server.request_count("GET", "/stats") == 3


async def test_500_is_not_retried(server: JobServer) -> None:
    """500 is not in the retried statuses: one request, ServerError."""
    server.fail_next(1, 500, path="/stats")
    async with Client(server.url, retry=FAST) as client:
        with pytest.raises(ServerError):
            await client.queue_stats()
    assert server.request_count("GET", "/stats") == 1


async def test_attempts_one_turns_retries_off(server: JobServer) -> None:
    """RetryPolicy(attempts=1): a 503 is raised at once."""
    server.fail_next(1, 503, path="/stats")
    async with Client(server.url, retry=RetryPolicy(attempts=1)) as client:
        with pytest.raises(ServerError):
            await client.queue_stats()
    assert server.request_count("GET", "/stats") == 1


async def test_unsafe_request_is_not_retried_on_503(server: JobServer) -> None:
    """A cleanup (POST without an idempotency key) is not repeated."""
    server.fail_next(1, 503, path="/cleanup")
    async with Client(server.url, retry=FAST) as client:
        with pytest.raises(ServerError):
            await client.cleanup()
    assert server.request_count("POST", "/cleanup") == 1


async def test_retry_after_beyond_the_budget_raises_at_once(server: JobServer) -> None:
    """A Retry-After longer than the budget is not slept: RateLimitError with retry_after, and
    the client's other requests fail fast too instead of reaching the server."""
    server.fail_next(1, 429, headers={"Retry-After": "3600"}, path="/stats")
    async with Client(server.url, retry=RetryPolicy(max_total=5)) as client:
        async with asyncio.timeout(30):
            with pytest.raises(RateLimitError) as caught:
                await client.queue_stats()
            assert caught.value.retry_after == 3600
            with pytest.raises(RateLimitError) as paused:
                await client.get_job("any")
    assert paused.value.retry_after is not None and paused.value.retry_after > 3000
    assert "pause" in str(paused.value)
    assert len(server.requests) == 1


async def test_submit_retried_after_a_dropped_answer_creates_one_job(server: JobServer) -> None:
    """The server handles the submit but the connection drops: the retry carries the same
    Idempotency-Key and gets the first job back."""
    server.drop_next(1, method="POST", path="/jobs", after_handling=True)
    async with Client(server.url, retry=FAST) as client:
        job = await client.submit_job("once", {"n": 1})
    assert [j.id for j in server.jobs] == [job.id]
    posts = server.requests
    assert [r.method for r in posts] == ["POST", "POST"]
    keys = {r.headers["Idempotency-Key"] for r in posts}
    assert len(keys) == 1


async def test_cancel_retried_after_a_lost_answer_returns_the_cancelled_job(
    server: JobServer,
) -> None:
    """The first cancel worked but its answer was lost; the repeat's 409 is not an error."""
    job = server.create_job("x", status="running")
    server.drop_next(1, method="POST", path=f"/jobs/{job.id}/cancel", after_handling=True)
    async with Client(server.url, retry=FAST) as client:
        cancelled = await client.cancel_job(job.id)
    assert cancelled.status == "cancelled"
    assert server.request_count("POST", f"/jobs/{job.id}/cancel") == 2


async def test_restart_retried_after_a_lost_answer_returns_the_restarted_job(
    server: JobServer,
) -> None:
    """Likewise for restart: the job is pending again, so the repeat's 409 is success."""
    job = server.create_job("x", status="failed", error="boom")
    server.drop_next(1, method="POST", path=f"/jobs/{job.id}/restart", after_handling=True)
    async with Client(server.url, retry=FAST) as client:
        restarted = await client.restart_job(job.id)
    assert restarted.status == "pending"


async def test_delete_retried_after_a_lost_answer_succeeds(server: JobServer) -> None:
    """The first delete worked; the repeat's 404 means done."""
    job = server.create_job("x", status="completed")
    server.drop_next(1, method="DELETE", after_handling=True)
    async with Client(server.url, retry=FAST) as client:
        assert await client.delete_job(job.id) is None
        with pytest.raises(JobNotFoundError):
            await client.delete_job(job.id)  # a plain 404 is still an error
    assert server.request_count("DELETE", f"/jobs/{job.id}") == 3


async def test_a_real_conflict_after_a_repeat_is_still_raised(server: JobServer) -> None:
    """A 409 after a refused-then-repeated cancel of a finished job stays a ConflictError."""
    job = server.create_job("x", status="completed")
    server.drop_next(1, method="POST", path=f"/jobs/{job.id}/cancel", after_handling=True)
    async with Client(server.url, retry=FAST) as client:
        with pytest.raises(ConflictError):
            await client.cancel_job(job.id)


async def test_get_is_retried_after_a_dropped_connection(server: JobServer) -> None:
    """A GET whose connection drops is repeated."""
    job = server.create_job("x")
    server.drop_next(1, method="GET")
    async with Client(server.url, retry=FAST) as client:
        assert (await client.get_job(job.id)).id == job.id
    assert server.request_count("GET", f"/jobs/{job.id}") == 2


async def test_attempts_one_means_one_request_even_for_a_dropped_get(server: JobServer) -> None:
    """No hidden repeats underneath the policy (aiohttp's own retry is off)."""
    server.drop_next(1, method="GET")
    async with Client(server.url, retry=RetryPolicy(attempts=1)) as client:
        with pytest.raises(TransportError):
            await client.get_job("x")
    assert len(server.requests) == 1


async def test_unsafe_request_is_not_retried_after_a_dropped_connection(
    server: JobServer,
) -> None:
    """A dropped cleanup may have run: TransportError, no second request."""
    server.drop_next(1, method="POST", path="/cleanup")
    async with Client(server.url, retry=FAST) as client:
        with pytest.raises(TransportError) as caught:
            await client.cleanup()
    assert isinstance(caught.value.__cause__, aiohttp.ClientError)
    assert server.request_count("POST", "/cleanup") == 1


async def test_refused_connection_raises_transport_error() -> None:
    """Nothing listens on the port: TransportError chained from aiohttp's error."""
    async with Client(f"http://127.0.0.1:{unused_port()}/api", retry=RetryPolicy(attempts=1)) as c:
        with pytest.raises(TransportError, match="cannot connect") as caught:
            await c.get_job("x")
    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectorError)


async def test_refused_connection_is_retried_even_for_unsafe_requests(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A connection that never opened sent nothing, so even a cleanup is retried (logged)."""
    caplog.set_level(logging.DEBUG, logger="asyncjobs")
    async with Client(f"http://127.0.0.1:{unused_port()}/api", retry=FAST) as client:
        with pytest.raises(TransportError):
            await client.cleanup()
    retries = [r for r in caplog.records if r.getMessage().startswith("retrying POST /cleanup")]
    assert len(retries) == 2
    assert "attempt 3 of 3" in retries[-1].getMessage()


async def test_each_request_and_retry_is_logged_without_the_token(
    server: JobServer, caplog: pytest.LogCaptureFixture
) -> None:
    """DEBUG records name method, path, status, attempt and delay; never the token."""
    caplog.set_level(logging.DEBUG, logger="asyncjobs")
    job = server.create_job("x")
    server.fail_next(1, 503, path=f"/jobs/{job.id}")
    async with Client(server.url, token="s3cr3t-token", retry=FAST) as client:
        await client.get_job(job.id)
    messages = [r.getMessage() for r in caplog.records if r.name == "asyncjobs"]
    assert any(m.startswith(f"GET /jobs/{job.id} -> 503") for m in messages)
    assert any(m.startswith(f"GET /jobs/{job.id} -> 200") for m in messages)
    assert any(f"retrying GET /jobs/{job.id} in" in m and "attempt 2 of 3" in m for m in messages)
    assert "s3cr3t-token" not in caplog.text


# -- timeouts ----------------------------------------------------------------------------------


async def test_slow_answer_raises_transport_error_after_the_client_timeout() -> None:
    """The client's timeout bounds one request: a server that never answers is a
    TransportError (and a safe request is retried first)."""
    release = asyncio.Event()
    arrivals = 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal arrivals
        arrivals += 1
        await release.wait()
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/api/stats", slow)
    async with serve(app) as origin:
        try:
            retry = RetryPolicy(attempts=2, backoff_base=0.01)
            async with Client(origin + "/api", timeout=0.2, retry=retry) as client:
                with pytest.raises(TransportError, match=r"within 0\.2 s") as caught:
                    await client.queue_stats()
            assert isinstance(caught.value.__cause__, TimeoutError)
            assert arrivals == 2
        finally:
            release.set()


async def test_request_timeout_override(server: JobServer) -> None:
    """A long poll passes its own timeout, longer than the client's."""
    job = server.create_job("x")
    async with Client(server.url, timeout=0.2) as client:
        params = NATIVE.poll_params(job=job, timeout=1)
        response = await client._http.request(
            "poll", path_params={"job_id": job.id}, params=params, timeout=3
        )
    assert response.status == 200
    assert response.json()["id"] == job.id


# -- URLs --------------------------------------------------------------------------------------

AWKWARD_IDS = [
    "a/b",
    "..",
    ".",
    "x?y=1",
    "x#frag",
    "%2F",
    "100%",
    "with space",
    "héllo",
    "日本語",
    "a,b",
    "a+b&c=d",
]


async def test_awkward_ids_reach_the_server_unchanged(server: JobServer) -> None:
    """Each id is one path segment: '/', '..', '?', '#', '%2F', spaces and non-ASCII arrive as
    given, for single reads, actions and the batch read."""
    for job_id in AWKWARD_IDS:
        server.create_job("x", id=job_id, log=["line"])
    async with Client(server.url) as client:
        for job_id in AWKWARD_IDS:
            assert (await client.get_job(job_id)).id == job_id
            assert server.requests[-1].path == f"/api/v1/jobs/{job_id}"
            assert await client.get_log(job_id) == "line\n"
            assert (await client.cancel_job(job_id)).id == job_id
        jobs = await client.get_jobs(AWKWARD_IDS)
    assert [job.id for job in jobs] == AWKWARD_IDS
