"""SSE throughput over a real loopback socket: asyncjobs' real client path next to other clients.

One stream of ``--events`` job events (default 100,000: ``--jobs`` 1,000 jobs, 100 versions
each, every event a full native job JSON of ~300 bytes; ``_data.make_jobs_stream``) is served
by a tiny aiohttp.web server in a child process, in 64 KiB writes, from bytes generated before
the server says it is ready. Each consumer reads it to the last event, each in a freshly spawned
process of its own (its wall and CPU time are its own; the clock starts once its session is
open), one after the other; the order alternates between rounds (reversed every other round)
and each round gets a fresh server. The figure is the median of the rounds.

- (a) bare: aiohttp ``resp.content.iter_any()``, split on blank lines, ``json.loads`` each
  ``data:`` (dicts);
- (b) httpx-sse: ``httpx.AsyncClient`` + ``aconnect_sse`` + ``aiter_sse``, ``json.loads`` (dicts);
- (c) aiohttp-sse-client2: ``EventSource`` over an aiohttp session, ``json.loads`` (dicts);
- (d) asyncjobs' public ``SSEDecoder`` fed by ``iter_any()``, ``json.loads`` (dicts);
- (e) the bare loop + ``asyncjobs._converter.job_from_native`` on each payload (Job objects);
- (f) the real path: ``Client(url).watch_jobs(the 1,000 ids)`` (Job objects). The server speaks
  the native protocol for it: ``GET /jobs?ids=`` answers the snapshots, ``GET /events?ids=`` and
  ``POST /events`` serve the same events (snapshots first, then every change in version order,
  from ``Last-Event-ID`` on if one is sent), closing after the last job's terminal event.
  Twice: with orjson (the library uses it when importable) and without it (the default
  install: the child process runs with ``sys.modules["orjson"] = None`` set before anything is
  imported, so ``import orjson`` raises ImportError).

    python benchmarks/bench_stream.py [--events N] [--jobs J] [--rounds R] [--quick]
"""

from __future__ import annotations

import os
import sys

# A consumer spawned for "(f) without orjson" sees this variable (set by the parent just for
# its start) and blocks orjson before anything can import it.
_NO_ORJSON_ENV = "BENCH_STREAM_NO_ORJSON"
if os.environ.get(_NO_ORJSON_ENV) == "1":
    sys.modules["orjson"] = None  # type: ignore[assignment]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import gc  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Awaitable, Callable  # noqa: E402
from multiprocessing.connection import Connection  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from _data import CHUNK_SIZE, DEFAULT_EVENTS, DEFAULT_STREAM_JOBS, make_jobs_stream  # noqa: E402
from aiohttp import web  # noqa: E402

from asyncjobs import Client  # noqa: E402
from asyncjobs.sse import SSEDecoder  # noqa: E402

API = "/api/v1"
READ_TIMEOUT = 60.0

# --- the server (child process, a fresh one per round) -------------------------------------------


def _serve(jobs: int, events: int, conn: Connection) -> None:
    data, offsets, snapshots = make_jobs_stream(jobs, events)
    by_id = {snapshot["id"]: snapshot for snapshot in snapshots}
    all_ids = set(by_id)
    log: list[str] = []

    async def write_stream(request: web.Request, start: int) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        view = memoryview(data)
        for at in range(start, len(data), CHUNK_SIZE):
            await response.write(view[at : at + CHUNK_SIZE])
        await response.write_eof()
        return response

    async def plain(request: web.Request) -> web.StreamResponse:
        return await write_stream(request, 0)

    async def multiplexed(request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            ids = (await request.json())["ids"]
        else:
            ids = request.query["ids"].split(",")
        last = request.headers.get("Last-Event-ID")
        log.append(f"{request.method} {request.path} ids={len(ids)} Last-Event-ID={last}")
        if set(ids) != all_ids:
            # The stream holds every job's events; a subset would be a different benchmark.
            raise web.HTTPBadRequest(text=f"expected the {jobs} ids of the stream")
        start = 0 if last is None else offsets[min(int(last), len(offsets) - 1)]
        return await write_stream(request, start)

    async def get_many(request: web.Request) -> web.Response:
        ids = request.query["ids"].split(",")
        log.append(f"GET {request.path} ids={len(ids)}")
        found = [by_id[job_id] for job_id in ids if job_id in by_id]
        missing = [job_id for job_id in ids if job_id not in by_id]
        return web.json_response({"jobs": found, "not_found": missing})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/stream", plain)
        app.router.add_get(f"{API}/events", multiplexed)
        app.router.add_post(f"{API}/events", multiplexed)
        app.router.add_get(f"{API}/jobs", get_many)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        conn.send((f"http://{host}:{port}", len(data), sorted(all_ids)))
        # Serve until the parent says stop (or goes away), then say what the real path asked.
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        conn.send(log)
        await runner.cleanup()

    with contextlib.suppress(EOFError, BrokenPipeError):
        asyncio.run(main())


# --- the consumers (each in a child process of its own) ------------------------------------------

Consumer = Callable[[str, list[str], int, Callable[[], None]], Awaitable[int]]
"""(origin, ids, events, start_clock) -> the number of events (or jobs) read."""


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_read=READ_TIMEOUT))


async def bare(origin: str, ids: list[str], events: int, start: Callable[[], None]) -> int:
    loads = json.loads
    count = 0
    async with _session() as session:
        start()
        async with session.get(f"{origin}/stream") as response:
            rest = b""
            async for chunk in response.content.iter_any():
                blocks = (rest + chunk).split(b"\n\n")
                rest = blocks.pop()
                for block in blocks:
                    loads(block[block.find(b"data:") + 5 :])
                    count += 1
    return count


async def bare_jobs(origin: str, ids: list[str], events: int, start: Callable[[], None]) -> int:
    from asyncjobs._converter import job_from_native

    loads = json.loads
    count = 0
    async with _session() as session:
        start()
        async with session.get(f"{origin}/stream") as response:
            rest = b""
            async for chunk in response.content.iter_any():
                blocks = (rest + chunk).split(b"\n\n")
                rest = blocks.pop()
                for block in blocks:
                    job_from_native(loads(block[block.find(b"data:") + 5 :]))
                    count += 1
    return count


async def httpx_sse_client(
    origin: str, ids: list[str], events: int, start: Callable[[], None]
) -> int:
    import httpx
    from httpx_sse import aconnect_sse

    loads = json.loads
    count = 0
    async with httpx.AsyncClient(timeout=httpx.Timeout(READ_TIMEOUT)) as client:
        start()
        async with aconnect_sse(client, "GET", f"{origin}/stream") as source:
            async for event in source.aiter_sse():
                loads(event.data)
                count += 1
    return count


async def aiohttp_sse_client2(
    origin: str, ids: list[str], events: int, start: Callable[[], None]
) -> int:
    from aiohttp_sse_client2.client import EventSource  # type: ignore[import-untyped]

    loads = json.loads
    count = 0
    async with _session() as session:
        start()
        async with EventSource(f"{origin}/stream", session=session) as source:
            # EventSource reconnects when the stream ends, so stop at the last event.
            async for event in source:
                loads(event.data)
                count += 1
                if count == events:
                    break
    return count


async def decoder_dicts(origin: str, ids: list[str], events: int, start: Callable[[], None]) -> int:
    loads = json.loads
    count = 0
    decoder = SSEDecoder()
    feed = decoder.feed
    async with _session() as session:
        start()
        async with session.get(f"{origin}/stream") as response:
            async for chunk in response.content.iter_any():
                for event in feed(chunk):
                    loads(event.data)
                    count += 1
    return count


async def real_path(origin: str, ids: list[str], events: int, start: Callable[[], None]) -> int:
    count = 0
    async with Client(origin + API) as client:
        start()
        async for _job in client.watch_jobs(ids, timeout=READ_TIMEOUT):
            count += 1
    return count


WITH_ORJSON = "(f) watch_jobs, orjson -> Job"
NO_ORJSON = "(f) watch_jobs, no orjson -> Job"
CONSUMERS: dict[str, tuple[Consumer, str]] = {
    "(a) bare split + json.loads -> dict": (bare, ""),
    "(b) httpx-sse + json.loads -> dict": (httpx_sse_client, "httpx_sse"),
    "(c) aiohttp-sse-client2 -> dict": (aiohttp_sse_client2, "aiohttp_sse_client2"),
    "(d) SSEDecoder + json.loads -> dict": (decoder_dicts, ""),
    "(e) bare + job_from_native -> Job": (bare_jobs, ""),
    WITH_ORJSON: (real_path, "orjson"),
    NO_ORJSON: (real_path, ""),
}
BARE = "(a) bare split + json.loads -> dict"
HTTPX = "(b) httpx-sse + json.loads -> dict"
DECODER = "(d) SSEDecoder + json.loads -> dict"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _consume(name: str, origin: str, ids: list[str], events: int, conn: Connection) -> None:
    run = CONSUMERS[name][0]
    clock: dict[str, float] = {}

    def start() -> None:
        clock["wall"] = time.perf_counter()
        clock["cpu"] = _cpu()

    gc.collect()
    count = asyncio.run(run(origin, ids, events, start))
    wall = time.perf_counter() - clock["wall"]
    cpu = _cpu() - clock["cpu"]
    orjson_module = sys.modules.get("orjson")
    conn.send({"count": count, "wall": wall, "cpu": cpu, "orjson": orjson_module is not None})


# --- the run ------------------------------------------------------------------------------------


def _run_consumer(ctx: Any, name: str, origin: str, ids: list[str], events: int) -> dict[str, Any]:
    parent, child = ctx.Pipe()
    if name == NO_ORJSON:
        os.environ[_NO_ORJSON_ENV] = "1"
    try:
        process = ctx.Process(target=_consume, args=(name, origin, ids, events, child), daemon=True)
        process.start()
    finally:
        os.environ.pop(_NO_ORJSON_ENV, None)
    child.close()
    try:
        result: dict[str, Any] = parent.recv()
    except EOFError:
        process.join()
        raise SystemExit(f"{name}: the consumer died (exit code {process.exitcode})") from None
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="events in the stream")
    parser.add_argument(
        "--jobs", type=int, default=DEFAULT_STREAM_JOBS, help="jobs the events belong to"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median counts")
    parser.add_argument(
        "--quick", action="store_true", help="a sanity run: 20,000 events of 200 jobs, 1 round"
    )
    args = parser.parse_args()
    if args.quick:
        args.events, args.jobs, args.rounds = 20_000, 200, 1
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    names = []
    for name, (_, module) in CONSUMERS.items():
        if module and importlib.util.find_spec(module) is None:
            print(f"note: {module} is not installed (pip install -e '.[bench]'); skipping {name}")
        else:
            names.append(name)

    ctx = multiprocessing.get_context("spawn")
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    logs: list[list[str]] = []
    size = 0
    for number in range(args.rounds):
        order = names if number % 2 == 0 else names[::-1]
        server_conn, child = ctx.Pipe()
        server = ctx.Process(target=_serve, args=(args.jobs, args.events, child), daemon=True)
        server.start()
        child.close()
        try:
            origin, size, ids = server_conn.recv()
            if number == 0:
                print(
                    f"{args.events:,} events of {args.jobs:,} jobs, ~{size / args.events:.0f} "
                    f"bytes each, in {CHUNK_SIZE:,}-byte writes; each consumer in its own process, "
                    f"a fresh server per round, order alternating; median of {args.rounds} "
                    f"rounds; Python {sys.version.split()[0]}, aiohttp {aiohttp.__version__}"
                )
            for name in order:
                result = _run_consumer(ctx, name, origin, ids, args.events)
                if result["count"] != args.events:
                    raise SystemExit(f"{name} read {result['count']} events of {args.events}")
                if name == NO_ORJSON and result["orjson"]:
                    raise SystemExit(f"{name}: orjson was imported after all")
                results[name].append(result)
            print(
                f"  round {number + 1}: "
                + ", ".join(
                    f"{name[:3]} {args.events / results[name][-1]['wall'] / 1000:.0f}k/s"
                    for name in order
                ),
                flush=True,
            )
            server_conn.send("stop")
            logs.append(server_conn.recv())
        finally:
            server.join(timeout=10)
            if server.is_alive():
                server.terminate()

    rates = {
        name: args.events / statistics.median(r["wall"] for r in runs)
        for name, runs in results.items()
    }
    cpu = {
        name: statistics.median(r["cpu"] for r in runs) / args.events
        for name, runs in results.items()
    }
    base = rates[BARE]
    print()
    print(f"{'consumer':<38}{'events/s':>10}{'vs bare':>9}{'wall us/ev':>11}{'CPU us/ev':>11}")
    for name in names:
        print(
            f"{name:<38}{rates[name]:>10,.0f}{rates[name] / base:>8.2f}x"
            f"{1e6 / rates[name]:>11.2f}{cpu[name] * 1e6:>11.2f}"
        )
    print()
    print("requests of the real path, last round:", "; ".join(logs[-1]) or "none")
    print()

    def verdict(ok: bool) -> str:
        return "ok" if ok else "BELOW"

    def check(label: str, ok: bool, detail: str) -> None:
        print(f"  {label:<58}{detail:<26}{verdict(ok)}")

    print("bars (DESIGN.md section 6; the default install has no orjson):")
    if NO_ORJSON in rates:
        f = rates[NO_ORJSON]
        check("(f) no orjson >= 0.6x bare", f >= 0.6 * base, f"{f / base:.2f}x")
        if HTTPX in rates:
            check(
                "(f) no orjson > (b) httpx-sse dicts", f > rates[HTTPX], f"{f / rates[HTTPX]:.2f}x"
            )
    if WITH_ORJSON in rates:
        f = rates[WITH_ORJSON]
        check("(f) with orjson >= 0.6x bare (for reference)", f >= 0.6 * base, f"{f / base:.2f}x")
        if HTTPX in rates:
            check(
                "(f) with orjson > (b) httpx-sse dicts (for reference)",
                f > rates[HTTPX],
                f"{f / rates[HTTPX]:.2f}x",
            )
    check(
        "(d) SSEDecoder dicts >= 0.9x bare",
        rates[DECODER] >= 0.9 * base,
        f"{rates[DECODER] / base:.2f}x",
    )


if __name__ == "__main__":
    main()
