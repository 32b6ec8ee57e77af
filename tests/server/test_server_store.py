"""The server's job store and simulation config, without sockets."""

from __future__ import annotations

import asyncio

import pytest

from asyncjobs import JobStatus
from asyncjobs.server import EVERYONE, JobStore, Simulation, Snapshot, UnknownJobError


class Recorder:
    """A subscriber that records what it is told."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, int]] = []
        self.deleted: list[str] = []

    def deliver(self, snapshot: Snapshot) -> None:
        self.delivered.append((snapshot.job_id, snapshot.version))

    def job_deleted(self, job_id: str) -> None:
        self.deleted.append(job_id)


def test_every_change_takes_the_next_version() -> None:
    """One counter orders the changes of all jobs."""
    store = JobStore()
    a = store.create(owner=None)
    b = store.create(owner=None)
    a2 = store.update(a.job_id, progress=5)
    assert (a.version, b.version, a2.version) == (1, 2, 3)
    assert store.version == 3


def test_changes_reach_only_the_subscribers_of_that_job_or_owner() -> None:
    """A change is published to its job's subscribers, its owner's, and everyone's; no other."""
    store = JobStore()
    a = store.create(owner="alice").job_id
    b = store.create(owner="bob").job_id
    of_a, of_alice, of_all, of_b = Recorder(), Recorder(), Recorder(), Recorder()
    store.subscribe(of_a, job_ids=[a])
    store.subscribe(of_alice, scope="alice")
    store.subscribe(of_all, scope=EVERYONE)
    store.subscribe(of_b, job_ids=[b])
    changed = store.update(a, progress=1)
    assert of_a.delivered == of_alice.delivered == of_all.delivered == [(a, changed.version)]
    assert of_b.delivered == []
    later = store.create(owner="alice")
    assert of_alice.delivered[-1] == (later.job_id, later.version)
    assert of_a.delivered == [(a, changed.version)]
    store.delete(a)
    assert of_a.deleted == of_alice.deleted == of_all.deleted == [a]
    assert of_b.deleted == []


def test_unsubscribe_leaves_no_index_entries() -> None:
    """Unsubscribing is idempotent and empties the indexes."""
    store = JobStore()
    job = store.create().job_id
    recorder = Recorder()
    store.subscribe(recorder, job_ids=[job, "later"])
    with pytest.raises(ValueError, match="already subscribed"):
        store.subscribe(recorder, scope=EVERYONE)
    store.unsubscribe(recorder)
    store.unsubscribe(recorder)
    store.update(job, progress=1)
    assert recorder.delivered == []
    assert store.subscriber_count == 0


def test_snapshot_encodings_are_computed_once() -> None:
    """The JSON and SSE bytes of a version are shared, and the SSE event carries the JSON."""
    store = JobStore()
    snapshot = store.create(name="x")
    assert snapshot.json is snapshot.json
    assert snapshot.sse == b"id: 1\nevent: job\ndata: " + snapshot.json + b"\n\n"
    assert snapshot.memo("k", lambda s: [s.job_id]) is snapshot.memo("k", lambda s: [])


def test_status_changes_keep_the_times_right() -> None:
    """running sets started_at once; terminal sets completed_at; back to pending clears it."""
    store = JobStore()
    job = store.create().job_id
    running = store.update(job, status=JobStatus.RUNNING)
    assert running.job.started_at is not None
    again = store.update(job, status=JobStatus.RUNNING, progress=3)
    assert again.job.started_at == running.job.started_at
    done = store.update(job, status=JobStatus.FAILED)
    assert done.job.completed_at is not None
    assert store.update(job, status=JobStatus.PENDING).job.completed_at is None
    with pytest.raises(TypeError, match="version"):
        store.update(job, version=7)
    with pytest.raises(UnknownJobError):
        store.update("nope", progress=1)


def test_page_walks_newest_first() -> None:
    """page() returns pages newest first and where to continue."""
    store = JobStore()
    ids = [store.create(owner="o").job_id for _ in range(5)]
    store.create(owner="other")
    first, after = store.page("o", limit=2)
    second, after2 = store.page("o", limit=2, before=after)
    third, end = store.page("o", limit=2, before=after2)
    assert [s.job_id for s in first + second + third] == ids[::-1]
    assert end is None


@pytest.mark.anyio
async def test_wait_for_change_wakes_times_out_and_sees_deletion() -> None:
    """A waiter gets the newer version, the same one at its timeout, None when deleted."""
    store = JobStore()
    job = store.create()
    waiting = asyncio.create_task(store.wait_for_change(job.job_id, job.version, 30))
    await asyncio.sleep(0)
    assert store.waiter_count == 1
    newer = store.update(job.job_id, progress=1)
    assert await waiting is newer
    assert await store.wait_for_change(job.job_id, newer.version, 0.01) is newer
    waiting = asyncio.create_task(store.wait_for_change(job.job_id, newer.version, 30))
    await asyncio.sleep(0)
    store.delete(job.job_id)
    assert await waiting is None
    assert store.waiter_count == 0


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"duration": -1}, "config.duration"),
        ({"duration": True}, "config.duration"),
        ({"steps": "5"}, "config.steps"),
        ({"steps": -1}, "config.steps"),
        ({"fail": 1}, "config.fail"),
        ({"error": 3}, "config.error"),
    ],
)
def test_simulation_config_errors_name_the_field(config: dict[str, object], field: str) -> None:
    """A config that cannot be simulated names the bad field."""
    with pytest.raises(ValueError, match=field):
        Simulation.from_config(config)


def test_simulation_defaults() -> None:
    """Defaults: one second, five steps, success with {"steps": n}."""
    simulation = Simulation.from_config({})
    assert (simulation.duration, simulation.steps, simulation.fail) == (1.0, 5, False)
    assert simulation.result == {"steps": 5}
