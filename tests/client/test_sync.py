"""SyncClient: every Client method as a blocking call, iterators that clean up, one loop thread."""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from asyncjobs import (
    AuthenticationError,
    ConflictError,
    Job,
    JobCancelledError,
    JobFailedError,
    JobNotFoundError,
    JobStatus,
    JobTimeoutError,
    RetryPolicy,
    SyncClient,
    TransportError,
)
from asyncjobs.testing import JobServer

T = TypeVar("T")


class LiveServer:
    """A JobServer running in a background loop, driven from the test's (sync) thread."""

    def __init__(self, portal: BlockingPortal, server: JobServer) -> None:
        self.portal = portal
        self.server = server
        self.url = server.url

    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a server hook in the server's loop (hooks touch asyncio objects)."""
        return self.portal.call(lambda: func(*args, **kwargs))

    def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        self.portal.call(lambda: self.server.wait_until(condition, timeout=timeout))


def _serve(**options: Any) -> Iterator[LiveServer]:
    with start_blocking_portal(backend="asyncio") as portal:
        server = portal.call(lambda: JobServer(**options))
        with portal.wrap_async_context_manager(server):
            yield LiveServer(portal, server)


@pytest.fixture
def live() -> Iterator[LiveServer]:
    yield from _serve(auto_run=True)


@pytest.fixture
def client(live: LiveServer) -> Iterator[SyncClient]:
    with SyncClient(live.url) as client:
        yield client


def _portal_tasks(client: SyncClient) -> int:
    """How many tasks run in the SyncClient's loop (this probe's own task included)."""

    def count() -> int:
        return len(asyncio.all_tasks())

    return client._portal.call(count)


def test_submit_get_and_get_jobs(client: SyncClient, live: LiveServer) -> None:
    """The request methods return the same models as Client; get_jobs keeps input order."""
    first = client.submit_job("a", {"duration": 5}, priority=3)
    second = client.submit_job("b")
    assert first.name == "a" and first.priority == 3 and first.config["duration"] == 5
    assert client.get_job(first.id).id == first.id
    assert [job.id for job in client.get_jobs([second.id, first.id])] == [second.id, first.id]
    assert live.call(live.server.get_job, first.id).name == "a"


def test_idempotency_key_gives_the_same_job(client: SyncClient) -> None:
    """Keyword options pass through unchanged."""
    one = client.submit_job("x", idempotency_key="key-1")
    two = client.submit_job("x", idempotency_key="key-1")
    assert one.id == two.id


def test_list_jobs_is_a_plain_iterator(client: SyncClient, live: LiveServer) -> None:
    """list_jobs follows pages and honours status and limit."""
    for i in range(5):
        live.call(live.server.create_job, f"job-{i}", status="completed" if i % 2 else "pending")
    everything = list(client.list_jobs())
    assert len(everything) == 5
    assert [job.name for job in everything] == [f"job-{i}" for i in reversed(range(5))]
    done = list(client.list_jobs(status=JobStatus.COMPLETED))
    assert {job.name for job in done} == {"job-1", "job-3"}
    assert len(list(client.list_jobs(limit=2))) == 2
    with pytest.raises(ValueError, match="status"):
        client.list_jobs(status="bogus")  # checked at the call, as with Client


def test_cancel_restart_delete_log_stats_cleanup(client: SyncClient, live: LiveServer) -> None:
    """The remaining operations, each one blocking call."""
    job = live.call(live.server.create_job, "c", status="running", log=["hello"])
    assert client.get_log(job.id).strip().endswith("hello")
    assert client.cancel_job(job.id).status is JobStatus.CANCELLED
    with pytest.raises(ConflictError):
        client.cancel_job(job.id)
    assert client.restart_job(job.id).status is JobStatus.PENDING
    live.call(live.server.update_job, job.id, status="completed")
    client.delete_job(job.id)
    with pytest.raises(JobNotFoundError):
        client.get_job(job.id)
    stats = client.queue_stats()
    assert stats.total == 0
    assert client.cleanup(max_age_hours=1).cleaned_jobs == 0


def test_errors_propagate_unchanged(client: SyncClient) -> None:
    """The exception raised is the Client's own: same class, same attributes."""
    with pytest.raises(JobNotFoundError) as caught:
        client.get_job("missing")
    assert type(caught.value) is JobNotFoundError
    assert caught.value.status == 404
    with pytest.raises(ValueError, match="priority"):
        client.submit_job("x", priority=9)


def test_wait_for_job_and_failures(client: SyncClient) -> None:
    """wait_for_job returns the final job, raises JobFailedError, JobTimeoutError."""
    ok = client.submit_job("ok", {"duration": 0.1, "steps": 2, "result": 7})
    assert client.wait_for_job(ok.id, timeout=10).result == 7
    bad = client.submit_job("bad", {"duration": 0.1, "fail": True, "error": "boom"})
    with pytest.raises(JobFailedError) as caught:
        client.wait_for_job(bad.id, timeout=10)
    assert caught.value.details["failure_reason"] == "boom"
    assert client.wait_for_job(bad.id, raise_on_failure=False).status is JobStatus.FAILED
    slow = client.submit_job("slow", {"duration": 30})
    with pytest.raises(JobTimeoutError) as timed_out:
        client.wait_for_job(slow.id, timeout=0.3)
    assert isinstance(timed_out.value, TimeoutError) and timed_out.value.job_id == slow.id


def test_wait_for_jobs(client: SyncClient) -> None:
    """wait_for_jobs keeps input order; return_exceptions puts failures in the list."""
    ids = [client.submit_job(f"j{i}", {"duration": 0.05 * i, "steps": 1}).id for i in range(4)]
    assert [job.id for job in client.wait_for_jobs(ids, timeout=10)] == ids
    bad = client.submit_job("bad", {"duration": 0.05, "fail": True})
    results = client.wait_for_jobs([ids[0], bad.id], timeout=10, return_exceptions=True)
    assert isinstance(results[0], Job) and results[0].id == ids[0]
    assert isinstance(results[1], JobFailedError)


def test_watch_yields_each_state_to_the_end(client: SyncClient, live: LiveServer) -> None:
    """watch is a plain iterator: current state first, every change, ending at the terminal."""
    job = live.call(live.server.create_job, "w")
    updates = client.watch(job.id, timeout=10)
    assert next(updates).status is JobStatus.PENDING
    live.call(live.server.update_job, job.id, status="running", progress=50)
    assert next(updates).progress == 50
    live.call(live.server.update_job, job.id, status="cancelled")
    assert next(updates).status is JobStatus.CANCELLED
    with pytest.raises(StopIteration):
        next(updates)


def test_watch_timeout_is_raised_by_next(client: SyncClient, live: LiveServer) -> None:
    """The watch's timeout runs in the loop and surfaces from next() as JobTimeoutError."""
    job = live.call(live.server.create_job, "never-ends")
    with pytest.raises(JobTimeoutError):
        for _ in client.watch(job.id, timeout=0.3):
            pass


def test_breaking_out_closes_the_watch(client: SyncClient, live: LiveServer) -> None:
    """An iterator left early (break) closes its async generator: no stream, no task remains."""
    job = live.call(live.server.create_job, "open-ended")
    baseline = _portal_tasks(client)
    for update in client.watch(job.id, transport="sse"):
        if update.progress == 10:
            assert live.server.open_streams == 1  # the change came over the stream
            break
        live.call(live.server.update_job, job.id, status="running", progress=10)
    live.wait_until(lambda: live.server.open_streams == 0)
    assert _portal_tasks(client) == baseline


def test_close_of_a_busy_iterator_cancels_it(client: SyncClient, live: LiveServer) -> None:
    """close() while another thread waits in next() ends that wait and leaves nothing running."""
    job = live.call(live.server.create_job, "open-ended")
    baseline = _portal_tasks(client)
    updates = client.watch_jobs([job.id])
    assert next(updates).id == job.id
    outcome: list[object] = []

    def consume() -> None:
        try:
            next(updates)
        except StopIteration:
            outcome.append("stopped")

    thread = threading.Thread(target=consume)
    thread.start()
    live.wait_until(lambda: live.server.open_streams == 1)
    updates.close()
    thread.join(5)
    assert outcome == ["stopped"]
    live.wait_until(lambda: live.server.open_streams == 0)
    assert _portal_tasks(client) == baseline
    updates.close()  # idempotent


def test_watch_jobs_and_as_completed(client: SyncClient) -> None:
    """Many-job iterators: every update of all jobs, and each final state as it ends."""
    ids = [client.submit_job(f"m{i}", {"duration": 0.1 * (3 - i), "steps": 2}).id for i in range(3)]
    seen = list(client.watch_jobs(ids, timeout=10))
    assert {job.id for job in seen if job.is_terminal} == set(ids)
    more = [
        client.submit_job(f"n{i}", {"duration": 0.15 * (3 - i), "steps": 1}).id for i in range(3)
    ]
    finished = [job.id for job in client.as_completed(more, timeout=10)]
    assert finished == list(reversed(more))


def test_threads_share_one_client(client: SyncClient) -> None:
    """Calls from several threads run concurrently in the one loop."""

    def work(i: int) -> Any:
        job = client.submit_job(f"t{i}", {"duration": 0.2, "steps": 1, "result": i})
        return client.wait_for_job(job.id, timeout=10).result

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(work, range(8))) == list(range(8))


def test_close_is_idempotent_and_use_after_close_is_clear(live: LiveServer) -> None:
    """close() twice is fine; a call after close raises RuntimeError; no thread is left."""
    threads = threading.active_count()
    client = SyncClient(live.url)
    assert threading.active_count() == threads + 1
    client.close()
    client.close()
    assert client.closed
    assert threading.active_count() == threads
    with pytest.raises(RuntimeError, match="closed"):
        client.get_job("x")
    with pytest.raises(RuntimeError, match="closed"):
        client.watch("x")


def test_closing_the_client_closes_open_iterators(live: LiveServer) -> None:
    """Iterators still open when the client closes are closed first (their streams end)."""
    job = live.call(live.server.create_job, "open-ended")
    with SyncClient(live.url) as client:
        updates = client.watch(job.id, transport="sse")
        next(updates)
        live.call(live.server.update_job, job.id, status="running")
        assert next(updates).status is JobStatus.RUNNING
        assert live.server.open_streams == 1
    live.wait_until(lambda: live.server.open_streams == 0)
    with pytest.raises(StopIteration):
        next(updates)


def test_bad_options_raise_and_leave_no_thread() -> None:
    """A bad base URL raises the Client's ValueError; the loop thread is stopped."""
    threads = threading.active_count()
    with pytest.raises(ValueError, match="base_url"):
        SyncClient("not a url")
    assert threading.active_count() == threads


def test_authentication_error_propagates() -> None:
    """401 from a server with tokens surfaces as AuthenticationError."""
    for live in _serve(tokens=["secret"]):
        with SyncClient(live.url, token="wrong") as client, pytest.raises(AuthenticationError):
            client.get_job("x")
        with SyncClient(live.url, token="secret") as client:
            assert client.submit_job("mine").name == "mine"


def test_refused_connection_is_a_transport_error() -> None:
    """A closed port raises TransportError from the blocking call."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/v1"
    with SyncClient(url, retry=RetryPolicy(attempts=1)) as client, pytest.raises(TransportError):
        client.get_job("x")


def test_cancelled_wait_raises_job_cancelled(client: SyncClient, live: LiveServer) -> None:
    """JobCancelledError too comes through unchanged."""
    job = live.call(live.server.create_job, "c", status="running")
    live.call(live.server.update_job, job.id, status="cancelled")
    with pytest.raises(JobCancelledError) as caught:
        client.wait_for_job(job.id, timeout=5)
    assert caught.value.job.id == job.id


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="POSIX signals")
def test_ctrl_c_cancels_the_call_in_the_loop(client: SyncClient, live: LiveServer) -> None:
    """KeyboardInterrupt during a blocking call cancels it in the loop, cleanup included."""
    ids = [live.call(live.server.create_job, f"r{i}", status="running").id for i in range(2)]
    baseline = _portal_tasks(client)
    interrupt = threading.Timer(
        0.3, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT)
    )
    interrupt.start()
    with pytest.raises(KeyboardInterrupt):
        client.wait_for_jobs(ids, timeout=10, cancel_on_exit=True)
    interrupt.join()
    # cancel_on_exit ran before the interrupt reached us: the jobs are cancelled on the server.
    assert [live.call(live.server.get_job, i).status for i in ids] == [JobStatus.CANCELLED] * 2
    assert _portal_tasks(client) == baseline
