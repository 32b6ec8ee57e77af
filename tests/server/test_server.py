"""The reference server's REST endpoints over real loopback sockets (DESIGN.md section 2)."""

from __future__ import annotations

import asyncio
import io
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from yarl import URL

from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio

RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


async def call(
    http: aiohttp.ClientSession, method: str, url: str | URL, **kwargs: Any
) -> tuple[int, Any]:
    async with http.request(method, url, **kwargs) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


def assert_error(body: Any, status_phrase: str, *words: str) -> None:
    assert set(body) >= {"error", "details", "timestamp"}
    assert body["error"] == status_phrase
    assert RFC3339_Z.match(body["timestamp"])
    for word in words:
        assert word in body["details"]


# -- submit and get ------------------------------------------------------------------------------


async def test_submit_answers_201_with_the_full_job(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """A submit creates a pending job with every protocol field, times in RFC 3339 UTC."""
    status, job = await call(
        http,
        "POST",
        f"{server.url}/jobs",
        json={"name": "export", "config": {"rows": 3}, "priority": 3},
    )
    assert status == 201
    assert set(job) == {
        "id", "name", "status", "progress", "message", "result", "error", "priority",
        "config", "created_at", "updated_at", "started_at", "completed_at", "version",
    }  # fmt: skip
    assert job["status"] == "pending"
    assert job["name"] == "export"
    assert job["config"] == {"rows": 3}
    assert job["priority"] == 3
    assert RFC3339_Z.match(job["created_at"]) and RFC3339_Z.match(job["updated_at"])
    assert job["started_at"] is None and job["completed_at"] is None
    assert isinstance(job["version"], int)
    status, fetched = await call(http, "GET", f"{server.url}/jobs/{job['id']}")
    assert status == 200
    assert fetched == job


async def test_submit_defaults_priority_and_config(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """An empty body submits an unnamed job of normal priority."""
    status, job = await call(http, "POST", f"{server.url}/jobs")
    assert status == 201
    assert (job["name"], job["priority"], job["config"]) == (None, 2, {})


async def test_repeated_idempotency_key_answers_200_with_the_first_job(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """The same key from the same caller creates one job; a new key creates another."""
    headers = {"Idempotency-Key": "key-1"}
    status1, first = await call(
        http, "POST", f"{server.url}/jobs", json={"name": "a"}, headers=headers
    )
    status2, again = await call(
        http, "POST", f"{server.url}/jobs", json={"name": "a"}, headers=headers
    )
    status3, other = await call(
        http, "POST", f"{server.url}/jobs", json={"name": "a"}, headers={"Idempotency-Key": "k2"}
    )
    assert (status1, status2, status3) == (201, 200, 201)
    assert again == first
    assert other["id"] != first["id"]
    assert len(server.jobs) == 2


async def test_every_change_takes_the_next_server_wide_version(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """Versions strictly increase across all jobs, one per change."""
    _, a = await call(http, "POST", f"{server.url}/jobs")
    _, b = await call(http, "POST", f"{server.url}/jobs")
    _, a2 = await call(http, "POST", f"{server.url}/jobs/{a['id']}/cancel")
    assert a["version"] < b["version"] < a2["version"]
    assert a2["version"] == b["version"] + 1


async def test_get_unknown_job_is_404_with_error_body(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """A 404 carries the native error body naming the id."""
    status, body = await call(http, "GET", f"{server.url}/jobs/nope")
    assert status == 404
    assert_error(body, "Not Found", "nope")


# -- batch get -----------------------------------------------------------------------------------


async def test_batch_get_splits_only_on_literal_commas(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """Percent-encoded ids (one holding a comma) come back; unknown ones are not_found."""
    odd = server.create_job("odd", id="a,b c")
    plain = server.create_job("plain")
    # yarl would turn %2C back into a comma: the URL must be passed as already encoded.
    url = URL(f"{server.url}/jobs?ids=a%2Cb%20c,{plain.id},missing", encoded=True)
    status, body = await call(http, "GET", url)
    assert status == 200
    assert [job["id"] for job in body["jobs"]] == [odd.id, plain.id]
    assert body["not_found"] == ["missing"]


async def test_batch_get_limits(server: JobServer, http: aiohttp.ClientSession) -> None:
    """Empty ids= and more than 100 ids are 400 naming ids."""
    status, body = await call(http, "GET", f"{server.url}/jobs?ids=")
    assert status == 400
    assert_error(body, "Bad Request", "ids")
    many = ",".join(f"j{i}" for i in range(101))
    status, body = await call(http, "GET", f"{server.url}/jobs?ids={many}")
    assert status == 400
    assert_error(body, "Bad Request", "ids", "100")


# -- list ----------------------------------------------------------------------------------------


async def test_list_pages_newest_first_with_a_status_filter(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """Pages of a filtered list cover exactly the matching jobs, newest first; the cursor
    carries the filter."""
    completed = []
    for i in range(12):
        job = server.create_job(f"j{i}", status="completed" if i % 3 else "pending")
        if i % 3:
            completed.append(job.id)
    seen: list[str] = []
    status, page = await call(http, "GET", f"{server.url}/jobs?status=completed&limit=3")
    assert status == 200
    pages = 1
    seen += [job["id"] for job in page["jobs"]]
    while page["next_cursor"] is not None:
        status, page = await call(
            http, "GET", f"{server.url}/jobs", params={"cursor": page["next_cursor"], "limit": 3}
        )
        assert status == 200
        assert all(job["status"] == "completed" for job in page["jobs"])
        seen += [job["id"] for job in page["jobs"]]
        pages += 1
    assert seen == completed[::-1]
    assert pages == 3


async def test_list_default_limit_is_50(server: JobServer, http: aiohttp.ClientSession) -> None:
    """Without limit a page holds 50 jobs."""
    for _ in range(51):
        server.create_job()
    _, page = await call(http, "GET", f"{server.url}/jobs")
    assert len(page["jobs"]) == 50
    assert page["next_cursor"] is not None
    _, rest = await call(http, "GET", f"{server.url}/jobs?cursor={page['next_cursor']}")
    assert len(rest["jobs"]) == 1
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("status=done", "status"),
    ],
)
async def test_list_rejects_bad_parameters(
    server: JobServer, http: aiohttp.ClientSession, query: str, field: str
) -> None:
    """A bad list parameter is a 400 naming it."""
    status, body = await call(http, "GET", f"{server.url}/jobs?{query}")
    assert status == 400
    assert_error(body, "Bad Request", field)


async def test_list_rejects_a_status_that_contradicts_the_cursor(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """The cursor carries its filter: another status with it is a 400."""
    for _ in range(3):
        server.create_job(status="failed")
    _, page = await call(http, "GET", f"{server.url}/jobs?status=failed&limit=1")
    cursor = page["next_cursor"]
    status, body = await call(http, "GET", f"{server.url}/jobs?status=pending&cursor={cursor}")
    assert status == 400
    assert_error(body, "Bad Request", "status")


# -- state changes ---------------------------------------------------------------------------------


async def test_cancel_restart_delete_follow_the_state_rules(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """Cancel pending/running, restart failed/cancelled, delete finished; else 409."""
    job = server.create_job("x", status="running")
    status, body = await call(http, "DELETE", f"{server.url}/jobs/{job.id}")
    assert status == 409
    assert_error(body, "Conflict", "running")
    status, body = await call(http, "POST", f"{server.url}/jobs/{job.id}/restart")
    assert status == 409
    status, cancelled = await call(http, "POST", f"{server.url}/jobs/{job.id}/cancel")
    assert status == 200
    assert cancelled["status"] == "cancelled"
    assert cancelled["completed_at"] is not None
    status, body = await call(http, "POST", f"{server.url}/jobs/{job.id}/cancel")
    assert status == 409
    status, restarted = await call(http, "POST", f"{server.url}/jobs/{job.id}/restart")
    assert status == 200
    assert restarted["status"] == "pending"
    assert restarted["completed_at"] is None and restarted["started_at"] is None
    server.update_job(job.id, status="completed")
    status, body = await call(http, "DELETE", f"{server.url}/jobs/{job.id}")
    assert (status, body) == (204, "")
    status, _ = await call(http, "GET", f"{server.url}/jobs/{job.id}")
    assert status == 404


async def test_restart_of_a_completed_job_is_409(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """Only failed or cancelled jobs restart."""
    job = server.create_job(status="completed")
    status, body = await call(http, "POST", f"{server.url}/jobs/{job.id}/restart")
    assert status == 409
    assert_error(body, "Conflict", "completed")


async def test_log_is_plain_text(server: JobServer, http: aiohttp.ClientSession) -> None:
    """The log is text/plain, one line per entry."""
    job = server.create_job(log=["one", "two"])
    server.update_job(job.id, log="three")
    async with http.get(f"{server.url}/jobs/{job.id}/log") as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        assert await response.text() == "one\ntwo\nthree\n"


# -- long poll -----------------------------------------------------------------------------------


async def test_long_poll_answers_as_soon_as_the_job_changes(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """A 30 s poll is answered right after a change made 0.2 s in."""
    job = server.create_job()

    async def change() -> None:
        await asyncio.sleep(0.2)
        server.update_job(job.id, status="running", progress=10)

    task = asyncio.create_task(change())
    started = time.monotonic()
    status, answer = await call(
        http, "GET", f"{server.url}/jobs/{job.id}/poll?after={job.version}&timeout=30"
    )
    elapsed = time.monotonic() - started
    await task
    assert status == 200
    assert answer["status"] == "running"
    assert answer["version"] > (job.version or 0)
    assert elapsed < 10


async def test_long_poll_answers_unchanged_at_the_timeout(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """Without a change the poll answers the current job after its timeout."""
    job = server.create_job()
    started = time.monotonic()
    status, answer = await call(
        http, "GET", f"{server.url}/jobs/{job.id}/poll?after={job.version}&timeout=1"
    )
    assert status == 200
    assert answer["version"] == job.version
    assert time.monotonic() - started >= 0.9
    assert server.open_polls == 0


async def test_long_poll_answers_at_once_when_already_newer(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """A version newer than after (or no after) is answered immediately."""
    job = server.create_job()
    updated = server.update_job(job.id, message="hi")
    started = time.monotonic()
    _, answer = await call(
        http, "GET", f"{server.url}/jobs/{job.id}/poll?after={job.version}&timeout=30"
    )
    _, plain = await call(http, "GET", f"{server.url}/jobs/{job.id}/poll")
    assert answer["version"] == plain["version"] == updated.version
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("query", "field"),
    [("timeout=0", "timeout"), ("timeout=301", "timeout"), ("timeout=x", "timeout"),
     ("after=-1", "after"), ("after=v3", "after")],
)  # fmt: skip
async def test_long_poll_rejects_bad_parameters(
    server: JobServer, http: aiohttp.ClientSession, query: str, field: str
) -> None:
    """timeout outside 1..300 and a non-version after are 400 naming them."""
    job = server.create_job()
    status, body = await call(http, "GET", f"{server.url}/jobs/{job.id}/poll?{query}")
    assert status == 400
    assert_error(body, "Bad Request", field)


async def test_long_poll_of_a_job_deleted_meanwhile_is_404(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """Deleting the job answers its waiting polls with 404."""
    job = server.create_job(status="completed")
    task = asyncio.create_task(
        call(http, "GET", f"{server.url}/jobs/{job.id}/poll?after={job.version}&timeout=30")
    )
    await server.wait_until(lambda: server.open_polls == 1)
    server.delete_job(job.id)
    status, _ = await asyncio.wait_for(task, 10)
    assert status == 404


# -- queue -----------------------------------------------------------------------------------------


async def test_stats_count_jobs_by_status(server: JobServer, http: aiohttp.ClientSession) -> None:
    """Stats report every status and the workers."""
    for word in ("pending", "pending", "running", "completed", "failed", "cancelled"):
        server.create_job(status=word)
    status, stats = await call(http, "GET", f"{server.url}/stats")
    assert status == 200
    assert stats == {
        "total": 6, "pending": 2, "running": 1, "completed": 1, "failed": 1, "cancelled": 1,
        "active_workers": 0, "total_workers": 0,
    }  # fmt: skip


async def test_cleanup_deletes_jobs_finished_long_enough_ago(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """Only jobs whose completed_at is older than max_age_hours go."""
    old = datetime.now(UTC) - timedelta(hours=30)
    gone = server.create_job(status="completed", completed_at=old)
    kept_recent = server.create_job(status="failed")
    kept_running = server.create_job(status="running")
    status, body = await call(http, "POST", f"{server.url}/cleanup")
    assert (status, body) == (200, {"cleaned_jobs": 1})
    ids = {job.id for job in server.jobs}
    assert gone.id not in ids
    assert {kept_recent.id, kept_running.id} <= ids
    status, body = await call(http, "POST", f"{server.url}/cleanup?max_age_hours=1")
    assert body == {"cleaned_jobs": 0}


@pytest.mark.parametrize("hours", ["0", "169", "many"])
async def test_cleanup_rejects_max_age_outside_1_to_168(
    server: JobServer, http: aiohttp.ClientSession, hours: str
) -> None:
    """max_age_hours must be 1..168."""
    status, body = await call(http, "POST", f"{server.url}/cleanup?max_age_hours={hours}")
    assert status == 400
    assert_error(body, "Bad Request", "max_age_hours")


# -- input errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"priority": 5}, ["priority"]),
        ({"priority": 0}, ["priority"]),
        ({"priority": "high"}, ["priority"]),
        ({"priority": True}, ["priority"]),
        ({"name": 7}, ["name"]),
        ({"config": [1, 2]}, ["config"]),
        ({"name": ["x"], "config": "y", "priority": 9}, ["name", "config", "priority"]),
    ],
)
async def test_submit_names_every_bad_field(
    server: JobServer, http: aiohttp.ClientSession, body: dict[str, Any], fields: list[str]
) -> None:
    """A submit with wrong types or ranges is a 400 naming each bad field."""
    status, answer = await call(http, "POST", f"{server.url}/jobs", json=body)
    assert status == 400
    assert_error(answer, "Bad Request", *fields)
    assert answer["fields"] == fields
    assert server.jobs == []


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"'])
async def test_submit_rejects_a_body_that_is_not_a_json_object(
    server: JobServer, http: aiohttp.ClientSession, raw: bytes
) -> None:
    """Invalid JSON and non-object JSON are 400."""
    status, body = await call(
        http, "POST", f"{server.url}/jobs", data=raw, headers={"Content-Type": "application/json"}
    )
    assert status == 400
    assert_error(body, "Bad Request", "request body")


async def test_unknown_route_under_the_api_is_a_json_404(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """Unknown paths answer the native error body."""
    status, body = await call(http, "GET", f"{server.url}/nothing/here")
    assert status == 404
    assert_error(body, "Not Found", "/api/v1/nothing/here")


async def test_wrong_method_is_a_json_405_with_allow(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """A known path with the wrong method answers 405 and Allow."""
    job = server.create_job()
    async with http.put(f"{server.url}/jobs/{job.id}/cancel") as response:
        assert response.status == 405
        assert response.headers["Allow"] == "POST"
        assert_error(await response.json(), "Method Not Allowed", "PUT")


async def test_body_over_the_limit_is_413() -> None:
    """A body over max_body_size is refused with 413 and creates nothing."""
    async with JobServer(max_body_size=1000) as server, aiohttp.ClientSession() as http:
        big = {"name": "x", "config": {"blob": "y" * 2000}}
        status, body = await call(http, "POST", f"{server.url}/jobs", json=big)
        assert status == 413
        assert_error(body, "Request Entity Too Large", "1000")
        status, _ = await call(http, "POST", f"{server.url}/jobs", json={"name": "small"})
        assert status == 201
        assert len(server.jobs) == 1


async def test_default_body_limit_is_one_mebibyte(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """The default limit refuses a 2 MiB body."""
    status, body = await call(http, "POST", f"{server.url}/jobs", data=io.BytesIO(b" " * 2_097_152))
    assert status == 413
    assert_error(body, "Request Entity Too Large", "1048576")


# -- auth ------------------------------------------------------------------------------------------


async def test_tokens_require_a_known_bearer_token() -> None:
    """With tokens configured, no header or an unknown token is 401."""
    async with JobServer(tokens=["alice"]) as server, aiohttp.ClientSession() as http:
        status, body = await call(http, "GET", f"{server.url}/stats")
        assert status == 401
        assert_error(body, "Unauthorized", "Authorization")
        status, body = await call(
            http, "GET", f"{server.url}/stats", headers={"Authorization": "Bearer mallory"}
        )
        assert status == 401
        status, body = await call(
            http, "GET", f"{server.url}/stats", headers={"Authorization": "Basic alice"}
        )
        assert status == 401
        status, _ = await call(
            http, "GET", f"{server.url}/stats", headers={"Authorization": "Bearer alice"}
        )
        assert status == 200


async def test_two_tokens_cannot_see_each_others_jobs() -> None:
    """Each token is a caller: 403 on another's job, not_found in batches, own list only."""
    async with JobServer(tokens=["alice", "bob"]) as server, aiohttp.ClientSession() as http:
        alice = {"Authorization": "Bearer alice"}
        bob = {"Authorization": "Bearer bob"}
        _, a_job = await call(http, "POST", f"{server.url}/jobs", json={}, headers=alice)
        _, b_job = await call(http, "POST", f"{server.url}/jobs", json={}, headers=bob)
        status, body = await call(http, "GET", f"{server.url}/jobs/{a_job['id']}", headers=bob)
        assert status == 403
        assert_error(body, "Forbidden", a_job["id"])
        status, _ = await call(http, "POST", f"{server.url}/jobs/{a_job['id']}/cancel", headers=bob)
        assert status == 403
        _, batch = await call(
            http, "GET", f"{server.url}/jobs?ids={a_job['id']},{b_job['id']}", headers=bob
        )
        assert [job["id"] for job in batch["jobs"]] == [b_job["id"]]
        assert batch["not_found"] == [a_job["id"]]
        _, listed = await call(http, "GET", f"{server.url}/jobs", headers=alice)
        assert [job["id"] for job in listed["jobs"]] == [a_job["id"]]
        _, stats = await call(http, "GET", f"{server.url}/stats", headers=alice)
        assert stats["total"] == 1


async def test_idempotency_keys_are_per_caller() -> None:
    """The same key from two callers creates two jobs."""
    async with JobServer(tokens=["alice", "bob"]) as server, aiohttp.ClientSession() as http:
        for token in ("alice", "bob"):
            status, _ = await call(
                http,
                "POST",
                f"{server.url}/jobs",
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "same"},
            )
            assert status == 201
        assert len(server.jobs) == 2


# -- auto run --------------------------------------------------------------------------------------


async def test_auto_run_completes_and_fails_simulated_jobs() -> None:
    """Submitted jobs run through their steps and end completed or failed."""
    async with JobServer(auto_run=True) as server, aiohttp.ClientSession() as http:
        _, ok = await call(
            http,
            "POST",
            f"{server.url}/jobs",
            json={"config": {"duration": 0.1, "steps": 4, "result": {"rows": 7}}},
        )
        _, bad = await call(
            http,
            "POST",
            f"{server.url}/jobs",
            json={"config": {"duration": 0.05, "steps": 2, "fail": True, "error": "boom"}},
        )
        _, plain = await call(
            http, "POST", f"{server.url}/jobs", json={"config": {"duration": 0.05}}
        )
        ids = (ok["id"], bad["id"], plain["id"])
        await server.wait_until(lambda: all(server.get_job(i).is_terminal for i in ids))
        _, done = await call(http, "GET", f"{server.url}/jobs/{ok['id']}")
        assert done["status"] == "completed"
        assert done["result"] == {"rows": 7}
        assert done["progress"] == 100
        assert done["started_at"] is not None and done["completed_at"] is not None
        _, failed = await call(http, "GET", f"{server.url}/jobs/{bad['id']}")
        assert (failed["status"], failed["error"]) == ("failed", "boom")
        _, default = await call(http, "GET", f"{server.url}/jobs/{plain['id']}")
        assert default["result"] == {"steps": 5}
        log = server.get_log(ok["id"])
        assert log == ["started", "step 1/4", "step 2/4", "step 3/4", "step 4/4", "completed"]


async def test_auto_run_reports_progress_steps() -> None:
    """A simulated job passes through 'step i/n' messages with rising progress."""
    async with JobServer(auto_run=True) as server, aiohttp.ClientSession() as http:
        _, job = await call(
            http, "POST", f"{server.url}/jobs", json={"config": {"duration": 0.2, "steps": 2}}
        )
        seen = []
        version = job["version"]
        while True:
            _, job = await call(
                http, "GET", f"{server.url}/jobs/{job['id']}/poll?after={version}&timeout=5"
            )
            version = job["version"]
            seen.append((job["status"], job["progress"], job["message"]))
            if job["status"] == "completed":
                break
        assert seen == [
            ("running", 0, "started"),
            ("running", 50, "step 1/2"),
            ("running", 100, "step 2/2"),
            ("completed", 100, "completed"),
        ]


async def test_auto_run_cancel_stops_and_restart_reruns() -> None:
    """Cancelling a running simulation stops it; restarting runs it to the end again."""
    async with JobServer(auto_run=True) as server, aiohttp.ClientSession() as http:
        _, job = await call(
            http, "POST", f"{server.url}/jobs", json={"config": {"duration": 0.3, "steps": 3}}
        )
        await server.wait_until(lambda: server.get_job(job["id"]).status == "running")
        status, cancelled = await call(http, "POST", f"{server.url}/jobs/{job['id']}/cancel")
        assert (status, cancelled["status"]) == (200, "cancelled")
        await asyncio.sleep(0.4)
        assert server.get_job(job["id"]).status == "cancelled"
        assert server.get_job(job["id"]).version == cancelled["version"]
        status, _ = await call(http, "POST", f"{server.url}/jobs/{job['id']}/restart")
        assert status == 200
        await server.wait_until(lambda: server.get_job(job["id"]).status == "completed")


async def test_auto_run_rejects_a_config_it_cannot_simulate() -> None:
    """config.duration and config.steps of the wrong type are 400 naming them."""
    async with JobServer(auto_run=True) as server, aiohttp.ClientSession() as http:
        for config, field in (({"duration": "long"}, "config.duration"),
                              ({"steps": 1.5}, "config.steps"),
                              ({"fail": "yes"}, "config.fail")):  # fmt: skip
            status, body = await call(http, "POST", f"{server.url}/jobs", json={"config": config})
            assert status == 400
            assert_error(body, "Bad Request", field)


async def test_auto_run_bounds_concurrency_by_workers() -> None:
    """With one worker, jobs run one at a time, highest priority first."""
    async with JobServer(auto_run=True, workers=1) as server, aiohttp.ClientSession() as http:
        config = {"duration": 0.05, "steps": 1}
        _, first = await call(http, "POST", f"{server.url}/jobs", json={"config": config})
        _, low = await call(
            http, "POST", f"{server.url}/jobs", json={"config": config, "priority": 1}
        )
        _, urgent = await call(
            http, "POST", f"{server.url}/jobs", json={"config": config, "priority": 4}
        )
        _, stats = await call(http, "GET", f"{server.url}/stats")
        assert (stats["active_workers"], stats["total_workers"]) == (1, 1)
        assert stats["running"] == 1 and stats["pending"] == 2
        ids = (first["id"], low["id"], urgent["id"])
        await server.wait_until(lambda: all(server.get_job(i).is_terminal for i in ids))
        started = sorted(ids, key=lambda i: server.get_job(i).started_at or datetime.max)
        assert started == [first["id"], urgent["id"], low["id"]]


async def test_auto_run_finishes_two_thousand_short_jobs() -> None:
    """2,000 submitted jobs all complete within a few seconds."""
    async with JobServer(auto_run=True) as server, aiohttp.ClientSession() as http:
        config = {"duration": 0.05, "steps": 2}
        await asyncio.gather(
            *(
                call(http, "POST", f"{server.url}/jobs", json={"config": config})
                for _ in range(2000)
            )
        )
        await server.wait_until(
            lambda: all(job.status == "completed" for job in server.jobs), timeout=30
        )
        assert len(server.jobs) == 2000


# -- transports ------------------------------------------------------------------------------------


async def test_transports_left_out_answer_404() -> None:
    """Without "sse" the stream routes are 404; without "long-poll" the poll route is."""
    async with JobServer(transports=("long-poll",)) as server, aiohttp.ClientSession() as http:
        job = server.create_job()
        for method, path in (("GET", f"/jobs/{job.id}/events"), ("GET", "/events"),
                             ("POST", "/events")):  # fmt: skip
            status, body = await call(http, method, server.url + path)
            assert status == 404
            assert_error(body, "Not Found")
        status, _ = await call(http, "GET", f"{server.url}/jobs/{job.id}/poll?timeout=1")
        assert status == 200
    async with JobServer(transports=("sse",)) as server, aiohttp.ClientSession() as http:
        job = server.create_job()
        status, _ = await call(http, "GET", f"{server.url}/jobs/{job.id}/poll")
        assert status == 404
