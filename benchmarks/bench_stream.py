"""Job throughput over a real loopback socket: asyncjobs' real client paths next to other clients.

**SSE.** One stream of ``--events`` job events (default 100,000: ``--jobs`` 1,000 jobs, 100
versions each, every event a full native job JSON of ~300 bytes; ``_data.make_jobs_stream``) is
served by a tiny aiohttp.web server in a child process, in 64 KiB writes, from bytes generated
before the server says it is ready. Each consumer reads it to the last event, each in a freshly
spawned process of its own (its wall and CPU time are its own; the clock starts once its session
is open), one after the other; the order alternates between rounds (reversed every other round)
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

**Long poll** (``--long-polls``, default 2,000 states of one job). The server has the job's
whole history ready, so each long poll ``GET /jobs/{id}/poll?after=V`` is answered at once with
version V+1 (a full native job JSON of ~300 bytes): what a long poll costs the client, request
by request, without waiting on the job.

- (g) bare: one aiohttp session, ``GET .../poll?after=V`` then ``json.loads`` the answer (a dict)
  and ask after its version, until the terminal state;
- (h) the real path: ``client.watch(id, transport="long-poll")`` (its first state from a plain
  ``GET /jobs/{id}``, then one long poll per version; Job objects), without orjson.

**Polling** (``--polled-jobs`` 1,000 jobs x ``--polls`` 20 rounds = 20,000 job states). Each
batched read ``GET /jobs?ids=`` (100 ids, the native profile's batch) answers every job one
version further than its last read, so every round brings a new state of every job: the cost of
batched polling per state, not its intervals (the real path's intervals are set to 0).

- (i) bare: rounds of the same batched reads (4 at once, as the client does), ``json.loads`` each
  answer (dicts), until every job is terminal;
- (j) the real path: ``Client(url, profile=native without SSE).watch_jobs(the 1,000 ids)``,
  followed by the hub's batched polling (``TUNING.poll_start = poll_cap = 0``; Job objects),
  without orjson.

Long poll and polling rows are compared with their own bare loop.

    python benchmarks/bench_stream.py [--events N] [--jobs J] [--rounds R] [--quick]
    python benchmarks/bench_stream.py --only sse --consumer b --consumer f   # some consumers
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
import math  # noqa: E402
import multiprocessing  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Coroutine  # noqa: E402
from multiprocessing.connection import Connection  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
import attrs  # noqa: E402
from _data import (  # noqa: E402
    CHUNK_SIZE,
    DEFAULT_EVENTS,
    DEFAULT_STREAM_JOBS,
    job_state,
    make_jobs_stream,
)
from aiohttp import web  # noqa: E402

from asyncjobs import Client  # noqa: E402
from asyncjobs.profiles import NATIVE  # noqa: E402
from asyncjobs.sse import SSEDecoder  # noqa: E402

API = "/api/v1"
LONG_POLL_API = "/lp/v1"  # one job whose long polls are answered at once with the next version
POLLED_API = "/polled"  # /polled/<run>/jobs?ids=: each read answers the next version of each job
READ_TIMEOUT = 60.0
BATCH = NATIVE.max_batch

# --- the server (child process, a fresh one per round) -------------------------------------------


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _serve(sizes: dict[str, int], conn: Connection) -> None:
    jobs, events = sizes["jobs"], sizes["events"]
    data, offsets, snapshots = make_jobs_stream(jobs, events)
    by_id = {snapshot["id"]: snapshot for snapshot in snapshots}
    all_ids = set(by_id)
    log: list[str] = []
    # The long-polled job's every state, and every state of each polled job, encoded in advance.
    long_polls = sizes["long_polls"]
    lp_states = [_dumps(job_state(0, step, long_polls, step + 1)) for step in range(long_polls)]
    lp_id = job_state(0, 0, long_polls, 1)["id"]
    polls = sizes["polls"]
    polled = {
        job_state(job, 0, polls, 1)["id"]: [
            _dumps(job_state(job, step, polls, step + 1)) for step in range(polls)
        ]
        for job in range(sizes["polled_jobs"])
    }
    reads: dict[str, dict[str, int]] = {}  # per run (consumer): how often each job was read

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

    def json_answer(body: bytes) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async def lp_get(request: web.Request) -> web.Response:
        if request.match_info["job_id"] != lp_id:
            raise web.HTTPNotFound()
        return json_answer(lp_states[0])

    async def lp_poll(request: web.Request) -> web.Response:
        if request.match_info["job_id"] != lp_id:
            raise web.HTTPNotFound()
        after = int(request.query.get("after", "0"))
        return json_answer(lp_states[min(after, long_polls - 1)])  # version after + 1

    async def polled_many(request: web.Request) -> web.Response:
        counts = reads.setdefault(request.match_info["run"], {})
        parts = []
        for job_id in request.query["ids"].split(","):
            states = polled[job_id]
            step = counts.get(job_id, 0)
            counts[job_id] = step + 1
            parts.append(states[min(step, polls - 1)])
        return json_answer(b'{"jobs":[' + b",".join(parts) + b'],"not_found":[]}')

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/stream", plain)
        app.router.add_get(f"{API}/events", multiplexed)
        app.router.add_post(f"{API}/events", multiplexed)
        app.router.add_get(f"{API}/jobs", get_many)
        app.router.add_get(LONG_POLL_API + "/jobs/{job_id}", lp_get)
        app.router.add_get(LONG_POLL_API + "/jobs/{job_id}/poll", lp_poll)
        app.router.add_get(POLLED_API + "/{run}/jobs", polled_many)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        conn.send(
            {
                "origin": f"http://{host}:{port}",
                "size": len(data),
                "ids": sorted(all_ids),
                "lp_ids": [lp_id],
                "polled_ids": sorted(polled),
            }
        )
        # Serve until the parent says stop (or goes away), then say what the real path asked.
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        conn.send(log)
        await runner.cleanup()

    with contextlib.suppress(EOFError, BrokenPipeError):
        asyncio.run(main())


# --- the consumers (each in a child process of its own) ------------------------------------------

Consumer = Callable[[str, list[str], int, Callable[[], None]], Coroutine[Any, Any, int]]
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


async def bare_long_poll(
    origin: str, ids: list[str], events: int, start: Callable[[], None]
) -> int:
    loads = json.loads
    job_id = ids[0]
    async with _session() as session:
        start()
        async with session.get(f"{origin}{LONG_POLL_API}/jobs/{job_id}") as response:
            job = loads(await response.read())
        count = 1
        url = f"{origin}{LONG_POLL_API}/jobs/{job_id}/poll"
        while job["status"] != "completed":
            query = {"timeout": "30", "after": str(job["version"])}
            async with session.get(url, params=query) as response:
                job = loads(await response.read())
            count += 1
    return count


async def real_long_poll(
    origin: str, ids: list[str], events: int, start: Callable[[], None]
) -> int:
    count = 0
    async with Client(origin + LONG_POLL_API) as client:
        start()
        async for _job in client.watch(ids[0], transport="long-poll", timeout=READ_TIMEOUT):
            count += 1
    return count


async def bare_poll(origin: str, ids: list[str], events: int, start: Callable[[], None]) -> int:
    from asyncjobs._tuning import TUNING

    loads = json.loads
    url = f"{origin}{POLLED_API}/{os.getpid()}/jobs"
    remaining = dict.fromkeys(ids)
    count = 0
    async with _session() as session:
        gate = asyncio.Semaphore(TUNING.read_concurrency)

        async def read(batch: list[str]) -> list[dict[str, Any]]:
            async with gate, session.get(url, params={"ids": ",".join(batch)}) as response:
                jobs: list[dict[str, Any]] = loads(await response.read())["jobs"]
                return jobs

        start()
        while remaining:
            left = list(remaining)
            batches = [left[at : at + BATCH] for at in range(0, len(left), BATCH)]
            for jobs in await asyncio.gather(*map(read, batches)):
                for job in jobs:
                    count += 1
                    if job["status"] == "completed":
                        del remaining[job["id"]]
    return count


async def real_poll(origin: str, ids: list[str], events: int, start: Callable[[], None]) -> int:
    from asyncjobs._tuning import TUNING

    # Back-to-back rounds: what is measured is the cost of a polled state, not the intervals.
    TUNING.poll_start = TUNING.poll_cap = 0.0
    profile = attrs.evolve(NATIVE, transports=("poll",))  # no SSE: the hub's batched polling
    count = 0
    async with Client(f"{origin}{POLLED_API}/{os.getpid()}", profile=profile) as client:
        start()
        async for _job in client.watch_jobs(ids, timeout=READ_TIMEOUT):
            count += 1
    return count


WITH_ORJSON = "(f) watch_jobs, orjson -> Job"
NO_ORJSON = "(f) watch_jobs, no orjson -> Job"
BARE = "(a) bare split + json.loads -> dict"
HTTPX = "(b) httpx-sse + json.loads -> dict"
DECODER = "(d) SSEDecoder + json.loads -> dict"
BARE_LONG_POLL = "(g) long poll: bare GET + json.loads"
LONG_POLL = "(h) long poll: watch(), no orjson"
BARE_POLL = "(i) polling: bare batched GET + json.loads"
POLL = "(j) polling: watch_jobs(), no orjson"
# name: (consumer, the module it needs, its workload: "sse", "long-poll" or "poll")
CONSUMERS: dict[str, tuple[Consumer, str, str]] = {
    BARE: (bare, "", "sse"),
    HTTPX: (httpx_sse_client, "httpx_sse", "sse"),
    "(c) aiohttp-sse-client2 -> dict": (aiohttp_sse_client2, "aiohttp_sse_client2", "sse"),
    DECODER: (decoder_dicts, "", "sse"),
    "(e) bare + job_from_native -> Job": (bare_jobs, "", "sse"),
    WITH_ORJSON: (real_path, "orjson", "sse"),
    NO_ORJSON: (real_path, "", "sse"),
    BARE_LONG_POLL: (bare_long_poll, "", "long-poll"),
    LONG_POLL: (real_long_poll, "", "long-poll"),
    BARE_POLL: (bare_poll, "", "poll"),
    POLL: (real_poll, "", "poll"),
}
NO_ORJSON_CONSUMERS = frozenset({NO_ORJSON, LONG_POLL, POLL})
BASES = {"sse": BARE, "long-poll": BARE_LONG_POLL, "poll": BARE_POLL}


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
    if name in NO_ORJSON_CONSUMERS:
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
    parser.add_argument("--long-polls", type=int, default=2000, help="states read by long polls")
    parser.add_argument("--polled-jobs", type=int, default=1000, help="jobs followed by polling")
    parser.add_argument("--polls", type=int, default=20, help="states of each polled job")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the median counts")
    parser.add_argument(
        "--only", choices=["sse", "long-poll", "poll"], action="append", help="only these workloads"
    )
    parser.add_argument(
        "--consumer",
        action="append",
        metavar="LETTER",
        help="only these consumers, by letter (a-j; 'f' is both (f) runs); for profiling",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a sanity run: 20,000 events of 200 jobs, 1 round"
    )
    args = parser.parse_args()
    if args.quick:
        args.events, args.jobs, args.rounds = 20_000, 200, 1
        args.long_polls, args.polled_jobs, args.polls = 500, 200, 10
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    expected = {
        "sse": args.events,
        "long-poll": args.long_polls,
        "poll": args.polled_jobs * args.polls,
    }

    names = []
    for name, (_, module, workload) in CONSUMERS.items():
        if args.only and workload not in args.only:
            continue
        if args.consumer and name[1] not in args.consumer:
            continue
        if module and importlib.util.find_spec(module) is None:
            print(f"note: {module} is not installed (pip install -e '.[bench]'); skipping {name}")
        else:
            names.append(name)

    ctx = multiprocessing.get_context("spawn")
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    logs: list[list[str]] = []
    sizes = {
        "jobs": args.jobs,
        "events": args.events,
        "long_polls": args.long_polls,
        "polled_jobs": args.polled_jobs,
        "polls": args.polls,
    }
    for number in range(args.rounds):
        order = names if number % 2 == 0 else names[::-1]
        server_conn, child = ctx.Pipe()
        server = ctx.Process(target=_serve, args=(sizes, child), daemon=True)
        server.start()
        child.close()
        try:
            info = server_conn.recv()
            origin = info["origin"]
            ids = {"sse": info["ids"], "long-poll": info["lp_ids"], "poll": info["polled_ids"]}
            if number == 0:
                print(
                    f"SSE: {args.events:,} events of {args.jobs:,} jobs, "
                    f"~{info['size'] / args.events:.0f} bytes each, in {CHUNK_SIZE:,}-byte writes; "
                    f"long poll: {args.long_polls:,} states of one job; polling: "
                    f"{args.polled_jobs:,} jobs x {args.polls} states, {BATCH} ids a read.\n"
                    f"Each consumer in its own process, a fresh server per round, order "
                    f"alternating; median of {args.rounds} rounds; Python "
                    f"{sys.version.split()[0]}, aiohttp {aiohttp.__version__}"
                )
            for name in order:
                workload = CONSUMERS[name][2]
                want = expected[workload]
                result = _run_consumer(ctx, name, origin, ids[workload], want)
                if result["count"] != want:
                    raise SystemExit(f"{name} read {result['count']} states of {want}")
                if name in NO_ORJSON_CONSUMERS and result["orjson"]:
                    raise SystemExit(f"{name}: orjson was imported after all")
                results[name].append(result)
            print(
                f"  round {number + 1}: "
                + ", ".join(
                    f"{name[:3]} {expected[CONSUMERS[name][2]] / results[name][-1]['wall']:,.0f}/s"
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
        name: expected[CONSUMERS[name][2]] / statistics.median(r["wall"] for r in runs)
        for name, runs in results.items()
    }
    cpu = {
        name: statistics.median(r["cpu"] for r in runs) / expected[CONSUMERS[name][2]]
        for name, runs in results.items()
    }
    print()
    print(
        f"{'consumer':<44}{'states/s':>10}{'vs bare':>9}{'wall us/st':>11}{'CPU us/st':>11}"
        f"{'CPU vs bare':>12}"
    )
    for name in names:
        own_bare = BASES[CONSUMERS[name][2]]
        ratio = rates[name] / rates[own_bare] if own_bare in rates else math.nan
        cpu_ratio = cpu[own_bare] / cpu[name] if own_bare in cpu else math.nan
        print(
            f"{name:<44}{rates[name]:>10,.0f}{ratio:>8.2f}x"
            f"{1e6 / rates[name]:>11.2f}{cpu[name] * 1e6:>11.2f}{cpu_ratio:>11.2f}x"
        )
    print()
    if logs:
        print("requests of the SSE real path, last round:", "; ".join(logs[-1]) or "none")
    print()

    def check(label: str, ok: bool, detail: str) -> None:
        print(f"  {label:<58}{detail:<26}{'ok' if ok else 'BELOW'}")

    print("bars (DESIGN.md section 6; the default install has no orjson):")
    base = rates.get(BARE)
    if base is None:
        return
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
    if DECODER in rates:
        check(
            "(d) SSEDecoder dicts >= 0.9x bare",
            rates[DECODER] >= 0.9 * base,
            f"{rates[DECODER] / base:.2f}x",
        )


if __name__ == "__main__":
    main()
