"""Serving a custom API's shape: ``JobServer(profile=MyShape)``, and the recipe of
docs/custom-shapes.md run as written."""

from __future__ import annotations

import pathlib
import re
from typing import Any

import aiohttp
import pytest

from asyncjobs.server import create_app
from asyncjobs.server.shapes import get_shape
from asyncjobs.testing import JobServer, Shape

pytestmark = pytest.mark.anyio

DOC = pathlib.Path(__file__).parents[2] / "docs" / "custom-shapes.md"


def _recipe() -> dict[str, Any]:
    """The doc's python blocks, run in one namespace (as one module would be)."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 3, "docs/custom-shapes.md should have three python blocks"
    namespace: dict[str, Any] = {"__name__": "custom_shapes_recipe"}
    exec(compile("\n".join(blocks), str(DOC), "exec"), namespace)
    return namespace


async def test_the_documented_recipe_runs() -> None:
    """The shape, the profile and the check of docs/custom-shapes.md work together."""
    recipe = _recipe()
    await recipe["check_tasks_profile"]()


async def test_a_shape_class_is_served_with_its_routes_errors_and_auth() -> None:
    """JobServer(profile=Shape subclass) mounts it at its base path: its own auth, its own
    error bodies for unknown jobs and unknown paths."""
    shape_class = _recipe()["TasksShape"]
    async with (
        JobServer(profile=shape_class, tokens=["k"]) as server,
        aiohttp.ClientSession(headers={"X-Token": "k"}) as http,
    ):
        assert server.url == server.origin + "/api"
        assert isinstance(server.shape, shape_class)
        job = server.create_job(name="crop", status="completed", result={"ok": 1})
        async with http.get(f"{server.url}/tasks/{job.id}") as response:
            assert response.status == 200
            assert (await response.json())["task"]["state"] == "ok"
        async with http.get(f"{server.url}/tasks/nope") as response:
            assert response.status == 404
            body = await response.json()
            assert body["error"] == "Not Found"
            assert "nope" in body["message"]
        async with http.get(f"{server.url}/elsewhere") as response:
            assert response.status == 404
            assert set(await response.json()) == {"error", "message"}
        async with (
            aiohttp.ClientSession() as anonymous,
            anonymous.get(f"{server.url}/tasks/{job.id}") as response,
        ):
            assert response.status == 401
            assert (await response.json())["message"] == "X-Token header missing"


async def test_a_minimal_shape_gets_bearer_auth_native_errors_and_uuid_ids() -> None:
    """A shape defining only its name, base path and routes answers errors with the native
    body and authenticates bearer tokens."""

    class Minimal(Shape):
        name = "minimal"

        @classmethod
        def base_path(cls, options: Any) -> str:
            return "/v9"

        def add_to(self, app: aiohttp.web.Application) -> None:
            async def get(request: aiohttp.web.Request) -> aiohttp.web.Response:
                caller = self.authenticate(request)
                snapshot = self.service.job(caller, request.match_info["job_id"])
                return aiohttp.web.json_response({"state": self.word(snapshot)})

            app.router.add_get("/v9/things/{job_id}", self.handle(get))
            self.add_catch_all(app, "/v9")

    async with JobServer(profile=Minimal, tokens=["t"]) as server:
        made = server.create_job(name="x", token="t")
        assert re.fullmatch(r"[0-9a-f-]{36}", made.id)
        headers = {"Authorization": "Bearer t"}
        async with aiohttp.ClientSession(headers=headers) as http:
            async with http.get(f"{server.url}/things/{made.id}") as response:
                assert await response.json() == {"state": "pending"}
            async with http.get(f"{server.url}/things/nope") as response:
                assert response.status == 404
                assert (await response.json())["details"] == "no job with id 'nope'"
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{server.url}/things/{made.id}") as response,
        ):
            assert response.status == 401


def test_create_app_and_get_shape_take_a_shape_class_and_refuse_other_types() -> None:
    """create_app takes a Shape subclass; anything else that is not a name is a TypeError."""
    shape_class = _recipe()["TasksShape"]
    assert get_shape(shape_class) is shape_class
    create_app(profile=shape_class)
    with pytest.raises(TypeError, match="Shape subclass"):
        get_shape(dict)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Shape subclass"):
        get_shape(Shape)
    with pytest.raises(TypeError, match="Shape subclass"):
        JobServer(profile=42)  # type: ignore[arg-type]
