"""The ray shape: Ray's Job Submission API on loopback, spoken with plain aiohttp requests."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from _live_helpers import PATIENCE

from asyncjobs.server.shapes import RayShape
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


@pytest.fixture
async def ray() -> AsyncIterator[JobServer]:
    """A ray-shaped JobServer that runs submitted jobs."""
    async with JobServer(profile="ray", auto_run=True) as server:
        yield server


async def _job(http: aiohttp.ClientSession, server: JobServer, job_id: str) -> dict[str, Any]:
    async with http.get(f"{server.url}/api/jobs/{job_id}") as response:
        assert response.status == 200, await response.text()
        data: dict[str, Any] = await response.json()
        return data


async def _wait_status(
    http: aiohttp.ClientSession, server: JobServer, job_id: str, *statuses: str
) -> dict[str, Any]:
    """Poll the job until its status is one of ``statuses`` (bounded), and return it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE
    while True:
        seen = await _job(http, server, job_id)
        if seen["status"] in statuses:
            return seen
        assert loop.time() < deadline, f"{job_id} never became {statuses}: {seen}"
        await asyncio.sleep(0.01)


async def _submit(http: aiohttp.ClientSession, server: JobServer, **body: Any) -> str:
    async with http.post(f"{server.url}/api/jobs/", json=body) as response:
        assert response.status == 200, await response.text()
        answer = await response.json()
    assert answer["job_id"] == answer["submission_id"]
    submission_id: str = answer["submission_id"]
    return submission_id


async def test_server_url_is_the_dashboard_root(ray: JobServer) -> None:
    """The base URL a Ray client is given is ``http://host:port``, and the shape is RayShape."""
    assert ray.url == ray.origin
    assert isinstance(ray.shape, RayShape)


async def test_a_submitted_job_runs_to_succeeded_with_ray_fields(
    ray: JobServer, http: aiohttp.ClientSession
) -> None:
    """Submit answers a raysubmit id; the job reads PENDING/RUNNING then SUCCEEDED with Ray's
    JobDetails fields, its job_id null before running and a hex Ray job id after."""
    job_id = await _submit(
        http,
        ray,
        entrypoint="python train.py --epochs 3",
        metadata={"duration": "0.2", "steps": "2", "owner": "ana"},
        runtime_env={"env_vars": {"A": "1"}},
        entrypoint_num_cpus=1,
    )
    assert re.fullmatch(r"raysubmit_[A-Za-z1-9]{16}", job_id)
    first = await _job(http, ray, job_id)
    assert first["type"] == "SUBMISSION"
    assert first["submission_id"] == job_id
    assert first["entrypoint"] == "python train.py --epochs 3"
    assert first["metadata"] == {"duration": "0.2", "steps": "2", "owner": "ana"}
    assert first["runtime_env"] == {"env_vars": {"A": "1"}}
    assert first["entrypoint_num_cpus"] == 1
    assert isinstance(first["start_time"], int)
    if first["status"] == "PENDING":
        assert first["job_id"] is None
        assert first["driver_info"] is None
    done = await _wait_status(http, ray, job_id, "SUCCEEDED", "FAILED", "STOPPED")
    assert done["status"] == "SUCCEEDED"
    assert done["message"] == "Job finished successfully."
    assert done["driver_exit_code"] == 0
    assert done["error_type"] is None
    assert re.fullmatch(r"[0-9a-f]{8}", done["job_id"])
    assert done["driver_info"]["id"] == done["job_id"]
    assert isinstance(done["end_time"], int)
    assert done["end_time"] >= done["start_time"]
    # The Ray job id finds the job too.
    assert (await _job(http, ray, done["job_id"]))["submission_id"] == job_id


async def test_logs_hold_the_progress_lines(ray: JobServer, http: aiohttp.ClientSession) -> None:
    """``/logs`` answers ``{"logs": text}`` with a line per step of the simulated job."""
    job_id = await _submit(
        http, ray, entrypoint="echo hi", metadata={"duration": "0", "steps": "3"}
    )
    await _wait_status(http, ray, job_id, "SUCCEEDED")
    async with http.get(f"{ray.url}/api/jobs/{job_id}/logs") as response:
        assert response.status == 200
        logs = (await response.json())["logs"]
    assert logs.splitlines() == [
        "submitted: echo hi",
        "started",
        "step 1/3",
        "step 2/3",
        "step 3/3",
        "completed",
    ]


async def test_a_failing_job_is_failed_with_the_reason_on_the_message_last_line(
    ray: JobServer, http: aiohttp.ClientSession
) -> None:
    """``metadata.fail`` fails the job: FAILED, the entrypoint error type, exit code 1, and
    the reason as the message's last line."""
    job_id = await _submit(
        http, ray, entrypoint="python x.py", metadata={"duration": "0", "fail": "boom"}
    )
    done = await _wait_status(http, ray, job_id, "FAILED", "SUCCEEDED")
    assert done["status"] == "FAILED"
    assert done["error_type"] == "JOB_ENTRYPOINT_COMMAND_ERROR"
    assert done["driver_exit_code"] == 1
    assert done["message"].startswith("Job entrypoint command failed with exit code 1")
    assert done["message"].splitlines()[-1] == "boom"


async def test_stop_stops_a_running_job_and_is_false_once_finished(
    ray: JobServer, http: aiohttp.ClientSession
) -> None:
    """Stop answers ``{"stopped": true}`` and the job reads STOPPED with Ray's message; a second
    stop answers ``{"stopped": false}`` with 200."""
    job_id = await _submit(http, ray, entrypoint="sleep 60", metadata={"duration": "60"})
    await _wait_status(http, ray, job_id, "RUNNING")
    async with http.post(f"{ray.url}/api/jobs/{job_id}/stop") as response:
        assert response.status == 200
        assert await response.json() == {"stopped": True}
    stopped = await _job(http, ray, job_id)
    assert stopped["status"] == "STOPPED"
    assert stopped["message"] == "Job was intentionally stopped."
    async with http.post(f"{ray.url}/api/jobs/{job_id}/stop") as response:
        assert response.status == 200
        assert await response.json() == {"stopped": False}


async def test_delete_of_a_running_job_is_500_with_a_runtime_error_traceback(
    ray: JobServer, http: aiohttp.ClientSession
) -> None:
    """Deleting an unfinished job is 500 with a plain-text RuntimeError traceback; once
    finished it is ``{"deleted": true}`` and then 404."""
    job_id = await _submit(http, ray, entrypoint="sleep 60", metadata={"duration": "60"})
    async with http.delete(f"{ray.url}/api/jobs/{job_id}") as response:
        assert response.status == 500
        assert response.content_type == "text/plain"
        text = await response.text()
    assert text.startswith("Traceback (most recent call last):")
    assert (
        text.strip()
        .splitlines()[-1]
        .startswith(
            f"RuntimeError: Attempted to delete job '{job_id}', but it is in a non-terminal state"
        )
    )
    async with http.post(f"{ray.url}/api/jobs/{job_id}/stop") as response:
        assert response.status == 200
    async with http.delete(f"{ray.url}/api/jobs/{job_id}") as response:
        assert response.status == 200
        assert await response.json() == {"deleted": True}
    async with http.get(f"{ray.url}/api/jobs/{job_id}") as response:
        assert response.status == 404
        assert await response.text() == f"Job {job_id} does not exist"


async def test_list_is_a_bare_array_of_every_job_ignoring_filters(
    ray: JobServer, http: aiohttp.ClientSession
) -> None:
    """``GET /api/jobs/`` is a bare JSON array of every job, oldest first, whatever the query."""
    first = await _submit(http, ray, entrypoint="a", submission_id="first")
    second = await _submit(http, ray, entrypoint="b", submission_id="second")
    async with http.get(f"{ray.url}/api/jobs/", params={"status": "FAILED"}) as response:
        assert response.status == 200
        jobs = await response.json()
    assert [job["submission_id"] for job in jobs] == [first, second]


async def test_trailing_slashes_matter(ray: JobServer, http: aiohttp.ClientSession) -> None:
    """``/api/jobs`` without the slash, and a job's path with one, are aiohttp's plain 404."""
    job_id = await _submit(http, ray, entrypoint="x")
    for method, path in (
        ("GET", "/api/jobs"),
        ("POST", "/api/jobs"),
        ("GET", f"/api/jobs/{job_id}/"),
    ):
        async with http.request(method, ray.url + path, json={"entrypoint": "x"}) as response:
            assert response.status == 404, path
            assert response.content_type == "text/plain"
            assert await response.text() == "404: Not Found"


async def test_unknown_job_is_404_plain_text(ray: JobServer, http: aiohttp.ClientSession) -> None:
    """Every job route answers an unknown id with 404 ``Job x does not exist`` as text."""
    for method, path in (
        ("GET", "/api/jobs/nope"),
        ("POST", "/api/jobs/nope/stop"),
        ("DELETE", "/api/jobs/nope"),
        ("GET", "/api/jobs/nope/logs"),
    ):
        async with http.request(method, ray.url + path) as response:
            assert response.status == 404, path
            assert response.content_type == "text/plain"
            assert await response.text() == "Job nope does not exist"


@pytest.mark.parametrize(
    ("body", "last_line"),
    [
        (
            {"entrypoint": "x", "colour": "red"},
            "TypeError: JobSubmitRequest.__init__() got an unexpected keyword argument 'colour'",
        ),
        (
            {"metadata": {}},
            "TypeError: JobSubmitRequest.__init__() missing 1 required positional argument: "
            "'entrypoint'",
        ),
        ({"entrypoint": 7}, "TypeError: entrypoint must be a string, got <class 'int'>"),
        (
            {"entrypoint": "x", "metadata": {"n": 1}},
            "TypeError: metadata values must be strings, got <class 'int'>",
        ),
        (
            {"entrypoint": "x", "metadata": {"duration": "soon"}},
            "ValueError: metadata.duration: expected seconds >= 0, got 'soon'",
        ),
    ],
)
async def test_a_bad_submit_is_400_with_a_traceback_ending_in_the_reason(
    ray: JobServer, http: aiohttp.ClientSession, body: dict[str, Any], last_line: str
) -> None:
    """An unknown field or a bad type is 400 with a Python traceback, the reason last."""
    async with http.post(f"{ray.url}/api/jobs/", json=body) as response:
        assert response.status == 400
        assert response.content_type == "text/plain"
        text = await response.text()
    assert text.startswith("Traceback (most recent call last):")
    assert text.strip().splitlines()[-1] == last_line
    assert len(ray.store) == 0


async def test_a_body_that_is_not_json_is_500_server_got_itself_in_trouble(
    ray: JobServer, http: aiohttp.ClientSession
) -> None:
    """A body that is not JSON is aiohttp's plain 500 text, not a JSON error."""
    async with http.post(f"{ray.url}/api/jobs/", data=b"{entrypoint") as response:
        assert response.status == 500
        assert response.content_type == "text/plain"
        assert (await response.text()).endswith("Server got itself in trouble")


async def test_a_duplicate_submission_id_is_500_with_ray_value_error(
    ray: JobServer, http: aiohttp.ClientSession
) -> None:
    """A second submit with the same ``submission_id`` is 500 with Ray's ValueError traceback;
    the first job is untouched."""
    await _submit(http, ray, entrypoint="a", submission_id="nightly-7")
    async with http.post(
        f"{ray.url}/api/jobs/", json={"entrypoint": "b", "submission_id": "nightly-7"}
    ) as response:
        assert response.status == 500
        text = await response.text()
    assert text.startswith("Traceback (most recent call last):")
    assert text.strip().splitlines()[-1] == (
        "ValueError: Job with submission_id nightly-7 already exists. "
        "Please use a different submission_id."
    )
    assert (await _job(http, ray, "nightly-7"))["entrypoint"] == "a"
    assert len(ray.store) == 1


async def test_jobs_made_by_the_harness_render_as_ray_jobs(http: aiohttp.ClientSession) -> None:
    """``create_job`` / ``update_job`` drive a job's Ray status without the runner."""
    async with JobServer(profile="ray") as server:
        job = server.create_job(config={"entrypoint": "python etl.py"})
        assert (await _job(http, server, job.id))["status"] == "PENDING"
        server.update_job(job.id, status="running")
        running = await _job(http, server, job.id)
        assert running["status"] == "RUNNING"
        assert running["message"] == "Job is currently running."
        assert running["job_id"] is not None
        server.update_job(job.id, status="failed", error="OOM killed")
        failed = await _job(http, server, job.id)
        assert failed["status"] == "FAILED"
        assert failed["message"].splitlines()[-1] == "OOM killed"
