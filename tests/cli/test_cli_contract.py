"""The command line's contract (DESIGN.md section 3): --version, documented exit statuses,
usage errors, the base URL hint, and wait showing its jobs while it waits."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from _cli_runner import DEADLINE, cli, read_until, start

import asyncjobs
from asyncjobs.cli import main
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio

EXIT_STATUSES = ("0 ", "1 ", "2 ", "3 ", "4 ", "5 ", "130")


# -- --version and --help --------------------------------------------------------------------------


async def test_version_prints_the_package_version() -> None:
    """--version prints ``asyncjobs X.Y.Z`` on stdout and exits 0."""
    run = await cli("--version")
    assert run.code == 0
    assert run.out == f"asyncjobs {asyncjobs.__version__}\n"


async def test_help_documents_every_exit_status() -> None:
    """--help ends with the exit statuses; a live command's too; a plain read lists only its own."""
    for args in (["--help"], ["watch", "--help"], ["wait", "--help"], ["submit", "--help"]):
        run = await cli(*args)
        assert run.code == 0
        table = run.out[run.out.index("exit status:") :]
        for status in EXIT_STATUSES:
            assert f"\n  {status}" in table, (args, status)
        assert "wait exits with the worst" in table
    get = await cli("get", "--help")
    table = get.out[get.out.index("exit status:") :]
    assert "\n  1 " in table and "\n  3 " not in table and "\n  5 " not in table


def test_no_command_prints_the_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """No command: the usage on stderr, exit status 2."""
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


# -- usage errors: 2, and only them ----------------------------------------------------------------


async def test_usage_errors_exit_2_and_name_what_is_missing(idle_server: JobServer) -> None:
    """submit without a name, a command without its id, an unknown command: exit 2, no job."""
    nameless = await cli("submit", "--url", idle_server.url)
    assert nameless.code == 2
    assert "required: NAME" in nameless.err
    assert idle_server.jobs == []
    for args in (["restart"], ["delete"], ["log"], ["wait"], ["frobnicate"]):
        run = await cli(*args, "--url", idle_server.url)
        assert run.code == 2, (args, run)
        assert "Traceback" not in run.err
    assert idle_server.request_count() == 0


def test_serve_rejects_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    """serve --workers 0 and --heartbeat -1 are usage errors (exit status 2)."""
    assert main(["serve", "--workers", "0"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--heartbeat", "-1"])
    assert exc.value.code == 2
    capsys.readouterr()


# -- exit statuses of outcomes ---------------------------------------------------------------------


async def test_submit_wait_exits_4_when_cancelled_and_5_on_timeout(idle_server: JobServer) -> None:
    """submit --wait: a job cancelled meanwhile exits 4; one that outlives --timeout exits 5."""
    waiting = asyncio.create_task(cli("submit", "x", "--wait", "--url", idle_server.url))
    await idle_server.wait_until(lambda: idle_server.open_streams == 1, timeout=DEADLINE)
    [job] = idle_server.jobs
    idle_server.update_job(job.id, status="cancelled")
    cancelled = await waiting
    assert cancelled.code == 4, cancelled.err
    assert cancelled.out.splitlines()[0] == job.id
    late = await cli("submit", "y", "--wait", "--timeout", "0.3", "--url", idle_server.url)
    assert late.code == 5
    late.error_line("timed out", "pending")


async def test_wait_exits_with_the_worst_outcome(idle_server: JobServer) -> None:
    """wait: 0 all completed, 4 with a cancelled one, 3 with a failed one (over cancelled)."""
    done = idle_server.create_job("d", status="completed")
    cancelled = idle_server.create_job("c", status="cancelled")
    failed = idle_server.create_job("f", status="failed", error="boom")
    url = ["--url", idle_server.url]
    assert (await cli("wait", done.id, *url)).code == 0
    assert (await cli("wait", done.id, cancelled.id, *url)).code == 4
    assert (await cli("wait", cancelled.id, failed.id, done.id, *url)).code == 3
    assert (await cli("wait", failed.id, *url, "--json")).code == 3


async def test_wait_timeout_outweighs_every_outcome(idle_server: JobServer) -> None:
    """wait --timeout with one job unfinished exits 5 even though another failed."""
    failed = idle_server.create_job("f", status="failed")
    stuck = idle_server.create_job("s", status="running")
    run = await cli("wait", failed.id, stuck.id, "--timeout", "0.3", "--url", idle_server.url)
    assert run.code == 5
    run.error_line("timed out", "1 of 2", stuck.id)


# -- the base URL hint -----------------------------------------------------------------------------


async def test_a_base_url_without_the_api_path_gets_a_hint(idle_server: JobServer) -> None:
    """--url without /api/v1: a 404 on a route that is not a job says where the API lives."""
    job = idle_server.create_job("x", status="completed")
    origin = idle_server.url.removesuffix("/api/v1")
    for args in (["stats"], ["list"], ["submit", "x"], ["get", job.id], ["wait", job.id],
                 ["watch", job.id], ["log", job.id], ["cancel", job.id], ["cleanup"]):  # fmt: skip
        run = await cli(*args, "--url", origin)
        assert run.code == 1, (args, run)
        run.error_line("is the base URL right?", f"try --url {idle_server.url}")
    assert [j.id for j in idle_server.jobs] == [job.id]  # nothing was changed


async def test_an_unknown_job_on_the_right_url_gets_no_hint(idle_server: JobServer) -> None:
    """A 404 for a job id the server does not know is only that: no base URL hint."""
    for args in (["get", "nope"], ["wait", "nope"], ["cancel", "nope"], ["log", "nope"]):
        run = await cli(*args, "--url", idle_server.url)
        assert run.code == 1
        assert "base URL" not in run.error_line("nope")


# -- wait shows progress while it waits ------------------------------------------------------------


async def test_plain_wait_prints_each_change_while_waiting(idle_server: JobServer) -> None:
    """wait (plain) prints a line as a job moves, before any job has ended."""
    first = idle_server.create_job("first", status="running")
    second = idle_server.create_job("second", status="pending")
    proc = await start("wait", first.id, second.id, "--url", idle_server.url)
    assert proc.stdout is not None
    try:
        shown = await read_until(proc.stdout, second.id)  # each job's state at start
        assert "running" in shown and "pending" in shown
        idle_server.update_job(first.id, progress=40, message="step 2/5")
        shown = await read_until(proc.stdout, "step 2/5")
        assert " 40%" in shown.splitlines()[-1]
        idle_server.update_job(second.id, status="running", progress=10)
        await read_until(proc.stdout, " 10%")
        assert proc.returncode is None  # still waiting: the lines came while it waited
        idle_server.update_job(first.id, status="completed", progress=100, result=1)
        idle_server.update_job(second.id, status="completed", progress=100, result=2)
        assert await asyncio.wait_for(proc.wait(), DEADLINE) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_wait_on_a_terminal_draws_a_bar_per_job(idle_server: JobServer) -> None:
    """wait --force-terminal draws live bars for every job and a finished count below them."""
    first = idle_server.create_job("first-job", status="running", progress=30)
    second = idle_server.create_job("second-job", status="running")
    proc = await start("wait", first.id, second.id, "--force-terminal", "--url", idle_server.url)
    assert proc.stdout is not None
    try:
        idle_server.update_job(first.id, status="completed", progress=100)
        shown = await read_until(proc.stdout, "first-job", "second-job", "1 of 2 finished")
        assert proc.returncode is None  # drawn while it waits
        assert "\x1b[?25l" in shown and "━" in shown  # a live display, with bars
        idle_server.update_job(second.id, status="cancelled")
        assert await asyncio.wait_for(proc.wait(), DEADLINE) == 4
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_wait_without_rich_prints_plain_lines(
    idle_server: JobServer, without_rich: Path
) -> None:
    """Without the cli extra, wait --force-terminal falls back to a line per job."""
    done = idle_server.create_job("done", status="completed", result=7)
    path = os.pathsep.join(filter(None, [str(without_rich), os.environ.get("PYTHONPATH")]))
    run = await cli(
        "wait", done.id, "--force-terminal", "--url", idle_server.url, env={"PYTHONPATH": path}
    )
    assert run.code == 0, run.err
    assert "\x1b[" not in run.out
    [line] = run.out.splitlines()
    assert done.id in line and line.endswith("completed    -  7")


# -- serve -----------------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_serve_says_how_many_jobs_it_runs_at_once() -> None:
    """serve prints its URL and how many jobs run at a time; Ctrl-C stops it with status 0."""
    proc = await start("serve", "--port", "0", "--workers", "3")
    assert proc.stdout is not None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), DEADLINE)).decode()
        assert line.startswith("asyncjobs server listening on http://127.0.0.1:")
        assert "/api/v1, running 3 jobs at a time" in line
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), DEADLINE) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
