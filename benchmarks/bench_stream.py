"""End-to-end SSE throughput over a real loopback HTTP connection.

A separate process runs an aiohttp.web server that answers ``GET /events`` with the benchmark
stream (``_data.make_stream``) as ``text/event-stream``, in 64 KiB writes. This process reads it
with each candidate, in interleaved rounds, and reports the median events per second:

- (a) bare: aiohttp ``resp.content.iter_any()``, split on blank lines, ``json.loads``;
- (b) httpx-sse: ``httpx.AsyncClient`` + ``aconnect_sse`` + ``aiter_sse``, ``json.loads``;
- (c) aiohttp-sse-client2: ``EventSource`` over an aiohttp session, ``json.loads``;
- (d) asyncjobs: ``SSEDecoder`` over ``iter_any()``, each event's JSON converted into a ``Job``;
- (e) asyncjobs, dicts only: the same, stopping at ``json.loads`` (for reference);
- (f) asyncjobs + orjson: (d) with ``orjson.loads``, when orjson is installed (the ``fast`` extra).

    python benchmarks/bench_stream.py [--events N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.util
import json
import multiprocessing
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from _data import CHUNK_SIZE, DEFAULT_EVENTS, chunked, make_stream
from aiohttp import web

from asyncjobs.sse import SSEDecoder

Candidate = Callable[[str, int], Awaitable[int]]


# --- the server (child process) -------------------------------------------------------------------


def _serve(events: int, conn: Connection) -> None:
    data = make_stream(events)
    chunks = list(chunked(data, CHUNK_SIZE))

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        for chunk in chunks:
            await response.write(chunk)
        await response.write_eof()
        return response

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/events", stream)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        conn.send((f"http://{host}:{port}/events", len(data)))
        # Serve until the parent says stop (or goes away).
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        await runner.cleanup()

    with contextlib.suppress(EOFError):
        asyncio.run(main())


# --- the candidates -------------------------------------------------------------------------------


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_read=30))


async def bare(url: str, events: int) -> int:
    loads = json.loads
    count = 0
    async with _session() as session, session.get(url) as response:
        rest = b""
        async for chunk in response.content.iter_any():
            blocks = (rest + chunk).split(b"\n\n")
            rest = blocks.pop()
            for block in blocks:
                loads(block[block.find(b"data:") + 5 :])
                count += 1
    return count


async def httpx_sse_client(url: str, events: int) -> int:
    import httpx
    from httpx_sse import aconnect_sse

    loads = json.loads
    count = 0
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as client,
        aconnect_sse(client, "GET", url) as source,
    ):
        async for event in source.aiter_sse():
            loads(event.data)
            count += 1
    return count


async def aiohttp_sse_client2(url: str, events: int) -> int:
    from aiohttp_sse_client2.client import EventSource  # type: ignore[import-untyped]

    loads = json.loads
    count = 0
    async with _session() as session, EventSource(url, session=session) as source:
        # EventSource reconnects when the stream ends, so stop at the last event.
        async for event in source:
            loads(event.data)
            count += 1
            if count == events:
                break
    return count


def _asyncjobs(convert: Callable[[Any], Any], loads: Callable[[str], Any]) -> Candidate:
    async def run(url: str, events: int) -> int:
        count = 0
        decoder = SSEDecoder()
        feed = decoder.feed
        async with _session() as session, session.get(url) as response:
            async for chunk in response.content.iter_any():
                for event in feed(chunk):
                    convert(loads(event.data))
                    count += 1
        decoder.close()
        return count

    return run


def _identity(value: Any) -> Any:
    return value


# --- the harness ----------------------------------------------------------------------------------


async def measure(
    candidates: dict[str, Candidate], url: str, events: int, rounds: int
) -> dict[str, float]:
    """Return each candidate's median events per second over ``rounds`` interleaved rounds."""
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, run in candidates.items():
            gc.collect()
            start = time.perf_counter()
            count = await run(url, events)
            times[name].append(time.perf_counter() - start)
            if count != events:
                raise SystemExit(f"{name} received {count} events, expected {events}")
    return {name: events / statistics.median(spent) for name, spent in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="events in the stream")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs; the median counts")
    args = parser.parse_args()

    ours = "(d) asyncjobs SSEDecoder -> Job"
    to_job: Callable[[Any], Any]
    try:
        from asyncjobs._converter import job_from_native as to_job
    except ImportError as exc:
        print(f"note: asyncjobs._converter.job_from_native is not available ({exc});")
        print("      (d) and (f) convert to dicts only, which flatters them")
        ours = "(d) asyncjobs SSEDecoder -> dict (no Job!)"
        to_job = _identity

    candidates: dict[str, Candidate] = {"(a) bare aiohttp split + json.loads": bare}
    for module, name, candidate in [
        ("httpx_sse", "(b) httpx-sse + json.loads", httpx_sse_client),
        ("aiohttp_sse_client2", "(c) aiohttp-sse-client2 + json.loads", aiohttp_sse_client2),
    ]:
        if importlib.util.find_spec(module) is None:
            print(f"note: {module} is not installed (pip install -e '.[bench]'); skipping it")
        else:
            candidates[name] = candidate
    candidates[ours] = _asyncjobs(to_job, json.loads)
    candidates["(e) asyncjobs SSEDecoder -> dict"] = _asyncjobs(_identity, json.loads)
    if importlib.util.find_spec("orjson") is not None:
        import orjson

        made = "Job" if to_job is not _identity else "dict"
        candidates[f"(f) asyncjobs + orjson -> {made}"] = _asyncjobs(to_job, orjson.loads)

    context = multiprocessing.get_context("spawn")
    parent_conn, child_conn = context.Pipe()
    server = context.Process(target=_serve, args=(args.events, child_conn), daemon=True)
    server.start()
    try:
        url, size = parent_conn.recv()
        print(
            f"{args.events:,} events of ~{size / args.events:.0f} bytes from {url} "
            f"in {CHUNK_SIZE:,}-byte writes, median of {args.rounds} rounds, "
            f"Python {sys.version.split()[0]}, aiohttp {aiohttp.__version__}"
        )
        rates = asyncio.run(measure(candidates, url, args.events, args.rounds))
    finally:
        parent_conn.send("stop")
        server.join(timeout=5)
        if server.is_alive():
            server.terminate()

    base = rates[ours]
    print()
    print(f"{'candidate':<44} {'events/s':>10} {'us/event':>9} {'(d) is':>8}")
    for name, rate in rates.items():
        print(f"{name:<44} {rate:>10,.0f} {1e6 / rate:>9.2f} {base / rate:>7.2f}x")
    print()
    checks = [
        ("(a) bare aiohttp split + json.loads", 0.6),
        ("(b) httpx-sse + json.loads", 1.0),
        ("(c) aiohttp-sse-client2 + json.loads", 1.0),
    ]
    for name, target in checks:
        if name in rates:
            ratio = base / rates[name]
            verdict = "ok" if ratio >= target else "BELOW TARGET"
            relation = f">= {target}x" if target != 1.0 else "faster than"
            print(f"target: (d) {relation} {name}: {ratio:.2f}x {verdict}")


if __name__ == "__main__":
    main()
