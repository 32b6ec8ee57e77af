"""Redirects (``_transport/_redirects.py``): credentials never follow another origin, 307/308
keep the body, 303 becomes a GET, loops and odd targets are a ProtocolError."""

from __future__ import annotations

import attrs
import pytest
from _client_apps import job_json, serve
from aiohttp import web
from multidict import CIMultiDictProxy

from asyncjobs import Client, ProtocolError
from asyncjobs._transport._redirects import MAX_REDIRECTS
from asyncjobs.profiles import NATIVE

pytestmark = pytest.mark.anyio

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
