"""The request pipeline: retries, the shared Retry-After pause, timeouts, error mapping, redirects,
URL encoding and streams, against the JobServer (and tiny apps) on loopback."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import aiohttp
import attrs
import pytest
from _client_apps import job_json, serve, unused_port
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from asyncjobs import (
    APIError,
    Client,
    ConflictError,
    JobNotFoundError,
    ProtocolError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from asyncjobs._transport import Response, translate_error
from asyncjobs._transport._redirects import MAX_REDIRECTS
from asyncjobs._transport._stream import open_stream
from asyncjobs.profiles import NATIVE
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(attempts=3, backoff_base=0.01, backoff_cap=0.05)


@pytest.fixture
async def server() -> AsyncIterator[JobServer]:
    async with JobServer(heartbeat=0.1) as job_server:
        yield job_server


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


# -- the shared pause --------------------------------------------------------------------------


async def test_429_with_retry_after_pauses_the_whole_client(server: JobServer) -> None:
    """A 429 with Retry-After on one request delays a concurrent, unrelated request too."""
    job = server.create_job("x")
    server.fail_next(1, 429, headers={"Retry-After": "1"}, path="/stats")
    async with Client(server.url) as client:
        stats = asyncio.create_task(client.queue_stats())
        await server.wait_until(lambda: client._http.paused_for() > 0)
        started = time.monotonic()
        await client.get_job(job.id)
        elapsed = time.monotonic() - started
        await stats
    assert elapsed >= 0.8
    paths = [r.path.removeprefix("/api/v1") for r in server.requests]
    assert paths[0] == "/stats"
    assert sorted(paths[1:]) == sorted(["/stats", f"/jobs/{job.id}"])


async def test_503_with_retry_after_on_an_unsafe_request_still_pauses(server: JobServer) -> None:
    """Even a request that is not retried sets the pause for the others."""
    server.fail_next(1, 503, headers={"Retry-After": "1"}, path="/cleanup")
    async with Client(server.url) as client:
        with pytest.raises(ServerError, match="Retry-After"):
            await client.cleanup()
        assert client._http.paused_for() > 0.5
        started = time.monotonic()
        await client.queue_stats()
        assert time.monotonic() - started >= 0.5


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


# -- errors ------------------------------------------------------------------------------------


async def test_error_answer_carries_status_error_details_and_body(server: JobServer) -> None:
    """A 404 reads "404 Not Found from GET /jobs/nope: <details>" and keeps the body."""
    async with Client(server.url) as client:
        with pytest.raises(JobNotFoundError) as caught:
            await client.get_job("nope")
    error = caught.value
    assert str(error).startswith("404 Not Found from GET /jobs/nope: ")
    assert error.details is not None and error.details in str(error)
    assert error.error == "Not Found"
    assert isinstance(error.body, dict) and error.body["details"] == error.details
    assert error.job_ids == ("nope",)
    assert error.method == "GET"
    assert error.url == server.url + "/jobs/nope"


async def test_non_json_body_raises_protocol_error(server: JobServer) -> None:
    """A 200 whose body is not JSON: ProtocolError naming the operation, status and body."""
    server.fail_next(1, 200, body="<html>oops</html>", path="/stats")
    async with Client(server.url) as client:
        with pytest.raises(ProtocolError) as caught:
            await client.queue_stats()
    message = str(caught.value)
    assert "GET /stats" in message and "stats" in message and "200" in message
    assert "<html>oops</html>" in message


async def test_non_json_error_body_is_kept_as_text(server: JobServer) -> None:
    """An error answer that is not JSON still maps by status; its text is the body."""
    server.fail_next(1, 502, body="Bad gateway from the proxy", path="/stats")
    async with Client(server.url, retry=RetryPolicy(attempts=1)) as client:
        with pytest.raises(ServerError) as caught:
            await client.queue_stats()
    assert caught.value.body == "Bad gateway from the proxy"
    assert "Bad gateway from the proxy" in str(caught.value)


def _request_info() -> aiohttp.RequestInfo:
    url = URL("http://h/x")
    return aiohttp.RequestInfo(url, "GET", CIMultiDictProxy(CIMultiDict()), url)


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (aiohttp.ServerDisconnectedError(), TransportError),
        (aiohttp.ClientPayloadError("cut"), TransportError),
        (aiohttp.ServerTimeoutError("slow"), TransportError),
        (aiohttp.SocketTimeoutError("slow"), TransportError),
        (aiohttp.ClientOSError(104, "reset"), TransportError),
        (aiohttp.ClientConnectionResetError("reset"), TransportError),
        (TimeoutError(), TransportError),
        (aiohttp.InvalidURL("nope"), ProtocolError),
        (aiohttp.ClientResponseError(_request_info(), ()), ProtocolError),
        (aiohttp.TooManyRedirects(_request_info(), ()), ProtocolError),
    ],
)
def test_aiohttp_errors_are_translated(exc: BaseException, kind: type[Exception]) -> None:
    """Each kind of aiohttp failure maps onto the tree, naming the request."""
    translated = translate_error(exc, method="GET", path="/jobs/x")
    assert type(translated) is kind
    assert "GET /jobs/x" in str(translated)


_MAPPED_TO_PROTOCOL = {
    "ClientResponseError",
    "ContentTypeError",
    "WSServerHandshakeError",
    "ClientHttpProxyError",
    "TooManyRedirects",
    "InvalidURL",
    "InvalidUrlClientError",
    "InvalidUrlRedirectClientError",
    "RedirectClientError",
    "NonHttpUrlClientError",
    "NonHttpUrlRedirectClientError",
}
_MAPPED_TO_TRANSPORT = {
    "ClientError",
    "ClientConnectionError",
    "ClientConnectionResetError",
    "ClientOSError",
    "ClientConnectorError",
    "ClientConnectorDNSError",
    "ClientProxyConnectionError",
    "UnixClientConnectorError",
    "ClientSSLError",
    "ClientConnectorSSLError",
    "ClientConnectorCertificateError",
    "ServerConnectionError",
    "ServerDisconnectedError",
    "ServerTimeoutError",
    "ConnectionTimeoutError",
    "SocketTimeoutError",
    "ServerFingerprintMismatch",
    "ClientPayloadError",
    "UploadAbortedError",
}


def test_every_aiohttp_client_error_class_has_a_mapping() -> None:
    """If aiohttp grows a new ClientError subclass, decide (here) how it maps."""
    found: set[str] = set()
    todo: list[type[BaseException]] = [aiohttp.ClientError]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("aiohttp"):
            found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    unmapped = found - _MAPPED_TO_PROTOCOL - _MAPPED_TO_TRANSPORT
    assert not unmapped, f"aiohttp exceptions without a decided mapping: {sorted(unmapped)}"
    for name in _MAPPED_TO_PROTOCOL & found:
        cls = getattr(aiohttp, name, None) or getattr(aiohttp.client_exceptions, name)
        assert issubclass(
            cls,
            aiohttp.ClientResponseError
            | aiohttp.InvalidURL
            | aiohttp.RedirectClientError
            | aiohttp.NonHttpUrlClientError,
        ), name


def test_response_json_and_text() -> None:
    """Response.json parses; .text honours the charset; bad JSON names what came."""
    headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "text/plain; charset=latin-1"}))
    response = Response(200, headers, "café".encode("latin-1"), "log", "GET", "/jobs/x/log")
    assert response.text() == "café"
    with pytest.raises(ProtocolError, match=r"GET /jobs/x/log \(log, 200\)"):
        response.json()
    assert Response(200, {}, b'{"a": 1}').json() == {"a": 1}


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


# -- redirects ---------------------------------------------------------------------------------

_AUTH_CASES = {
    "bearer": ("Authorization", "Bearer s3cret"),
    "header:X-API-Key": ("X-API-Key", "s3cret"),
    "basic": ("Authorization", "Basic czNjcmV0Og=="),
}


@pytest.mark.parametrize("auth", sorted(_AUTH_CASES))
async def test_credentials_never_follow_a_redirect_to_another_host(auth: str) -> None:
    """A redirect to another host is followed without the token's header or the user's
    headers; the first host saw them."""
    seen_a: list[CIMultiDictProxy[str]] = []
    seen_b: list[CIMultiDictProxy[str]] = []

    async def other_host(request: web.Request) -> web.Response:
        seen_b.append(request.headers)
        return web.json_response(job_json(request.match_info["id"]))

    app_b = web.Application()
    app_b.router.add_get("/elsewhere/{id}", other_host)
    async with serve(app_b, host="127.0.0.2") as origin_b:

        async def redirect(request: web.Request) -> web.Response:
            seen_a.append(request.headers)
            raise web.HTTPFound(f"{origin_b}/elsewhere/{request.match_info['id']}")

        app_a = web.Application()
        app_a.router.add_get("/api/jobs/{id}", redirect)
        async with serve(app_a) as origin_a:
            profile = attrs.evolve(NATIVE, name="test", auth=auth)
            client = Client(
                origin_a + "/api", token="s3cret", profile=profile, headers={"X-Secret": "hush"}
            )
            async with client:
                job = await client.get_job("abc")
    assert job.id == "abc"
    name, value = _AUTH_CASES[auth]
    assert seen_a[0][name] == value
    assert seen_a[0]["X-Secret"] == "hush"
    assert name not in seen_b[0]
    assert "X-Secret" not in seen_b[0]
    assert "s3cret" not in str(dict(seen_b[0]))


async def test_same_origin_redirect_keeps_credentials_and_307_keeps_the_body() -> None:
    """A 307 within the origin repeats the POST with its body and the token."""
    seen: list[tuple[str, str | None, object]] = []

    async def old(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/api/v2/jobs")

    async def new(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append((request.method, request.headers.get("Authorization"), body))
        return web.json_response(job_json("new"), status=201)

    app = web.Application()
    app.router.add_post("/api/jobs", old)
    app.router.add_post("/api/v2/jobs", new)
    async with serve(app) as origin, Client(origin + "/api", token="tok") as client:
        job = await client.submit_job("n", {"k": 1})
    assert job.id == "new"
    assert seen == [("POST", "Bearer tok", {"name": "n", "config": {"k": 1}, "priority": 2})]


async def test_303_turns_the_request_into_a_get() -> None:
    """See Other: the next request is a GET without a body."""
    seen: list[str] = []

    async def action(request: web.Request) -> web.Response:
        raise web.HTTPSeeOther("/api/jobs/j1")

    async def read(request: web.Request) -> web.Response:
        seen.append(request.method)
        return web.json_response(job_json("j1", "cancelled"))

    app = web.Application()
    app.router.add_post("/api/jobs/{id}/cancel", action)
    app.router.add_get("/api/jobs/{id}", read)
    async with serve(app) as origin, Client(origin + "/api") as client:
        job = await client.cancel_job("j1")
    assert job.status == "cancelled"
    assert seen == ["GET"]


async def test_redirect_loops_and_odd_targets_raise_protocol_error() -> None:
    """Endless redirects and non-http targets are refused with a clear error."""
    hops = 0

    async def loop(request: web.Request) -> web.Response:
        nonlocal hops
        hops += 1
        raise web.HTTPFound("/api/jobs/loop")

    async def odd(request: web.Request) -> web.Response:
        raise web.HTTPFound("ftp://example.com/x")

    app = web.Application()
    app.router.add_get("/api/jobs/loop", loop)
    app.router.add_get("/api/jobs/odd", odd)
    async with serve(app) as origin, Client(origin + "/api") as client:
        with pytest.raises(ProtocolError, match="redirects"):
            await client.get_job("loop")
        with pytest.raises(ProtocolError, match="ftp://"):
            await client.get_job("odd")
    assert hops == MAX_REDIRECTS + 1


# -- streams -----------------------------------------------------------------------------------


async def test_stream_outlives_the_request_timeout(server: JobServer) -> None:
    """A stream has no total timeout: it keeps delivering long past the client's timeout."""
    job = server.create_job("x")
    async with (
        Client(server.url, timeout=0.2) as client,
        open_stream(client._http, "events", path_params={"job_id": job.id}) as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        deadline = time.monotonic() + 1.0
        pings = 0
        while time.monotonic() < deadline:
            line = await response.content.readline()
            assert line, "the stream ended"
            pings += line.startswith(b":")
    assert pings >= 3


async def test_stream_error_status_is_raised_before_yielding(server: JobServer) -> None:
    """A 404 on opening is a JobNotFoundError; the body is never handed out."""
    async with Client(server.url) as client:
        with pytest.raises(JobNotFoundError) as caught:
            async with open_stream(client._http, "events", path_params={"job_id": "nope"}):
                pytest.fail("yielded an error answer")
    assert caught.value.job_ids == ("nope",)


async def test_stream_is_released_on_exit_and_on_cancellation(server: JobServer) -> None:
    """Leaving the block, normally or by cancellation, closes the stream's connection."""
    job = server.create_job("x")
    async with Client(server.url) as client:
        async with open_stream(client._http, "events", path_params={"job_id": job.id}) as response:
            await response.content.readline()
            await server.wait_until(lambda: server.open_streams == 1)
        await server.wait_until(lambda: server.open_streams == 0)

        async def read_forever() -> None:
            async with open_stream(client._http, "events", path_params={"job_id": job.id}) as resp:
                while await resp.content.readline():
                    pass

        task = asyncio.create_task(read_forever())
        await server.wait_until(lambda: server.open_streams == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await server.wait_until(lambda: server.open_streams == 0)


async def test_a_cut_stream_raises_transport_error_while_reading(server: JobServer) -> None:
    """aiohttp's payload error from a connection cut mid-stream comes out as TransportError."""
    job = server.create_job("x")

    async def read_until_cut(client: Client) -> None:
        async with open_stream(client._http, "events", path_params={"job_id": job.id}) as resp:
            await resp.content.readline()
            server.cut_streams()
            while await resp.content.readline():
                pass

    async with Client(server.url) as client:
        with pytest.raises(TransportError, match="cut off"):
            await read_until_cut(client)


async def test_stream_opening_waits_for_the_pause(server: JobServer) -> None:
    """Stream openings honour the shared Retry-After pause too."""
    job = server.create_job("x")
    async with Client(server.url) as client:
        client._http.pause(0.5)
        started = time.monotonic()
        async with open_stream(client._http, "events", path_params={"job_id": job.id}):
            pass
        assert time.monotonic() - started >= 0.4


async def test_api_error_for_unknown_status_is_the_base_class(server: JobServer) -> None:
    """An error status without a dedicated class is a plain APIError."""
    server.fail_next(1, 418, path="/stats")
    async with Client(server.url) as client:
        with pytest.raises(APIError) as caught:
            await client.queue_stats()
    assert type(caught.value) is APIError
    assert str(caught.value).startswith("418 I'm a Teapot from GET /stats")
