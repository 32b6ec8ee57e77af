"""Soak: minutes of churn through network faults, to show memory, sockets and tasks stay flat.

The reference server runs in a child process (``asyncjobs serve``); a FaultProxy in this
process sits between it and one Client. About 20 submits a second (simulated jobs of 1-4 s, 10%
failing) are each followed one way, in turn: ``wait_for_job``, ``watch()``, ``as_completed``, or
``wait_for_jobs(..., cancel_on_exit=True)`` cancelled after 0.2 s (the job must then end
cancelled on the server). Meanwhile the proxy resets every event stream every ~7 s, stalls the
open streams for 6 s every 45 s and refuses new connections for 2 s every 90 s.

A line a minute: minute, RSS, the proxy's open connections (the client's sockets), socket file
descriptors of this process, live tasks of the client, jobs submitted and finished, problems.
Then a verdict. Exits 1 on any lost, wrong or duplicate job, any lost submit or cancel, tasks or
sockets above the baseline once the client is closed, or RSS growth over the second half above
``--max-growth-mb``. Not part of the test suite::

    python benchmarks/soak.py --minutes 30
    python benchmarks/soak.py --minutes 3 --seed 1
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asyncjobs import (  # noqa: E402
    AsyncJobsError,
    Client,
    JobCancelledError,
    JobFailedError,
    JobStatus,
)
from asyncjobs.testing import FaultProxy  # noqa: E402

MODES = ("wait_for_job", "watch", "as_completed", "cancel_on_exit")


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def socket_fds() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            pass
    return count


def client_tasks() -> int:
    """Live tasks except the proxy's own and this script's main."""
    current = asyncio.current_task()
    count = 0
    for task in asyncio.all_tasks():
        if task is current:
            continue
        name = getattr(task.get_coro(), "__qualname__", "")
        if name.startswith(("FaultProxy.", "Soak.")):
            continue
        count += 1
    return count


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        # One byte per submit index (1: the submit returned a job), nothing per job id: the
        # soak's own bookkeeping must not grow like the leak it looks for. A job's name is
        # soak-<index>, and its mode follows from the index.
        self.submitted_ok = bytearray()
        self.submitted = 0
        self.finished = 0
        self.problems: Counter[str] = Counter()
        self.examples: list[str] = []
        self.followers: set[asyncio.Task[None]] = set()

    def problem(self, kind: str, text: str) -> None:
        self.problems[kind] += 1
        if len(self.examples) < 10:
            self.examples.append(f"{kind}: {text}")

    async def follow(
        self, client: Client, job_id: str, mode: str, *, fail: bool, name: str
    ) -> None:
        try:
            if mode == "cancel_on_exit":
                wait = asyncio.ensure_future(
                    client.wait_for_jobs([job_id], timeout=120, cancel_on_exit=True)
                )
                await asyncio.sleep(0.2)
                wait.cancel()
                try:
                    await wait
                    self.problem("wrong", f"{job_id}: a wait meant to be cancelled returned")
                except asyncio.CancelledError:
                    pass
                self.finished += 1
                return
            if mode == "wait_for_job":
                try:
                    job = await client.wait_for_job(job_id, timeout=120)
                except JobFailedError as exc:
                    job = exc.job
            elif mode == "watch":
                versions: list[int] = []
                job = None
                async for job in client.watch(job_id, timeout=120):
                    versions.append(job.version or 0)
                if any(a >= b for a, b in itertools.pairwise(versions)):
                    self.problem("wrong", f"{job_id}: versions not increasing {versions}")
            else:
                job = None
                async for final in client.as_completed([job_id], timeout=120):
                    job = final
            if job is None:
                self.problem("lost", f"{job_id}: no final state ({mode})")
            elif job.id != job_id:
                self.problem("wrong", f"{job_id}: got job {job.id} ({mode})")
            elif fail and job.status is not JobStatus.FAILED:
                self.problem("wrong", f"{job_id}: expected failed, got {job.status} ({mode})")
            elif not fail and (job.status is not JobStatus.COMPLETED or job.result != name):
                self.problem("wrong", f"{job_id}: got {job.status} {job.result!r} ({mode})")
            self.finished += 1
        except JobCancelledError as exc:
            self.problem("wrong", f"{job_id}: cancelled unexpectedly ({mode}): {exc}")
        except (AsyncJobsError, TimeoutError) as exc:
            self.problem("lost", f"{job_id}: {mode} raised {exc!r}")

    async def submit(self, client: Client, index: int) -> None:
        name = f"soak-{index}"
        fail = self.rng.random() < 0.1
        mode = MODES[index % len(MODES)]
        # A job to be cancelled on exit outlives a refusal window and the retries that ride it
        # out, so its cancel must arrive before it ends: one that does not is lost.
        duration = self.rng.uniform(6.0, 8.0) if mode == "cancel_on_exit" else None
        config = {
            "duration": duration or self.rng.uniform(1.0, 4.0),
            "steps": 4,
            "fail": fail,
            "result": name,
        }
        self.submitted_ok.extend(bytes(index + 1 - len(self.submitted_ok)))
        try:
            job = await client.submit_job(name, config)
        except AsyncJobsError as exc:
            self.problem("lost submit", f"{name}: {exc!r}")
            return
        self.submitted += 1
        self.submitted_ok[index] = 1
        await self.follow(client, job.id, mode, fail=fail, name=name)

    async def faults(self, proxy: FaultProxy, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        stall_every, refuse_every = self.args.stall_every, self.args.refuse_every
        next_reset, next_stall, next_refuse = 7.0, stall_every, refuse_every
        while not stop.is_set():
            await asyncio.sleep(0.25)
            now = loop.time() - start
            if now >= next_reset:
                proxy.reset_open(on_request="/events")
                next_reset += self.rng.uniform(6.0, 8.0)
            if now >= next_stall:
                proxy.stall_open(6.0, on_request="/events")
                next_stall += stall_every
            if now >= next_refuse:
                proxy.refuse(2.0)
                next_refuse += refuse_every

    async def run(self) -> int:
        args = self.args
        port = free_port()
        command = [sys.executable, "-m", "asyncjobs", "serve", "--port", str(port)]
        command += ["--workers", "400", "--heartbeat", str(args.heartbeat)]
        # Started before any churn; the blocking call is brief.
        server = subprocess.Popen(  # noqa: ASYNC220
            command,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert server.stdout is not None
            line = await asyncio.to_thread(server.stdout.readline)
            if "listening" not in line:
                print(f"the server did not start: {line}", file=sys.stderr)
                return 1
            return await self._run(port)
        finally:
            server.terminate()
            server.wait(timeout=10)

    async def _run(self, port: int) -> int:
        args = self.args
        base_tasks = client_tasks()
        base_fds = socket_fds()
        url = f"http://127.0.0.1:{port}/api/v1"
        rss: list[float] = []
        async with FaultProxy("127.0.0.1", port, seed=args.seed) as proxy:
            client = Client(proxy.url_for(url))
            stop = asyncio.Event()
            faults = asyncio.create_task(self.faults(proxy, stop))
            loop = asyncio.get_running_loop()
            start = loop.time()
            end = start + args.minutes * 60
            next_report = start + 60
            index = 0
            print(" min   RSS MB  proxy conns  socket fds  tasks  submitted  finished  problems")
            try:
                while loop.time() < end:
                    task = asyncio.create_task(self.submit(client, index))
                    self.followers.add(task)
                    task.add_done_callback(self.followers.discard)
                    index += 1
                    await asyncio.sleep(1 / args.rate)
                    if loop.time() >= next_report:
                        next_report += 60
                        rss.append(rss_mb())
                        print(
                            f"{len(rss):4d} {rss[-1]:8.1f} {proxy.open_connections:12d} "
                            f"{socket_fds():11d} {client_tasks():6d} {self.submitted:10d} "
                            f"{self.finished:9d} {sum(self.problems.values()):9d}",
                            flush=True,
                        )
                stop.set()
                await faults
                proxy.clear()
                drain = time.monotonic()
                if self.followers:
                    await asyncio.wait(set(self.followers), timeout=150)
                left_followers = len(self.followers)
                if left_followers:
                    self.problem("lost", f"{left_followers} follows still running at the end")
                    for task in list(self.followers):
                        task.cancel()
                    await asyncio.gather(*self.followers, return_exceptions=True)
                drained = time.monotonic() - drain
                await self.check_server(url)
            finally:
                await client.close()
            await asyncio.sleep(0.5)  # let the proxy see the client's sockets close
            end_tasks = client_tasks()
            end_conns = proxy.open_connections
            applied = dict(proxy.applied)
        end_fds = socket_fds()
        rss.append(rss_mb())
        half = rss[len(rss) // 2 - 1] if len(rss) >= 2 else rss[0]
        growth = rss[-1] - half
        print()
        print(f"faults applied: {applied}; follows drained in {drained:.1f} s after the churn")
        print(
            f"after close: tasks {end_tasks} (baseline {base_tasks}), proxy connections "
            f"{end_conns}, socket fds {end_fds} (baseline {base_fds}); RSS {rss[-1]:.1f} MB, "
            f"growth over the second half {growth:+.1f} MB (limit {args.max_growth_mb})"
        )
        if end_tasks > base_tasks:
            self.problem("tasks", f"{end_tasks} tasks left, baseline {base_tasks}")
        if end_conns > 0 or end_fds > base_fds:
            self.problem("sockets", f"{end_conns} proxied, {end_fds} fds (baseline {base_fds})")
        if growth > args.max_growth_mb:
            self.problem("memory", f"RSS grew {growth:.1f} MB over the second half")
        for example in self.examples:
            print("  " + example)
        verdict = "PASS" if not self.problems else f"FAIL {dict(self.problems)}"
        print(f"verdict: {verdict} ({self.submitted} jobs submitted, {self.finished} followed)")
        return 0 if not self.problems else 1

    async def check_server(self, url: str) -> None:
        """Against the server directly (no proxy): one job per submit, cancels took effect."""
        async with Client(url) as direct:
            seen: Counter[str] = Counter()
            async for job in direct.list_jobs():
                name = job.name or ""
                seen[name] += 1
                index = int(name[5:]) if name.startswith("soak-") else -1
                if not 0 <= index < len(self.submitted_ok) or not self.submitted_ok[index]:
                    self.problem("lost submit", f"{job.id} ({job.name}) unknown to the client")
                elif (
                    MODES[index % len(MODES)] == "cancel_on_exit"
                    and job.status is not JobStatus.CANCELLED
                ):
                    # Such jobs last 6-8 s: their cancel had time to arrive, refusals included.
                    self.problem("lost cancel", f"{job.id}: {job.status}")
            for name, count in seen.items():
                if count > 1:
                    self.problem("duplicate", f"{name}: {count} jobs")
            for index, ok in enumerate(self.submitted_ok):
                if ok and f"soak-{index}" not in seen:
                    self.problem("lost submit", f"soak-{index} not on the server")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="churn time (default 30)")
    parser.add_argument("--rate", type=float, default=20.0, help="submits a second (default 20)")
    parser.add_argument(
        "--max-growth-mb", type=float, default=8.0, help="RSS growth allowed over the 2nd half"
    )
    parser.add_argument("--heartbeat", type=float, default=1.0, help="server's SSE heartbeat")
    parser.add_argument("--seed", type=int, default=None, help="seed of jobs and faults")
    parser.add_argument(
        "--stall-every", type=float, default=45.0, help="seconds between 6 s stalls (default 45)"
    )
    parser.add_argument(
        "--refuse-every",
        type=float,
        default=90.0,
        help="seconds between 2 s refusals of new connections (default 90)",
    )
    args = parser.parse_args()
    return asyncio.run(Soak(args).run())


if __name__ == "__main__":
    sys.exit(main())
