"""Running the command line in a subprocess, as a user does: ``python -m asyncjobs ARGS``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import attrs

# Every wait on a subprocess is bounded by this many seconds.
DEADLINE = 30.0


@attrs.frozen
class Run:
    """A finished run: its exit status and output."""

    code: int
    out: str
    err: str

    def json_lines(self) -> list[dict[str, object]]:
        """Each stdout line, parsed as JSON."""
        return [json.loads(line) for line in self.out.splitlines()]

    def error_line(self, *fragments: str) -> str:
        """Assert stderr is one ``asyncjobs: ...`` line holding each fragment (no traceback)."""
        assert "Traceback" not in self.err
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith("asyncjobs: "), lines[0]
        for fragment in fragments:
            assert fragment in lines[0], (fragment, lines[0])
        return lines[0]


def cli_env(
    extra: dict[str, str] | None = None, *, pythonpath: str | None = None
) -> dict[str, str]:
    """The environment of a run: no ASYNCJOBS_* settings, 120 columns, no colour, unbuffered."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCJOBS_")}
    env.update({"COLUMNS": "120", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"})
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


async def start(*args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    """Start ``python -m asyncjobs ARGS`` with its stdout and stderr piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "asyncjobs", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=cli_env(env),
    )  # fmt: skip


async def cli(*args: str, env: dict[str, str] | None = None) -> Run:
    """Run ``python -m asyncjobs ARGS`` and collect its exit status and output."""
    proc = await start(*args, env=env)
    out, err = await asyncio.wait_for(proc.communicate(), DEADLINE)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


async def read_until(stream: asyncio.StreamReader, *markers: str) -> str:
    """Read ``stream`` until each of ``markers`` has shown up (bounded); everything read."""
    seen = b""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while not all(marker.encode() in seen for marker in markers):
        chunk = await asyncio.wait_for(stream.read(4096), max(0.0, deadline - loop.time()))
        assert chunk, f"the stream ended before {markers!r}: {seen.decode()!r}"
        seen += chunk
    return seen.decode()


def cli_sync(*args: str, pythonpath: Path | None = None) -> Run:
    """Run ``python -m asyncjobs ARGS`` to its end, blocking (for tests without a server)."""
    run = subprocess.run(
        [sys.executable, "-m", "asyncjobs", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(pythonpath=None if pythonpath is None else str(pythonpath)),
        check=False,
    )
    return Run(run.returncode, run.stdout, run.stderr)
