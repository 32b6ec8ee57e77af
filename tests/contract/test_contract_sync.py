"""SyncClient as DESIGN.md section 3 describes it: the same options and methods as Client,
without await; plain iterators. The JobServer runs in a background loop of its own."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import aiohttp
import pytest
from anyio.from_thread import start_blocking_portal

from asyncjobs import Client, JobStatus, SyncClient
from asyncjobs.testing import JobServer


@pytest.fixture
def url() -> Iterator[str]:
    with start_blocking_portal(backend="asyncio") as portal:
        server = portal.call(lambda: JobServer(auto_run=True, heartbeat=0.2))
        with portal.wrap_async_context_manager(server):
            yield server.url


def test_sync_client_takes_the_same_options_as_client() -> None:
    """SyncClient(base_url, **the same options): the same names, kinds and defaults."""
    assert inspect.signature(SyncClient).parameters.keys() == (
        inspect.signature(Client).parameters.keys()
    )
    for name, param in inspect.signature(Client).parameters.items():
        mine = inspect.signature(SyncClient).parameters[name]
        assert (mine.kind, mine.default) == (param.kind, param.default), name


def test_sync_client_refuses_a_session_naming_it(url: str) -> None:
    """session=None is accepted; a session (bound to another loop) is refused, named."""
    with SyncClient(url, session=None) as client:
        assert client.queue_stats().total == 0

    async def make() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    with start_blocking_portal(backend="asyncio") as portal:
        session = portal.call(make)
        try:
            with pytest.raises(ValueError, match="session"):
                SyncClient(url, session=session)
        finally:
            portal.call(session.close)


def test_many_job_methods_refuse_a_single_string(url: str) -> None:
    """A str is one id, not an iterable of ids: TypeError naming job_ids, no request."""
    with SyncClient(url) as client:
        with pytest.raises(TypeError, match="job_ids"):
            client.get_jobs("abc")
        with pytest.raises(TypeError, match="job_ids"):
            client.wait_for_jobs("abc")
        with pytest.raises(TypeError, match="job_ids"):
            client.watch_jobs("abc")
        with pytest.raises(TypeError, match="job_ids"):
            client.as_completed("abc")
        with pytest.raises(TypeError, match="job_ids"):
            client.get_jobs(None)  # type: ignore[arg-type]


def test_iterators_are_plain_and_check_arguments_at_the_call(url: str) -> None:
    """watch, watch_jobs, as_completed and list_jobs return plain iterators; a bad argument
    raises at the call."""
    with SyncClient(url) as client:
        job = client.submit_job("sim", {"duration": 0.05, "steps": 2})
        updates = client.watch(job.id, timeout=5)
        assert iter(updates) is updates
        states = [update.status for update in updates]
        assert states[-1] is JobStatus.COMPLETED
        assert [j.id for j in client.as_completed([job.id], timeout=5)] == [job.id]
        assert [j.id for j in client.watch_jobs([job.id], timeout=5)] == [job.id]
        assert [j.id for j in client.list_jobs(limit=5)] == [job.id]
        with pytest.raises(ValueError, match="transport"):
            client.watch(job.id, transport="ws")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="status"):
            client.list_jobs(status="bogus")
