"""Each example runs to completion against the embedded server it starts itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCJOBS_")}
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    return run.stdout


def test_wait_with_timeout_handles_each_error_class() -> None:
    """Completed, failed, cancelled, timed out, API error and transport error, one line each."""
    lines = run_example("wait_with_timeout.py").splitlines()
    assert lines[0] == "quick    completed: result 42"
    assert lines[1] == "broken   failed: disk full"
    assert lines[2].startswith("doomed   cancelled at ")
    assert lines[3].startswith("slow     timed out after 1 s at ")
    assert lines[3].endswith("so cancelled it")
    assert lines[4].startswith("invalid  refused: 400 Bad Request: config.duration")
    assert lines[5].startswith("offline  server unreachable: cannot connect")


def test_batch_monitor_waits_on_hundreds_of_jobs() -> None:
    """300 jobs followed with as_completed over one stream, and a summary."""
    out = run_example("batch_monitor.py")
    assert "submitted 300 jobs" in out
    assert "300/300 done" in out
    summary = next(line for line in out.splitlines() if line.startswith("summary:"))
    counts = [int(part.split()[0]) for part in summary.removeprefix("summary: ").split(", ")]
    assert sum(counts) == 300 and "completed" in summary
    assert "stream(s)" in out


def test_web_backend_relays_progress_to_the_browser() -> None:
    """The backend submits a job and relays its progress over its own SSE endpoint."""
    lines = run_example("web_backend.py").splitlines()
    assert lines[0].startswith("browser: started job ")
    assert any("step 4/8" in line for line in lines)
    assert lines[-1].startswith("browser: progress completed")
    assert "thumbnails" in lines[-1]


def test_sync_script_runs_without_await() -> None:
    """The SyncClient script: a watched job, a batch, a handled failure, a listing."""
    out = run_example("sync_script.py")
    assert "export-report: completed 100%" in out
    assert "export-report result: {'steps': 4}" in out
    assert "batch: 3 jobs completed" in out
    assert "import failed: bad CSV" in out
    assert out.count("recent:") == 3
