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

The clock starts once the connection is set up: the server applies its first timed change only
after the watch has yielded the job's first state (so connecting, and the first read, are not
timed). ``--rounds`` rounds (default 3), each with a fresh server, the transports in turn, their
order alternating between rounds; each figure reported is the median over the rounds of that
round's figure.

    python benchmarks/bench_watch_latency.py [--updates N] [--interval S] [--rounds R] [--quick]
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


def _round(ctx: Any, transports: tuple[str, ...], args: argparse.Namespace) -> dict[str, Any]:
    """One round: a fresh server, each transport in the given order."""
    server, child = ctx.Pipe()
    server_process = ctx.Process(target=_serve, args=(child,), daemon=True)
    server_process.start()
    child.close()
    results: dict[str, dict[str, Any]] = {}
    try:
        url = server.recv()
        for transport in transports:
            results[transport] = asyncio.run(measure(server, url, transport, args))
        server.send(("stop", None))
    finally:
        server_process.join(timeout=10)
        if server_process.is_alive():
            server_process.terminate()
    for result in results.values():
        ms = [d * 1000 for d in result["delays"]]
        result["seen"] = len(ms)
        result["median"] = statistics.median(ms) if ms else float("nan")
        result["p90"] = _percentile(ms, 0.90)
        result["p99"] = _percentile(ms, 0.99)
        result["max"] = max(ms) if ms else float("nan")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=DEFAULT_UPDATES, help="changes per run")
    parser.add_argument(
        "--interval", type=float, default=DEFAULT_INTERVAL, help="seconds between changes"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians of rounds shown")
    parser.add_argument("--quick", action="store_true", help="a sanity run: 100 changes, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.updates, args.rounds = 100, 1
    if args.updates < 1 or args.rounds < 1:
        parser.error("--updates and --rounds must be at least 1")

    ctx = multiprocessing.get_context("spawn")
    print(
        f"{args.updates} changes {args.interval * 1000:g} ms apart per transport, server in its "
        f"own process (a fresh one per round), the clock started once the watch has its first "
        f"state; {args.rounds} rounds, order alternating; python {sys.version.split()[0]}, "
        f"aiohttp {aiohttp.__version__}"
    )
    rounds: dict[str, list[dict[str, Any]]] = {transport: [] for transport in TRANSPORTS}
    for number in range(args.rounds):
        order = TRANSPORTS if number % 2 == 0 else TRANSPORTS[::-1]
        started = time.perf_counter()
        for transport, result in _round(ctx, order, args).items():
            rounds[transport].append(result)
        print(
            f"  round {number + 1} ({', '.join(order)}): sse median "
            f"{rounds['sse'][-1]['median']:.2f} ms, done in {time.perf_counter() - started:.1f} s",
            flush=True,
        )

    print()
    header = f"{'transport':<12}{'seen':>12}{'median ms':>12}{'p90 ms':>10}{'p99 ms':>10}"
    print(header + f"{'max ms':>10}   (each the median of {args.rounds} rounds)")
    medians: dict[str, dict[str, float]] = {}
    for transport, runs in rounds.items():
        m = {key: statistics.median(r[key] for r in runs) for key in KEYS}
        medians[transport] = m
        seen = f"{m['seen']:.0f}/{args.updates}"
        print(
            f"{transport:<12}{seen:>12}{m['median']:>12.2f}"
            f"{m['p90']:>10.2f}{m['p99']:>10.2f}{m['max']:>10.2f}"
        )
    print()
    sse = medians["sse"]["median"]
    each = ", ".join(f"{r['median']:.2f}" for r in rounds["sse"])
    verdict = "ok" if sse < TARGET_MEDIAN_MS else "BELOW TARGET"
    print(
        f"target: median < {TARGET_MEDIAN_MS:g} ms (sse): {sse:.2f} ms  {verdict}"
        f"   (each round: {each} ms)"
    )


KEYS = ("seen", "median", "p90", "p99", "max")


if __name__ == "__main__":
    main()
