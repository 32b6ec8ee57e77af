"""Chaos scenarios shared by the in-process tests and the subprocess runs.

Each scenario builds its own JobServer, FaultProxy and Client, raises ``AssertionError`` naming
what went wrong, and leaves nothing behind. The tests call them in-process (aiohttp's C parser)
and, through ``run_script``, in a fresh interpreter with ``AIOHTTP_NO_EXTENSIONS=1`` (its
pure-Python parser).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
from collections.abc import Iterator
from typing import Any

from _live_helpers import (
    assert_no_new_tasks,
    bounded,
    client_tasks,
    next_within,
    wait_until,
    within,
)

from asyncjobs import Client, Job, JobStatus
from asyncjobs._tuning import TUNING
from asyncjobs.testing import FaultProxy, JobServer

FAST = {
    "stall_floor": 0.5,
    "reconnect_base": 0.02,
    "reconnect_cap": 0.2,
    "failure_budget": 10.0,
    "poll_start": 0.02,
    "poll_cap": 0.1,
    "reopen_interval": 0.01,
}
"""Short stall limits, backoffs and polling intervals (as ``shorten_timings``)."""


def check_parser(*, pure_python: bool) -> None:
    """aiohttp really uses the parser asked for (its C one, else its pure-Python one)."""
    from aiohttp import http_parser

    is_pure = http_parser.HttpResponseParser is http_parser.HttpResponseParserPy
    assert is_pure == pure_python, f"expected the pure-Python parser: {pure_python}, got {is_pure}"


@contextlib.contextmanager
def tuned(**knobs: Any) -> Iterator[None]:
    """Set ``TUNING`` knobs for the block (without monkeypatch, so subprocesses can too)."""
    saved = {name: getattr(TUNING, name) for name in knobs}
    for name, value in knobs.items():
        setattr(TUNING, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(TUNING, name, value)


def assert_no_loop_errors(errors: list[dict[str, Any]]) -> None:
    """No task died with an exception nobody retrieved (nor any other loop error)."""
    gc.collect()
    if errors:
        lines = [f"{ctx.get('message')}: {ctx.get('exception')!r}" for ctx in errors]
        raise AssertionError("the event loop reported errors:\n" + "\n".join(lines))


async def assert_all_closed(server: JobServer, proxy: FaultProxy) -> None:
    """Once the client is closed, no socket is left open on the proxy or the server."""
    await wait_until(
        lambda: proxy.open_connections == 0 and server.open_connections == 0,
        message=lambda: (
            f"sockets left after the client closed: proxy {proxy.open_connections}, "
            f"server {server.open_connections}"
        ),
    )


# -- regressions that hold today ---------------------------------------------------------------


async def watch_through_resets(*, updates: int = 200, every: float = 0.5) -> None:
    """A watch of ``updates`` changes, its stream reset every ``every`` seconds: strictly
    increasing versions, none repeated, the right final state."""
    with tuned(**FAST):
        async with (
            JobServer(heartbeat=0.25, retry_ms=20) as server,
            FaultProxy(server.host, server.port) as proxy,
        ):
            async with Client(proxy.url_for(server.url)) as client:
                job = server.create_job(name="watched")
                before = client_tasks()
                seen: list[Job] = []

                async def drive() -> None:
                    # The job's own pace: `updates` changes over ~3 s, so that several resets
                    # land in the middle of it.
                    await wait_until(lambda: server.open_streams >= 1, message="no stream")
                    for i in range(1, updates):
                        server.update_job(job.id, status="running", progress=i * 100 / updates)
                        await asyncio.sleep(3.0 / updates)
                    server.update_job(job.id, status="completed", progress=100, result={"n": 1})

                async def resets() -> None:
                    while True:
                        await asyncio.sleep(every)  # the fault's own pace
                        proxy.reset_open(on_request="/events")

                driver = asyncio.create_task(drive())
                cutter = asyncio.create_task(resets())
                try:
                    async with within(20, "the watch through resets did not end"):
                        async for update in client.watch(job.id):
                            seen.append(update)
                    await bounded(driver, "the driver did not end")
                finally:
                    cutter.cancel()
                    driver.cancel()
                    await asyncio.gather(cutter, driver, return_exceptions=True)
                versions = [update.version or 0 for update in seen]
                assert all(a < b for a, b in itertools.pairwise(versions)), (
                    f"versions not strictly increasing: {versions}"
                )
                final = seen[-1]
                assert final.status is JobStatus.COMPLETED and final.result == {"n": 1}, final
                stored = server.store.get(job.id)
                assert stored is not None and final.version == stored.job.version, stored
                assert proxy.applied["reset"] >= 4, f"only {proxy.applied['reset']} resets landed"
                await assert_no_new_tasks(before)
            await assert_all_closed(server, proxy)


async def waits_through_chaos(*, count: int = 2000, seed: int = 12) -> None:
    """``count`` concurrent waits through random resets, stalls and truncation: every result
    arrives, and no task or socket is left after the client closes."""
    with tuned(**FAST):
        async with (
            JobServer(heartbeat=0.25, retry_ms=20) as server,
            FaultProxy(server.host, server.port) as proxy,
        ):
            jobs = [server.create_job(name=f"j{i}") for i in range(count)]
            before = client_tasks()
            proxy.chaos(
                reset_rate=0.1,
                truncate_rate=0.05,
                stall_rate=0.05,
                stall_seconds=1.0,
                window=32_768,
                seed=seed,
            )
            async with Client(proxy.url_for(server.url)) as client:

                async def drive() -> None:
                    # The jobs end over ~2 s, while the faults go on.
                    await asyncio.sleep(0.3)
                    for start in range(0, count, 100):
                        for job in jobs[start : start + 100]:
                            server.update_job(job.id, status="running", progress=50)
                        await asyncio.sleep(0.05)
                        for job in jobs[start : start + 100]:
                            server.update_job(job.id, status="completed", result=job.name)

                driver = asyncio.create_task(drive())
                try:
                    results = await bounded(
                        asyncio.gather(*(client.wait_for_job(job.id, timeout=30) for job in jobs)),
                        f"{count} waits through chaos did not all end",
                        timeout=30,
                    )
                finally:
                    driver.cancel()
                    await asyncio.gather(driver, return_exceptions=True)
                wrong = [
                    (job.id, got.status, got.result)
                    for job, got in zip(jobs, results, strict=True)
                    if got.id != job.id
                    or got.status is not JobStatus.COMPLETED
                    or got.result != job.name
                ]
                assert not wrong, f"{len(wrong)} wrong results, e.g. {wrong[:3]}"
                assert proxy.faults_applied >= 3, f"only {dict(proxy.applied)} faults landed"
                await assert_no_new_tasks(before)
            await assert_no_new_tasks(before)
            await assert_all_closed(server, proxy)


async def dropped_submit() -> None:
    """A submit whose answer is lost (the server made the job), and one cut while being sent
    (the server never saw it), each make exactly one job."""
    with tuned(**FAST):
        async with (
            JobServer(heartbeat=0.25) as server,
            FaultProxy(server.host, server.port) as proxy,
        ):
            async with Client(proxy.url_for(server.url)) as client:
                answer_lost = proxy.reset(on_request="POST /api/v1/jobs ")
                job = await bounded(client.submit_job("lost-answer"), "the submit did not end")
                assert answer_lost.applied == 1, answer_lost
                request_cut = proxy.reset(direction="up", after_bytes=20)
                other = await bounded(client.submit_job("cut-request"), "the submit did not end")
                assert request_cut.applied == 1, request_cut
            stored = [snapshot.job for snapshot in server.store.snapshots()]
            assert sorted(j.name or "" for j in stored) == ["cut-request", "lost-answer"], stored
            assert {job.id, other.id} == {j.id for j in stored}
            await assert_all_closed(server, proxy)


# -- issue 12, case 2: malformed chunked framing ---------------------------------------------


async def malformed_framing(*, at_connect: bool) -> None:
    """Malformed chunked framing on a stream (a chunk-size line starting with ``Z``, right
    after a job event): ``watch()`` resumes and ends with the final state, and
    ``wait_for_jobs`` does not hang.

    Args:
        at_connect: Break the framing after the stream's first event, which arrives in the
            same read as the answer's head (aiohttp's C parser then fails the response's
            start); else after a later event, mid-stream.
    """
    bad_framing = (b"}\n\n\r\n", b"}\n\n\r\nZ")
    where = "at connect" if at_connect else "mid-stream"
    async with (
        JobServer(heartbeat=0.25, retry_ms=20) as server,
        FaultProxy(server.host, server.port) as proxy,
    ):
        async with Client(proxy.url_for(server.url)) as client:
            job = server.create_job(name="framed")
            if at_connect:
                fault = proxy.replace(*bad_framing, on_request="/events")
            updates = client.watch(job.id, timeout=20)
            try:
                first = await next_within(updates, f"the watch's first state ({where})")
                assert first.status is JobStatus.PENDING
                if not at_connect:
                    fault = proxy.replace(*bad_framing, on_request="/events")
                server.update_job(job.id, status="running", progress=50)
                await wait_until(lambda: fault.applied == 1, message="the framing was not broken")
                server.update_job(job.id, status="completed", result="ok")
                seen = [first]
                async with within(
                    10, f"watch() did not resume after malformed chunked framing ({where})"
                ):
                    seen.extend([update async for update in updates])
            finally:
                await updates.aclose()
            assert seen[-1].status is JobStatus.COMPLETED and seen[-1].result == "ok", seen[-1]

            ids = [server.create_job(name=f"m{i}").id for i in range(3)]
            if at_connect:
                fault = proxy.replace(*bad_framing, on_request="/events")
            sent = server.events_sent
            waiting = asyncio.ensure_future(client.wait_for_jobs(ids, timeout=20))
            try:
                if not at_connect:
                    await wait_until(
                        lambda: server.events_sent >= sent + 3 or waiting.done(),
                        message="the multiplexed stream did not send its snapshots",
                    )
                    fault = proxy.replace(*bad_framing, on_request="/events")
                    server.update_job(ids[0], status="running")
                await wait_until(
                    lambda: fault.applied == 1 or waiting.done(),
                    message="the framing of the multiplexed stream was not broken",
                )
                for job_id in ids:
                    server.update_job(job_id, status="completed", result=job_id)
                done = await bounded(
                    asyncio.shield(waiting),
                    f"wait_for_jobs hung after malformed chunked framing ({where})",
                    timeout=10,
                )
            finally:
                waiting.cancel()
                await asyncio.gather(waiting, return_exceptions=True)
            assert [j.result for j in done] == ids
        await assert_all_closed(server, proxy)
