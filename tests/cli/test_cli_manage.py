"""The commands that read a log or change jobs: log, restart, delete, cleanup (real server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from _cli_runner import cli

from asyncjobs import JobStatus
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


async def test_log_prints_the_jobs_log(idle_server: JobServer) -> None:
    """log ID prints the job's log lines as the server keeps them; --json wraps them."""
    job = idle_server.create_job("x", log=["starting", "step 1/2", "step 2/2"])
    run = await cli("log", job.id, "--url", idle_server.url)
    assert run.code == 0, run.err
    assert run.out.splitlines() == ["starting", "step 1/2", "step 2/2"]
    as_json = await cli("log", job.id, "--json", "--url", idle_server.url)
    assert as_json.code == 0
    [line] = as_json.json_lines()
    assert line["id"] == job.id
    assert str(line["log"]).splitlines() == ["starting", "step 1/2", "step 2/2"]


async def test_log_of_a_simulated_job_has_its_steps(server: JobServer) -> None:
    """A job run by the server logs each step; log shows them after submit --wait."""
    submitted = await cli(
        "submit", "x", "--config", '{"duration": 0.1, "steps": 2}', "--wait", "--json",
        "--url", server.url,
    )  # fmt: skip
    assert submitted.code == 0, submitted.err
    job_id = str(submitted.json_lines()[0]["id"])
    run = await cli("log", job_id, "--url", server.url)
    assert run.code == 0
    assert run.out.splitlines() == server.get_log(job_id)
    assert any("step 2/2" in line for line in run.out.splitlines())


async def test_restart_restarts_failed_jobs_and_refuses_the_others(idle_server: JobServer) -> None:
    """restart ID...: a failed job is pending again; a completed one is one error line, exit 1."""
    failed = idle_server.create_job("f", status="failed", error="boom")
    completed = idle_server.create_job("c", status="completed")
    run = await cli("restart", failed.id, completed.id, "--url", idle_server.url)
    assert run.code == 1
    assert failed.id in run.out and "pending" in run.out
    assert idle_server.get_job(failed.id).status is JobStatus.PENDING
    run.error_line(f"cannot restart {completed.id}", "409")
    cancelled = idle_server.create_job("k", status="cancelled")
    ok = await cli("restart", cancelled.id, "--json", "--url", idle_server.url)
    assert ok.code == 0, ok.err
    assert ok.json_lines()[0]["status"] == "pending"


async def test_delete_deletes_finished_jobs_and_refuses_running_ones(
    idle_server: JobServer,
) -> None:
    """delete ID...: a finished job is gone; a running one is one error line, exit 1."""
    done = idle_server.create_job("d", status="completed")
    running = idle_server.create_job("r", status="running")
    run = await cli("delete", done.id, running.id, "--url", idle_server.url)
    assert run.code == 1
    assert run.out.strip() == f"deleted {done.id}"
    assert [job.id for job in idle_server.jobs] == [running.id]
    run.error_line(f"cannot delete {running.id}", "409")
    other = idle_server.create_job("e", status="failed")
    ok = await cli("delete", other.id, "--json", "--url", idle_server.url)
    assert ok.code == 0, ok.err
    assert ok.json_lines() == [{"id": other.id, "deleted": True}]


async def test_cleanup_deletes_jobs_finished_before_the_age(idle_server: JobServer) -> None:
    """cleanup --max-age-hours H deletes jobs finished more than H hours ago, and says how many."""
    now = datetime.now(UTC)
    old = idle_server.create_job("old", status="completed", completed_at=now - timedelta(hours=30))
    older = idle_server.create_job("older", status="failed", completed_at=now - timedelta(hours=50))
    recent = idle_server.create_job("recent", status="completed")
    run = await cli("cleanup", "--max-age-hours", "40", "--url", idle_server.url)
    assert run.code == 0, run.err
    assert run.out.strip() == "deleted 1 job that finished more than 40 hours ago"
    assert {job.id for job in idle_server.jobs} == {old.id, recent.id}
    default = await cli("cleanup", "--json", "--url", idle_server.url)  # 24 hours
    assert default.code == 0
    assert default.json_lines() == [{"cleaned_jobs": 1}]
    assert [job.id for job in idle_server.jobs] == [recent.id]
    assert older.id not in {job.id for job in idle_server.jobs}


async def test_cleanup_hours_out_of_range_is_a_usage_error() -> None:
    """--max-age-hours outside 1..168: exit status 2, naming the option; nothing is sent."""
    for hours in ("0", "169", "1.5", "x"):
        run = await cli("cleanup", "--max-age-hours", hours)
        assert run.code == 2, (hours, run)
        assert "--max-age-hours" in run.err and "1..168" in run.err
