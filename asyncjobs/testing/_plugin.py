"""The pytest plugin of asyncjobs: ``job_server`` and ``job_client`` fixtures for your own tests.

Installing asyncjobs registers it (the ``pytest11`` entry point ``asyncjobs``); the fixtures are
async, for anyio's pytest plugin::

    import pytest

    pytestmark = pytest.mark.anyio


    async def test_report_waits_for_its_job(job_server, job_client):
        job = await job_client.submit_job("report", {"duration": 0.1})
        assert (await job_client.wait_for_job(job.id)).status.value == "completed"
        assert job_server.request_count("POST", "/jobs") == 1

``job_server`` is a running :class:`~asyncjobs.testing.JobServer` with ``auto_run=True`` (it runs
submitted jobs as simulations) and a 1 s heartbeat; ``@pytest.mark.job_server(**options)`` on a
test (or module, or class) passes other :class:`~asyncjobs.testing.JobServer` options, e.g.
``tokens=["t1"]`` or ``profile="mammoth"``. ``job_client`` is a :class:`~asyncjobs.Client` on
it (with the server's first token, if any); each fixture is closed after its test.

Only pytest is imported when pytest starts: the server and the client are imported by the first
test that uses a fixture. A fixture of the same name in your own ``conftest.py`` wins over these.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from asyncjobs import Client
    from asyncjobs.testing import JobServer

__all__ = ["job_client", "job_server", "pytest_configure"]

DEFAULT_OPTIONS: dict[str, Any] = {"auto_run": True, "heartbeat": 1.0}
"""The :class:`JobServer` options of ``job_server`` that a ``job_server`` marker can override."""


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``job_server`` marker (so that ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        "job_server(**options): JobServer options for the job_server fixture of asyncjobs "
        "(default: auto_run=True, heartbeat=1.0)",
    )


def _server_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options = dict(DEFAULT_OPTIONS)
    # Closest last: a test's marker overrides its class's, which overrides its module's.
    for marker in reversed(list(request.node.iter_markers("job_server"))):
        if marker.args:
            raise pytest.UsageError(
                f"@pytest.mark.job_server takes JobServer options by keyword, got {marker.args!r}"
            )
        options.update(marker.kwargs)
    return options


@pytest.fixture
async def job_server(request: pytest.FixtureRequest) -> AsyncIterator[JobServer]:
    """A running :class:`~asyncjobs.testing.JobServer` on 127.0.0.1 (``server.url``).

    ``auto_run=True`` and ``heartbeat=1.0`` unless a ``@pytest.mark.job_server(...)`` marker
    says otherwise.
    """
    from asyncjobs.testing import JobServer

    async with JobServer(**_server_options(request)) as server:
        yield server


@pytest.fixture
async def job_client(job_server: JobServer) -> AsyncIterator[Client]:
    """A :class:`~asyncjobs.Client` connected to ``job_server`` (with its first token, if any)."""
    from asyncjobs import Client

    token = job_server.tokens[0] if job_server.tokens else None
    async with Client(job_server.url, token=token) as client:
        yield client
