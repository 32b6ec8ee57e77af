"""Batched delivery (``Hub.deliver_many``, ``asyncjobs/live/_hub.py``): a multiplexed stream
hands the hub what one read brought (in slices of ``TUNING.events_per_turn``) in one call, and
each listener receives its share at once, oldest first: woken once per slice, not per event.

A listener of many jobs is subscribed to the hub directly (beside a ``watch_jobs`` of the same
jobs, so each entry has two listeners) and every read of the stream is counted.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from _live_helpers import bounded, wait_until

from asyncjobs import Client, Job
from asyncjobs._transport import EventStream
from asyncjobs._tuning import TUNING
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


class Recorder:
    """A hub listener that records each call it gets: one list of jobs per call."""

    def __init__(self) -> None:
        self.calls: list[list[Job]] = []
        self.errors: list[tuple[str, BaseException]] = []

    def on_job(self, job: Job) -> None:
        self.calls.append([job])

    def on_jobs(self, jobs: list[Job]) -> None:
        self.calls.append(list(jobs))

    def on_error(self, job_id: str, error: BaseException) -> None:
        self.errors.append((job_id, error))

    def versions(self, job_id: str) -> list[int]:
        return [job.version or 0 for call in self.calls for job in call if job.id == job_id]


async def test_a_listener_of_many_jobs_is_woken_once_per_slice_of_a_read_losing_nothing(
    server: JobServer, client: Client, fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten jobs change three times each while the stream is held back, then all at once; the
    stream is restarted between two slices of that read. The listener is called at most once
    per slice of each read (so fewer times than it got states), gets each job's versions once
    and in order up to its last one (a resumed stream sends a job's current state, not every
    version it went through), and the watch_jobs of the same jobs sees the same."""
    turn = 4
    monkeypatch.setattr(TUNING, "events_per_turn", turn)
    slices: list[int] = []  # per read that brought events: its slices
    read = EventStream.read

    async def counting_read(self: EventStream) -> Any:
        events = await read(self)
        if events:
            slices.append(math.ceil(len(events) / turn))
        return events

    monkeypatch.setattr(EventStream, "read", counting_read)
    jobs = [server.create_job(status="running") for _ in range(10)]
    ids = [job.id for job in jobs]
    recorder = Recorder()
    seen: dict[str, list[int]] = {job_id: [] for job_id in ids}
    restarted = False

    async def follow() -> None:
        nonlocal restarted
        async for job in client.watch_jobs(ids, timeout=30):
            seen[job.id].append(job.version or 0)
            if job.progress is not None and job.progress >= 10 and not restarted:
                # The first state of the burst: restart the stream between two slices.
                restarted = True
                client._hub._streams[0]._restart()

    follower = asyncio.ensure_future(follow())
    await wait_until(
        lambda: all(seen[job_id] for job_id in ids), message="the first states never came"
    )
    client._hub.subscribe(ids, recorder)  # now a second listener of every entry
    assert all(len(client._hub._entries[job_id].listeners) == 2 for job_id in ids)
    first_calls = len(recorder.calls)  # the current states, given at subscription
    server.stall_streams()
    made: dict[str, list[int]] = {job_id: [] for job_id in ids}
    for job_id in ids:  # a job's states next to each other: several in one slice
        for progress in (10, 20, 30):
            made[job_id].append(server.update_job(job_id, progress=progress).version or 0)
    server.resume_streams()
    await wait_until(
        lambda: all(recorder.versions(job_id)[-1:] == made[job_id][-1:] for job_id in ids),
        message=lambda: f"the listener's versions: {[recorder.versions(i) for i in ids]}",
    )
    assert restarted
    for job_id in ids:
        versions = recorder.versions(job_id)
        assert versions == sorted(set(versions)), (job_id, versions)  # once each, in order
        assert versions[-1] == made[job_id][-1], (job_id, made[job_id], versions)
    burst_calls = len(recorder.calls) - first_calls
    states = sum(len(call) for call in recorder.calls[first_calls:])
    assert states >= len(ids)
    assert burst_calls <= sum(slices), (burst_calls, slices)
    assert burst_calls < states, "one call per state: the listener was not handed reads whole"
    assert not recorder.errors
    client._hub.unsubscribe(ids, recorder)
    for job_id in ids:
        server.update_job(job_id, status="completed")
    await bounded(follower, "the watch's end")
    for job_id in ids:
        assert seen[job_id] == sorted(set(seen[job_id])), (job_id, seen[job_id])
        assert made[job_id][-1] in seen[job_id], (job_id, made[job_id], seen[job_id])


async def test_a_listener_is_told_each_state_once_whichever_way_it_comes(
    server: JobServer, client: Client, fast: None
) -> None:
    """Delivered one by one (a read of a job that joined) or in a batch, a state already
    passed on is not passed on again, and a later state's older version is dropped."""
    job = server.create_job(status="running")
    recorder = Recorder()
    hub = client._hub
    hub.subscribe([job.id], recorder)
    await wait_until(lambda: recorder.calls, message="the first state never came")
    first = recorder.calls[0][0]
    newer = server.update_job(job.id, progress=40)
    await wait_until(
        lambda: recorder.versions(job.id)[-1:] == [newer.version],
        message=lambda: f"the update never came: {recorder.versions(job.id)}",
    )
    before = len(recorder.calls)
    assert hub.deliver_many([first, hub.current(job.id)]) == 0  # type: ignore[list-item]
    assert len(recorder.calls) == before
    hub.unsubscribe([job.id], recorder)
    assert hub.current(job.id) is None
