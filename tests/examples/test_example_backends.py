"""The example backends without a browser: the relayed events, the heartbeat, the error answers,
and the FastAPI example's own check."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from _example_backends import KINDS, serve
from job_events import error_answer, job_events

from asyncjobs import (
    Client,
    JobNotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
)
from asyncjobs.sse import SSEDecoder
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def test_a_quiet_job_gets_heartbeats_and_closing_ends_its_watch(server: JobServer) -> None:
    """No change for a while: ``: ping`` comments; closing the events ends the job stream."""
    job = server.create_job(name="quiet")
    async with Client(server.url) as client:
        events = job_events(client, job.id, heartbeat=0.05, retry_ms=500)
        async with contextlib.aclosing(events):
            assert await anext(events) == b"retry: 500\n\n"
            first = await anext(events)
            assert first.startswith(b"event: progress\ndata: ")
            assert json.loads(first.split(b"data: ")[1])["status"] == "pending"
            assert [await anext(events) for _ in range(3)] == [b": ping\n\n"] * 3
            await server.wait_until(lambda: server.open_streams == 1)
        await server.wait_until(lambda: server.open_streams == 0)


async def test_an_unknown_id_is_one_named_event(server: JobServer) -> None:
    """An unknown id: ``job-not-found`` (never ``error``), then the stream ends."""
    async with Client(server.url) as client:
        chunks = [chunk async for chunk in job_events(client, "nope", heartbeat=5)]
    [event] = SSEDecoder().feed(b"".join(chunks))
    assert event.event == "job-not-found"
    assert json.loads(event.data) == {"id": "nope", "details": "no job 'nope'"}


def test_job_server_failures_answer_502_or_503() -> None:
    """Unreachable or broken: 502; busy (429, 503): 503; each with a JSON reason."""
    down = TransportError("cannot connect to 127.0.0.1:1")
    assert error_answer(down) == (
        502,
        {"error": "job server unreachable", "details": "cannot connect to 127.0.0.1:1"},
    )
    assert error_answer(ServerError("boom", status=500))[0] == 502
    assert error_answer(ServerError("busy", status=503))[0] == 503
    assert error_answer(RateLimitError("slow down", status=429))[0] == 503
    assert error_answer(JobNotFoundError("gone", status=404))[1]["error"] == "job server error"


@pytest.mark.parametrize("kind", KINDS)
async def test_start_answers_json_when_the_job_server_is_down(kind: str) -> None:
    """POST /start with no job server behind: a JSON 502 naming the failure, not a bare 500."""
    async with JobServer() as gone:
        url = gone.url
    async with (
        serve(kind, url) as backend,
        aiohttp.ClientSession() as http,
        http.post(backend + "/start") as answer,
    ):
        assert answer.status == 502
        assert answer.content_type == "application/json"
        body = await answer.json()
    assert body["error"] == "job server unreachable"
    assert "cannot connect" in body["details"]


def test_fastapi_example_relays_progress_on_its_own() -> None:
    """Run alone, the FastAPI example starts a job server and reads a job's stream to the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCJOBS_")}
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / "fastapi_backend.py")],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    lines = run.stdout.splitlines()
    assert lines[0].startswith("browser: started job ")
    assert any("step 4/8" in line for line in lines)
    assert lines[-1].startswith("browser: progress completed")
