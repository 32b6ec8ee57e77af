"""Each built-in profile's watch and wait against a small server shaped like the real API
(seeds/ROUTES.md), with the quirks real servers have: "now" timestamps, envelopes, nested
states, integer ids, failure reasons in odd places, streams that never close, f-string JSON.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from contextlib import aclosing
from datetime import UTC, datetime
from typing import Any

import pytest
from _live_helpers import wait_until
from _tiny_server import Routes, serve
from aiohttp import web

from asyncjobs import (
    Client,
    Job,
    JobCancelledError,
    JobFailedError,
    JobStatus,
    PermissionDeniedError,
)

pytestmark = pytest.mark.anyio

_now = itertools.count()


def now_naive() -> str:
    """A naive "now" that differs on every call (as APIs that fill updated_at do)."""
    return f"2024-01-21T10:30:{next(_now) % 60:02d}.{next(_now):06d}"


async def watch_all(client: Client, job_id: str | int, **options: Any) -> list[Job]:
    async with aclosing(client.watch(job_id, **options)) as updates:
        return [job async for job in updates]


# -- compileo ---------------------------------------------------------------------------------

JOB = "123e4567-e89b-12d3-a456-426614174000"


def compileo_status(status: str, progress: float, step: str = "", **extra: Any) -> dict[str, Any]:
    completed = extra.pop("completed_at", None)
    return {
        "job_id": JOB,
        "status": status,
        "progress": progress,
        "current_step": step,
        "result": None,
        "error": None,
        "created_at": "2024-01-21T10:30:00.000001",
        "started_at": None,
        "completed_at": completed,
        "updated_at": completed or now_naive(),
        **extra,
    }


def compileo_api(state: dict[str, Any]) -> Routes:
    routes = Routes("/api/v1/jobs")

    async def get(request: web.Request) -> web.Response:
        return web.json_response(compileo_status(**state))

    routes.add("GET", "/status/{job_id}", get)
    return routes


def fstring_event(status: str, progress: float, step: str, stamp: str) -> bytes:
    # Built like the API builds it: an f-string, so a quote in the step breaks the JSON.
    return (
        f'data: {{"job_id": "{JOB}", "status": "{status}", "progress": {progress}, '
        f'"current_step": "{step}", "timestamp": "{stamp}"}}\n\n'
    ).encode()


@pytest.mark.parametrize("stamp", ["2024-01-21T10:35:22Z", "Sun, 21 Jan 2024 10:35:22 GMT"])
async def test_compileo_stream_quirks_end_with_the_full_final_job(fast: None, stamp: str) -> None:
    """Broken JSON is skipped, "now" is no change, the terminal event (whatever its time
    format) is completed by a read, and the stream that would stay open is closed."""
    state: dict[str, Any] = {"status": "pending", "progress": 0.0}
    routes = compileo_api(state)

    async def stream(request: web.Request) -> web.StreamResponse:
        routes.open_streams += 1
        try:
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            await response.write(fstring_event("pending", 0.0, "", "2024-01-21T10:30:01"))
            await response.write(fstring_event("running", 10.0, "Initializing", "x"))
            await response.write(fstring_event("running", 25.0, 'Reading "a.pdf"', "x"))
            await response.write(b": keep-alive\n\n")
            await response.write(fstring_event("running", 50.0, "Chunking", "x"))
            state.update(
                status="completed",
                progress=100.0,
                result={"chunks": 12},
                completed_at="2024-01-21T10:35:22.5",
            )
            await response.write(fstring_event("completed", 100.0, "Done", stamp))
            await asyncio.sleep(3600)  # a finished job's stream never closes
            return response
        finally:
            routes.open_streams -= 1

    routes.add("GET", "/status/{job_id}/stream", stream)
    async with serve(routes) as url, Client(url, profile="compileo") as client:
        seen = await asyncio.wait_for(watch_all(client, JOB, transport="sse"), 2)
        await wait_until(
            lambda: routes.open_streams == 0, message="the finished job's stream was left open"
        )
    assert [(j.status, j.progress, j.message) for j in seen] == [
        (JobStatus.PENDING, 0.0, None),
        (JobStatus.RUNNING, 10.0, "Initializing"),
        (JobStatus.RUNNING, 50.0, "Chunking"),
        (JobStatus.COMPLETED, 100.0, None),
    ]
    assert seen[-1].result == {"chunks": 12}
    assert seen[-1].completed_at == datetime(2024, 1, 21, 10, 35, 22, 500000, tzinfo=UTC)
    assert routes.count("GET /status/{job_id}/stream") == 1


async def test_compileo_error_event_falls_back_to_the_long_poll(fast: None) -> None:
    """``{"error": ...}`` on the stream (no in-process manager): auto long-polls instead,
    sending the last status word seen as ``current_status``."""
    state: dict[str, Any] = {"status": "scheduled", "progress": 0.0}
    routes = compileo_api(state)
    queries: list[dict[str, str]] = []

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b'data: {"error": "Job queue manager not initialized"}\n\n')
        await asyncio.sleep(3600)
        return response

    words = iter(["retrying", "running", "completed"])

    async def poll(request: web.Request) -> web.Response:
        queries.append(dict(request.query))
        word = next(words)
        state.update(status=word, progress=100.0 if word == "completed" else 40.0)
        if word == "completed":
            state["completed_at"] = "2024-01-21T10:35:22"
        return web.json_response(compileo_status(**state))

    routes.add("GET", "/status/{job_id}/stream", stream)
    routes.add("GET", "/status/{job_id}/poll", poll)
    async with serve(routes) as url, Client(url, profile="compileo") as client:
        seen = await asyncio.wait_for(watch_all(client, JOB), 2)
    # retrying -> running is no change of the job (both are RUNNING, nothing else moved), but
    # the next long poll must say "running" was seen, or the API answers it at once, forever.
    assert [(j.status, j.raw["status"]) for j in seen] == [
        (JobStatus.PENDING, "scheduled"),
        (JobStatus.RUNNING, "retrying"),
        (JobStatus.COMPLETED, "completed"),
    ]
    assert [q["current_status"] for q in queries] == ["scheduled", "retrying", "running"]
    assert all(1 <= int(q["timeout"]) <= 300 for q in queries)


async def test_compileo_polling_never_yields_a_state_twice_for_its_now_updated_at(
    fast: None,
) -> None:
    state: dict[str, Any] = {"status": "running", "progress": 5.0}
    routes = compileo_api(state)
    reads = 0
    app_get = routes.app.router  # noqa: F841 - the get handler is wrapped below

    @web.middleware
    async def advance(request: web.Request, handler: Any) -> web.StreamResponse:
        nonlocal reads
        reads += 1
        if reads == 8:
            state.update(
                status="failed", progress=60.0, error="OCR crashed", completed_at=now_naive()
            )
        response: web.StreamResponse = await handler(request)
        return response

    routes.app.middlewares.append(advance)
    async with serve(routes) as url, Client(url, profile="compileo") as client:
        seen = await watch_all(client, JOB, transport="poll", poll_interval=0.01)
        with pytest.raises(JobFailedError) as caught:
            await client.wait_for_job(JOB, poll_interval=0.01)
    assert [(j.status, j.progress) for j in seen] == [
        (JobStatus.RUNNING, 5.0),
        (JobStatus.FAILED, 60.0),
    ]
    assert caught.value.details["failure_reason"] == "OCR crashed"


# -- mammoth ----------------------------------------------------------------------------------


def mammoth_job(job_id: int, status: str, response: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": job_id,
        "status": status,
        "response": {} if response is None else response,
        "last_updated_at": now_naive(),
        "created_at": "2024-01-21T10:30:00Z",
        "path": "/api/v2/datasets",
        "operation": "import",
        **extra,
    }


@pytest.mark.parametrize(
    ("failed", "reason"),
    [
        (mammoth_job(7, "failure", {"failure_reason": "bad csv"}), "bad csv"),
        (mammoth_job(7, "error", {"error": "worker died"}), "worker died"),
        (mammoth_job(7, "error", {"response": {"detail": "quota"}}), "quota"),
        (mammoth_job(7, "failure", {"response": {"error": "timeout"}}), "timeout"),
        (mammoth_job(7, "failure", {}, failure_reason="top level"), "top level"),
    ],
)
async def test_mammoth_int_ids_envelope_and_failure_reason_wherever_it_is(
    fast: None, failed: dict[str, Any], reason: str
) -> None:
    routes = Routes("/api/v2")
    states = iter([mammoth_job(7, "processing")] * 3)
    requested: list[str] = []

    async def get(request: web.Request) -> web.Response:
        requested.append(request.match_info["job_id"])
        job = next(states, failed)
        return web.json_response({"job": {**job, "last_updated_at": now_naive()}})

    routes.add("GET", "/jobs/{job_id}", get)
    async with serve(routes) as url, Client(url, profile="mammoth") as client:
        seen = await watch_all(client, 7, poll_interval=0.01)
        with pytest.raises(JobFailedError) as caught:
            await client.wait_for_job(7, poll_interval=0.01)
    assert [(j.id, j.status) for j in seen] == [("7", JobStatus.RUNNING), ("7", JobStatus.FAILED)]
    assert seen[-1].error == reason
    assert caught.value.details == {"job_id": "7", "failure_reason": reason}
    assert set(requested) == {"7"}


# -- fiddler ----------------------------------------------------------------------------------


async def test_fiddler_envelope_celery_states_and_a_flaky_server(fast: None) -> None:
    routes = Routes("/v3")
    uid = "0b9e1e1a-3f57-4c6e-9a53-7d1c2f0e8a11"
    script: list[tuple[int, dict[str, Any]]] = [
        (200, {"status": "PENDING", "progress": 0.0}),
        (500, {}),
        (200, {"status": "STARTED", "progress": 30.0}),
        (502, {}),
        (200, {"status": "RETRY", "progress": 30.0, "info": {"attempt": 2}}),
        (
            200,
            {
                "status": "FAILURE",
                "progress": 30.0,
                "error_reason": "ValueError",
                "error_message": "column 'x' missing",
            },
        ),
    ]
    answers = iter(script)

    async def get(request: web.Request) -> web.Response:
        status, fields = next(answers, script[-1])
        if status != 200:
            body = {"error": {"code": status, "message": "oops", "errors": []}, "kind": "ERROR"}
            return web.json_response(body, status=status)
        job = {"id": uid, "name": "ingest", "info": {}, "error_message": None, "extras": None}
        return web.json_response(
            {"data": {**job, **fields}, "api_version": "3.0", "kind": "NORMAL"}
        )

    routes.add("GET", "/jobs/{job_id}", get)
    async with serve(routes) as url, Client(url, profile="fiddler") as client:
        seen = await watch_all(client, uid, poll_interval=0.01)
        with pytest.raises(JobFailedError) as caught:
            await client.wait_for_job(uid, poll_interval=0.01)
    assert [j.status for j in seen] == [
        JobStatus.PENDING,
        JobStatus.RUNNING,
        JobStatus.FAILED,
    ]
    assert seen[1].raw["status"] == "STARTED"
    assert caught.value.details == {
        "job_id": uid,
        "failure_reason": "column 'x' missing",
        "error_reason": "ValueError",
    }


async def test_fiddler_revoked_is_cancelled(fast: None) -> None:
    routes = Routes("/v3")

    async def get(request: web.Request) -> web.Response:
        job = {"id": "u", "name": "n", "status": "REVOKED", "progress": 0.0, "info": {}}
        return web.json_response({"data": job, "api_version": "3.0", "kind": "NORMAL"})

    routes.add("GET", "/jobs/{job_id}", get)
    async with serve(routes) as url, Client(url, profile="fiddler") as client:
        with pytest.raises(JobCancelledError):
            await client.wait_for_job("u")
        final = await client.wait_for_job("u", raise_on_failure=False)
    assert final.status is JobStatus.CANCELLED


# -- dataiku ----------------------------------------------------------------------------------


async def test_dataiku_nested_state_def_id_and_trailing_slash(fast: None) -> None:
    routes = Routes("/dip/publicapi/projects/SALES")
    job_id = "build_x_NP_2015-09-28T09-17-37.455"
    states = iter(["NOT_STARTED", "RUNNING", "RUNNING", "RUNNING", "DONE"])
    seen_paths: list[str] = []

    async def status(request: web.Request) -> web.Response:
        seen_paths.append(request.raw_path)
        state = next(states, "DONE")
        base: dict[str, Any] = {
            "state": state,
            "def": {"id": job_id, "initiationTimestamp": 1443431857455, "name": "build x"},
            "startTime": 0 if state == "NOT_STARTED" else 1443431858000,
            "endTime": 1443431900000 if state == "DONE" else 0,
        }
        return web.json_response({"baseStatus": base, "globalState": {"done": 1}})

    routes.add("GET", "/jobs/{job_id}/", status)
    async with serve(routes) as url, Client(url, profile="dataiku", token="key") as client:
        seen = await watch_all(client, job_id, poll_interval=0.01)
    assert [(j.id, j.status) for j in seen] == [
        (job_id, JobStatus.PENDING),
        (job_id, JobStatus.RUNNING),
        (job_id, JobStatus.COMPLETED),
    ]
    assert seen[-1].completed_at == datetime(2015, 9, 28, 9, 18, 20, tzinfo=UTC)
    assert all(path.endswith("/") for path in seen_paths)


# -- job-management ---------------------------------------------------------------------------


async def test_job_management_live_fields_are_no_change_and_403_is_permission(
    fast: None,
) -> None:
    routes = Routes("/api/v1")
    reads = 0

    async def get(request: web.Request) -> web.Response:
        nonlocal reads
        if request.match_info["job_id"] == "theirs":
            body = {"error": "Forbidden", "details": "not your job", "timestamp": now_naive()}
            return web.json_response(body, status=403)
        reads += 1
        status = "completed" if reads >= 6 else "running"
        job = {
            "id": "mine",
            "name": "report",
            "status": status,
            "priority": 3,
            "progress": 100 if status == "completed" else 40,
            "message": "done" if status == "completed" else "rendering",
            "error_message": None,
            "result_files": ["out.pdf"] if status == "completed" else [],
            "user_id": "u1",
            "created_at": "2024-01-21T10:30:00",
            "started_at": "2024-01-21T10:30:01",
            "completed_at": "2024-01-21T10:31:00" if status == "completed" else None,
            "duration": reads,  # grows with every read
            "estimated_remaining": 100 - reads,
        }
        return web.json_response(job)

    routes.add("GET", "/jobs/{job_id}", get)
    async with serve(routes) as url, Client(url, profile="job-management", token="t") as client:
        seen = await watch_all(client, "mine", poll_interval=0.01)
        with pytest.raises(PermissionDeniedError) as caught:
            await client.wait_for_job("theirs")
    assert [(j.status, j.progress) for j in seen] == [
        (JobStatus.RUNNING, 40),
        (JobStatus.COMPLETED, 100),
    ]
    assert seen[-1].result == ["out.pdf"]
    assert caught.value.details == "not your job"


def test_compileo_event_json_is_what_the_api_sends() -> None:
    """The fixture's f-string events are the API's shape (valid when the step has no quote)."""
    line = fstring_event("running", 1.0, "ok", "t").decode()
    assert json.loads(line[6:])["current_step"] == "ok"


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-21T10:35:22Z",
        "2024-01-21T10:35:22",
        "2024-01-21t10:35:22z",
        "2024-01-21 10:35:22 UTC",
        "2024-01-21T10:35:22.000000+00:00",
        "Sun, 21 Jan 2024 10:35:22 GMT",
        "1705833322",
        1705833322,
        1705833322000,
    ],
)
def test_profile_times_in_the_spellings_servers_use(value: Any) -> None:
    from asyncjobs.profiles._fields import field_time

    assert field_time({"t": value}, "t", "api") == datetime(2024, 1, 21, 10, 35, 22, tzinfo=UTC)
