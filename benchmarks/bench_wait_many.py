"""Waiting on many jobs in one process: asyncjobs next to batched and per-job polling loops.

DESIGN.md section 6, "Waiting on 10,000 jobs in one process". Three processes:

- the reference server (``asyncjobs.testing.JobServer``) in a child process, driven over a pipe;
  for each client it creates N pending jobs, then, once the client has read all of them, changes
  each job three times (running, progress 50, completed) spread over ``--duration`` seconds
  (default 20: the workload DESIGN.md measured the batched-polling baseline on),
  stamping every change with its wall time (``message=repr(time.time())``);
- each client in a child process of its own (spawned fresh), so that its CPU time and peak RSS
  are its own and nothing else's:

  - (a) asyncjobs waiting: ``Client.as_completed(ids)``, each job's final state as it ends
    (the bars are on this one: it is what waiting is);
  - (a') asyncjobs watching: ``Client.watch_jobs(ids)``, one update per change of any job
    (``--clients watch``; reported beside, for what every version costs);
  - (b) polling: one task per job doing ``GET /jobs/{id}`` every second on a plain aiohttp
    session (connection limit 100) until the job is finished;
  - (c) batched polling, the baseline a careful user writes: the ids in batches of 100, one
    ``GET /jobs?ids=`` per batch every second (the batches' requests spread over the second),
    on a plain keep-alive aiohttp session, finished jobs dropped from their batch.

Each client runs against a fresh server (started, its jobs created, listening, before the client
process starts its clock); the clients run in turn, their order alternating between rounds.

For each client: the TCP connections the server accepted and the requests it received, the client
process's CPU time (user + system) from the start of the wait to the last final state, its peak
RSS over its baseline (taken after imports, before the wait), the wall time, and the delay from
each change on the server to the client seeing it (``time.time() - stamp``; median, p99, max).

    python benchmarks/bench_wait_many.py [--jobs N] [--duration S] [--rounds R] [--quick]
        [--clients asyncjobs,watch,batched,polling] [--profile] [--orjson] [--json]

At ``--jobs 100000`` the per-job polling client is left out unless ``--clients`` names it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import json
import math
import multiprocessing
import os
import pstats
import random
import resource
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The default install has no orjson (the ``fast`` extra): the clients use json.loads unless
# --orjson is given. The spawned children inherit the choice through the environment.
_ORJSON_ENV = "BENCH_WAIT_MANY_ORJSON"
if os.environ.get(_ORJSON_ENV) != "1":
    sys.modules["orjson"] = None  # type: ignore[assignment]

import aiohttp  # noqa: E402

from asyncjobs import Client  # noqa: E402

DEFAULT_JOBS = 10_000
# DESIGN.md measured its batched-polling baseline on 10,000 jobs over 20 s (1.52 s CPU, 1,422
# requests): the bar against batched polling is on that workload. Both ways of waiting cost per
# change here, but batched polling also per second, so the ratio depends on the span (at 10 s,
# three changes a job within half the time, it is about 0.6x; see benchmarks/README.md).
DEFAULT_DURATION = 20.0
POLL_INTERVAL = 1.0
POLL_CONNECTIONS = 100
BATCH = 100  # ids per GET /jobs?ids= (the protocol's most)
BATCH_CONNECTIONS = 8  # a careful user's bound; spread requests need only one or two
BIG = 50_000  # from this many jobs on, per-job polling is left out by default
BIG_BODY_MB = 16  # the server's body limit from BIG jobs on (see --max-body)
WAIT_TIMEOUT = 120.0
TERMINAL = frozenset({"completed", "failed", "cancelled"})


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _stamp() -> str:
    return repr(time.time())


# --- the server (child process) -------------------------------------------------------------------


def _schedule(ids: list[str], duration: float, seed: int) -> list[tuple[float, int, int]]:
    """(seconds after go, job index, step) for three changes per job within ``duration``."""
    rng = random.Random(seed)
    plan = []
    for index in range(len(ids)):
        start = rng.uniform(0.0, duration * 0.5)
        middle = start + rng.uniform(0.0, duration * 0.25)
        end = middle + rng.uniform(0.0, duration * 0.25)
        plan += [(start, index, 0), (middle, index, 1), (end, index, 2)]
    plan.sort()
    return plan


def _serve(conn: Connection, max_body: int | None) -> None:
    # The server runs without the cyclic garbage collector: with 100,000 jobs and their
    # history its full collections pause it for up to half a second, which would show as the
    # client's delay. The client's own collections count: its process is left as it is.
    gc.disable()
    from asyncjobs.testing import JobServer

    options: dict[str, Any] = {} if max_body is None else {"max_body_size": max_body}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        async with JobServer(heartbeat=5.0, **options) as server:
            conn.send(server.url)
            ids: list[str] = []
            marks: dict[str, float] = {}
            while True:
                try:
                    command, arg = await loop.run_in_executor(None, conn.recv)
                except EOFError:
                    return
                if command == "create":
                    ids = [server.create_job(name=f"job-{i}").id for i in range(arg)]
                    marks = {
                        "connections": server.connections_opened,
                        "requests": len(server.requests),
                        "cpu": _cpu(),
                    }
                    conn.send(ids)
                elif command == "go":
                    duration, seed = arg
                    plan = _schedule(ids, duration, seed)
                    began = loop.time()
                    lag: list[float] = []
                    position = 0
                    while position < len(plan):
                        now = loop.time() - began
                        due = plan[position][0]
                        if due > now:
                            await asyncio.sleep(due - now)
                            continue
                        # Apply every change now due, then let the streams write.
                        while position < len(plan) and plan[position][0] <= now:
                            at, index, step = plan[position]
                            lag.append(now - at)
                            job_id = ids[index]
                            if step == 0:
                                server.update_job(
                                    job_id, status="running", progress=0, message=_stamp()
                                )
                            elif step == 1:
                                server.update_job(job_id, progress=50, message=_stamp())
                            else:
                                server.update_job(
                                    job_id,
                                    status="completed",
                                    progress=100,
                                    result={"ok": True},
                                    message=_stamp(),
                                )
                            position += 1
                        await asyncio.sleep(0)
                    conn.send({"applied_in": loop.time() - began, "schedule_lag_max": max(lag)})
                elif command == "stats":
                    conn.send(
                        {
                            "connections": server.connections_opened - marks["connections"],
                            "requests": len(server.requests) - marks["requests"],
                            "server_cpu": _cpu() - marks["cpu"],
                        }
                    )
                elif command == "stop":
                    return

    with contextlib.suppress(EOFError, KeyboardInterrupt):
        asyncio.run(main())


# --- the clients (a child process each) -----------------------------------------------------------


class _Tally:
    """What a client saw: change-to-client delays, and when every job's first state was read."""

    def __init__(self, jobs: int, conn: Connection) -> None:
        self.delays: list[float] = []
        self.updates = 0
        self._first_seen = 0
        self._jobs = jobs
        self._conn = conn
        self.ready_cpu = 0.0
        self.ready_wall = 0.0

    def first(self) -> None:
        self._first_seen += 1
        if self._first_seen == self._jobs:
            self.ready_cpu = _cpu()
            self.ready_wall = time.perf_counter()
            self._conn.send("ready")  # the server starts changing jobs

    def seen(self, message: str | None, now: float) -> None:
        if message:  # the first states carry no stamp
            self.updates += 1
            self.delays.append(now - float(message))


async def asyncjobs_client(url: str, ids: list[str], tally: _Tally) -> None:
    seen: set[str] = set()
    async with Client(url) as client:
        async for job in client.watch_jobs(ids, timeout=WAIT_TIMEOUT):
            now = time.time()
            if job.id not in seen:
                seen.add(job.id)
                tally.first()
            tally.seen(job.message, now)


async def completed_client(url: str, ids: list[str], tally: _Tally) -> None:
    """Waiting, as the API offers it: ``as_completed``, which yields final states only. Its
    first states are never yielded, so it is told ready once the hub has one for every job: a
    peek at the hub's entries (bench-only, a few checks over the first second), not an API."""
    async with Client(url) as client:

        async def tell_ready() -> None:
            entries = client._hub._entries
            # The hub sets no event for this: looked at every 20 ms until true.
            while len(entries) < len(ids) or any(e.state is None for e in entries.values()):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            for _ in ids:
                tally.first()

        ready = asyncio.create_task(tell_ready())
        try:
            async for job in client.as_completed(ids, timeout=WAIT_TIMEOUT):
                tally.seen(job.message, time.time())
        finally:
            ready.cancel()


async def polling_client(url: str, ids: list[str], tally: _Tally) -> None:
    connector = aiohttp.TCPConnector(limit=POLL_CONNECTIONS)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def poll(job_id: str) -> None:
            version = None
            while True:
                async with session.get(f"{url}/jobs/{job_id}") as response:
                    response.raise_for_status()
                    job = await response.json()
                now = time.time()
                if version is None:
                    tally.first()
                if job["version"] != version:
                    version = job["version"]
                    tally.seen(job["message"], now)
                if job["status"] in TERMINAL:
                    return
                await asyncio.sleep(POLL_INTERVAL)

        async with asyncio.timeout(WAIT_TIMEOUT):
            await asyncio.gather(*(poll(job_id) for job_id in ids))


async def batched_client(url: str, ids: list[str], tally: _Tally) -> None:
    connector = aiohttp.TCPConnector(limit=BATCH_CONNECTIONS)
    timeout = aiohttp.ClientTimeout(total=60)
    batches = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]
    loop = asyncio.get_running_loop()
    began = loop.time()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def poll(number: int, batch: list[str]) -> None:
            versions: dict[str, int | None] = dict.fromkeys(batch)
            tick = began + POLL_INTERVAL * number / len(batches)  # spread over the second
            while versions:
                delay = tick - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                tick += POLL_INTERVAL
                query = ",".join(versions)
                async with session.get(f"{url}/jobs", params={"ids": query}) as response:
                    response.raise_for_status()
                    body = await response.json()
                now = time.time()
                for job in body["jobs"]:
                    job_id = job["id"]
                    version = versions[job_id]
                    if version is None:
                        tally.first()
                    if job["version"] != version:
                        versions[job_id] = job["version"]
                        tally.seen(job["message"], now)
                    if job["status"] in TERMINAL:
                        del versions[job_id]
                if body["not_found"]:
                    raise RuntimeError(f"jobs not found: {body['not_found'][:5]}")

        async with asyncio.timeout(WAIT_TIMEOUT):
            await asyncio.gather(*(poll(n, batch) for n, batch in enumerate(batches)))


CLIENTS = {
    "asyncjobs": completed_client,
    "watch": asyncjobs_client,
    "batched": batched_client,
    "polling": polling_client,
}
LABELS = {
    "asyncjobs": "(a) as_completed",
    "watch": "(a') watch_jobs",
    "batched": "(c) batched 1s",
    "polling": "(b) polling 1s",
}


def _client_process(name: str, url: str, ids: list[str], profile: bool, conn: Connection) -> None:
    run = CLIENTS[name]
    tally = _Tally(len(ids), conn)
    profiler = cProfile.Profile() if profile else None
    rss0 = _maxrss_mb()
    cpu0 = _cpu()
    wall0 = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    asyncio.run(run(url, ids, tally))
    if profiler is not None:
        profiler.disable()
    wall = time.perf_counter() - wall0
    cpu = _cpu() - cpu0
    report: dict[str, Any] = {
        "cpu": cpu,
        "wall": wall,
        "ready_cpu": tally.ready_cpu - cpu0,
        "ready_wall": tally.ready_wall - wall0,
        "rss_base": rss0,
        "rss_peak": _maxrss_mb(),
        "delays": tally.delays,
        "updates": tally.updates,
    }
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
        report["profile"] = out.getvalue()
    conn.send(report)


# --- the run ------------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _start_server(ctx: Any, max_body: int | None) -> tuple[Any, Connection, str]:
    server, child = ctx.Pipe()
    process = ctx.Process(target=_serve, args=(child, max_body), daemon=True)
    process.start()
    child.close()
    return process, server, server.recv()


def measure(ctx: Any, name: str, args: argparse.Namespace) -> dict[str, Any]:
    """One client against a fresh server whose jobs exist before the client's clock starts."""
    server_process, server, url = _start_server(ctx, args.max_body)
    try:
        server.send(("create", args.jobs))
        ids = server.recv()
        parent, child = ctx.Pipe()
        process = ctx.Process(
            target=_client_process, args=(name, url, ids, args.profile, child), daemon=True
        )
        process.start()
        child.close()
        try:
            ready = parent.recv()
        except EOFError:
            ready = None
        if ready != "ready":
            process.join()
            raise RuntimeError(
                f"{name}: the client did not read the jobs (exit code {process.exitcode}; "
                f"its error is printed above)"
            )
        server.send(("go", (args.duration, args.seed)))
        try:
            report: dict[str, Any] = parent.recv()
        except EOFError:
            process.join()
            raise RuntimeError(f"{name}: the client died (exit code {process.exitcode})") from None
        process.join()
        report.update(server.recv())  # the schedule is applied before the client can finish
        server.send(("stats", None))
        report.update(server.recv())
        server.send(("stop", None))
    finally:
        server_process.join(timeout=10)
        if server_process.is_alive():
            server_process.terminate()
    return report


def _row(label: str, cells: list[str]) -> str:
    return f"{label:<34}" + "".join(f"{cell:>16}" for cell in cells)


def _polls_at_pace(jobs: int, duration: float, seed: int) -> int:
    """The GETs a per-job loop at a true POLL_INTERVAL pace makes on this schedule (at least):
    each job's first read, then one an interval until the first poll after it completed."""
    ends = [at for at, _, step in _schedule([""] * jobs, duration, seed) if step == 2]
    return sum(1 + math.ceil(end / POLL_INTERVAL) for end in ends)


def _median_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The round whose client CPU is the median (its figures are reported whole)."""
    return sorted(rounds, key=lambda r: r["cpu"])[len(rounds) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help="jobs to wait on")
    parser.add_argument(
        "--duration", type=float, default=DEFAULT_DURATION, help="seconds the changes span"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the change schedule")
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs of each client, in turn (median reported)"
    )
    parser.add_argument(
        "--clients",
        default=None,
        help="comma-separated, of asyncjobs,watch,batched,polling (default: all four; "
        f"from {BIG:,} jobs on, polling is left out)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a sanity run: 1,000 jobs over 3 s, 1 round"
    )
    parser.add_argument(
        "--max-body",
        type=float,
        default=None,
        help="the server's request body limit in MiB (default: the reference server's, 1 MiB, "
        f"raised to {BIG_BODY_MB} MiB from {BIG:,} jobs on)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="print each client's cProfile top 20 (slower)"
    )
    parser.add_argument(
        "--orjson", action="store_true", help="let asyncjobs use orjson (the fast extra)"
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    if args.quick:
        args.jobs, args.duration, args.rounds = 1_000, 3.0, 1
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.clients is None:
        names = [n for n in CLIENTS if not (n == "polling" and args.jobs >= BIG)]
    else:
        names = [n.strip() for n in args.clients.split(",") if n.strip()]
        unknown = set(names) - set(CLIENTS)
        if unknown or not names:
            parser.error(f"--clients: expected some of {', '.join(CLIENTS)}")
    if args.orjson:
        os.environ[_ORJSON_ENV] = "1"
        sys.modules.pop("orjson", None)
    body_note = ""
    if args.max_body is None and args.jobs >= BIG:
        args.max_body = BIG_BODY_MB
        body_note = (
            f"  note: the server's body limit is raised to {BIG_BODY_MB} MiB: at the reference "
            f"server's default (1 MiB) asyncjobs' one POST /events of all {args.jobs:,} ids is "
            f"refused with 413, and the client splits the ids across streams until it is taken "
            f"(--max-body 1 shows it: more connections)"
        )
    if args.max_body is not None:
        args.max_body = int(args.max_body * 1024 * 1024)

    ctx = multiprocessing.get_context("spawn")
    print(
        f"{args.jobs:,} jobs, 3 changes each over {args.duration:g} s; each client and its "
        f"fresh server in their own processes; {args.rounds} rounds, the clients in turn, order "
        f"alternating; python {sys.version.split()[0]}, aiohttp {aiohttp.__version__}, "
        f"asyncjobs JSON: {'orjson' if args.orjson else 'json'}"
    )
    if body_note:
        print(body_note)
    if "polling" not in names:
        print(
            f"  (b) per-job polling is left out"
            f"{f' at {args.jobs:,} jobs (one task per job)' if args.jobs >= BIG else ''}"
        )
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for number in range(1, args.rounds + 1):
        order = names if number % 2 == 1 else names[::-1]
        for name in order:
            started = time.perf_counter()
            result = measure(ctx, name, args)
            rounds[name].append(result)
            print(
                f"  round {number}, {LABELS[name]}: client CPU {result['cpu']:.2f} s, done in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )

    results = {name: _median_round(runs) for name, runs in rounds.items()}
    shown = list(results.values())
    for result in shown:
        delays = result["delays"]
        result["median_ms"] = statistics.median(delays) * 1000 if delays else float("nan")
        result["p99_ms"] = _percentile(delays, 0.99) * 1000
        result["max_ms"] = max(delays) * 1000 if delays else float("nan")
        result["rss_delta"] = result["rss_peak"] - result["rss_base"]

    def cells(fmt: str, key: str) -> list[str]:
        return [fmt.format(result[key]) for result in shown]

    print()
    print(_row("(the round of median client CPU)", [LABELS[name] for name in results]))
    print(_row("connections (server saw)", cells("{:,}", "connections")))
    print(_row("requests (server saw)", cells("{:,}", "requests")))
    print(
        _row(
            "  per job per second",
            [f"{r['requests'] / args.jobs / r['wall']:.2f}" for r in shown],
        )
    )
    print(_row("client CPU, s", cells("{:.2f}", "cpu")))
    print(_row("  per job, us", [f"{r['cpu'] / args.jobs * 1e6:.0f}" for r in shown]))
    print(_row("  of which reading first states", cells("{:.2f}", "ready_cpu")))
    print(_row("  after the first states", [f"{r['cpu'] - r['ready_cpu']:.2f}" for r in shown]))
    print(_row("client wall, s", cells("{:.2f}", "wall")))
    print(_row("  of which reading first states", cells("{:.2f}", "ready_wall")))
    print(_row("client peak RSS, MB", cells("{:.1f}", "rss_peak")))
    print(_row("client peak RSS over baseline, MB", cells("{:.1f}", "rss_delta")))
    due = {name: args.jobs if name == "asyncjobs" else 3 * args.jobs for name in results}
    print(
        _row(
            "changes seen (a: final states)",
            [f"{r['updates']:,}/{due[name]:,}" for name, r in results.items()],
        )
    )
    print(_row("change->client median, ms", cells("{:.1f}", "median_ms")))
    print(_row("change->client p99, ms", cells("{:.1f}", "p99_ms")))
    print(_row("change->client max, ms", cells("{:.1f}", "max_ms")))
    print(_row("server CPU, s", cells("{:.2f}", "server_cpu")))
    print(_row("server schedule applied in, s", cells("{:.2f}", "applied_in")))
    print()

    def verdict(ok: bool) -> str:
        return "ok" if ok else "BELOW TARGET"

    def median_of(name: str, key: str) -> float:
        return statistics.median(r[key] for r in rounds[name])

    def each_round(name: str, other: str, key: str) -> str:
        return ", ".join(
            f"{ra[key] / rb[key]:.2f}x" if rb[key] else "-"
            for ra, rb in zip(rounds[name], rounds[other], strict=True)
        )

    for runs in rounds.values():
        for r in runs:
            r["rss_delta"] = r["rss_peak"] - r["rss_base"]
    if "asyncjobs" not in results:
        return
    a = results["asyncjobs"]
    cpu_a = median_of("asyncjobs", "cpu")
    big = args.jobs >= BIG
    print(f"bars ({'100,000 waits on one connection' if big else 'DESIGN.md section 6'}):")
    print(
        f"  p99 change->client (a):   {a['p99_ms']:7.1f} ms  target < {100 if big else 50} ms"
        f"{'':8}{verdict(a['p99_ms'] < (100 if big else 50))}"
        f"{'' if big else '   (< 100 ms against per-job polling)'}"
    )
    limit = 1 if big else 5
    print(
        f"  connections (a):          {a['connections']:7d}     target <= {limit}"
        f"{'':14}{verdict(a['connections'] <= limit)}"
    )
    memory = 150 if big else 60
    print(
        f"  client memory growth (a): {a['rss_delta']:7.1f} MB  target < {memory} MB"
        f"{'':9}{verdict(a['rss_delta'] < memory)}   (peak RSS {a['rss_peak']:.1f} MB)"
    )
    print(f"  client CPU per job (a):   {cpu_a / args.jobs * 1e6:7.0f} us   (median of rounds)")
    if "batched" in results:
        c = results["batched"]
        cpu_c = median_of("batched", "cpu")
        mem_c = median_of("batched", "rss_delta")
        mem_a = median_of("asyncjobs", "rss_delta")
        print(
            f"  CPU (a)/(c) batched:      {cpu_a / cpu_c:7.2f}x    target <= 0.5x"
            f"{'':11}{verdict(cpu_a <= 0.5 * cpu_c)}   (medians; each round: "
            f"{each_round('asyncjobs', 'batched', 'cpu')})"
        )
        print(
            f"  memory growth (a)/(c):    {mem_a / mem_c:7.2f}x    target <= 1.5x"
            f"{'':11}{verdict(mem_a <= 1.5 * mem_c)}   (medians: {mem_a:.1f} / {mem_c:.1f} MB; "
            f"each round: {each_round('asyncjobs', 'batched', 'rss_delta')})"
        )
        print(
            f"  p99 (a) vs (c):           {a['p99_ms']:7.1f} / {c['p99_ms']:.1f} ms "
            f"({c['p99_ms'] / a['p99_ms']:.0f}x lower)"
        )
        pace = args.jobs / BATCH / POLL_INTERVAL
        made = c["requests"] / max(c["wall"], 1e-9)
        if made < 0.8 * pace:
            print(
                f"  note: (c) made {made:.0f} requests/s, short of its {pace:.0f}/s pace: "
                f"this machine cannot keep up, so its CPU (and the ratio) is a lower bound"
            )
    if "watch" in results:
        w = results["watch"]
        cpu_w = median_of("watch", "cpu")
        line = f"  (a') watch_jobs, every version: CPU {cpu_w / args.jobs * 1e6:.0f} us per job"
        if "batched" in results:
            line += (
                f", {cpu_w / median_of('batched', 'cpu'):.2f}x (c)'s, memory growth "
                f"{median_of('watch', 'rss_delta') / median_of('batched', 'rss_delta'):.2f}x"
            )
        print(f"{line}, p99 {w['p99_ms']:.1f} ms (for reference: the bars are on waiting)")
    if "polling" in results:
        b = results["polling"]
        cpu_b = median_of("polling", "cpu")
        ratio = cpu_b / cpu_a if cpu_a else float("inf")
        print(
            f"  CPU (b) polling/(a):      {ratio:7.1f}x    target >= 10x"
            f"{'':12}{verdict(ratio >= 10)}   (medians; each round: "
            f"{each_round('polling', 'asyncjobs', 'cpu')})"
        )
        late = (b["cpu"] - b["ready_cpu"]) / max(a["cpu"] - a["ready_cpu"], 1e-9)
        print(f"    (after the first states only: {late:.1f}x)")
        if b["requests"] < 0.8 * args.jobs * (b["wall"] - b["ready_wall"]) / POLL_INTERVAL:
            polls = _polls_at_pace(args.jobs, args.duration, args.seed)
            per_poll = statistics.median(r["cpu"] / r["requests"] for r in rounds["polling"])
            print(
                f"  note: (b) made {b['requests'] / args.jobs / b['wall']:.2f} requests per job "
                f"per second, short of 1 every {POLL_INTERVAL:g} s: this machine cannot keep up "
                f"with the polling loop, so its CPU figure (and the ratio) is a lower bound. At "
                f"a true {POLL_INTERVAL:g} s pace it would make at least {polls:,} requests on "
                f"this schedule; at the {per_poll * 1e6:.0f} us of CPU each cost here, that is "
                f"{per_poll * polls:.1f} s of CPU, {per_poll * polls / cpu_a:.1f}x (a)'s"
            )
    if args.profile:
        for name, result in results.items():
            print(f"\n--- cProfile, {LABELS[name]} client (tottime), the median round ---")
            print(result["profile"])
    if args.json:
        print(
            json.dumps(
                {
                    name: [
                        {k: v for k, v in r.items() if k not in ("delays", "profile")} for r in runs
                    ]
                    for name, runs in rounds.items()
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
