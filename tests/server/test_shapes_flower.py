"""The flower shape: Celery through Flower's REST API on loopback, with plain aiohttp requests."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from _live_helpers import PATIENCE

from asyncjobs.server.shapes import FlowerShape
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


def _basic(user: str, password: str) -> dict[str, str]:
    """The Authorization header of HTTP basic auth."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


AUTH = _basic("user", "password")


@pytest.fixture
async def flower() -> AsyncIterator[JobServer]:
    """A flower-shaped JobServer that runs tasks, with no visibility delay."""
    async with JobServer(
        profile="flower", auto_run=True, profile_options={"visibility_delay": 0}
    ) as server:
        yield server


@pytest.fixture
async def api() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session sending Flower's default credentials."""
    async with aiohttp.ClientSession(headers=AUTH) as session:
        yield session


async def _submit(
    api: aiohttp.ClientSession,
    server: JobServer,
    name: str,
    *args: Any,
    kind: str = "async-apply",
    **kwargs: Any,
) -> str:
    body = {"args": list(args), "kwargs": kwargs}
    async with api.post(f"{server.url}/api/task/{kind}/{name}", json=body) as response:
        assert response.status == 200, await response.text()
        answer = await response.json()
    assert answer["state"] == "PENDING"
    task_id: str = answer["task-id"]
    return task_id


async def _info(api: aiohttp.ClientSession, server: JobServer, task_id: str) -> dict[str, Any]:
    async with api.get(f"{server.url}/api/task/info/{task_id}") as response:
        assert response.status == 200, await response.text()
        data: dict[str, Any] = await response.json()
        return data


async def _get(api: aiohttp.ClientSession, url: str, **params: str) -> Any:
    async with api.get(url, params=params) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def _wait_state(
    api: aiohttp.ClientSession, server: JobServer, task_id: str, *states: str
) -> dict[str, Any]:
    """Poll ``info`` until the task is in one of ``states`` (bounded; 404 while unknown)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE
    seen: Any = None
    while True:
        async with api.get(f"{server.url}/api/task/info/{task_id}") as response:
            if response.status == 200:
                seen = await response.json()
                if seen["state"] in states:
                    return dict(seen)
        assert loop.time() < deadline, f"{task_id} never became {states}: {seen}"
        await asyncio.sleep(0.01)


async def test_server_url_is_flowers_root(flower: JobServer) -> None:
    """The base URL a Flower client is given is ``http://host:port``."""
    assert flower.url == flower.origin
    assert isinstance(flower.shape, FlowerShape)


async def test_add_succeeds_with_flowers_fields_and_the_backends_json_result(
    flower: JobServer, api: aiohttp.ClientSession
) -> None:
    """``tasks.add(2, 3)`` ends SUCCESS: info shows repr strings and event times in order,
    the result backend answers the result as JSON data."""
    task_id = await _submit(api, flower, "tasks.add", 2, 3)
    info = await _wait_state(api, flower, task_id, "SUCCESS", "FAILURE")
    assert info["state"] == "SUCCESS"
    assert info["uuid"] == task_id
    assert info["name"] == "tasks.add"
    assert (info["args"], info["kwargs"], info["result"]) == ("[2, 3]", "{}", "5")
    assert info["sent"] <= info["received"] <= info["started"] <= info["succeeded"]
    assert info["failed"] is info["revoked"] is info["exception"] is None
    assert info["worker"] == "celery@asyncjobs"
    assert info["runtime"] >= 0
    assert info["retries"] == 0
    result = await _get(api, f"{flower.url}/api/task/result/{task_id}")
    assert result == {"task-id": task_id, "state": "SUCCESS", "result": 5}


async def test_a_task_passes_through_pending_and_received_before_started(
    api: aiohttp.ClientSession,
) -> None:
    """Sent tasks are PENDING and counted in the queue; a received one is RECEIVED with a
    worker, out of the queue, and not started."""
    options = {"visibility_delay": 0, "receive_delay": 60}
    async with JobServer(profile="flower", auto_run=True, profile_options=options) as server:
        task_id = await _submit(api, server, "tasks.add", 1, 1)
        pending = await _info(api, server, task_id)
        assert (pending["state"], pending["received"], pending["worker"]) == ("PENDING", None, None)
        queues = await _get(api, f"{server.url}/api/queues/length")
        assert queues == {"active_queues": [{"name": "celery", "messages": 1}]}
    options = {"visibility_delay": 0, "receive_delay": 0, "start_delay": 60}
    async with JobServer(profile="flower", auto_run=True, profile_options=options) as server:
        task_id = await _submit(api, server, "tasks.add", 1, 1)
        received = await _wait_state(api, server, task_id, "RECEIVED")
        assert received["worker"] == "celery@asyncjobs"
        assert received["received"] is not None
        assert received["started"] is None
        queues = await _get(api, f"{server.url}/api/queues/length")
        assert queues["active_queues"][0]["messages"] == 0
        result = await _get(api, f"{server.url}/api/task/result/{task_id}")
        assert result == {"task-id": task_id, "state": "PENDING"}


async def test_fail_raises_value_error_with_exception_and_traceback(
    flower: JobServer, api: aiohttp.ClientSession
) -> None:
    """``tasks.fail("boom")`` ends FAILURE with ``ValueError('boom')`` and a traceback, in
    info and in the result backend."""
    task_id = await _submit(api, flower, "tasks.fail", "boom")
    info = await _wait_state(api, flower, task_id, "FAILURE", "SUCCESS")
    assert info["state"] == "FAILURE"
    assert info["exception"] == "ValueError('boom')"
    assert info["traceback"].startswith("Traceback (most recent call last):")
    assert info["traceback"].strip().splitlines()[-1] == "ValueError: boom"
    assert info["failed"] is not None
    result = await _get(api, f"{flower.url}/api/task/result/{task_id}")
    assert result["state"] == "FAILURE"
    assert result["result"] == "ValueError('boom')"
    assert result["traceback"] == info["traceback"]


async def test_sleep_returns_its_result_as_data_and_as_a_repr(
    flower: JobServer, api: aiohttp.ClientSession
) -> None:
    """``tasks.sleep(seconds, result=...)``: the backend has the data, info its repr; a
    ``timeout`` on the result waits for the end."""
    task_id = await _submit(api, flower, "tasks.sleep", seconds=0.1, result={"rows": 3})
    result = await _get(api, f"{flower.url}/api/task/result/{task_id}", timeout="5")
    assert result == {"task-id": task_id, "state": "SUCCESS", "result": {"rows": 3}}
    info = await _info(api, flower, task_id)
    assert info["result"] == "{'rows': 3}"
    assert info["kwargs"] == "{'seconds': 0.1, 'result': {'rows': 3}}"


async def test_async_apply_checks_the_task_and_send_task_does_not(
    flower: JobServer, api: aiohttp.ClientSession
) -> None:
    """async-apply: an unregistered name is 404, a call that does not fit is an empty 500.
    send-task takes both: the bad call fails at the worker, the unknown name stays PENDING."""
    body = {"args": [1]}
    async with api.post(f"{flower.url}/api/task/async-apply/tasks.nope", json=body) as response:
        assert response.status == 404
        assert await response.text() == "Unknown task 'tasks.nope'"
    async with api.post(f"{flower.url}/api/task/async-apply/tasks.add", json=body) as response:
        assert response.status == 500
        assert await response.text() == ""
    assert len(flower.store) == 0
    bad_call = await _submit(api, flower, "tasks.add", 1, kind="send-task")
    failed = await _wait_state(api, flower, bad_call, "FAILURE", "SUCCESS")
    assert failed["exception"] == "TypeError(\"add() missing 1 required positional argument: 'y'\")"
    unknown = await _submit(api, flower, "tasks.nope", kind="send-task")
    assert (await _info(api, flower, unknown))["state"] == "PENDING"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b"{args", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        (b"[1, 2]", "invalid options"),
        (b'{"args": {"x": 1}}', "args must be an array"),
    ],
)
async def test_a_bad_body_is_400_with_flowers_message(
    flower: JobServer, api: aiohttp.ClientSession, body: bytes, text: str
) -> None:
    """A body that is not JSON, not an object, or whose args is not a list: 400, the reason as
    the body."""
    async with api.post(f"{flower.url}/api/task/async-apply/tasks.add", data=body) as response:
        assert response.status == 400
        assert await response.text() == text


async def test_a_task_is_unknown_to_info_and_tasks_for_the_visibility_delay(
    api: aiohttp.ClientSession,
) -> None:
    """Right after its submit a task is 404 to info and absent from /api/tasks (the result
    backend says PENDING); once the delay has passed both know it. With 0 it is known at once.
    The delay is the shape's attribute, so the test shortens it instead of racing it."""
    options = {"visibility_delay": 60, "receive_delay": 60}
    async with JobServer(profile="flower", auto_run=True, profile_options=options) as server:
        shape = server.shape
        assert isinstance(shape, FlowerShape)
        task_id = await _submit(api, server, "tasks.add", 1, 2)
        async with api.get(f"{server.url}/api/task/info/{task_id}") as response:
            assert response.status == 404
            assert await response.text() == f"Unknown task '{task_id}'"
        assert await _get(api, f"{server.url}/api/tasks") == {}
        result = await _get(api, f"{server.url}/api/task/result/{task_id}")
        assert result == {"task-id": task_id, "state": "PENDING"}
        shape.visibility_delay = 0.1
        info = await _wait_state(api, server, task_id, "PENDING")
        assert info["uuid"] == task_id
        assert list(await _get(api, f"{server.url}/api/tasks")) == [task_id]
        shape.visibility_delay = 0
        later = await _submit(api, server, "tasks.add", 1, 2)
        assert (await _info(api, server, later))["state"] == "PENDING"


async def test_the_default_visibility_delay_is_short(api: aiohttp.ClientSession) -> None:
    """With the default options a task becomes known to info within a moment."""
    async with JobServer(profile="flower", auto_run=True) as server:
        shape = server.shape
        assert isinstance(shape, FlowerShape)
        assert 0 < shape.visibility_delay < 0.1
        task_id = await _submit(api, server, "tasks.add", 1, 2)
        await _wait_state(api, server, task_id, "SUCCESS")


async def test_result_of_an_unknown_id_is_200_pending(
    flower: JobServer, api: aiohttp.ClientSession
) -> None:
    """The result backend knows nothing of an id: PENDING, without a result."""
    result = await _get(api, f"{flower.url}/api/task/result/nope")
    assert result == {"task-id": "nope", "state": "PENDING"}
    async with api.get(f"{flower.url}/api/task/info/nope") as response:
        assert response.status == 404
        assert await response.text() == "Unknown task 'nope'"


async def test_tasks_pages_sorts_and_filters_like_flower(
    flower: JobServer, api: aiohttp.ClientSession
) -> None:
    """/api/tasks: newest event first; limit and offset page it; sort_by sorts (``-``
    descending); state and taskname filter; "All" is no filter; a bad sort_by is 500."""
    done = [await _submit(api, flower, "tasks.add", n, n) for n in range(3)]
    failed = [await _submit(api, flower, "tasks.fail", f"no {n}") for n in range(2)]
    running = await _submit(api, flower, "tasks.sleep", 60)
    for task_id in done:
        await _wait_state(api, flower, task_id, "SUCCESS")
    for task_id in failed:
        await _wait_state(api, flower, task_id, "FAILURE")
    await _wait_state(api, flower, running, "STARTED")
    url = f"{flower.url}/api/tasks"

    everything = await _get(api, url)
    assert set(everything) == {*done, *failed, running}
    stamps = [task["timestamp"] for task in everything.values()]
    assert stamps == sorted(stamps, reverse=True)
    assert all(task_id == task["uuid"] for task_id, task in everything.items())
    order = list(everything)
    assert list(await _get(api, url, limit="2")) == order[:2]
    assert list(await _get(api, url, limit="2", offset="2")) == order[2:4]
    assert list(await _get(api, url, offset="5")) == order[5:]
    assert list(await _get(api, url, offset="-3")) == order

    succeeded = await _get(api, url, state="SUCCESS")
    assert set(succeeded) == set(done)
    assert {task["state"] for task in succeeded.values()} == {"SUCCESS"}
    assert set(await _get(api, url, taskname="tasks.fail")) == set(failed)
    assert set(await _get(api, url, taskname="tasks.fail", state="SUCCESS")) == set()
    assert set(await _get(api, url, state="All")) == set(everything)

    names = [task["name"] for task in (await _get(api, url, sort_by="name")).values()]
    assert names == sorted(names)
    names = [task["name"] for task in (await _get(api, url, sort_by="-name")).values()]
    assert names == sorted(names, reverse=True)
    started = [task["started"] for task in (await _get(api, url, sort_by="started")).values()]
    assert started == sorted(started)
    page = await _get(api, url, sort_by="-started", limit="1")
    assert list(page) == [running]

    async with api.get(url, params={"sort_by": "colour"}) as response:
        assert response.status == 500
    async with api.get(url, params={"offset": "x"}) as response:
        assert response.status == 400
        assert await response.text() == "Invalid argument 'x' of type 'int'"


async def test_revoke_without_terminate_revokes_a_pending_task_not_a_running_one(
    api: aiohttp.ClientSession,
) -> None:
    """A pending task revoked is REVOKED; a running one revoked without terminate runs on to
    SUCCESS. Both answers are ``{"message": "Revoked 'id'"}``."""
    options = {"visibility_delay": 0, "receive_delay": 60}
    async with JobServer(profile="flower", auto_run=True, profile_options=options) as server:
        task_id = await _submit(api, server, "tasks.add", 1, 2)
        async with api.post(f"{server.url}/api/task/revoke/{task_id}") as response:
            assert response.status == 200
            assert await response.json() == {"message": f"Revoked '{task_id}'"}
        info = await _info(api, server, task_id)
        assert info["state"] == "REVOKED"
        assert info["revoked"] is not None
        result = await _get(api, f"{server.url}/api/task/result/{task_id}")
        assert result["state"] == "REVOKED"
        assert result["result"] == "TaskRevokedError('revoked')"
        queues = await _get(api, f"{server.url}/api/queues/length")
        assert queues["active_queues"][0]["messages"] == 0

    async with JobServer(
        profile="flower", auto_run=True, profile_options={"visibility_delay": 0}
    ) as server:
        task_id = await _submit(api, server, "tasks.sleep", 0.5, "slept")
        await _wait_state(api, server, task_id, "STARTED")
        async with api.post(f"{server.url}/api/task/revoke/{task_id}") as response:
            assert response.status == 200
        assert (await _info(api, server, task_id))["state"] in ("STARTED", "SUCCESS")
        info = await _wait_state(api, server, task_id, "SUCCESS", "REVOKED")
        assert info["state"] == "SUCCESS"
        assert info["result"] == "'slept'"


async def test_revoke_with_terminate_stops_a_running_task(
    flower: JobServer, api: aiohttp.ClientSession
) -> None:
    """``terminate=true&signal=SIGTERM`` makes a running task REVOKED; an unknown id is
    answered the same way."""
    task_id = await _submit(api, flower, "tasks.sleep", 60)
    await _wait_state(api, flower, task_id, "STARTED")
    params = {"terminate": "true", "signal": "SIGTERM"}
    async with api.post(f"{flower.url}/api/task/revoke/{task_id}", params=params) as response:
        assert response.status == 200
        assert await response.json() == {"message": f"Revoked '{task_id}'"}
    info = await _info(api, flower, task_id)
    assert info["state"] == "REVOKED"
    result = await _get(api, f"{flower.url}/api/task/result/{task_id}")
    assert result["result"] == "TaskRevokedError('terminated')"
    async with api.post(f"{flower.url}/api/task/revoke/nope", params=params) as response:
        assert response.status == 200
        assert await response.json() == {"message": "Revoked 'nope'"}


async def test_every_api_route_is_401_without_valid_credentials(flower: JobServer) -> None:
    """Without credentials, or with wrong ones, every /api/* route answers an empty 401."""
    routes = [
        ("POST", "/api/task/async-apply/tasks.add"),
        ("POST", "/api/task/send-task/tasks.add"),
        ("GET", "/api/task/info/x"),
        ("GET", "/api/task/result/x"),
        ("POST", "/api/task/revoke/x"),
        ("GET", "/api/tasks"),
        ("GET", "/api/task/types"),
        ("GET", "/api/queues/length"),
        ("GET", "/api/workers"),
    ]
    for auth in ({}, _basic("user", "wrong"), _basic("other", "password"), {"Authorization": "x"}):
        async with aiohttp.ClientSession(headers=auth) as session:
            for method, path in routes:
                async with session.request(method, flower.url + path, json={}) as response:
                    assert response.status == 401, (auth, path)
                    assert await response.text() == ""
    assert len(flower.store) == 0


async def test_credentials_are_an_option_and_none_opens_the_api() -> None:
    """``basic_auth`` sets the accepted credentials; None opens the API."""
    options = {"basic_auth": "admin:s3cret", "visibility_delay": 0}
    async with JobServer(profile="flower", profile_options=options) as server:
        url = f"{server.url}/api/workers"
        async with aiohttp.ClientSession(headers=_basic("admin", "s3cret")) as session:
            workers = await _get(session, url)
        assert sorted(workers["celery@asyncjobs"]["registered"]) == [
            "tasks.add",
            "tasks.fail",
            "tasks.sleep",
        ]
        async with aiohttp.ClientSession(headers=AUTH) as session, session.get(url) as response:
            assert response.status == 401
    options = {"basic_auth": None, "tasks": ["app.resize"], "visibility_delay": 0}
    async with (
        JobServer(profile="flower", auto_run=True, profile_options=options) as server,
        aiohttp.ClientSession() as session,
    ):
        task_id = await _submit(session, server, "app.resize", 1, 2, 3)
        info = await _wait_state(session, server, task_id, "SUCCESS")
        assert (info["args"], info["result"]) == ("[1, 2, 3]", "None")
        url = f"{server.url}/api/task/async-apply/tasks.add"
        async with session.post(url, json={}) as response:
            assert response.status == 404


async def test_harness_hooks_drive_tasks_and_the_retry_word(
    api: aiohttp.ClientSession,
) -> None:
    """``update_job`` and ``shape.set_status(id, "RETRY")`` drive a task's Flower state."""
    async with JobServer(profile="flower", profile_options={"visibility_delay": 0}) as server:
        task_id = await _submit(api, server, "tasks.add", 1, 2)
        shape = server.shape
        assert isinstance(shape, FlowerShape)
        shape.set_status(task_id, "RETRY")
        assert (await _info(api, server, task_id))["state"] == "RETRY"
        result = await _get(api, f"{server.url}/api/task/result/{task_id}")
        assert result["state"] == "RETRY"
        server.update_job(task_id, status="completed")
        assert (await _info(api, server, task_id))["result"] == "3"  # what add(1, 2) returns
        made = server.create_job(name="tasks.report", status="completed", result=[1, "a"])
        assert (await _info(api, server, made.id))["result"] == "[1, 'a']"
        result = await _get(api, f"{server.url}/api/task/result/{made.id}")
        assert result == {"task-id": made.id, "state": "SUCCESS", "result": [1, "a"]}
        created = server.create_job(name="tasks.report", status="failed", error="KeyError: 'x'")
        info = await _info(api, server, created.id)
        assert (info["state"], info["exception"]) == ("FAILURE", "KeyError(\"'x'\")")


async def test_unknown_routes_are_tornados_404(
    flower: JobServer, api: aiohttp.ClientSession
) -> None:
    """A path Flower has no route for is tornado's 404 page (before any auth)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{flower.url}/api/task/nothing/x") as response,
    ):
        assert response.status == 404
        assert "404: Not Found" in await response.text()


async def test_server_tokens_are_accepted_as_basic_credentials() -> None:
    """With ``tokens``, a ``user:password`` token is accepted whole and a bare token as the
    user name; the ``basic_auth`` credentials still work."""
    async with JobServer(profile="flower", tokens=["ci:pw", "robot"]) as server:
        url = f"{server.url}/api/queues/length"
        for headers in (_basic("ci", "pw"), _basic("robot", "anything"), AUTH):
            async with aiohttp.ClientSession(headers=headers) as session:
                await _get(session, url)
        async with (
            aiohttp.ClientSession(headers=_basic("ci", "wrong")) as session,
            session.get(url) as response,
        ):
            assert response.status == 401


async def test_result_timeout_waits_and_fails_empty_when_still_running(
    flower: JobServer, api: aiohttp.ClientSession
) -> None:
    """``?timeout=`` on a task that does not end in time is an empty 500 (Celery's
    TimeoutError inside Flower); a bad terminate flag on revoke is 400."""
    task_id = await _submit(api, flower, "tasks.sleep", 60)
    url = f"{flower.url}/api/task/result/{task_id}"
    async with api.get(url, params={"timeout": "0.05"}) as response:
        assert response.status == 500
        assert await response.text() == ""
    revoke = f"{flower.url}/api/task/revoke/{task_id}"
    async with api.post(revoke, params={"terminate": "maybe"}) as response:
        assert response.status == 400
        assert await response.text() == "Invalid argument 'maybe' of type 'bool'"
