"""Chaos scenarios in a fresh interpreter, with aiohttp's pure-Python parser
(``AIOHTTP_NO_EXTENSIONS=1``, what PyPy and some platforms get) and, for malformed chunked
framing, with its C parser too (issue 12, case 2)."""

import subprocess
from collections.abc import Callable

import pytest

ScriptRunner = Callable[..., subprocess.CompletedProcess[str]]
"""The ``run_script`` fixture of this directory's conftest."""

PARSERS = [pytest.param(True, id="pure-python"), pytest.param(False, id="c-parser")]


@pytest.mark.parametrize(
    "at_connect", [pytest.param(False, id="mid-stream"), pytest.param(True, id="at-connect")]
)
@pytest.mark.parametrize("pure_python", PARSERS)
def test_malformed_chunked_framing_is_resumed_by_watch_and_does_not_hang_wait_for_jobs(
    run_script: ScriptRunner, pure_python: bool, at_connect: bool
) -> None:
    """A bad chunk-size line on a stream, mid-stream or in the answer's first read: watch()
    resumes to the final state and wait_for_jobs returns."""
    run_script("malformed_framing", pure_python=pure_python, timeout=40, at_connect=at_connect)


def test_a_watch_through_resets_with_the_pure_python_parser(run_script: ScriptRunner) -> None:
    """200 updates, the stream reset every 0.5 s, parsed by aiohttp's pure-Python parser."""
    run_script("watch_through_resets", pure_python=True, updates=200, every=0.5)


def test_waits_through_random_faults_with_the_pure_python_parser(
    run_script: ScriptRunner,
) -> None:
    """500 waits through random resets, stalls and truncation, pure-Python parser."""
    run_script("waits_through_chaos", pure_python=True, count=500, seed=7)


def test_a_dropped_submit_makes_one_job_with_the_pure_python_parser(
    run_script: ScriptRunner,
) -> None:
    """Lost submit answers are retried into one job each, pure-Python parser."""
    run_script("dropped_submit", pure_python=True)
