"""How the hub keeps each followed job's last state (``asyncjobs/live/_entry.py``, ``Hub.last``):
as the text of the stream event it was read from, read again whole when it is needed (a late
joiner, a timeout's error), and the change rule applied without it.
"""

from __future__ import annotations

import json

import pytest
from _live_helpers import next_within, wait_until

from asyncjobs import Client, Job, JobStatus, JobTimeoutError
from asyncjobs._converter import job_from_native
from asyncjobs.live._entry import Entry
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


class Recorder:
    """A listener that keeps what it is told."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def on_job(self, job: Job) -> None:
        self.jobs.append(job)

    def on_jobs(self, jobs: list[Job]) -> None:
        self.jobs.extend(jobs)

    def on_error(self, job_id: str, error: BaseException) -> None:
        raise AssertionError(f"{job_id}: {error!r}")


def native(job_id: str, version: int, status: str = "running", message: str = "m") -> str:
    """A native job's JSON text, as a stream event's data carries it."""
    payload = {
        "id": job_id,
        "name": "n",
        "status": status,
        "progress": 10,
        "message": message,
        "result": None,
        "error": None,
        "priority": 0,
        "config": {"k": [1, 2]},
        "created_at": "2026-12-06T10:00:00Z",
        "updated_at": "2026-12-06T10:00:01.250Z",
        "started_at": "2026-12-06T10:00:00.500Z",
        "completed_at": None,
        "version": version,
    }
    return json.dumps(payload)


async def test_a_streamed_state_is_kept_as_its_text_and_read_again_whole(
    server: JobServer, client: Client
) -> None:
    """Jobs followed over the multiplexed stream: each hub entry holds the event's text, not a
    Job; a second watch of one of them starts from a Job equal to the last one yielded (every
    field, ``raw`` included), and so does ``Hub.current``."""
    jobs = [server.create_job(name=f"kept-{n}", status="running") for n in range(3)]
    watch = client.watch_jobs([job.id for job in jobs], timeout=30)
    first = {}
    while len(first) < len(jobs):
        job = await next_within(watch, "the first states of the three jobs")
        first[job.id] = job
    entries = client._hub._entries
    assert all(isinstance(entries[job.id].state, str) for job in jobs), {
        job.id: type(entries[job.id].state) for job in jobs
    }
    server.update_job(jobs[0].id, progress=40, message="halfway")
    changed = await next_within(watch, "the change of the first job")
    assert (changed.id, changed.progress, changed.message) == (jobs[0].id, 40, "halfway")
    assert entries[jobs[0].id].version == changed.version
    assert client._hub.current(jobs[0].id) == changed
    assert client._hub.current(jobs[1].id) == first[jobs[1].id]

    late = client.watch(jobs[0].id, timeout=30)
    joined = await next_within(late, "the late watch's first state")
    assert joined == changed
    assert joined.raw == changed.raw
    assert joined.created_at == changed.created_at
    assert joined is not changed  # read again from the text, not a Job kept
    await late.aclose()
    await watch.aclose()


async def test_a_timeout_names_the_last_state_kept_as_text(
    server: JobServer, client: Client
) -> None:
    """``JobTimeoutError.job`` of a wait whose job is followed over the stream is the last state
    seen, read back from its text."""
    job = server.create_job(name="slow", status="running", progress=5)
    watch = client.watch_jobs([job.id], timeout=1.0)
    seen = await next_within(watch, "the job's first state")
    assert isinstance(client._hub._entries[job.id].state, str)
    with pytest.raises(JobTimeoutError) as caught:
        await next_within(watch, "the timeout", timeout=10)
    assert caught.value.job == seen
    assert caught.value.job is not None and caught.value.job.progress == 5


async def test_the_change_rule_without_the_job(server: JobServer, client: Client) -> None:
    """``Hub.deliver_many`` with the events' texts: a repeat of the same text at the same version
    is dropped, an older version too; a read at the same version that tells another state wins
    (it is compared with the Job read again from the text); a state delivered without a text
    (a read, a profile's own parse hook) is kept as the Job itself."""
    hub = client._hub
    listener = Recorder()
    entry = Entry("j-1", listener)
    hub._entries["j-1"] = entry  # followed, as subscribe() makes it, but fed by this test only

    text = native("j-1", 5)
    job = job_from_native(json.loads(text))
    assert hub.deliver_many([job], [text]) == 1
    assert entry.state == text and entry.version == 5
    assert hub.deliver_many([job_from_native(json.loads(text))], [text]) == 0  # a repeat
    older = native("j-1", 4, message="older")
    assert hub.deliver_many([job_from_native(json.loads(older))], [older]) == 0

    # The same version, said again in other words (key order): the same state, dropped.
    reordered = json.dumps(dict(reversed(list(json.loads(text).items()))))
    assert reordered != text
    assert hub.deliver_many([job_from_native(json.loads(reordered))], [reordered]) == 0

    # A read at the same version telling another state: it wins, and is kept as the Job.
    truth = job_from_native(json.loads(native("j-1", 5, status="failed")))
    assert hub.deliver_many([truth]) == 1
    assert entry.state is truth and entry.version == 5
    assert [j.status for j in listener.jobs] == [JobStatus.RUNNING, JobStatus.FAILED]
    assert "j-1" not in hub._entries  # a final state: the entry left


async def test_a_late_joiner_of_a_job_kept_as_text_sees_it_once(
    server: JobServer, client: Client
) -> None:
    """Several watches of one job joining one by one: each starts from the current state (read
    again from the text), then all see the next change once."""
    job = server.create_job(name="shared", status="running")
    watches = [client.watch(job.id, timeout=30)]
    firsts = [await next_within(watches[0], "the first watch's first state")]
    for n in range(3):
        watches.append(client.watch(job.id, timeout=30))
        firsts.append(await next_within(watches[-1], f"watch {n + 2}'s first state"))
    assert all(first == firsts[0] for first in firsts)
    await wait_until(
        lambda: isinstance(client._hub._entries[job.id].state, str),
        message="the job's state kept as its event's text",
    )
    server.update_job(job.id, progress=90)
    for n, watch in enumerate(watches):
        changed = await next_within(watch, f"watch {n + 1} sees the change")
        assert changed.progress == 90
    for watch in watches:
        await watch.aclose()
