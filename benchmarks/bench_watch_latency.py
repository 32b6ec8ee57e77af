"""Change-to-client latency of one ``watch()``: SSE next to long poll and polling.

DESIGN.md section 6, "A change on the server reaches a watch() over SSE in under 5 ms at the
median on loopback". Two processes:

- the reference server (``asyncjobs.testing.JobServer``) in a child process, driven over a pipe
  (as in ``bench_wait_many.py``): for each transport it creates one pending job and, once the
  client has read its first state, applies ``--updates`` changes ``--interval`` seconds apart,
  each stamping its wall time into the job's ``message`` (``repr(time.time())``); the last one
  completes the job;
- the client (this process): ``Client(url).watch(job_id, transport=...)`` for ``"sse"``,
  ``"long-poll"`` and ``"poll"`` (adaptive interval), recording ``time.time() - stamp`` for each
  state it sees. Both processes read the same clock.

    python benchmarks/bench_watch_latency.py [--updates N] [--interval S]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from asyncjobs import Client

DEFAULT_UPDATES = 500
DEFAULT_INTERVAL = 0.010
WATCH_TIMEOUT = 60.0
TRANSPORTS = ("sse", "long-poll", "poll")
TARGET_MEDIAN_MS = 5.0


def _stamp() -> str:
    return repr(time.time())


# --- the server (child process) -------------------------------------------------------------------


def _serve(conn: Connection) -> None:
    from asyncjobs.testing import JobServer

    async def main() -> None:
        loop = asyncio.get_running_loop()
        async with JobServer(heartbeat=5.0) as server:
            conn.send(server.url)
            job_id = ""
            while True:
                try:
                    command, arg = await loop.run_in_executor(None, conn.recv)
                except EOFError:
                    return
                if command == "create":
                    job_id = server.create_job(name="latency").id
                    conn.send(job_id)
                elif command == "go":
                    updates, interval = arg
                    began = loop.time()
                    for index in range(updates):
                        # Keep to the schedule (not interval after the previous change).
                        delay = began + index * interval - loop.time()
                        if delay > 0:
                            await asyncio.sleep(delay)
                        if index == updates - 1:
                            server.update_job(
                                job_id,
                                status="completed",
                                progress=100,
                                result={"ok": True},
                                message=_stamp(),
                            )
                        else:
                            server.update_job(
                                job_id,
                                status="running",
                                progress=100 * index / updates,
                                message=_stamp(),
                            )
                    conn.send(loop.time() - began)
                elif command == "stop":
                    return

    with contextlib.suppress(EOFError, KeyboardInterrupt):
        asyncio.run(main())


# --- the client (this process) ----------------------------------------------------------------


async def measure(server: Connection, url: str, transport: str, args: argparse.Namespace) -> dict:
    server.send(("create", None))
    job_id = server.recv()
    delays: list[float] = []
    started = False
    async with Client(url) as client:
        async for job in client.watch(job_id, transport=transport, timeout=WATCH_TIMEOUT):
            now = time.time()
            if job.message:
                delays.append(now - float(job.message))
            if not started:  # the first state: the watch is under way, start changing the job
                started = True
                server.send(("go", (args.updates, args.interval)))
    applied_in = server.recv()
    return {"delays": delays, "applied_in": applied_in}


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=DEFAULT_UPDATES, help="changes per run")
    parser.add_argument(
        "--interval", type=float, default=DEFAULT_INTERVAL, help="seconds between changes"
    )
    args = parser.parse_args()
    if args.updates < 1:
        parser.error("--updates must be at least 1")

    ctx = multiprocessing.get_context("spawn")
    server, child = ctx.Pipe()
    server_process = ctx.Process(target=_serve, args=(child,), daemon=True)
    server_process.start()
    child.close()
    url = server.recv()
    print(
        f"{args.updates} changes {args.interval * 1000:g} ms apart per transport, server in its "
        f"own process; python {sys.version.split()[0]}, aiohttp {aiohttp.__version__}"
    )
    results: dict[str, dict[str, Any]] = {}
    try:
        for transport in TRANSPORTS:
            started = time.perf_counter()
            results[transport] = asyncio.run(measure(server, url, transport, args))
            print(f"  {transport}: done in {time.perf_counter() - started:.1f} s", flush=True)
        server.send(("stop", None))
    finally:
        server_process.join(timeout=10)
        if server_process.is_alive():
            server_process.terminate()

    print()
    header = f"{'transport':<12}{'seen':>12}{'median ms':>12}{'p90 ms':>10}{'p99 ms':>10}"
    print(header + f"{'max ms':>10}")
    for transport, result in results.items():
        ms = [d * 1000 for d in result["delays"]]
        median = statistics.median(ms) if ms else float("nan")
        result["median_ms"] = median
        print(
            f"{transport:<12}{f'{len(ms)}/{args.updates}':>12}{median:>12.2f}"
            f"{_percentile(ms, 0.90):>10.2f}{_percentile(ms, 0.99):>10.2f}"
            f"{(max(ms) if ms else float('nan')):>10.2f}"
        )
    print()
    sse = results["sse"]["median_ms"]
    verdict = "ok" if sse < TARGET_MEDIAN_MS else "BELOW TARGET"
    print(f"target: median < {TARGET_MEDIAN_MS:g} ms (sse): {sse:.2f} ms  {verdict}")


if __name__ == "__main__":
    main()
