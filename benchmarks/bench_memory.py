"""Memory per followed job: what each of ``--jobs`` (default 100,000) jobs followed by one
``watch_jobs`` costs the client once every job's first state has arrived.

A tiny aiohttp.web server in a child process speaks the native protocol: ``POST /events`` (and
``GET /events?ids=``) sends each asked job's snapshot (a running job, every field set, ~300
bytes of JSON), then stays open with a ping every few seconds, so no job ends and the hub keeps
following all of them; ``GET /jobs?ids=`` answers the same snapshots (jobs the hub polls, or
reads when they join a stream). The client runs in this process with ``tracemalloc`` started
before the client is made; once the ``--jobs`` first states have come out of the watch (each
dropped by the consumer at once), the garbage is collected and the memory still allocated,
over the jobs, is the cost of one followed job: its last ``Job`` (with ``raw``, its datetimes
and strings), its hub entry and listener list, its place in the hub's, the stream's and the
watch's tables, and the streams' own state. The largest sources are listed by file and line,
and one Job is taken apart (``sys.getsizeof`` of each object it holds, shared ones too: the
key strings of a batched read's answer are shared by its jobs, the status by every job).

Run with and without orjson (``--no-orjson`` blocks it, as if it were not installed):

    python benchmarks/bench_memory.py [--jobs N] [--no-orjson]
"""

from __future__ import annotations

import sys

if "--no-orjson" in sys.argv:
    sys.modules["orjson"] = None  # type: ignore[assignment]

import argparse
import asyncio
import contextlib
import gc
import json
import multiprocessing
import os
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _data import job_state
from aiohttp import web

from asyncjobs import Client, Job, _json
from asyncjobs._tuning import TUNING

API = "/api/v1"


def _serve(jobs: int, conn: Connection) -> None:
    snapshots = {}
    for job in range(jobs):
        state = job_state(job, 1, 10, job + 1)  # running: started, progress, message
        snapshots[state["id"]] = json.dumps(state, separators=(",", ":")).encode()

    async def events(request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            ids = (await request.json())["ids"]
        else:
            ids = request.query["ids"].split(",")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        parts = []
        for job_id in ids:
            data = snapshots[job_id]
            version = json.loads(data)["version"]
            parts.append(b"id: %d\nevent: job\ndata: %s\n\n" % (version, data))
        await response.write(b"".join(parts))
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while True:
                await asyncio.sleep(2)
                await response.write(b": ping\n\n")
        return response

    async def get_many(request: web.Request) -> web.Response:
        ids = request.query["ids"].split(",")
        body = b'{"jobs":[' + b",".join(snapshots[i] for i in ids) + b'],"not_found":[]}'
        return web.Response(body=body, content_type="application/json")

    async def main() -> None:
        app = web.Application(handler_args={"handler_cancellation": True})
        app.router.add_get(f"{API}/events", events)
        app.router.add_post(f"{API}/events", events)
        app.router.add_get(f"{API}/jobs", get_many)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        conn.send((f"http://{host}:{port}", sorted(snapshots)))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        await runner.cleanup()

    with contextlib.suppress(EOFError, BrokenPipeError):
        asyncio.run(main())


def _rss() -> int:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _held(value: Any, seen: set[int]) -> Iterator[tuple[str, int]]:
    """(what, bytes) of ``value`` and of the containers and scalars it holds, each once."""
    if id(value) in seen or value is None or isinstance(value, bool):
        return
    seen.add(id(value))
    if isinstance(value, int) and -5 <= value <= 256:
        return  # a cached small int
    yield type(value).__name__, sys.getsizeof(value)
    if isinstance(value, dict):
        for key, item in value.items():
            for what, size in _held(key, seen):
                yield f"{what} (key)", size
            yield from _held(item, seen)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _held(item, seen)


def _take_apart(job: Job) -> None:
    seen: set[int] = set()
    totals: dict[str, int] = {}
    for name in job.__slots__:
        if name == "__weakref__":
            continue
        value = getattr(job, name)
        for what, size in _held(value, seen):
            key = "raw: " + what if name == "raw" else what
            totals[key] = totals.get(key, 0) + size
    totals["Job"] = sys.getsizeof(job)
    print(f"one Job ({sum(totals.values()):,} bytes, each object counted once):")
    for what, size in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"  {what:<24}{size:>7,}")


async def _follow(origin: str, ids: list[str]) -> Job:
    async with Client(origin + API) as client:
        tracemalloc.start(1)
        gc.collect()
        base, rss_base = tracemalloc.get_traced_memory()[0], _rss()
        before = tracemalloc.take_snapshot()
        tracked_before = Counter(type(o).__name__ for o in gc.get_objects())
        count = 0
        last: Job | None = None
        watch = client.watch_jobs(ids)
        async for job in watch:
            count += 1
            if count == len(ids):
                last = job
                break
            del job
        await asyncio.sleep(0.5)  # let joins and reconnects settle
        gc.collect()
        used, rss = tracemalloc.get_traced_memory()[0] - base, _rss() - rss_base
        after = tracemalloc.take_snapshot()
        hub = client._hub
        print(f"{hub!r}; JSON backend {_json.backend()}")
        print(
            f"{len(ids):,} jobs followed: {used / len(ids):,.0f} bytes each (tracemalloc, "
            f"{used / 1e6:.1f} MB), RSS +{rss / 1e6:.1f} MB ({rss / len(ids):,.0f} bytes each, "
            "with tracemalloc's own overhead)"
        )
        tracked = Counter(type(o).__name__ for o in gc.get_objects())
        tracked.subtract(tracked_before)
        print(
            f"objects the garbage collector tracks (what a full collection walks): "
            f"{tracked.total() / len(ids):.1f} a job ("
            + ", ".join(f"{name} {n / len(ids):.2f}" for name, n in tracked.most_common(6))
            + ")"
        )
        print("largest sources (bytes per job, by line):")
        for stat in after.compare_to(before, "lineno")[:12]:
            frame = stat.traceback[0]
            where = f"{Path(frame.filename).parent.name}/{Path(frame.filename).name}"
            print(f"  {stat.size_diff / len(ids):>8,.0f}  {where}:{frame.lineno}")
        tracemalloc.stop()
        assert last is not None
        current = hub.current(ids[0])  # a job of the first stream
        await watch.aclose()
        return current or last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs followed")
    parser.add_argument("--no-orjson", action="store_true", help="run as if orjson were absent")
    args = parser.parse_args()
    TUNING.coalesce_window = 0.0
    ctx = multiprocessing.get_context("spawn")
    conn, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(args.jobs, child), daemon=True)
    server.start()
    child.close()
    try:
        origin, ids = conn.recv()
        job = asyncio.run(_follow(origin, ids))
        _take_apart(job)
        conn.send("stop")
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()


if __name__ == "__main__":
    main()
