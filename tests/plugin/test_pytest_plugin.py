"""The pytest plugin (``asyncjobs.testing._plugin``): a user's tests get ``job_server`` and
``job_client`` by installing asyncjobs, with anyio's plugin.

Each test runs a tiny test file of a user's in a pytest subprocess (pytester), as a user would.
The plugin comes from the ``pytest11`` entry point when asyncjobs is installed from this tree,
else (the tree only on PYTHONPATH) it is named with ``-p``.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

PLUGIN = "asyncjobs.testing._plugin"
ROOT = Path(__file__).resolve().parents[2]


def plugin_args() -> list[str]:
    """``-p PLUGIN`` unless the installed asyncjobs registers it already (the entry point)."""
    registered = {ep.value for ep in importlib.metadata.entry_points(group="pytest11")}
    return [] if PLUGIN in registered else ["-p", PLUGIN]


def run_user_tests(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run the user's test files in a pytest subprocess: warnings are errors, no cache."""
    return pytester.runpytest_subprocess(
        *plugin_args(), "-p", "no:cacheprovider", "-W", "error", *args, timeout=60
    )


def test_the_plugin_is_registered_by_the_pytest11_entry_point() -> None:
    """pyproject declares the entry point that makes installing asyncjobs enough."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["pytest11"] == {"asyncjobs": PLUGIN}


def test_a_users_test_gets_a_running_server_and_a_client(pytester: pytest.Pytester) -> None:
    """job_server runs submitted jobs; job_client talks to it; both are closed afterwards."""
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def anyio_backend():
            return "asyncio"
        """
    )
    pytester.makepyfile(
        test_user="""
        import pytest
        from asyncjobs import Client, JobStatus
        from asyncjobs.testing import JobServer

        pytestmark = pytest.mark.anyio
        SEEN = []

        async def test_submit_and_wait(job_server, job_client):
            assert isinstance(job_server, JobServer) and isinstance(job_client, Client)
            job = await job_client.submit_job("report", {"duration": 0.05, "result": 7})
            final = await job_client.wait_for_job(job.id, timeout=10)
            assert final.status is JobStatus.COMPLETED and final.result == 7
            assert job_server.request_count("POST", "/jobs") == 1
            SEEN.append(job_server)

        async def test_each_test_gets_its_own_server(job_server):
            assert job_server.jobs == []
            job = job_server.create_job(name="driven")
            job_server.update_job(job.id, status="running", progress=50)
            assert job_server.get_job(job.id).progress == 50

        def test_the_first_server_was_closed():
            [server] = SEEN
            with pytest.raises(RuntimeError, match="started only once"):
                import asyncio
                asyncio.run(server.start())
        """
    )
    result = run_user_tests(pytester, "-v")
    result.assert_outcomes(passed=3)


def test_a_marker_passes_jobserver_options(pytester: pytest.Pytester) -> None:
    """@pytest.mark.job_server(...) sets the JobServer's options; the client uses its token."""
    pytester.makepyfile(
        test_marked="""
        import pytest
        from asyncjobs import AuthenticationError, Client

        pytestmark = [pytest.mark.anyio, pytest.mark.job_server(tokens=["t1"], auto_run=False)]

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        async def test_tokens_and_no_auto_run(job_server, job_client):
            assert job_server.tokens == ("t1",)
            job = await job_client.submit_job("stays", {"duration": 0.01})
            assert (await job_client.get_job(job.id)).status.value == "pending"
            async with Client(job_server.url) as anonymous:
                with pytest.raises(AuthenticationError):
                    await anonymous.get_job(job.id)

        @pytest.mark.job_server(profile="mammoth")
        async def test_the_closest_marker_wins(job_server):
            assert job_server.url.endswith("/api/v2")
            assert job_server.tokens == ("t1",)
        """
    )
    result = run_user_tests(pytester, "--strict-markers")
    result.assert_outcomes(passed=2)


def test_a_users_own_fixture_of_the_same_name_wins(pytester: pytest.Pytester) -> None:
    """A conftest fixture named job_server overrides the plugin's (our own suite relies on it)."""
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def job_server():
            return "mine"
        """
    )
    pytester.makepyfile(test_own="def test_own(job_server):\n    assert job_server == 'mine'\n")
    run_user_tests(pytester).assert_outcomes(passed=1)


def test_loading_the_plugin_does_not_import_the_server() -> None:
    """pytest imports the plugin at start-up: the server (aiohttp.web) waits for a fixture."""
    code = (
        f"import sys, importlib; importlib.import_module({PLUGIN!r}); "
        "print('asyncjobs.server' in sys.modules, 'aiohttp.web' in sys.modules)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert run.stdout.split() == ["False", "False"]
