"""``list --watch`` against a real JobServer: changes shown live, new jobs found, bounded."""

from __future__ import annotations

import asyncio
import signal
import sys

import pytest
from _cli_runner import DEADLINE, Run, cli, read_until, start

from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_list_watch_shows_each_change_and_new_jobs_live(idle_server: JobServer) -> None:
    """Listed jobs' changes arrive over one shared stream; a new job shows at the next read."""
    first = idle_server.create_job("first", status="running", progress=10)
    second = idle_server.create_job("second")
    proc = await start(
        "list", "--watch", "--plain", "--interval", "0.2", "--url", idle_server.url
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    shown = await read_until(proc.stdout, f"first {first.id}", f"second {second.id}")
    assert shown.splitlines()[0] == "jobs (newest 50), read every 0.2s"

    # Both unfinished jobs are watched over one multiplexed stream, not one each.
    await idle_server.wait_until(lambda: idle_server.open_streams == 1, timeout=DEADLINE)
    idle_server.update_job(first.id, progress=60, message="half way")
    line = await read_until(proc.stdout, "half way")
    assert f"first {first.id}" in line and "60%" in line

    third = idle_server.create_job("third")
    await read_until(proc.stdout, f"third {third.id}")
    idle_server.update_job(second.id, status="completed", progress=100, result={"rows": 3})
    await read_until(proc.stdout, '{"rows": 3}')

    proc.send_signal(signal.SIGINT)
    code = await asyncio.wait_for(proc.wait(), DEADLINE)
    Run(code, "", (await proc.stderr.read()).decode()).error_line("interrupted")
    assert code == 130
    await idle_server.wait_until(lambda: idle_server.open_streams == 0, timeout=DEADLINE)


async def test_list_watch_stops_after_its_timeout(idle_server: JobServer) -> None:
    """--timeout bounds the watch: it ends with status 0, each job shown once as it stands."""
    job = idle_server.create_job("quiet", status="running", progress=5)
    run = await cli(
        "list", "--watch", "--timeout", "0.5", "--interval", "0.1", "--plain",
        "--url", idle_server.url,
    )  # fmt: skip
    assert run.code == 0, run.err
    assert run.err == ""
    lines = run.out.splitlines()
    assert len(lines) == 2
    assert f"quiet {job.id}" in lines[1] and "running" in lines[1] and "5%" in lines[1]
    await idle_server.wait_until(lambda: idle_server.open_streams == 0, timeout=DEADLINE)


async def test_list_watch_json_prints_each_new_state_once(idle_server: JobServer) -> None:
    """--json: one object per state of a listed job, filtered by --status, and no repeats."""
    done = idle_server.create_job("done", status="completed")
    running = idle_server.create_job("busy", status="running", progress=1)
    proc = await start(
        "list", "--watch", "--json", "--status", "running", "--timeout", "20",
        "--url", idle_server.url,
    )  # fmt: skip
    assert proc.stdout is not None
    seen = await read_until(proc.stdout, running.id)
    await idle_server.wait_until(lambda: idle_server.open_streams == 1, timeout=DEADLINE)
    idle_server.update_job(running.id, progress=50)
    idle_server.update_job(running.id, status="completed", progress=100)
    seen += await read_until(proc.stdout, '"status":"completed"')
    proc.send_signal(signal.SIGINT)
    out, _ = await asyncio.wait_for(proc.communicate(), DEADLINE)
    states = Run(proc.returncode or 0, seen + out.decode(), "").json_lines()
    assert done.id not in {state["id"] for state in states}
    assert [(state["status"], state["progress"]) for state in states] == [
        ("running", 1.0),
        ("running", 50.0),
        ("completed", 100.0),
    ]


async def test_list_watch_needs_a_bounded_limit() -> None:
    """--limit 0 (all jobs) with --watch is a usage error: the watch is bounded."""
    run = await cli("list", "--watch", "--limit", "0", "--url", "http://127.0.0.1:9/api/v1")
    assert run.code == 2
    run.error_line("--watch follows at most 1000 jobs", "--limit 1..1000")
