"""The command line, run in a subprocess against a real JobServer: output and exit statuses."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator

import attrs
import pytest

from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


@attrs.frozen
class Run:
    code: int
    out: str
    err: str

    def json_lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.out.splitlines()]


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCJOBS_")}
    env.update({"COLUMNS": "120", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"})
    env.update(extra or {})
    return env


async def cli(*args: str, env: dict[str, str] | None = None) -> Run:
    """Run ``python -m asyncjobs ARGS`` and collect its exit status and output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "asyncjobs",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(env),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


def assert_one_error_line(run: Run, *fragments: str) -> None:
    """A failure is one line on stderr, never a traceback."""
    assert "Traceback" not in run.err
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("asyncjobs: ")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
async def server() -> AsyncIterator[JobServer]:
    async with JobServer(auto_run=True) as server:
        yield server


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


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
    """submit --wait: 0 for a completed job, 1 for a failed one."""
    ok, bad = await asyncio.gather(
        cli("submit", "ok", "--config", '{"duration": 0.2, "steps": 2, "result": 5}', "--wait",
            "--url", server.url),
        cli("submit", "bad", "--config", '{"duration": 0.2, "fail": true, "error": "boom"}',
            "--wait", "--url", server.url),
    )  # fmt: skip
    assert ok.code == 0, ok.err
    assert "completed" in ok.out and "5" in ok.out.splitlines()[-1]
    assert bad.code == 1
    assert "failed" in bad.out and "boom" in bad.out


async def test_watch_prints_each_update_and_exits_per_outcome(server: JobServer) -> None:
    """watch (plain: stdout is a pipe) prints a line per change; exit status 0/1/2."""
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
    assert [ran_done.code, ran_failed.code, ran_cancelled.code] == [0, 1, 2]
    lines = ran_done.out.splitlines()
    assert "pending" in lines[0] and "half way" in lines[1] and "completed" in lines[-1]
    assert '{"rows": 3}' in lines[-1]
    assert "no space left" in ran_failed.out


async def test_watch_timeout_exits_3(server: JobServer) -> None:
    """watch --timeout on a job that does not end: exit status 3 and one line saying so."""
    job = server.create_job("stuck", status="running", progress=10)
    run = await cli("watch", job.id, "--timeout", "0.5", "--url", server.url)
    assert run.code == 3
    assert_one_error_line(run, "timed out", job.id, "running")


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
    """wait ID...: one line per job in the order they end; exit status of the worst outcome."""
    fast = server.create_job("fast", status="running")
    slow = server.create_job("slow", status="running")

    async def drive() -> None:
        await server.wait_until(lambda: server.open_streams == 1, timeout=10)
        server.update_job(fast.id, status="failed", error="bad input")
        await asyncio.sleep(0.1)
        server.update_job(slow.id, status="completed", result="ok")

    run, _ = await asyncio.gather(cli("wait", slow.id, fast.id, "--url", server.url), drive())
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines[0].startswith(fast.id) and "bad input" in lines[0]
    assert lines[1].startswith(slow.id) and "completed" in lines[1]


async def test_wait_json_and_timeout(server: JobServer) -> None:
    """wait --json prints final jobs as JSON; a timeout exits 3 naming the unfinished ids."""
    done = server.create_job("done", status="completed")
    stuck = server.create_job("stuck", status="running")
    ok = await cli("wait", done.id, "--json", "--url", server.url)
    assert ok.code == 0 and ok.json_lines()[0]["id"] == done.id
    late = await cli("wait", done.id, stuck.id, "--timeout", "0.5", "--url", server.url)
    assert late.code == 3
    assert done.id in late.out
    assert_one_error_line(late, "timed out", "1 of 2", stuck.id)


# -- cancel --------------------------------------------------------------------------------------


async def test_cancel_cancels_and_reports_each_refusal(server: JobServer) -> None:
    """cancel ID...: cancels what it can; a finished job is one error line, exit status 4."""
    running = server.create_job("r", status="running")
    finished = server.create_job("f", status="completed")
    run = await cli("cancel", running.id, finished.id, "--url", server.url)
    assert run.code == 4
    assert running.id in run.out and "cancelled" in run.out
    assert server.get_job(running.id).status.value == "cancelled"
    assert_one_error_line(run, f"cannot cancel {finished.id}", "409")
    again = await cli("cancel", running.id, "--json", "--url", server.url)
    assert again.code == 4
    ok = await cli("cancel", server.create_job("p").id, "--json", "--url", server.url)
    assert ok.code == 0 and ok.json_lines()[0]["status"] == "cancelled"


# -- errors ---------------------------------------------------------------------------------------


async def test_refused_connection_is_one_line_and_exit_4() -> None:
    """A closed port: one line naming the problem and what to do, exit status 4."""
    url = f"http://127.0.0.1:{closed_port()}/api/v1"
    runs = await asyncio.gather(
        cli("stats", "--url", url),
        cli("watch", "some-id", "--url", url),
        cli("wait", "a", "b", "--url", url),
        cli("submit", "x", "--url", url),
    )
    for run in runs:
        assert run.code == 4
        assert_one_error_line(run, "cannot connect", "--url")


async def test_unauthenticated_is_one_line_and_exit_4() -> None:
    """401 from a server with tokens: exit status 4, with a hint about --token."""
    async with JobServer(tokens=["secret"]) as server:
        run = await cli("list", "--url", server.url, "--token", "wrong")
        assert run.code == 4
        assert_one_error_line(run, "401", "--token")


async def test_not_found_is_one_line_and_exit_4(server: JobServer) -> None:
    """Unknown ids: one line naming them, exit status 4; wait names all of them at once."""
    for command in ("get", "watch", "cancel"):
        run = await cli(command, "nope", "--url", server.url)
        assert run.code == 4, (command, run)
        assert_one_error_line(run, "nope")
    known = server.create_job("known")
    run = await cli("wait", "nope", known.id, "gone", "--url", server.url)
    assert run.code == 4
    assert_one_error_line(run, "2 of 3 jobs not found", "'nope', 'gone'")


async def test_usage_errors_exit_2() -> None:
    """A bad --url, --config, --priority, --profile or id: one line, exit status 2."""
    bad_url = await cli("get", "x", "--url", "ftp://example.com")
    assert bad_url.code == 2
    assert_one_error_line(bad_url, "--url")
    bad_config = await cli("submit", "x", "--config", "{not json")
    assert bad_config.code == 2 and "--config" in bad_config.err
    bad_priority = await cli("submit", "x", "--priority", "9")
    assert bad_priority.code == 2 and "--priority" in bad_priority.err
    bad_profile = await cli("get", "x", "--profile", "nope")
    assert bad_profile.code == 2
    assert_one_error_line(bad_profile, "unknown profile 'nope'")
    empty_id = await cli("get", "")
    assert empty_id.code == 2 and "expected a job id" in empty_id.err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_ctrl_c_exits_130_without_a_traceback(server: JobServer) -> None:
    """SIGINT during a watch ends it cleanly: exit status 130, one line, no traceback."""
    job = server.create_job("forever", status="running")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "asyncjobs", "watch", job.id, "--url", server.url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=_env(),
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    first = await asyncio.wait_for(proc.stdout.readline(), 20)
    assert b"running" in first
    await server.wait_until(lambda: server.open_streams == 1, timeout=10)
    proc.send_signal(signal.SIGINT)
    code = await asyncio.wait_for(proc.wait(), 20)
    err = (await proc.stderr.read()).decode()
    assert code == 130
    assert_one_error_line(Run(code, "", err), "interrupted")
    await server.wait_until(lambda: server.open_streams == 0, timeout=10)
