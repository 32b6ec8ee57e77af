"""Client: every job operation, every error class, input checks, and the session's lifecycle,
against the JobServer on loopback."""

from __future__ import annotations

import asyncio
import gc
import inspect
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from _client_apps import unused_port

from asyncjobs import (
    APIError,
    AuthenticationError,
    BadRequestError,
    Client,
    ConflictError,
    Job,
    JobNotFoundError,
    JobStatus,
    PermissionDeniedError,
    Profile,
    RetryPolicy,
    UnsupportedOperationError,
)
from asyncjobs.profiles import NATIVE
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


# -- operations --------------------------------------------------------------------------------


async def test_submit_job_returns_the_created_job(server: JobServer, client: Client) -> None:
    """submit_job sends name, config and priority and returns the stored job."""
    job = await client.submit_job("resize", {"width": 640}, priority=4)
    assert isinstance(job, Job)
    assert (job.name, dict(job.config), job.priority) == ("resize", {"width": 640}, 4)
    assert job.status is JobStatus.PENDING
    assert server.get_job(job.id) == job
    assert server.requests[-1].headers["Idempotency-Key"]


async def test_submit_defaults(server: JobServer, client: Client) -> None:
    """No name, no config, normal priority."""
    job = await client.submit_job()
    assert (job.name, dict(job.config), job.priority) == (None, {}, 2)


async def test_each_submit_has_its_own_idempotency_key(server: JobServer, client: Client) -> None:
    """Two calls are two jobs: the generated keys differ."""
    first = await client.submit_job("a")
    second = await client.submit_job("a")
    assert first.id != second.id
    keys = [r.headers["Idempotency-Key"] for r in server.requests]
    assert len(set(keys)) == 2


async def test_a_given_idempotency_key_returns_the_first_job(
    server: JobServer, client: Client
) -> None:
    """The same key twice: the second call returns the job the first one created."""
    first = await client.submit_job("a", idempotency_key="order-17")
    again = await client.submit_job("a", idempotency_key="order-17")
    assert again.id == first.id
    assert len(server.jobs) == 1


async def test_get_job(server: JobServer, client: Client) -> None:
    """get_job returns the job as the server holds it; an int id is accepted."""
    job = server.create_job("x", status="running", progress=40, message="step 2")
    got = await client.get_job(job.id)
    assert got == job
    assert got.progress == 40 and got.message == "step 2"


async def test_get_jobs_keeps_input_order_and_duplicates(server: JobServer, client: Client) -> None:
    """Results come in the order asked, a repeated id twice, from one batched request."""
    a, b, c = (server.create_job(n) for n in "abc")
    jobs = await client.get_jobs([c.id, a.id, c.id, b.id])
    assert [j.id for j in jobs] == [c.id, a.id, c.id, b.id]
    assert server.request_count("GET", "/jobs") == 1


async def test_get_jobs_with_250_ids_uses_3_requests(server: JobServer, client: Client) -> None:
    """250 ids are read in chunks of at most 100, order kept."""
    ids = [server.create_job(f"j{i}").id for i in range(250)]
    ids.reverse()
    jobs = await client.get_jobs(ids)
    assert [j.id for j in jobs] == ids
    assert server.request_count("GET", "/jobs") == 3
    sizes = sorted(len(r.query["ids"].split(",")) for r in server.requests)
    assert sizes == [50, 100, 100]


async def test_get_jobs_names_every_missing_id(server: JobServer, client: Client) -> None:
    """Unknown ids raise one JobNotFoundError listing all of them."""
    known = server.create_job("k")
    with pytest.raises(JobNotFoundError) as caught:
        await client.get_jobs(["nope-1", known.id, "nope-2"])
    assert caught.value.job_ids == ("nope-1", "nope-2")
    assert "'nope-1'" in str(caught.value) and "'nope-2'" in str(caught.value)
    assert caught.value.status == 404


async def test_get_jobs_of_nothing_makes_no_request(server: JobServer, client: Client) -> None:
    """An empty list needs no request."""
    assert await client.get_jobs([]) == []
    assert server.requests == []


async def test_list_jobs_follows_pages_with_a_filter_and_a_limit(
    server: JobServer, client: Client
) -> None:
    """list_jobs yields newest first across pages, filtered, and stops at the limit."""
    running = []
    for i in range(260):
        job = server.create_job(f"j{i}", status="running" if i % 2 else "pending")
        if i % 2:
            running.append(job.id)
    newest_first = running[::-1]

    got = [job async for job in client.list_jobs(status="running")]
    assert [j.id for j in got] == newest_first
    assert server.request_count("GET", "/jobs") == 2  # 100 + 30

    server.clear_requests()
    limited = [job async for job in client.list_jobs(status=JobStatus.RUNNING, limit=120)]
    assert [j.id for j in limited] == newest_first[:120]
    assert [r.query.get("limit") for r in server.requests] == ["100", "20"]


async def test_list_jobs_limit_zero_and_empty(server: JobServer, client: Client) -> None:
    """limit=0 yields nothing without a request; an empty server yields nothing."""
    assert [job async for job in client.list_jobs(limit=0)] == []
    assert server.requests == []
    assert [job async for job in client.list_jobs()] == []


async def test_list_jobs_checks_its_arguments_at_call_time(client: Client) -> None:
    """A bad status or limit raises at the call, not on iteration."""
    with pytest.raises(ValueError, match="status must be one of pending"):
        client.list_jobs(status="bogus")
    with pytest.raises(ValueError, match="status"):
        client.list_jobs(status=JobStatus.UNKNOWN)
    with pytest.raises(ValueError, match="limit"):
        client.list_jobs(limit=-1)
    with pytest.raises(TypeError, match="limit"):
        client.list_jobs(limit=1.5)  # type: ignore[arg-type]


async def test_cancel_restart_delete(server: JobServer, client: Client) -> None:
    """cancel_job and restart_job return the job after the change; delete_job removes it."""
    job = server.create_job("x", status="running")
    cancelled = await client.cancel_job(job.id)
    assert cancelled.status is JobStatus.CANCELLED
    restarted = await client.restart_job(job.id)
    assert restarted.status is JobStatus.PENDING
    server.update_job(job.id, status="failed", error="boom")
    assert await client.delete_job(job.id) is None
    with pytest.raises(JobNotFoundError):
        await client.get_job(job.id)


async def test_get_log(server: JobServer, client: Client) -> None:
    """get_log returns the log text."""
    job = server.create_job("x", log=["one", "two"])
    assert await client.get_log(job.id) == "one\ntwo\n"


async def test_queue_stats(server: JobServer, client: Client) -> None:
    """queue_stats counts jobs by status."""
    server.create_job("a", status="running")
    server.create_job("b")
    stats = await client.queue_stats()
    assert (stats.total, stats.pending, stats.running, stats.completed) == (2, 1, 1, 0)
    assert stats.total_workers is not None


async def test_cleanup(server: JobServer, client: Client) -> None:
    """cleanup deletes jobs finished longer ago than max_age_hours."""
    old = datetime.now(UTC) - timedelta(hours=30)
    server.create_job("old", status="completed", completed_at=old)
    server.create_job("new", status="completed")
    result = await client.cleanup(max_age_hours=24)
    assert result.cleaned_jobs == 1
    assert server.requests[-1].query["max_age_hours"] == "24"
    assert [j.name for j in server.jobs] == ["new"]


# -- error classes -----------------------------------------------------------------------------


async def test_400_names_the_bad_field(client: Client) -> None:
    """A 400 is a BadRequestError whose message carries the server's details."""
    with pytest.raises(BadRequestError, match="max_age_hours") as caught:
        await client._http.request("cleanup", params={"max_age_hours": "999"})
    assert caught.value.status == 400
    assert caught.value.details is not None and "max_age_hours" in caught.value.details


async def test_401_403_and_isolation() -> None:
    """No or a bad token is 401; another caller's job is 403."""
    async with JobServer(tokens=["alice", "bob"]) as server:
        theirs = server.create_job("b", token="bob")
        async with Client(server.url) as anonymous:
            with pytest.raises(AuthenticationError) as no_token:
                await anonymous.queue_stats()
        async with Client(server.url, token="mallory") as bad:
            with pytest.raises(AuthenticationError):
                await bad.queue_stats()
        async with Client(server.url, token="alice") as alice:
            with pytest.raises(PermissionDeniedError) as denied:
                await alice.get_job(theirs.id)
            assert (await alice.submit_job("mine")).name == "mine"
    assert no_token.value.status == 401
    assert denied.value.status == 403


async def test_409_on_the_wrong_state(server: JobServer, client: Client) -> None:
    """Cancelling a finished job or deleting a running one is a ConflictError."""
    done = server.create_job("d", status="completed")
    busy = server.create_job("b", status="running")
    with pytest.raises(ConflictError) as caught:
        await client.cancel_job(done.id)
    assert caught.value.status == 409
    with pytest.raises(ConflictError):
        await client.delete_job(busy.id)
    with pytest.raises(ConflictError):
        await client.restart_job(busy.id)


async def test_413_is_a_plain_api_error() -> None:
    """A body over the server's limit: APIError with status 413."""
    async with JobServer(max_body_size=1000) as server, Client(server.url) as client:
        with pytest.raises(APIError) as caught:
            await client.submit_job("big", {"blob": "x" * 5000})
    assert type(caught.value) is APIError
    assert caught.value.status == 413


# -- input checks ------------------------------------------------------------------------------


@pytest.mark.parametrize("priority", [0, 5, -1])
async def test_priority_out_of_range_is_refused_before_sending(
    server: JobServer, client: Client, priority: int
) -> None:
    """priority must be 1..4: ValueError naming it, and nothing sent."""
    with pytest.raises(ValueError, match="priority must be from 1 to 4"):
        await client.submit_job("x", priority=priority)
    assert server.requests == []


async def test_submit_argument_types(client: Client) -> None:
    """Wrong types are TypeErrors naming the argument."""
    with pytest.raises(TypeError, match="priority"):
        await client.submit_job("x", priority=True)
    with pytest.raises(TypeError, match="name"):
        await client.submit_job(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="config"):
        await client.submit_job("x", [1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="idempotency_key"):
        await client.submit_job("x", idempotency_key="")


@pytest.mark.parametrize("hours", [0, 169])
async def test_cleanup_age_out_of_range_is_refused_before_sending(
    server: JobServer, client: Client, hours: int
) -> None:
    """max_age_hours must be 1..168."""
    with pytest.raises(ValueError, match="max_age_hours must be from 1 to 168"):
        await client.cleanup(max_age_hours=hours)
    assert server.requests == []


async def test_job_id_checks(server: JobServer, client: Client) -> None:
    """An empty id is a ValueError, a non-str non-int a TypeError; an int is its string."""
    with pytest.raises(ValueError, match="job_id"):
        await client.get_job("")
    for bad in (None, 1.5, True, b"x"):
        with pytest.raises(TypeError, match="job_id"):
            await client.get_job(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"job_ids\[1\]"):
        await client.get_jobs(["a", None])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="job_ids"):
        await client.get_jobs("abc")
    server.create_job("n", id="42")
    assert (await client.get_job(42)).id == "42"
    assert server.requests[-1].path.endswith("/jobs/42")


@pytest.mark.parametrize(
    ("base_url", "match"),
    [
        ("ftp://host/api", "http"),
        ("http:///api", "host"),
        ("/api/v1", "http"),
        ("http://host/api?x=1", "query"),
        ("http://host/api#frag", "fragment"),
    ],
)
def test_base_url_must_be_http_with_a_host(base_url: str, match: str) -> None:
    """base_url is checked at construction."""
    with pytest.raises(ValueError, match=match):
        Client(base_url)


def test_base_url_with_credentials_is_refused_without_echoing_them() -> None:
    """user:password@ in the URL is refused, and the message does not repeat the password."""
    with pytest.raises(ValueError, match="credentials") as caught:
        Client("http://user:hunter2@host/api")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": -1.0}, ValueError, "timeout"),
        ({"max_connections": 0}, ValueError, "max_connections"),
        ({"retry": 3}, TypeError, "retry"),
        ({"session": "s"}, TypeError, "session"),
        ({"token": ""}, ValueError, "token"),
        ({"token": "a\nb"}, ValueError, "token"),
        ({"headers": {"X": 1}}, TypeError, "headers"),
        ({"profile": "nope"}, ValueError, r"known profiles: .*'native'"),
        ({"profile": 3}, TypeError, "profile"),
    ],
)
def test_constructor_checks(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    """Every option is checked at construction, naming it."""
    with pytest.raises(error, match=match):
        Client("http://127.0.0.1:1/api", **kwargs)


async def test_operation_the_profile_lacks(server: JobServer) -> None:
    """An operation missing from the profile raises UnsupportedOperationError naming both."""
    routes = {op: route for op, route in NATIVE.routes.items() if op not in ("log", "list")}
    profile = Profile(name="nolog", routes=routes)
    async with Client(server.url, profile=profile) as client:
        with pytest.raises(UnsupportedOperationError, match=r"'nolog'.* log") as caught:
            await client.get_log("x")
        assert (caught.value.profile, caught.value.operation) == ("nolog", "log")
        with pytest.raises(UnsupportedOperationError, match="list"):
            client.list_jobs()
    assert server.requests == []


def test_repr_shows_base_url_and_profile_only() -> None:
    """The token never appears in the client's repr."""
    client = Client("http://127.0.0.1:8000/api/v1/", token="s3cr3t", headers={"X-K": "hush"})
    text = repr(client)
    assert text == "Client(base_url='http://127.0.0.1:8000/api/v1', profile='native')"
    assert "s3cr3t" not in repr(client._http) and "hush" not in repr(client._http)


async def test_exceptions_never_carry_the_token(server: JobServer) -> None:
    """Neither the message nor the attributes of an error hold the token."""
    async with Client(server.url, token="s3cr3t") as client:
        with pytest.raises(JobNotFoundError) as caught:
            await client.get_job("nope")
    error = caught.value
    assert "s3cr3t" not in str(error) and "s3cr3t" not in repr(vars(error))


# -- lifecycle ---------------------------------------------------------------------------------


def test_client_can_be_made_outside_a_loop_and_used_inside_one() -> None:
    """The owned session is created lazily, in the loop that first uses it."""

    port = unused_port()

    async def use(client: Client) -> None:
        async with JobServer(port=port), client:
            await client.queue_stats()

    client = Client(f"http://127.0.0.1:{port}/api/v1")
    asyncio.run(use(client))
    assert client.closed


async def test_owned_session_is_closed_and_a_caller_session_is_not(server: JobServer) -> None:
    """close() closes the client's own session and never a session the caller passed."""
    async with Client(server.url) as owned:
        await owned.queue_stats()
        session = owned._http.connections.current()
        assert session is not None and not session.closed
    assert session.closed

    async with aiohttp.ClientSession() as mine:
        async with Client(server.url, session=mine) as borrowed:
            await borrowed.queue_stats()
        assert not mine.closed
        async with mine.get(server.url + "/stats") as response:
            assert response.status == 200


async def test_close_is_idempotent_and_no_request_follows_it(server: JobServer) -> None:
    """After close, every method raises RuntimeError and nothing reaches the server."""
    client = Client(server.url)
    await client.queue_stats()
    await client.close()
    await client.close()
    await asyncio.gather(client.close(), client.close())
    before = len(server.requests)
    with pytest.raises(RuntimeError, match="Client is closed"):
        await client.get_job("x")
    with pytest.raises(RuntimeError, match="Client is closed"):
        await client.submit_job("x")
    with pytest.raises(RuntimeError, match="Client is closed"):
        async with client:
            pass
    assert len(server.requests) == before


async def test_close_ends_the_shared_subscriptions_first(server: JobServer) -> None:
    """close() awaits the hub's ``aclose()`` before closing the session."""
    order: list[str] = []
    client = Client(server.url)
    await client.queue_stats()

    class Live:
        async def aclose(self) -> None:
            order.append("live")

    client._hub = Live()  # type: ignore[assignment]
    session = client._http.connections.current()
    assert session is not None
    await client.close()
    order.append("session" if session.closed else "open")
    assert order == ["live", "session"]


async def test_no_unclosed_session_warning(server: JobServer) -> None:
    """A closed client leaves nothing for the garbage collector to complain about."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with Client(server.url) as client:
            await client.queue_stats()
        del client
        gc.collect()
    assert [str(w.message) for w in caught] == []


async def test_max_connections_bounds_the_connector(server: JobServer) -> None:
    """max_connections=2: twenty concurrent requests share at most two connections."""
    job = server.create_job("x")
    async with Client(server.url, max_connections=2) as client:
        await asyncio.gather(*(client.get_job(job.id) for _ in range(20)))
    assert server.connections_opened <= 2


async def test_retry_policy_is_used(server: JobServer) -> None:
    """retry= replaces the default policy."""
    server.fail_next(5, 503, path="/stats")
    policy = RetryPolicy(attempts=2, backoff_base=0.01)
    async with Client(server.url, retry=policy) as client:
        with pytest.raises(APIError):
            await client.queue_stats()
    assert server.request_count("GET", "/stats") == 2


# -- the watch and wait methods (implemented in _watch and _waiting) ---------------------------

DESIGN_SIGNATURES = {
    "watch": "(job_id, *, transport='auto', timeout=None, poll_interval=None)",
    "watch_jobs": "(job_ids, *, timeout=None)",
    "wait_for_job": (
        "(job_id, *, timeout=300, poll_interval=None, transport='auto', raise_on_failure=True)"
    ),
    "wait_for_jobs": (
        "(job_ids, *, timeout=300, fail_fast=True, return_exceptions=False, cancel_on_exit=False)"
    ),
    "as_completed": "(job_ids, *, timeout=None)",
    "submit_job": "(name=None, config=None, *, priority=2, idempotency_key=None)",
    "list_jobs": "(*, status=None, limit=None)",
    "cleanup": "(*, max_age_hours=24)",
}


@pytest.mark.parametrize("name", sorted(DESIGN_SIGNATURES))
def test_method_signatures_match_the_design(name: str) -> None:
    """Names, defaults and keyword-only markers are as DESIGN.md section 3 fixes them."""
    signature = inspect.signature(getattr(Client, name))
    parameters = [
        p.replace(annotation=inspect.Parameter.empty) for p in signature.parameters.values()
    ]
    bare = inspect.Signature(parameters[1:])  # without self
    assert str(bare) == DESIGN_SIGNATURES[name]
    assert getattr(Client, name).__doc__
