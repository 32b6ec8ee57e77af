"""The command line, run in a subprocess against a real JobServer: output and exit statuses."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import pytest
from _cli_runner import Run, cli, start

from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


# -- submit, get, list, stats -------------------------------------------------------------------


async def test_submit_prints_the_id_and_get_shows_the_job(server: JobServer) -> None:
    """submit prints the new id alone (for $(...)); get prints the job's fields."""
    run = await cli("submit", "report", "--config", '{"duration": 30}', "--url", server.url)
    assert run.code == 0, run.err
    job_id = run.out.strip()
    stored = server.get_job(job_id)
    assert stored.name == "report" and stored.config == {"duration": 30}
    shown = await cli("get", job_id, "--url", server.url)
    assert shown.code == 0
    assert f"id            {job_id}" in shown.out
    assert "name          report" in shown.out
    assert '"duration": 30' in shown.out


async def test_json_output_is_one_object_per_line(server: JobServer) -> None:
    """--json: submit, get, list and stats print JSON objects, one per line."""
    submitted = await cli(
        "submit", "x", "--priority", "high", "--config", '{"duration": 30}', "--json",
        "--url", server.url,
    )  # fmt: skip
    assert submitted.code == 0
    [job] = submitted.json_lines()
    assert job["name"] == "x" and job["priority"] == 3 and job["status"] in ("pending", "running")
    got = await cli("get", str(job["id"]), "--json", "--url", server.url)
    assert got.json_lines()[0]["id"] == job["id"]
    listed = await cli("list", "--json", "--url", server.url)
    assert [line["id"] for line in listed.json_lines()] == [job["id"]]
    stats = await cli("stats", "--json", "--url", server.url)
    assert stats.json_lines()[0]["total"] == 1


async def test_list_filters_by_status_and_limits(server: JobServer) -> None:
    """list shows a table, newest first; --status and --limit narrow it."""
    for i in range(4):
        server.create_job(f"job-{i}", status="completed" if i % 2 else "running")
    run = await cli("list", "--url", server.url)
    assert run.code == 0
    lines = run.out.splitlines()
    assert lines[0].split()[:4] == ["ID", "STATUS", "PROGRESS", "NAME"]
    assert [line.split()[3] for line in lines[1:]] == ["job-3", "job-2", "job-1", "job-0"]
    done = await cli("list", "--status", "completed", "--limit", "1", "--url", server.url)
    assert len(done.out.splitlines()) == 2 and "job-3" in done.out
    none = await cli("list", "--status", "failed", "--url", server.url)
    assert none.out.strip() == "no jobs with status failed"


async def test_stats_shows_each_count(server: JobServer) -> None:
    """stats prints one count per line."""
    server.create_job("a", status="running")
    run = await cli("stats", "--url", server.url)
    assert run.code == 0
    assert "total           1" in run.out and "running         1" in run.out


async def test_connection_options_work_before_the_command_too(server: JobServer) -> None:
    """--url and --json may stand before the command; one after it wins over one before."""
    server.create_job("a", status="running")
    run = await cli("--url", server.url, "--json", "stats")
    assert run.code == 0, run.err
    assert json.loads(run.out)["running"] == 1
    run = await cli("--url", "http://127.0.0.1:9/api/v1", "stats", "--url", server.url)
    assert run.code == 0, run.err


async def test_url_and_token_come_from_the_environment() -> None:
    """ASYNCJOBS_URL and ASYNCJOBS_TOKEN are used when --url and --token are not given."""
    async with JobServer(tokens=["t0k"]) as server:
        job = server.create_job("mine")
        run = await cli("get", job.id, env={"ASYNCJOBS_URL": server.url, "ASYNCJOBS_TOKEN": "t0k"})
        assert run.code == 0, run.err
        assert job.id in run.out


# -- submit --wait, watch, wait -------------------------------------------------------------------


async def test_submit_wait_exit_status_follows_the_outcome(server: JobServer) -> None:
    """submit --wait: 0 for a completed job, 3 for a failed one."""
    ok, bad = await asyncio.gather(
        cli("submit", "ok", "--config", '{"duration": 0.2, "steps": 2, "result": 5}', "--wait",
            "--url", server.url),
        cli("submit", "bad", "--config", '{"duration": 0.2, "fail": true, "error": "boom"}',
            "--wait", "--url", server.url),
    )  # fmt: skip
    assert ok.code == 0, ok.err
    assert "completed" in ok.out and "5" in ok.out.splitlines()[-1]
    assert bad.code == 3
    assert "failed" in bad.out and "boom" in bad.out


async def test_watch_prints_each_update_and_exits_per_outcome(server: JobServer) -> None:
    """watch (plain: stdout is a pipe) prints a line per change; exit status 0/3/4."""
    done = server.create_job("done-job")
    failed = server.create_job("failed-job")
    cancelled = server.create_job("cancelled-job")

    async def drive() -> None:
        await server.wait_until(lambda: server.open_streams == 3, timeout=10)
        for job in (done, failed, cancelled):
            server.update_job(job.id, status="running", progress=50, message="half way")
        server.update_job(done.id, status="completed", progress=100, result={"rows": 3})
        server.update_job(failed.id, status="failed", error="no space left")
        server.update_job(cancelled.id, status="cancelled")

    runs = await asyncio.gather(
        cli("watch", done.id, "--url", server.url),
        cli("watch", failed.id, "--url", server.url),
        cli("watch", cancelled.id, "--url", server.url),
        drive(),
    )
    ran_done, ran_failed, ran_cancelled = runs[:3]
    assert [ran_done.code, ran_failed.code, ran_cancelled.code] == [0, 3, 4]
    lines = ran_done.out.splitlines()
    assert "pending" in lines[0] and "half way" in lines[1] and "completed" in lines[-1]
    assert '{"rows": 3}' in lines[-1]
    assert "no space left" in ran_failed.out


async def test_watch_timeout_exits_5(server: JobServer) -> None:
    """watch --timeout on a job that does not end: exit status 5 and one line saying so."""
    job = server.create_job("stuck", status="running", progress=10)
    run = await cli("watch", job.id, "--timeout", "0.5", "--url", server.url)
    assert run.code == 5
    run.error_line("timed out", job.id, "running")


async def test_watch_json_and_rich_bar(server: JobServer) -> None:
    """watch --json prints each state as JSON; --force-terminal draws a rich bar."""
    job = server.create_job("x", status="completed", result=1)
    as_json = await cli("watch", job.id, "--json", "--url", server.url)
    assert as_json.code == 0
    assert as_json.json_lines()[-1]["status"] == "completed"
    bar = await cli("watch", job.id, "--force-terminal", "--url", server.url)
    assert bar.code == 0
    assert "\x1b[" in bar.out  # drawn for a terminal
    assert "100%" in bar.out and "completed" in bar.out


async def test_wait_prints_jobs_as_they_end_and_exits_with_the_worst(server: JobServer) -> None:
    """wait ID... (plain): a line per change, the ends in the order they come; the worst status."""
    fast = server.create_job("fast", status="running")
    slow = server.create_job("slow", status="running")

    async def drive() -> None:
        await server.wait_until(lambda: server.open_streams == 1, timeout=10)
        server.update_job(fast.id, status="failed", error="bad input")
        server.update_job(slow.id, status="completed", result="ok")  # the stream keeps the order

    run, _ = await asyncio.gather(cli("wait", slow.id, fast.id, "--url", server.url), drive())
    assert run.code == 3
    lines = run.out.splitlines()
    assert [line.split()[1:3] for line in lines[:2]] == [["slow", slow.id], ["fast", fast.id]]
    ends = [line for line in lines if "failed" in line or "completed" in line]
    assert fast.id in ends[0] and "bad input" in ends[0]
    assert slow.id in ends[1] and ends[1].endswith("completed    -  ok")


async def test_wait_json_and_timeout(server: JobServer) -> None:
    """wait --json prints final jobs as JSON; a timeout exits 5 naming the unfinished ids."""
    done = server.create_job("done", status="completed")
    stuck = server.create_job("stuck", status="running")
    ok = await cli("wait", done.id, "--json", "--url", server.url)
    assert ok.code == 0 and ok.json_lines()[0]["id"] == done.id
    late = await cli("wait", done.id, stuck.id, "--timeout", "0.5", "--url", server.url)
    assert late.code == 5
    assert done.id in late.out
    late.error_line("timed out", "1 of 2", stuck.id)


# -- cancel --------------------------------------------------------------------------------------


async def test_cancel_cancels_and_reports_each_refusal(server: JobServer) -> None:
    """cancel ID...: cancels what it can; a finished job is one error line, exit status 1."""
    running = server.create_job("r", status="running")
    finished = server.create_job("f", status="completed")
    run = await cli("cancel", running.id, finished.id, "--url", server.url)
    assert run.code == 1
    assert running.id in run.out and "cancelled" in run.out
    assert server.get_job(running.id).status.value == "cancelled"
    run.error_line(f"cannot cancel {finished.id}", "409")
    again = await cli("cancel", running.id, "--json", "--url", server.url)
    assert again.code == 1
    ok = await cli("cancel", server.create_job("p").id, "--json", "--url", server.url)
    assert ok.code == 0 and ok.json_lines()[0]["status"] == "cancelled"


# -- errors ---------------------------------------------------------------------------------------


async def test_refused_connection_is_one_line_and_exit_1(closed_port: int) -> None:
    """A closed port: one line naming the problem and what to do, exit status 1."""
    url = f"http://127.0.0.1:{closed_port}/api/v1"
    runs = await asyncio.gather(
        cli("stats", "--url", url),
        cli("watch", "some-id", "--url", url),
        cli("wait", "a", "b", "--url", url),
        cli("submit", "x", "--url", url),
    )
    for run in runs:
        assert run.code == 1
        run.error_line("cannot connect", "--url")


async def test_unauthenticated_is_one_line_and_exit_1() -> None:
    """401 from a server with tokens: exit status 1, with a hint about --token."""
    async with JobServer(tokens=["secret"]) as server:
        run = await cli("list", "--url", server.url, "--token", "wrong")
        assert run.code == 1
        run.error_line("401", "--token")


async def test_not_found_is_one_line_and_exit_1(server: JobServer) -> None:
    """Unknown ids: one line naming them, exit status 1; wait names all of them at once."""
    for command in ("get", "watch", "cancel", "log", "restart", "delete"):
        run = await cli(command, "nope", "--url", server.url)
        assert run.code == 1, (command, run)
        assert "base URL" not in run.error_line("nope")  # the base URL is right
    known = server.create_job("known")
    run = await cli("wait", "nope", known.id, "gone", "--url", server.url)
    assert run.code == 1
    run.error_line("2 of 3 jobs not found", "'nope', 'gone'")


async def test_usage_errors_exit_2() -> None:
    """A bad --url, --config, --priority, --profile or id: one line, exit status 2."""
    bad_url = await cli("get", "x", "--url", "ftp://example.com")
    assert bad_url.code == 2
    bad_url.error_line("--url")
    bad_config = await cli("submit", "x", "--config", "{not json")
    assert bad_config.code == 2 and "--config" in bad_config.err
    bad_priority = await cli("submit", "x", "--priority", "9")
    assert bad_priority.code == 2 and "--priority" in bad_priority.err
    bad_profile = await cli("get", "x", "--profile", "nope")
    assert bad_profile.code == 2
    bad_profile.error_line("unknown profile 'nope'")
    empty_id = await cli("get", "")
    assert empty_id.code == 2 and "expected a job id" in empty_id.err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_ctrl_c_exits_130_without_a_traceback(server: JobServer) -> None:
    """SIGINT during a watch ends it cleanly: exit status 130, one line, no traceback."""
    job = server.create_job("forever", status="running")
    proc = await start("watch", job.id, "--url", server.url)
    assert proc.stdout is not None and proc.stderr is not None
    first = await asyncio.wait_for(proc.stdout.readline(), 20)
    assert b"running" in first
    await server.wait_until(lambda: server.open_streams == 1, timeout=10)
    proc.send_signal(signal.SIGINT)
    code = await asyncio.wait_for(proc.wait(), 20)
    err = (await proc.stderr.read()).decode()
    assert code == 130
    Run(code, "", err).error_line("interrupted")
    await server.wait_until(lambda: server.open_streams == 0, timeout=10)
