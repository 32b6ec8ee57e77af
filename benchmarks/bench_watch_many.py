"""Many concurrent ``watch()`` iterators on one client, next to a trickle of submits.

DESIGN.md section 6: "10,000 concurrent watch() iterators on distinct jobs, started over time: at
most 8 connections, every version once, and a submit on the same client at most 2x slower (p99)
than without the watchers". What a web backend relaying job progress to its viewers does.

Three processes per run (a run for each of the modes below, in every round):

- the reference server (``asyncjobs.testing.JobServer``, heartbeat 5 s) in a child process,
  fresh for each run, driven over a pipe: it creates ``--jobs`` pending jobs before the clock
  starts, then changes each job three times (running 30 %, running 70 %, completed; each change
  stamped with its wall time in ``message``) about 1, 2 and 3 s after the moment its watch is
  due to start, recording every version it made and when; it samples its open TCP connections
  every 10 ms to report the peak;
- the client (one ``asyncjobs.Client``) in a child process of its own, so that its CPU time is
  its own. From the shared start time it submits jobs (``submit_job``) at ``--rate`` per second
  all along, each submit in a task of its own, timing each, and, depending on the run:

  - ``submits only``: nothing else (the baseline);
  - ``watch()``: starts ``client.watch(job_id)`` on job i at ``i * arrival / jobs`` seconds (the
    watches start over ``--arrival`` seconds, as a web backend's viewers arrive), each in a
    task of its own, recording every version it yields;
  - ``as_completed``: ``client.as_completed(all the ids)`` from the start (the same jobs, the
    same changes), for the CPU a many-job wait costs;
  - ``fan-out floor``: what the watch() run's usage costs without ``watch()``: one
    ``client.watch_jobs(all the ids)`` from the start and a hand-written fan-out to a task per
    job, started on the watch() run's schedule, that takes the state current when it starts,
    then awaits a fresh Future per update (the same bookkeeping as a watch's task).

  The arrival clock (a wake-up at each watch's start time) ticks in every run, starting tasks
  only in the watch() and floor runs, so that its own cost cancels out against the
  submits-only run instead of being charged to the watches (it costs about as much CPU as
  as_completed spends per update).

  Every run has a bounded deadline (the schedule's span plus ``--grace`` seconds): what has not
  ended by then is cancelled and reported as missed.

Each round runs every mode once, each on a fresh server, the modes' order rotated by one from
round to round (no mode always first or last). The table shows, per mode, the round whose client
CPU is the median of the mode's rounds, its figures whole: the connections the server accepted
and the peak open at once, SSE streams, requests, submit latency p50/p99, client CPU (and its
garbage collection), wall time, RSS growth, server CPU and schedule lag. For ``watch()``, in that
round, per job, the versions the server made after the watch was called against the versions the
watch yielded (duplicates, gaps after the first state, versions missed while the watch was
starting, versions older than due, watches with no state at all or that never saw their job
end), and the change-to-watch delay.

The bars are taken within each round, from that round's own runs, and the median of the rounds'
ratios is reported, each round's listed: the submit latency p99 with the watchers over without
(target <= 2x), also given pooled (the p99 of all rounds' submits of a mode together, steadier
than the p99 of one run's few hundred); the client's CPU per update (its CPU over the same
round's baseline, divided by the changes the server made) for ``watch()`` against
``as_completed`` (target <= 1.5x), and, not a bar, against the fan-out floor. The connections bar
(peak open at once, target <= 8) and every version once (none of the faults above) must hold
in every round: the worst round is reported.

    python benchmarks/bench_watch_many.py [--jobs N] [--arrival S] [--rate R] [--rounds R]
        [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import multiprocessing
import os
import random
import resource
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from asyncjobs import Client

DEFAULT_JOBS = 10_000
DEFAULT_ARRIVAL = 10.0
DEFAULT_RATE = 20.0
DEFAULT_GRACE = 20.0
CHANGES_AT = (1.0, 2.0, 3.0)  # seconds after a job's watch is due, each +- 0.2 s
CHANGES_SPREAD = 0.2
MODES = ("submits only", "watch()", "as_completed", "fan-out floor")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _span(arrival: float) -> float:
    """Seconds from the start to the last change of the schedule."""
    return arrival + CHANGES_AT[-1] + CHANGES_SPREAD


# --- the server (child process) -------------------------------------------------------------------


def _schedule(jobs: int, start: float, arrival: float, seed: int) -> list[tuple[float, int, int]]:
    """(wall time, job index, step) of every change, in time order."""
    rng = random.Random(seed)
    plan = []
    for index in range(jobs):
        due = start + index * arrival / jobs
        for step, after in enumerate(CHANGES_AT):
            plan.append((due + after + rng.uniform(-CHANGES_SPREAD, CHANGES_SPREAD), index, step))
    plan.sort()
    return plan


def _serve(conn: Connection) -> None:
    # The server runs without the cyclic garbage collector: its full collections (10,000 jobs
    # and their history) would pause it, and show as slow submits of the client's.
    gc.disable()
    from asyncjobs.testing import JobServer

    async def main() -> None:
        loop = asyncio.get_running_loop()
        async with JobServer(heartbeat=5.0) as server:
            conn.send(server.url)
            ids: list[str] = []
            made: list[list[tuple[int, float]]] = []
            marks: dict[str, float] = {}
            peak = {"connections": 0, "streams": 0}

            async def sample() -> None:
                while True:
                    peak["connections"] = max(peak["connections"], server.open_connections)
                    peak["streams"] = max(peak["streams"], server.open_streams)
                    await asyncio.sleep(0.01)

            sampler: asyncio.Task[None] | None = None
            while True:
                try:
                    command, arg = await loop.run_in_executor(None, conn.recv)
                except EOFError:
                    return
                if command == "create":
                    ids = []
                    made = []
                    for i in range(arg):
                        job = server.create_job(name=f"job-{i}")
                        ids.append(job.id)
                        made.append([(job.version, time.time())])
                    marks = {
                        "connections": server.connections_opened,
                        "requests": len(server.requests),
                        "streams": server.streams_opened,
                        "cpu": _cpu(),
                    }
                    sampler = asyncio.create_task(sample())
                    conn.send(ids)
                elif command == "go":
                    start, arrival, seed = arg
                    plan = _schedule(len(ids), start, arrival, seed)
                    lag = 0.0
                    position = 0
                    while position < len(plan):
                        wait = plan[position][0] - time.time()
                        if wait > 0:
                            await asyncio.sleep(wait)
                            continue
                        now = time.time()
                        while position < len(plan) and plan[position][0] <= now:
                            at, index, step = plan[position]
                            lag = max(lag, now - at)
                            job_id = ids[index]
                            stamp = repr(time.time())
                            if step == 0:
                                job = server.update_job(
                                    job_id, status="running", progress=30, message=stamp
                                )
                            elif step == 1:
                                job = server.update_job(job_id, progress=70, message=stamp)
                            else:
                                job = server.update_job(
                                    job_id,
                                    status="completed",
                                    progress=100,
                                    result={"ok": True},
                                    message=stamp,
                                )
                            made[index].append((job.version, time.time()))
                            position += 1
                        await asyncio.sleep(0)
                    conn.send({"schedule_lag_max": lag, "changes": len(plan)})
                elif command == "stats":
                    if sampler is not None:
                        sampler.cancel()
                    conn.send(
                        {
                            "connections": server.connections_opened - marks["connections"],
                            "peak_connections": peak["connections"],
                            "streams": server.streams_opened - marks["streams"],
                            "peak_streams": peak["streams"],
                            "requests": len(server.requests) - marks["requests"],
                            "server_cpu": _cpu() - marks["cpu"],
                            "made": made,
                        }
                    )
                elif command == "stop":
                    return

    with contextlib.suppress(EOFError, KeyboardInterrupt):
        asyncio.run(main())


# --- the client (child process) -------------------------------------------------------------------


async def _client(
    mode: str, url: str, ids: list[str], args: dict[str, Any], conn: Connection
) -> dict[str, Any]:
    jobs = len(ids)
    seen: list[list[int]] = [[] for _ in ids]
    called: list[float | None] = [None] * jobs
    ended = [False] * jobs
    errors: dict[str, int] = {}
    delays: list[float] = []
    latencies: list[float] = []
    submit_errors: dict[str, int] = {}
    finals = 0

    def note(table: dict[str, int], exc: BaseException) -> None:
        key = f"{type(exc).__name__}: {exc}"[:120]
        table[key] = table.get(key, 0) + 1

    async with Client(url) as client:

        async def submit_one(number: int) -> None:
            began = time.perf_counter()
            try:
                await client.submit_job(name=f"submit-{number}", config={"n": number})
            except Exception as exc:  # reported, not raised: the run goes on
                note(submit_errors, exc)
                return
            latencies.append(time.perf_counter() - began)

        async def watch_one(index: int) -> None:
            versions = seen[index]
            try:
                async for job in client.watch(ids[index]):
                    now = time.time()
                    versions.append(job.version)
                    if job.message:
                        delays.append(now - float(job.message))
                ended[index] = True
            except Exception as exc:
                note(errors, exc)

        # The floor: what the watch() run's usage costs without watch(). One watch_jobs() over
        # every id from the start (the shared stream as_completed uses) and a hand-written
        # fan-out to a task per job, started on the watch() run's schedule, that takes the
        # state current when it starts, then awaits a fresh Future per update: the least a
        # task per viewer, woken per update, can cost on this client.
        latest: list[Any] = [None] * jobs
        queued: list[list[Any] | None] = [None] * jobs  # None until the job's task starts
        waiters: list[asyncio.Future[Any] | None] = [None] * jobs
        position = {job_id: index for index, job_id in enumerate(ids)}

        async def fan_out() -> None:
            try:
                async for job in client.watch_jobs(ids):
                    index = position[job.id]
                    waiter = waiters[index]
                    if waiter is not None:
                        waiters[index] = None
                        waiter.set_result(job)
                    elif (queue := queued[index]) is not None:
                        queue.append(job)
                    else:
                        latest[index] = job
            except Exception as exc:
                note(errors, exc)

        async def floor_one(index: int) -> None:
            versions = seen[index]
            queue = queued[index] = [latest[index]] if latest[index] is not None else []
            loop = asyncio.get_running_loop()
            while True:
                if queue:
                    job = queue.pop(0)
                else:
                    waiter = waiters[index] = loop.create_future()
                    job = await waiter
                now = time.time()
                versions.append(job.version)
                if job.message:
                    delays.append(now - float(job.message))
                if job.status.is_terminal:
                    break
            ended[index] = True

        async def wait_all() -> None:
            nonlocal finals
            try:
                async for _job in client.as_completed(ids):
                    finals += 1
            except Exception as exc:
                note(errors, exc)

        conn.send("ready")
        start = conn.recv()
        span = _span(args["arrival"])
        deadline = start + span + args["grace"]
        await asyncio.sleep(max(0.0, start - time.time()))
        # The collector's share: what the objects alive at once (10,000 watches, their tasks)
        # cost the process in collections, and the longest pause (a submit waits through it).
        collections = {"seconds": 0.0, "longest": 0.0, "began": 0.0}

        def collecting(phase: str, info: dict[str, Any]) -> None:
            now = time.perf_counter()
            if phase == "start":
                collections["began"] = now
            else:
                spent = now - collections["began"]
                collections["seconds"] += spent
                collections["longest"] = max(collections["longest"], spent)

        gc.callbacks.append(collecting)
        cpu0 = _cpu()
        rss0 = _maxrss_mb()
        tasks: list[asyncio.Task[None]] = []
        submits: list[asyncio.Task[None]] = []

        async def submitter() -> None:
            number = 0
            while True:
                due = start + number / args["rate"]
                if due > start + span:
                    return
                wait = due - time.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                submits.append(asyncio.create_task(submit_one(number)))
                number += 1

        async def arrivals(body: Any) -> None:
            # The arrival clock ticks in every run (the same wake-ups at the same times), so
            # that its own cost (thousands of timer wake-ups, about the library's CPU per
            # update for as_completed) cancels out against the submits-only run; only the
            # watch() and floor runs start a task at each tick.
            index = 0
            while index < jobs:
                due = start + index * args["arrival"] / jobs
                wait = due - time.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                now = time.time()
                while index < jobs and start + index * args["arrival"] / jobs <= now:
                    if body is not None:
                        called[index] = time.time()
                        tasks.append(asyncio.create_task(body(index)))
                    index += 1

        launcher = [asyncio.create_task(submitter())]
        starts = {"watch()": watch_one, "fan-out floor": floor_one}.get(mode)
        launcher.append(asyncio.create_task(arrivals(starts)))
        if mode == "as_completed":
            tasks.append(asyncio.create_task(wait_all()))
        elif mode == "fan-out floor":
            tasks.append(asyncio.create_task(fan_out()))
        await asyncio.wait(launcher, timeout=max(0.0, deadline - time.time()))
        pending = [t for t in tasks + submits if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=max(0.0, deadline - time.time()))
        left = [t for t in launcher + tasks + submits if not t.done()]
        unfinished_submits = sum(1 for t in submits if not t.done())
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left, timeout=10)
        finished_at = time.time()
        cpu = _cpu() - cpu0
        gc.callbacks.remove(collecting)
        rss = _maxrss_mb() - rss0
    return {
        "cpu": cpu,
        "wall": finished_at - start,
        "hit_deadline": bool(left),
        "rss_delta": rss,
        "seen": seen,
        "called": called,
        "ended": ended,
        "errors": errors,
        "delays": delays,
        "latencies": latencies,
        "submits": len(submits),
        "submit_errors": submit_errors,
        "unfinished_submits": unfinished_submits,
        "finals": finals,
        "gc_seconds": collections["seconds"],
        "gc_longest": collections["longest"],
    }


def _client_process(
    mode: str, url: str, ids: list[str], args: dict[str, Any], conn: Connection
) -> None:
    profile_to = os.environ.get("BENCH_PROFILE")
    if profile_to:  # a cProfile of the client process: BENCH_PROFILE=/tmp/prefix
        import cProfile

        profiler = cProfile.Profile()
        report = profiler.runcall(asyncio.run, _client(mode, url, ids, args, conn))
        profiler.dump_stats(f"{profile_to}-{mode}.prof")
    else:
        report = asyncio.run(_client(mode, url, ids, args, conn))
    conn.send(report)


# --- the run ------------------------------------------------------------------------------------


def measure(ctx: Any, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    server, child = ctx.Pipe()
    server_process = ctx.Process(target=_serve, args=(child,), daemon=True)
    server_process.start()
    child.close()
    try:
        url = server.recv()
        server.send(("create", args.jobs))
        ids = server.recv()
        parent, child = ctx.Pipe()
        options = {"arrival": args.arrival, "rate": args.rate, "grace": args.grace}
        process = ctx.Process(
            target=_client_process, args=(mode, url, ids, options, child), daemon=True
        )
        process.start()
        child.close()
        if parent.recv() != "ready":
            raise RuntimeError("the client did not start")
        start = time.time() + 0.5
        server.send(("go", (start, args.arrival, args.seed)))
        parent.send(start)
        try:
            report: dict[str, Any] = parent.recv()
        except EOFError:
            process.join()
            raise RuntimeError(f"{mode}: the client died (exit code {process.exitcode})") from None
        process.join()
        report.update(server.recv())
        server.send(("stats", None))
        report.update(server.recv())
        server.send(("stop", None))
    finally:
        server_process.join(timeout=10)
        if server_process.is_alive():
            server_process.terminate()
    report["mode"] = mode
    if mode in ("watch()", "fan-out floor"):
        report.update(_check_versions(report))
    return report


def _check_versions(report: dict[str, Any]) -> dict[str, int]:
    """Compare, job by job, the versions the server made with those the watch yielded."""
    made_total = duplicates = gaps = missed_starting = stale = no_state = unfinished = 0
    for versions, seen, called, ended in zip(
        report["made"], report["seen"], report["called"], report["ended"], strict=True
    ):
        if called is None:
            continue
        # The state current when watch() was called, and every version made after it.
        current = max(v for v, at in versions if at <= called) if versions[0][1] <= called else 0
        due = {v for v, at in versions if at > called} | ({current} if current else set())
        made_total += len(due)
        duplicates += len(seen) - len(set(seen))
        if not seen:
            no_state += 1
            missed_starting += len(due)
        else:
            first = seen[0]
            gaps += sum(1 for v in due if v > first and v not in seen)
            # Due (the state at the call, or made after it) but older than the first state the
            # watch yielded: missed while the watch was starting.
            missed_starting += sum(1 for v in due if v < first)
            stale += sum(1 for v in set(seen) if v not in due)
        if not ended:
            unfinished += 1
    return {
        "versions_due": made_total,
        "versions_seen": sum(len(s) for s in report["seen"]),
        "duplicates": duplicates,
        "gaps": gaps,
        "missed_starting": missed_starting,
        "stale": stale,
        "no_state": no_state,
        "unfinished": unfinished,
    }


def _median_round(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The round whose client CPU is the median (its figures are reported whole)."""
    return sorted(runs, key=lambda r: r["cpu"])[len(runs) // 2]


def _submit_ms(report: dict[str, Any]) -> list[float]:
    """The run's submit latencies, in ms; a submit that never finished counts as the slowest."""
    ms = [x * 1000 for x in report["latencies"]]
    ms += [float("inf")] * (report["unfinished_submits"] + sum(report["submit_errors"].values()))
    return ms


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("inf")


def _faults(report: dict[str, Any]) -> int:
    """What a watch() run missed or repeated (every version once: 0)."""
    keys = ("duplicates", "gaps", "missed_starting", "stale", "no_state", "unfinished")
    return sum(report[key] for key in keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help="watches (one job each)")
    parser.add_argument(
        "--arrival", type=float, default=DEFAULT_ARRIVAL, help="seconds over which watches start"
    )
    parser.add_argument(
        "--rate", type=float, default=DEFAULT_RATE, help="submits per second, all along"
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE,
        help="seconds after the last change before a run is cut short",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the change schedule")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="runs of each mode, in turn (the bars: the median of the rounds' ratios)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a sanity run: 500 watches over 3 s, grace 10 s, 1 round",
    )
    args = parser.parse_args()
    if args.quick:
        args.jobs, args.arrival, args.grace, args.rounds = 500, 3.0, 10.0, 1
    if args.jobs < 1 or args.arrival <= 0 or args.rate <= 0:
        parser.error("--jobs, --arrival and --rate must be positive")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    ctx = multiprocessing.get_context("spawn")
    print(
        f"{args.jobs:,} watches started over {args.arrival:g} s, each job changed 3 times ~1-3 s "
        f"after its watch starts; {args.rate:g} submits/s on the same client all along; server "
        f"and client in their own processes, a fresh server per run; deadline: the last change "
        f"+ {args.grace:g} s; {args.rounds} round{'s' if args.rounds > 1 else ''}, the modes in "
        f"turn, their order rotating; python {sys.version.split()[0]}, aiohttp "
        f"{aiohttp.__version__}"
    )
    rounds: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    for number in range(1, args.rounds + 1):
        # Rotated by one each round: no mode always runs first, or last.
        shift = (number - 1) % len(MODES)
        for mode in MODES[shift:] + MODES[:shift]:
            began = time.perf_counter()
            result = measure(ctx, mode, args)
            result["round"] = number
            rounds[mode].append(result)
            print(
                f"  round {number}, {mode}: client CPU {result['cpu']:.2f} s, done in "
                f"{time.perf_counter() - began:.1f} s"
                f"{' (cut short at the deadline)' if result['hit_deadline'] else ''}",
                flush=True,
            )
    for runs in rounds.values():
        for r in runs:
            ms = _submit_ms(r)
            r["submit_p50"] = _percentile(ms, 0.5)
            r["submit_p99"] = _percentile(ms, 0.99)
            r["delay_p50"] = _percentile(r["delays"], 0.5) * 1000
            r["delay_p99"] = _percentile(r["delays"], 0.99) * 1000

    def row(label: str, cells: list[str]) -> None:
        print(f"{label:<40}" + "".join(f"{cell:>16}" for cell in cells))

    results = {mode: _median_round(runs) for mode, runs in rounds.items()}
    shown = [results[mode] for mode in MODES]
    print()
    row("(the round of median client CPU)", list(MODES))
    row("round", [f"{r['round']} of {args.rounds}" for r in shown])
    row("connections (server accepted)", [f"{r['connections']:,}" for r in shown])
    row("  peak open at once", [f"{r['peak_connections']:,}" for r in shown])
    row("SSE streams opened", [f"{r['streams']:,}" for r in shown])
    row("  peak open at once", [f"{r['peak_streams']:,}" for r in shown])
    row("requests (server saw)", [f"{r['requests']:,}" for r in shown])
    row("submits made", [f"{r['submits']:,}" for r in shown])
    row(
        "  failed / unfinished at deadline",
        [f"{sum(r['submit_errors'].values())} / {r['unfinished_submits']}" for r in shown],
    )
    row("submit latency p50, ms", [f"{r['submit_p50']:.1f}" for r in shown])
    row("submit latency p99, ms", [f"{r['submit_p99']:.1f}" for r in shown])
    row("client CPU, s", [f"{r['cpu']:.2f}" for r in shown])
    row("  of which garbage collection, s", [f"{r['gc_seconds']:.2f}" for r in shown])
    row("  longest collection pause, ms", [f"{r['gc_longest'] * 1000:.1f}" for r in shown])
    row("client wall (to the end), s", [f"{r['wall']:.1f}" for r in shown])
    row("client RSS growth, MB", [f"{r['rss_delta']:.1f}" for r in shown])
    row("server CPU, s", [f"{r['server_cpu']:.2f}" for r in shown])
    row(
        "server changes made / late by (max), s",
        [f"{r['changes']:,} / {r['schedule_lag_max']:.2f}" for r in shown],
    )
    w = results["watch()"]
    ac = results["as_completed"]
    print()
    print(f"watch() (round {w['round']}, of median client CPU):")
    ended = sum(w["ended"])
    print(f"  watches that ended (saw the terminal state): {ended:,}/{args.jobs:,}")
    print(
        f"  versions due (the state at the call, then every change): {w['versions_due']:,}; "
        f"yielded: {w['versions_seen']:,}"
    )
    print(
        f"  duplicates {w['duplicates']:,}, gaps after the first state {w['gaps']:,}, missed "
        f"while starting {w['missed_starting']:,}, older than due {w['stale']:,}, no state at "
        f"all {w['no_state']:,}, never ended {w['unfinished']:,}"
    )
    print(
        f"  change->watch delay p50/p99: {w['delay_p50']:.1f} / {w['delay_p99']:.1f} ms "
        f"({len(w['delays']):,} changes seen)"
    )

    def errors_of(mode: str, key: str) -> list[tuple[str, int]]:
        """A mode's errors over all its rounds, the most frequent first."""
        counts: dict[str, int] = {}
        for r in rounds[mode]:
            for error, count in r[key].items():
                counts[error] = counts.get(error, 0) + count
        return sorted(counts.items(), key=lambda e: -e[1])

    each = " in all rounds" if args.rounds > 1 else ""
    for mode in ("watch()", "as_completed"):
        for error, count in errors_of(mode, "errors")[:5]:
            print(f"  {mode} error x{count}{each}: {error}")
    for mode in MODES:
        for error, count in errors_of(mode, "submit_errors")[:3]:
            print(f"  {mode}: submit error x{count}{each}: {error}")
    finals = ", ".join(f"{r['finals']:,}" for r in rounds["as_completed"])
    print(
        f"as_completed (round {ac['round']}): {ac['finals']:,}/{args.jobs:,} final states"
        f"{f' (each round: {finals})' if args.rounds > 1 else ''}"
    )
    fl = results["fan-out floor"]
    print(
        f"fan-out floor (round {fl['round']}): {sum(fl['ended']):,}/{args.jobs:,} tasks saw "
        f"their job end; versions due {fl['versions_due']:,}, yielded {fl['versions_seen']:,}; "
        f"duplicates {fl['duplicates']:,}, gaps {fl['gaps']:,}, missed while starting "
        f"{fl['missed_starting']:,}, no state {fl['no_state']:,}"
    )

    def verdict(ok: bool) -> str:
        return "ok" if ok else "BELOW TARGET"

    # Every bar from the runs of one round (each ratio against the same round's runs), then the
    # median of the rounds' ratios.
    per_round: list[dict[str, float]] = []
    for base, rw, rac, rfl in zip(*(rounds[mode] for mode in MODES), strict=True):
        changes = rw["changes"]
        per_watch = (rw["cpu"] - base["cpu"]) / changes * 1e6
        per_ac = (rac["cpu"] - base["cpu"]) / changes * 1e6
        per_floor = (rfl["cpu"] - base["cpu"]) / changes * 1e6
        per_round.append(
            {
                "submit_ratio": _ratio(rw["submit_p99"], base["submit_p99"]),
                "per_watch": per_watch,
                "per_ac": per_ac,
                "per_floor": per_floor,
                "cpu_ratio": _ratio(per_watch, per_ac),
                "floor_ratio": _ratio(per_floor, per_ac),
                "over_floor": _ratio(per_watch, per_floor),
                "above_floor": per_watch - per_floor,
            }
        )

    def median_of(key: str) -> float:
        return statistics.median(r[key] for r in per_round)

    def each_round(key: str) -> str:
        return ", ".join(f"{r[key]:.2f}x" for r in per_round)

    watches = rounds["watch()"]
    peak = max(r["peak_connections"] for r in watches)
    peaks = ", ".join(f"{r['peak_connections']:,} ({r['connections']:,} opened)" for r in watches)
    faults = [_faults(r) for r in watches]
    once = not any(faults)
    ratio_submit = median_of("submit_ratio")
    pooled = {
        mode: _percentile([x for r in rounds[mode] for x in _submit_ms(r)], 0.99)
        for mode in ("submits only", "watch()")
    }
    pooled_ratio = _ratio(pooled["watch()"], pooled["submits only"])
    pooled_n = {mode: sum(len(_submit_ms(r)) for r in rounds[mode]) for mode in pooled}
    cpu_ratio = median_of("cpu_ratio")
    print()
    print("bars (DESIGN.md section 6), from each round's own runs:")
    print(
        f"  connections, peak open at once:  {peak:>8,}    target <= 8       "
        f"{verdict(peak <= 8)}   (the worst round; each round: {peaks})"
    )
    print(
        f"  every version once:              {'yes' if once else 'no':>8}    target yes       "
        f"{verdict(once)}   (in every round; misses and repeats each round: "
        f"{', '.join(f'{n:,}' for n in faults)})"
    )
    print(
        f"  submit p99 with/without watchers: {ratio_submit:>7.2f}x    target <= 2x      "
        f"{verdict(ratio_submit <= 2)}   (median of rounds; each round: "
        f"{each_round('submit_ratio')}; pooled, the p99 of all rounds' submits together: "
        f"{pooled_ratio:.2f}x, {pooled['watch()']:.1f} / {pooled['submits only']:.1f} ms over "
        f"{pooled_n['watch()']:,} / {pooled_n['submits only']:,} submits)"
    )
    print(
        f"  CPU per update, watch()/as_completed: {cpu_ratio:>4.2f}x  target <= 1.5x    "
        f"{verdict(cpu_ratio <= 1.5)}   (median of rounds; each round: "
        f"{each_round('cpu_ratio')}; medians {median_of('per_watch'):.0f} / "
        f"{median_of('per_ac'):.0f} us per change, over the round's submits-only CPU)"
    )
    print(
        f"  (not a bar) the fan-out floor, a task per job woken by a Future per update over "
        f"watch_jobs(): {median_of('per_floor'):.0f} us per change, "
        f"{median_of('floor_ratio'):.2f}x as_completed; watch() is "
        f"{median_of('over_floor'):.2f}x the floor, {median_of('above_floor'):+.0f} us per "
        f"change (medians of rounds)"
    )
    for r in watches:
        short = args.jobs - sum(r["ended"])
        if r["hit_deadline"] or short:
            print(
                f"  note: round {r['round']}'s watch() run did not end by itself ({short:,} "
                f"watches cancelled at the deadline), so its CPU covers less work than the "
                f"as_completed run"
            )


if __name__ == "__main__":
    main()
