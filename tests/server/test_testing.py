"""asyncjobs.testing.JobServer: driving jobs, the test hooks, shutdown, and the serve command."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from asyncjobs import Job, JobStatus
from asyncjobs._cli import main
from asyncjobs.server._serve import serve
from asyncjobs.testing import JobServer, UnknownJobError

pytestmark = pytest.mark.anyio


def fresh_session() -> aiohttp.ClientSession:
    """A session that opens a new connection per request."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))


async def data_lines(response: aiohttp.ClientResponse) -> list[dict[str, Any]]:
    """The job events of a stream up to its end or its cut."""
    jobs = []
    try:
        async for line in response.content:
            if line.startswith(b"data: "):
                jobs.append(json.loads(line[6:]))
    except aiohttp.ClientPayloadError:
        pass
    return jobs


# -- the server and its jobs -----------------------------------------------------------------------


async def test_url_is_loopback_with_the_api_base() -> None:
    """url is http://127.0.0.1:<free port>/api/v1 and answers."""
    async with JobServer() as one, JobServer() as two, aiohttp.ClientSession() as http:
        assert one.url.startswith("http://127.0.0.1:") and one.url.endswith("/api/v1")
        assert one.port != two.port
        async with http.get(f"{one.url}/stats") as response:
            assert response.status == 200


async def test_create_job_stores_fields_and_times(server: JobServer) -> None:
    """create_job returns the Job as stored; status words set the right times."""
    job = server.create_job(
        "report", status="running", progress=40, message="step 2", priority=4, config={"a": 1}
    )
    assert isinstance(job, Job)
    assert (job.name, job.status, job.progress, job.message) == (
        "report",
        JobStatus.RUNNING,
        40,
        "step 2",
    )
    assert (job.priority, dict(job.config)) == (4, {"a": 1})
    assert job.started_at is not None and job.completed_at is None
    assert job.created_at is not None and job.created_at.tzinfo is not None
    done = server.create_job(status=JobStatus.COMPLETED, result=[1, 2])
    assert done.completed_at is not None and done.result == [1, 2]
    custom = server.create_job(id="job-1")
    assert server.get_job("job-1") == custom


async def test_update_job_sets_times_and_versions(server: JobServer) -> None:
    """running sets started_at, a terminal status completed_at; each change a new version."""
    job = server.create_job()
    running = server.update_job(job.id, status="running", progress=10)
    assert running.started_at is not None and running.completed_at is None
    assert (running.version or 0) > (job.version or 0)
    done = server.update_job(job.id, status="failed", error="disk full")
    assert done.completed_at is not None and done.started_at == running.started_at
    assert server.get_job(job.id) == done
    when = datetime(2020, 1, 1, tzinfo=UTC)
    assert server.update_job(job.id, completed_at=when).completed_at == when


async def test_job_hooks_reject_bad_input(server: JobServer) -> None:
    """Unknown ids raise UnknownJobError (a LookupError); bad fields ValueError."""
    with pytest.raises(LookupError):
        server.get_job("nope")
    with pytest.raises(UnknownJobError):
        server.update_job("nope", progress=1)
    with pytest.raises(UnknownJobError):
        server.delete_job("nope")
    with pytest.raises(ValueError, match="status"):
        server.create_job(status="done")
    with pytest.raises(ValueError, match="progress"):
        server.create_job(progress=101)
    with pytest.raises(ValueError, match="priority"):
        server.create_job(priority=0)
    job = server.create_job(id="taken")
    with pytest.raises(ValueError, match="taken"):
        server.create_job(id="taken")
    with pytest.raises(ValueError, match="started_at"):
        server.update_job(job.id, started_at=datetime(2020, 1, 1))


async def test_create_job_owner_defaults_to_the_first_token() -> None:
    """With tokens, create_job's job belongs to the first token unless token= says otherwise."""
    async with JobServer(tokens=["alice", "bob"]) as server, aiohttp.ClientSession() as http:
        mine = server.create_job()
        theirs = server.create_job(token="bob")
        async with http.get(
            f"{server.url}/jobs", headers={"Authorization": "Bearer alice"}
        ) as response:
            listed = [job["id"] for job in (await response.json())["jobs"]]
        assert listed == [mine.id]
        assert theirs.id not in listed


async def test_update_job_reaches_a_waiting_long_poll_at_once(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """An update made while a poll waits answers it right away."""
    job = server.create_job()
    started = time.monotonic()
    poll = asyncio.create_task(
        http.get(f"{server.url}/jobs/{job.id}/poll?after={job.version}&timeout=60")
    )
    await server.wait_until(lambda: server.open_polls == 1)
    server.update_job(job.id, message="now")
    async with await poll as response:
        assert (await response.json())["message"] == "now"
    assert time.monotonic() - started < 30


async def test_delete_job_ends_streams_waiting_for_it(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """Deleting the last unfinished job of a stream ends that stream."""
    job = server.create_job()
    async with http.get(f"{server.url}/jobs/{job.id}/events") as response:
        await server.wait_until(lambda: server.open_streams == 1)
        server.delete_job(job.id)
        events = await asyncio.wait_for(data_lines(response), 5)
    assert [e["id"] for e in events] == [job.id]
    assert server.jobs == []


# -- requests --------------------------------------------------------------------------------------


async def test_requests_are_recorded_in_arrival_order(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """Each request's method, path, raw query string and headers are kept."""
    job = server.create_job()
    async with http.get(f"{server.url}/jobs/{job.id}", headers={"X-Trace": "1"}):
        pass
    async with http.get(f"{server.url}/jobs?ids={job.id},x"):
        pass
    async with http.post(f"{server.url}/jobs", json={}):
        pass
    first, second, third = server.requests
    assert (first.method, first.path) == ("GET", f"/api/v1/jobs/{job.id}")
    assert first.headers["x-trace"] == "1"
    assert second.query_string == f"ids={job.id},x"
    assert second.query["ids"] == f"{job.id},x"
    assert third.method == "POST"
    assert server.request_count() == 3
    assert server.request_count("get") == 2
    assert server.request_count("GET", "/jobs") == 1
    assert server.request_count(path="/api/v1/jobs") == 2
    assert server.request_count("GET", "/jobs/*") == 1
    server.clear_requests()
    assert server.request_count() == 0


# -- faults ----------------------------------------------------------------------------------------


async def test_fail_next_answers_the_given_status_instead(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """The next matching requests get the injected answer and are not handled."""
    server.fail_next(2, 503, headers={"Retry-After": "1"}, method="POST", path="/jobs")
    for _ in range(2):
        async with http.post(f"{server.url}/jobs", json={}) as response:
            assert response.status == 503
            assert response.headers["Retry-After"] == "1"
            body = await response.json()
            assert body["error"] == "Service Unavailable"
    async with http.get(f"{server.url}/stats") as response:
        assert response.status == 200
    async with http.post(f"{server.url}/jobs", json={}) as response:
        assert response.status == 201
    assert len(server.jobs) == 1
    assert server.request_count("POST", "/jobs") == 3


async def test_fail_next_with_429_and_a_custom_body(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """A 429 carries Retry-After; a given body is sent as is (JSON for objects)."""
    server.fail_next(1, 429)
    async with http.get(f"{server.url}/stats") as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "0"
    server.fail_next(1, 500, body={"oops": True})
    async with http.get(f"{server.url}/stats") as response:
        assert (response.status, await response.json()) == (500, {"oops": True})
    server.fail_next(1, 502, body="<html>bad gateway</html>")
    async with http.get(f"{server.url}/stats") as response:
        assert (response.status, await response.text()) == (502, "<html>bad gateway</html>")


async def test_fail_next_applies_before_authentication() -> None:
    """Injected faults look like the network failing, even without a token."""
    async with JobServer(tokens=["t"]) as server, aiohttp.ClientSession() as http:
        server.fail_next(1, 503)
        async with http.get(f"{server.url}/stats") as response:
            assert response.status == 503
        async with http.get(f"{server.url}/stats") as response:
            assert response.status == 401


async def test_drop_next_closes_the_connection_without_an_answer(server: JobServer) -> None:
    """The client sees a disconnect; the request was not handled."""
    server.drop_next(1, method="POST")
    async with fresh_session() as http:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            async with http.post(f"{server.url}/jobs", json={}):
                pass
    assert server.jobs == []
    assert server.request_count("POST", "/jobs") == 1


async def test_drop_next_after_handling_proves_an_idempotent_retry_creates_one_job(
    server: JobServer,
) -> None:
    """The job is created, the answer lost; the retry with the same key gets that job."""
    server.drop_next(1, method="POST", path="/jobs", after_handling=True)
    headers = {"Idempotency-Key": "once"}
    async with fresh_session() as http:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            async with http.post(f"{server.url}/jobs", json={"name": "x"}, headers=headers):
                pass
        assert len(server.jobs) == 1
        async with http.post(f"{server.url}/jobs", json={"name": "x"}, headers=headers) as r:
            assert r.status == 200
            assert (await r.json())["id"] == server.jobs[0].id
    assert len(server.jobs) == 1


async def test_cut_streams_closes_them_mid_stream(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """cut_streams ends every open stream without a terminal event or a clean end."""
    job = server.create_job()
    async with http.get(f"{server.url}/jobs/{job.id}/events") as response:
        await server.wait_until(lambda: server.open_streams == 1)
        assert server.cut_streams() == 1
        with pytest.raises(aiohttp.ClientPayloadError):
            async for _ in response.content:
                pass
    await server.wait_until(lambda: server.open_streams == 0)
    assert server.cut_streams() == 0


async def test_cut_streams_after_writes_exactly_n_events(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """A burst is written up to the limit, then the stream is cut; resuming gets the rest."""
    ids = [server.create_job().id for _ in range(5)]
    server.cut_streams_after(3)
    async with http.get(f"{server.url}/events?ids={','.join(ids)}") as response:
        first = await data_lines(response)
    assert [job["id"] for job in first] == ids[:3]
    headers = {"Last-Event-ID": str(first[-1]["version"])}
    async with http.get(f"{server.url}/events?ids={','.join(ids)}", headers=headers) as r:
        await server.wait_until(lambda: server.events_sent == 5)
        for job_id in ids:
            server.update_job(job_id, status="completed")
        rest = await data_lines(r)
    assert [job["id"] for job in rest] == ids[3:] + ids


async def test_stall_streams_silences_events_and_pings_until_resumed(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """A stalled stream stays open but sends nothing; resuming sends what queued up."""
    server.set_heartbeat(0.05)
    assert server.heartbeat == 0.05
    job = server.create_job()
    async with http.get(f"{server.url}/jobs/{job.id}/events") as response:
        await response.content.readuntil(b"\n\n")  # retry
        await response.content.readuntil(b"\n\n")  # snapshot
        assert (await response.content.readuntil(b"\n\n")) == b": ping\n\n"
        server.stall_streams()
        await asyncio.sleep(0.1)  # a ping written just before the stall may be in flight
        assert set(response.content.read_nowait().split(b"\n\n")) <= {b": ping", b""}
        server.update_job(job.id, status="running")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(response.content.readuntil(b"\n\n"), 0.3)
        assert server.open_streams == 1
        server.update_job(job.id, status="completed")
        server.resume_streams()
        events = await asyncio.wait_for(data_lines(response), 5)
    assert [e["status"] for e in events] == ["running", "completed"]


# -- connections -----------------------------------------------------------------------------------


async def test_connection_counts_are_exact(server: JobServer) -> None:
    """Every TCP connection is counted when accepted and when closed."""
    assert (server.connections_opened, server.open_connections) == (0, 0)
    async with aiohttp.ClientSession() as http:
        for _ in range(5):
            async with http.get(f"{server.url}/stats") as response:
                await response.read()
        assert (server.connections_opened, server.open_connections) == (1, 1)
    await server.wait_until(lambda: server.open_connections == 0)
    async with fresh_session() as http:
        for _ in range(3):
            async with http.get(f"{server.url}/stats") as response:
                await response.read()
    await server.wait_until(lambda: server.open_connections == 0)
    assert server.connections_opened == 4


async def test_streams_and_polls_are_counted(
    server: JobServer, http: aiohttp.ClientSession
) -> None:
    """open_streams and open_polls follow what is open now."""
    job = server.create_job()
    async with http.get(f"{server.url}/events?ids={job.id}"):
        poll = asyncio.create_task(
            http.get(f"{server.url}/jobs/{job.id}/poll?after={job.version}&timeout=30")
        )
        await server.wait_until(lambda: server.open_streams == 1 and server.open_polls == 1)
        assert server.open_connections == 2
        server.update_job(job.id, status="completed")
        (await poll).release()
    await server.wait_until(lambda: server.open_streams == 0 and server.open_polls == 0)
    assert server.streams_opened == 1


async def test_wait_until_raises_timeout_error(server: JobServer) -> None:
    """A condition that stays false raises TimeoutError."""
    with pytest.raises(TimeoutError):
        await server.wait_until(lambda: False, timeout=0.05)


# -- shutdown --------------------------------------------------------------------------------------


async def test_close_ends_streams_polls_and_simulations_promptly() -> None:
    """Exiting the server with a stream, a long poll and running jobs is quick and leaves no
    task behind."""
    before = asyncio.all_tasks()
    server = JobServer(auto_run=True)
    async with aiohttp.ClientSession() as http:
        async with server:
            async with http.post(
                f"{server.url}/jobs", json={"config": {"duration": 60}}
            ) as response:
                job = await response.json()
            stream = await http.get(f"{server.url}/events")
            poll = asyncio.create_task(
                http.get(f"{server.url}/jobs/{job['id']}/poll?after=999&timeout=300")
            )
            await server.wait_until(
                lambda: (
                    server.open_streams == 1
                    and server.open_polls == 1
                    and server.get_job(job["id"]).status == "running"
                )
            )
            started = time.monotonic()
        assert time.monotonic() - started < 3
        await data_lines(stream)
        stream.release()
        answer = await poll
        assert answer.status == 200
        answer.release()
    await asyncio.sleep(0)
    assert asyncio.all_tasks() - before == set()
    await server.close()  # idempotent


async def test_a_server_starts_only_once() -> None:
    """Starting twice, or after close, is an error."""
    server = JobServer()
    async with server:
        with pytest.raises(RuntimeError):
            await server.start()
    with pytest.raises(RuntimeError):
        await server.start()


async def test_an_unknown_profile_is_refused() -> None:
    """profile= takes only the names of built-in API shapes."""
    with pytest.raises(ValueError, match="no-such-api"):
        JobServer(profile="no-such-api")


# -- the serve command -----------------------------------------------------------------------------


async def test_serve_runs_until_stopped() -> None:
    """serve() answers on its port with auto-run on, and stops when told."""
    stop = asyncio.Event()
    ready = asyncio.Event()
    urls: list[str] = []

    def on_ready(url: str) -> None:
        urls.append(url)
        ready.set()

    task = asyncio.create_task(
        serve(port=0, stop=stop, handle_signals=False, on_ready=on_ready, tokens=["t"])
    )
    await asyncio.wait_for(ready.wait(), 5)
    assert urls[0].startswith("http://127.0.0.1:") and urls[0].endswith("/api/v1")
    headers = {"Authorization": "Bearer t"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(
            f"{urls[0]}/jobs", json={"config": {"duration": 0, "steps": 1}}
        ) as response:
            job = await response.json()
        async with http.get(f"{urls[0]}/jobs/{job['id']}/events") as response:
            statuses = [e["status"] for e in await data_lines(response)]
        assert statuses[-1] == "completed"
    stop.set()
    await asyncio.wait_for(task, 5)


def test_cli_without_a_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    """No command: usage on stderr, exit status 2."""
    assert main([]) == 2
    assert "serve" in capsys.readouterr().err


def test_cli_serve_rejects_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    """Bad serve options are usage errors."""
    assert main(["serve", "--workers", "0"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--heartbeat", "-1"])
    assert exc.value.code == 2
    capsys.readouterr()
