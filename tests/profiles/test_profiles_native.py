"""Profile, Route and the native profile: routing data, hooks, error shapes, and a
user-defined profile working end to end in a few lines."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from _client_apps import serve
from aiohttp import web

from asyncjobs import Client, Job, JobStatus, Profile, ProtocolError, UnsupportedOperationError
from asyncjobs._models import status_from_word
from asyncjobs._urls import build_url
from asyncjobs.profiles import NATIVE, OPERATIONS, PROFILES, Route, get_profile

# -- Route and Profile data --------------------------------------------------------------------


def test_route_parse_and_safety() -> None:
    """Route.parse reads "METHOD /path"; safety follows the method unless stated."""
    route = Route.parse("get /jobs/{job_id}")
    assert (route.method, route.path, route.safe) == ("GET", "/jobs/{job_id}", True)
    assert route.placeholders == ("job_id",)
    assert not Route("POST", "/cleanup").safe
    assert Route("POST", "/jobs/{job_id}/cancel", idempotent=True).safe
    assert not Route("DELETE", "/x", idempotent=False).safe


@pytest.mark.parametrize("spec", ["/jobs", "GET jobs", "GET /jobs?x=1", "G-T /jobs"])
def test_bad_routes_are_refused(spec: str) -> None:
    """A route needs a method and a path starting with '/', without a query."""
    with pytest.raises(ValueError, match=r"[Rr]oute"):
        Route.parse(spec)


def test_profile_routes_accept_strings_and_refuse_unknown_operations() -> None:
    """Routes may be written as strings; an unknown operation name is a ValueError."""
    profile = Profile(name="p", routes={"get": "GET /tasks/{job_id}"})
    assert profile.routes["get"] == Route("GET", "/tasks/{job_id}")
    assert profile.route("cancel") is None
    with pytest.raises(ValueError, match="unknown operation 'fetch'"):
        Profile(name="p", routes={"fetch": "GET /x"})


def test_native_profile_routes_every_operation() -> None:
    """The native profile has a route for each operation, safe where section 2 allows."""
    assert set(NATIVE.routes) == OPERATIONS
    assert PROFILES["native"] is NATIVE
    safe = {op for op, route in NATIVE.routes.items() if route.safe}
    assert safe >= {"submit", "get", "cancel", "restart", "delete", "get_many", "list"}
    assert "cleanup" not in safe
    assert all(NATIVE.offers(t) for t in ("sse", "long-poll", "poll"))


def test_offers_needs_the_transport_and_its_route() -> None:
    """A transport is offered when listed and routed."""
    polling = Profile(name="p", routes={"get": "GET /j/{job_id}"}, transports=("sse", "poll"))
    assert polling.offers("poll")
    assert not polling.offers("sse")
    assert not polling.offers("long-poll")
    with pytest.raises(ValueError, match="unknown transport"):
        Profile(name="p", routes={}, transports=("websocket",))


@pytest.mark.parametrize(
    ("auth", "headers"),
    [
        ("bearer", {"Authorization": "Bearer tok"}),
        ("header:X-API-Key", {"X-API-Key": "tok"}),
        ("basic", {"Authorization": "Basic dG9rOg=="}),
    ],
)
def test_auth_schemes(auth: str, headers: dict[str, str]) -> None:
    """The token is sent the way the profile says."""
    assert Profile(name="p", routes={}, auth=auth).auth_headers("tok") == headers


def test_auth_none_refuses_a_token() -> None:
    """A profile without auth refuses a token rather than dropping it silently."""
    profile = Profile(name="open", routes={"get": "GET /j/{job_id}"}, auth="none")
    with pytest.raises(ValueError, match="takes no token"):
        Client("http://127.0.0.1:1", profile=profile, token="tok")
    with pytest.raises(ValueError, match="auth"):
        Profile(name="p", routes={}, auth="digest")


def test_get_profile() -> None:
    """A name or an instance; an unknown name lists the known ones."""
    assert get_profile("native") is NATIVE
    custom = attrs.evolve(NATIVE, name="custom")
    assert get_profile(custom) is custom
    with pytest.raises(ValueError, match=r"unknown profile 'nope'; known profiles: .*'native'"):
        get_profile("nope")
    with pytest.raises(TypeError):
        get_profile(None)  # type: ignore[arg-type]


# -- request hooks -----------------------------------------------------------------------------


def test_list_params_send_the_filter_then_only_the_cursor() -> None:
    """Native cursors carry the filter."""
    first = NATIVE.list_params(status=JobStatus.RUNNING, page_size=20, cursor=None)
    assert first == {"status": "running", "limit": "20"}
    later = NATIVE.list_params(status=JobStatus.RUNNING, page_size=20, cursor="c2")
    assert later == {"cursor": "c2", "limit": "20"}


def test_poll_params_clamp_the_timeout() -> None:
    """The long poll's timeout is 1..300 whole seconds; after= is the last version seen."""
    job = Job(id="a", status=JobStatus.RUNNING, version=7)
    assert NATIVE.poll_params(job=job, timeout=0.2) == {"timeout": "1", "after": "7"}
    assert NATIVE.poll_params(job=None, timeout=1000) == {"timeout": "300"}


def test_submit_body_and_cleanup_params() -> None:
    """The native submit body and cleanup query."""
    body = NATIVE.submit_body(name="n", config=None, priority=3)
    assert body == {"name": "n", "config": {}, "priority": 3}
    assert NATIVE.cleanup_params(max_age_hours=5) == {"max_age_hours": "5"}


def test_many_params_keep_commas_as_separators() -> None:
    """Each id is encoded; only the separators are literal commas."""
    params = NATIVE.many_params(["a,b", "c d", "é/%"])
    url = build_url("http://h/api", "/jobs", params)
    assert url.raw_query_string == "ids=a%2Cb,c%20d,%C3%A9%2F%25"


# -- answer hooks ------------------------------------------------------------------------------


def test_parse_list_reads_pages_and_bare_arrays() -> None:
    """A native page, or a bare JSON array (one page)."""
    item = {"id": "a", "status": "running"}
    jobs, cursor = NATIVE.parse_list({"jobs": [item], "next_cursor": "n"})
    assert [j.id for j in jobs] == ["a"] and cursor == "n"
    assert NATIVE.parse_list({"jobs": [], "next_cursor": None}) == ([], None)
    jobs, cursor = NATIVE.parse_list([item])
    assert len(jobs) == 1 and cursor is None
    with pytest.raises(ProtocolError, match="'jobs'"):
        NATIVE.parse_list({"items": []})
    with pytest.raises(ProtocolError, match="next_cursor"):
        NATIVE.parse_list({"jobs": [], "next_cursor": 3})


def test_parse_many_reads_not_found() -> None:
    """Jobs and the ids reported missing."""
    jobs, missing = NATIVE.parse_many(
        {"jobs": [{"id": "a", "status": "pending"}], "not_found": ["b"]}, job_ids=["a", "b"]
    )
    assert [j.id for j in jobs] == ["a"] and missing == ["b"]
    assert NATIVE.parse_many({"jobs": []}, job_ids=["x"]) == ([], [])


@pytest.mark.parametrize(
    ("payload", "operation", "job_id", "expected"),
    [
        ({"id": "a", "status": "cancelled"}, "cancel", "a", "job"),
        ({"message": "Job a cancelled successfully"}, "cancel", "a", "a"),
        ({"success": True}, "restart", "a", "a"),
        (None, "cancel", "a", "a"),
        ({"job_id": "n1", "message": "Job submitted successfully"}, "submit", None, "n1"),
        ({"id": 42}, "submit", None, "42"),
        ({"job": {"id": 7}}, "submit", None, "7"),
        ({"job": {"id": "b", "status": "pending"}}, "submit", None, "job"),
        ("n2", "submit", None, "n2"),
    ],
)
def test_parse_action_returns_a_job_or_the_id_to_read(
    payload: Any, operation: str, job_id: str | None, expected: str
) -> None:
    """A job object is parsed; anything else names the job the client then reads."""
    found = NATIVE.parse_action(payload, operation=operation, job_id=job_id)
    if expected == "job":
        assert isinstance(found, Job)
    else:
        assert found == expected


def test_parse_action_refuses_a_submit_answer_without_a_job() -> None:
    """A submit must name what it created."""
    with pytest.raises(ProtocolError, match="submit answer names no job"):
        NATIVE.parse_action({"message": "ok"}, operation="submit", job_id=None)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"error": "Not Found", "details": "no job 'a'", "timestamp": "t"},
            ("Not Found", "no job 'a'"),
        ),
        ({"detail": "Job not found"}, (None, "Job not found")),
        (
            {"detail": [{"loc": ["query", "timeout"], "msg": "must be <= 300"}]},
            (None, "query.timeout: must be <= 300"),
        ),
        (
            {"error": {"code": 404, "message": "Job not found", "errors": []}, "kind": "ERROR"},
            ("404", "Job not found"),
        ),
        (
            {"errorType": "com.dataiku.NotFound", "message": "short", "detailedMessage": "long"},
            ("com.dataiku.NotFound", "long"),
        ),
        (
            {"error": "Unauthorized", "message": "Invalid API key"},
            ("Unauthorized", "Invalid API key"),
        ),
        ("plain text failure", (None, "plain text failure")),
        ("", (None, None)),
        ([1, 2], (None, None)),
    ],
)
def test_parse_error_understands_every_known_shape(
    body: Any, expected: tuple[str | None, str | None]
) -> None:
    """Native, FastAPI, envelope, Dataiku and message bodies all give (error, details)."""
    assert NATIVE.parse_error(body) == expected


# -- a user-defined profile, end to end --------------------------------------------------------


class TasksProfile(Profile):
    """An API with its own words and shapes: ``{"task": {...}}`` envelopes, ``uuid`` ids,
    ``state`` words, cancel answering only a message."""

    def unwrap(self, payload: Any, *, operation: str, job_id: str | None = None) -> Any:
        return payload.get("task", payload) if isinstance(payload, dict) else payload

    def parse_job(self, payload: Any) -> Job:
        return Job(id=payload["uuid"], status=status_from_word(payload["state"]), raw=payload)


async def _tasks_app_test() -> None:
    tasks = {"t-1": {"uuid": "t-1", "state": "IN_PROGRESS"}}
    keys: list[str | None] = []

    async def get(request: web.Request) -> web.Response:
        keys.append(request.headers.get("X-Token"))
        task = tasks.get(request.match_info["id"])
        if task is None:
            return web.json_response({"detail": "no such task"}, status=404)
        return web.json_response({"task": task})

    async def abort(request: web.Request) -> web.Response:
        tasks[request.match_info["id"]]["state"] = "ABORTED"
        return web.json_response({"message": "aborted"})

    app = web.Application()
    app.router.add_get("/v2/tasks/{id}", get)
    app.router.add_post("/v2/tasks/{id}/abort", abort)
    profile = TasksProfile(
        name="tasks",
        routes={"get": "GET /tasks/{job_id}", "cancel": "POST /tasks/{job_id}/abort"},
        auth="header:X-Token",
        transports=("poll",),
    )
    async with serve(app) as origin, Client(origin + "/v2", token="k", profile=profile) as client:
        job = await client.get_job("t-1")
        assert job.status is JobStatus.RUNNING
        cancelled = await client.cancel_job("t-1")
        assert cancelled.status is JobStatus.CANCELLED
        with pytest.raises(UnsupportedOperationError, match="'tasks'"):
            await client.submit_job("x")
        with pytest.raises(Exception, match="404 Not Found from GET /tasks/nope: no such task"):
            await client.get_job("nope")
        jobs = await client.get_jobs(["t-1", "t-1"])  # no batch route: single reads
        assert [j.id for j in jobs] == ["t-1", "t-1"]
    assert set(keys) == {"k"}


@pytest.mark.anyio
async def test_a_user_profile_in_a_few_lines_works_end_to_end() -> None:
    """A subclass overriding two hooks, routes as strings: reads, a message-only cancel
    (the client reads the job), FastAPI errors and a missing operation all behave."""
    await _tasks_app_test()
