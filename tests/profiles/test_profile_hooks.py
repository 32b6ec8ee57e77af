"""The profile hooks an engine's API needs, each through a custom profile against a tiny real
server: path parameters from the call, query per operation, the idempotency key as the job's id
(a repeat reads the existing job), error classification (not retried), the log reader, failure
details, offset paging, batched reads through the list route, and the "not visible yet" grace.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

import anyio
import attrs
import pytest
from _client_apps import Routes, serve_routes
from _live_helpers import PATIENCE, bounded
from aiohttp import web

from asyncjobs import (
    APIError,
    Client,
    ConflictError,
    Job,
    JobFailedError,
    JobNotFoundError,
    JobStatus,
    Profile,
    RetryPolicy,
    Route,
    status_from_word,
)
from asyncjobs.profiles import field_id, field_text

pytestmark = pytest.mark.anyio


class TasksProfile(Profile):
    """A Celery-like API written with the hooks (as a user would write one)."""

    def parse_job(self, payload: Any) -> Job:
        return Job(
            id=field_id(payload, "uuid", "tasks"),
            status=status_from_word(payload["state"]),
            name=field_text(payload, "name", "tasks"),
            error=field_text(payload, "exception", "tasks"),
            raw=payload,
        )

    def submit_body(
        self,
        *,
        name: str | None,
        config: Mapping[str, Any] | None,
        priority: int,
        idempotency_key: str | None = None,
    ) -> Any:
        return {"args": list((config or {}).get("args", [])), "id": idempotency_key}

    def operation_params(self, operation: str, *, job_id: str | None = None) -> dict[str, str]:
        if operation == "cancel":
            return {"terminate": "true"}
        return super().operation_params(operation, job_id=job_id)

    def existing_job_id(self, idempotency_key: str) -> str | None:
        return idempotency_key

    def classify_error(
        self, status: int, body: Any, *, operation: str | None
    ) -> type[APIError] | None:
        if isinstance(body, str) and "already exists" in body:
            return ConflictError
        if status >= 500 and operation == "delete":
            return ConflictError
        return None

    def parse_log(self, text: str) -> str:
        logs: str = json.loads(text)["log"]
        return logs

    def failure_details(self, job: Job) -> dict[str, Any]:
        return {"traceback": job.raw.get("traceback")}

    def list_params(
        self, *, status: JobStatus | None, page_size: int | None, cursor: str | None
    ) -> dict[str, str]:
        return {"offset": cursor or "0", "limit": str(page_size or 10)}

    def parse_list(self, payload: Any) -> tuple[list[Job], str | None]:
        return [self.parse_job({**task, "uuid": key}) for key, task in payload.items()], None

    def parse_action(self, payload: Any, *, operation: str, job_id: str | None) -> Job | str:
        if operation == "submit":
            return str(payload["task-id"])
        return super().parse_action(payload, operation=operation, job_id=job_id)


TASKS = TasksProfile(
    name="tasks",
    routes={
        "submit": Route("POST", "/apply/{name}", idempotent=True),
        "get": "GET /info/{job_id}",
        "list": "GET /tasks",
        "cancel": "POST /revoke/{job_id}",
        "delete": "DELETE /tasks/{job_id}",
        "log": "GET /logs/{job_id}",
    },
    transports=("poll",),
    idempotency_header=None,
    paging="offset",
    max_page_size=10,
)


class TasksAPI:
    """The server side: tasks newest first, some hidden (not visible yet)."""

    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, Any]] = {}
        self.hidden: set[str] = set()
        self.queries: list[tuple[str, dict[str, str]]] = []
        self.routes = Routes("/api")
        add = self.routes.add
        add("POST", "/apply/{name}", self.apply)
        add("GET", "/info/{job_id}", self.info)
        add("GET", "/tasks", self.list)
        add("POST", "/revoke/{job_id}", self.revoke)
        add("DELETE", "/tasks/{job_id}", self.delete)
        add("GET", "/logs/{job_id}", self.logs)

    def add(self, task_id: str, state: str = "PENDING", **fields: Any) -> None:
        self.tasks[task_id] = {"uuid": task_id, "state": state, **fields}

    def finish(self, task_id: str, state: str = "SUCCESS", **fields: Any) -> None:
        self.tasks[task_id].update(state=state, **fields)

    async def apply(self, request: web.Request) -> web.Response:
        body = await request.json()
        task_id = body["id"] or uuid.uuid4().hex
        if task_id in self.tasks:
            trace = "Traceback (most recent call last):\n  ...\n"
            return web.Response(
                status=500, text=f"{trace}ValueError: Job with id {task_id} already exists."
            )
        self.add(task_id, name=request.match_info["name"], args=body["args"])
        return web.json_response({"task-id": task_id, "state": "PENDING"})

    def _visible(self, request: web.Request) -> dict[str, Any]:
        task_id = request.match_info["job_id"]
        if task_id not in self.tasks or task_id in self.hidden:
            raise web.HTTPNotFound(text=f"Unknown task '{task_id}'")
        return self.tasks[task_id]

    async def info(self, request: web.Request) -> web.Response:
        return web.json_response(self._visible(request))

    async def list(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.queries.append(("list", query))
        offset, limit = int(query["offset"]), int(query["limit"])
        newest = [t for t in reversed(self.tasks.values()) if t["uuid"] not in self.hidden]
        page = newest[offset : offset + limit]
        return web.json_response(
            {t["uuid"]: {k: v for k, v in t.items() if k != "uuid"} for t in page}
        )

    async def revoke(self, request: web.Request) -> web.Response:
        self.queries.append(("cancel", dict(request.query)))
        if request.can_read_body:
            self.queries.append(("cancel body", await request.json()))
        task = self._visible(request)
        if request.query.get("terminate") == "true":
            task["state"] = "REVOKED"
        return web.json_response({"message": "revoked"})

    async def delete(self, request: web.Request) -> web.Response:
        task = self._visible(request)
        if task["state"] not in ("SUCCESS", "FAILURE", "REVOKED"):
            # A 503, which the retry policy would repeat, unless the profile classifies it.
            return web.Response(status=503, text="RuntimeError: the task is still running")
        del self.tasks[task["uuid"]]
        return web.json_response({"deleted": True})

    async def logs(self, request: web.Request) -> web.Response:
        return web.json_response({"log": f"log of {self._visible(request)['uuid']}\n"})


@pytest.fixture
async def api() -> TasksAPI:
    return TasksAPI()


def tasks_client(url: str, profile: Profile = TASKS) -> Client:
    retry = RetryPolicy(attempts=4, backoff_base=0.01, backoff_cap=0.02)
    return Client(url, profile=profile, retry=retry)


async def test_submit_fills_the_path_with_the_name_and_sends_the_key_as_the_id(
    api: TasksAPI,
) -> None:
    async with serve_routes(api.routes) as url, tasks_client(url) as client:
        job = await client.submit_job("tasks.add", {"args": [2, 3]}, idempotency_key="k-1")
    assert (job.id, job.name, job.status) == ("k-1", "tasks.add", JobStatus.PENDING)
    assert api.tasks["k-1"]["args"] == [2, 3]
    assert api.routes.hits == ["POST /apply/{name}", "GET /info/{job_id}"]


async def test_a_route_that_needs_the_name_refuses_a_submit_without_one(api: TasksAPI) -> None:
    async with serve_routes(api.routes) as url, tasks_client(url) as client:
        with pytest.raises(ValueError, match=r"needs \{name\}.*give submit_job a name"):
            await client.submit_job(None, {"args": []})
    assert api.routes.hits == []


async def test_a_repeated_key_reads_the_existing_job_without_retrying_the_500(
    api: TasksAPI,
) -> None:
    api.add("k-2", state="STARTED", name="tasks.add")
    async with serve_routes(api.routes) as url, tasks_client(url) as client:
        job = await client.submit_job("tasks.add", {"args": [1]}, idempotency_key="k-2")
    assert (job.id, job.status) == ("k-2", JobStatus.RUNNING)
    assert api.routes.hits == ["POST /apply/{name}", "GET /info/{job_id}"]


async def test_a_classified_error_is_raised_at_once_as_its_class(api: TasksAPI) -> None:
    api.add("t-1", state="STARTED")
    async with serve_routes(api.routes) as url, tasks_client(url) as client:
        with pytest.raises(ConflictError, match="still running") as caught:
            await client.delete_job("t-1")
    assert caught.value.status == 503
    assert api.routes.count("DELETE /tasks/{job_id}") == 1  # a 503 is retried, not this one


async def test_an_unclassified_503_is_still_retried(api: TasksAPI) -> None:
    calls = 0

    async def flaky(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return web.Response(status=503, text="Server got itself in trouble")
        return web.json_response({"uuid": "t-2", "state": "SUCCESS"})

    api.routes.add("GET", "/flaky/{job_id}", flaky)
    profile = attrs.evolve(TASKS, routes={**TASKS.routes, "get": Route("GET", "/flaky/{job_id}")})
    async with serve_routes(api.routes) as url, tasks_client(url, profile) as client:
        job = await client.get_job("t-2")
    assert job.status is JobStatus.COMPLETED
    assert calls == 2


async def test_cancel_sends_the_profiles_query(api: TasksAPI) -> None:
    api.add("t-3", state="STARTED")
    async with serve_routes(api.routes) as url, tasks_client(url) as client:
        job = await client.cancel_job("t-3")
    assert job.status is JobStatus.CANCELLED
    assert ("cancel", {"terminate": "true"}) in api.queries


async def test_get_log_goes_through_the_profiles_reader(api: TasksAPI) -> None:
    api.add("t-4", state="SUCCESS")
    async with serve_routes(api.routes) as url, tasks_client(url) as client:
        assert await client.get_log("t-4") == "log of t-4\n"


async def test_a_failure_carries_the_profiles_details(api: TasksAPI) -> None:
    api.add("t-5", state="FAILURE", exception="ValueError('boom')", traceback="Traceback: boom")
    async with serve_routes(api.routes) as url, tasks_client(url) as client:
        with pytest.raises(JobFailedError) as caught:
            await bounded(client.wait_for_job("t-5"), "the wait on a failed task")
    assert caught.value.details == {
        "job_id": "t-5",
        "failure_reason": "ValueError('boom')",
        "traceback": "Traceback: boom",
    }


async def test_offset_paging_counts_offsets_and_stops_at_a_short_page(api: TasksAPI) -> None:
    for n in range(25):
        api.add(f"t-{n:02d}", state="SUCCESS")
    async with serve_routes(api.routes) as url, tasks_client(url) as client:
        jobs = [job async for job in client.list_jobs()]
    assert [job.id for job in jobs] == [f"t-{n:02d}" for n in reversed(range(25))]
    offsets = [query["offset"] for what, query in api.queries if what == "list"]
    assert offsets == ["0", "10", "20"]


async def test_batched_reads_go_through_the_list_route(api: TasksAPI) -> None:
    profile = attrs.evolve(TASKS, batch_via_list=True)
    api.add("old", state="SUCCESS")  # the oldest, past the pages the 16 ids may cost
    for n in range(30):
        api.add(f"other-{n}", state="SUCCESS")
    ids = [f"b-{n:02d}" for n in range(15)]  # the newest
    for task_id in ids:
        api.add(task_id, state="SUCCESS")
    async with serve_routes(api.routes) as url, tasks_client(url, profile) as client:
        jobs = await client.get_jobs([*ids, "old"])
    assert [job.id for job in jobs] == [*ids, "old"]
    assert api.routes.count("GET /tasks") == 3  # 16 ids: as many pages of 10 as they fill, +1
    assert api.routes.count("GET /info/{job_id}") == 1  # only "old" was read alone


async def test_a_job_not_visible_yet_is_pending_within_the_grace(api: TasksAPI) -> None:
    profile = attrs.evolve(TASKS, not_found_grace=30.0)
    api.hidden.add("h-1")  # hidden once created: the server learns of it "later"
    async with serve_routes(api.routes) as url, tasks_client(url, profile) as client:
        job = await client.submit_job("tasks.add", {"args": []}, idempotency_key="h-1")
        assert (job.id, job.status, job.name) == ("h-1", JobStatus.PENDING, "tasks.add")
        waiting = client.wait_for_job("h-1", timeout=10)
        with pytest.raises(JobNotFoundError):
            await client.get_job("never-submitted")  # the grace covers this client's submits only
        api.hidden.discard("h-1")
        api.finish("h-1")
        final = await bounded(waiting, "the wait on a task that became visible")
    assert final.status is JobStatus.COMPLETED


async def test_the_grace_ends(api: TasksAPI) -> None:
    profile = attrs.evolve(TASKS, not_found_grace=0.05)
    api.hidden.add("h-2")
    async with serve_routes(api.routes) as url, tasks_client(url, profile) as client:
        await client.submit_job("tasks.add", {"args": []}, idempotency_key="h-2")
        with anyio.fail_after(PATIENCE):
            while True:  # PENDING for 50 ms, then the 404 is believed
                try:
                    job = await client.get_job("h-2")
                except JobNotFoundError:
                    break
                assert job.status is JobStatus.PENDING
                await anyio.sleep(0.01)


async def test_a_profile_written_before_submit_body_took_the_key_still_submits(
    api: TasksAPI,
) -> None:
    class OldStyle(TasksProfile):
        def submit_body(  # type: ignore[override]
            self, *, name: str | None, config: Mapping[str, Any] | None, priority: int
        ) -> Any:
            return {"args": [], "id": "fixed"}

    old = OldStyle(**{f.name: getattr(TASKS, f.name) for f in attrs.fields(TasksProfile)})
    async with serve_routes(api.routes) as url, tasks_client(url, old) as client:
        job = await client.submit_job("tasks.add")
    assert job.id == "fixed"


async def test_a_cancel_and_a_list_may_carry_a_body(api: TasksAPI) -> None:
    """Some APIs cancel by a state change and list by POSTing a filter (Prefect does both)."""

    class Bodies(TasksProfile):
        def operation_body(self, operation: str, *, job_id: str | None = None) -> Any:
            return {"state": {"type": "CANCELLING"}} if operation == "cancel" else None

        def list_params(
            self, *, status: JobStatus | None, page_size: int | None, cursor: str | None
        ) -> dict[str, str]:
            return {}

        def list_body(
            self, *, status: JobStatus | None, page_size: int | None, cursor: str | None
        ) -> Any:
            return {"offset": cursor or "0", "limit": str(page_size)}

    filters: list[Any] = []

    async def filtered(request: web.Request) -> web.Response:
        body = await request.json()
        filters.append(body)
        return web.json_response({"a": {"state": "SUCCESS"}} if body["offset"] == "0" else {})

    api.routes.add("POST", "/filter", filtered)
    api.add("t-6", state="STARTED")
    fields = {f.name: getattr(TASKS, f.name) for f in attrs.fields(TasksProfile)}
    fields["routes"] = {**TASKS.routes, "list": Route("POST", "/filter")}
    profile = Bodies(**fields)
    async with serve_routes(api.routes) as url, tasks_client(url, profile) as client:
        await client.cancel_job("t-6")
        listed = [job.id async for job in client.list_jobs()]
    assert ("cancel body", {"state": {"type": "CANCELLING"}}) in api.queries
    assert listed == ["a"]
    assert filters == [{"offset": "0", "limit": "10"}]
