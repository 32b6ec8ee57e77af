"""Submit hundreds of jobs and follow them all with ``as_completed``, then print a summary.

However many jobs there are, the client follows them over one multiplexed stream (or batched
reads), never one connection or one polling loop per job: the summary shows what it cost.

Run it against the embedded reference server (the default) or your own::

    python examples/batch_monitor.py --jobs 500
    python examples/batch_monitor.py --url http://127.0.0.1:8000/api/v1
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections import Counter

from asyncjobs import Client, Job, JobStatus
from asyncjobs.testing import JobServer


async def submit_batch(client: Client, count: int, rng: random.Random) -> list[str]:
    """Submit ``count`` simulated jobs, 20 at a time; a few of them fail."""
    semaphore = asyncio.Semaphore(20)

    async def submit(i: int) -> str:
        config = {
            "duration": round(rng.uniform(0.2, 2.0), 2),
            "steps": rng.randint(1, 5),
            "fail": rng.random() < 0.05,
            "result": {"item": i},
        }
        async with semaphore:
            job = await client.submit_job(f"item-{i:04d}", config)
        return job.id

    return list(await asyncio.gather(*(submit(i) for i in range(count))))


async def monitor(url: str, count: int, seed: int, server: JobServer | None = None) -> list[Job]:
    """Submit the batch, print progress as jobs end, and return the final jobs.

    With the embedded ``server``, also print what the waiting cost in requests and streams.
    """
    rng = random.Random(seed)
    async with Client(url) as client:
        started = time.monotonic()
        ids = await submit_batch(client, count, rng)
        print(f"submitted {len(ids)} jobs in {time.monotonic() - started:.2f} s")
        requests_before = server.request_count() if server else 0
        finished: list[Job] = []
        step = max(1, count // 10)
        async for job in client.as_completed(ids, timeout=120):
            finished.append(job)
            if job.status is JobStatus.FAILED:
                print(f"  {job.name} failed: {job.error}")
            if len(finished) % step == 0 or len(finished) == count:
                print(f"  {len(finished):>5}/{count} done after {time.monotonic() - started:.2f} s")
        if server is not None:
            print(
                f"waiting on {count} jobs took {server.request_count() - requests_before} "
                f"requests and {server.streams_opened} stream(s)"
            )
        return finished


def summarize(jobs: list[Job]) -> None:
    statuses = Counter(job.status.value for job in jobs)
    runs = [
        (job.completed_at - job.started_at).total_seconds()
        for job in jobs
        if job.completed_at and job.started_at
    ]
    print("summary: " + ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())))
    if len(runs) >= 2:
        quantiles = statistics.quantiles(runs, n=20)
        print(f"run time: median {statistics.median(runs):.2f} s, p95 {quantiles[-1]:.2f} s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a job server's base URL (default: start one here)")
    parser.add_argument("--jobs", type=int, default=300, help="how many jobs (default: 300)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    args = parser.parse_args()
    if args.url:
        summarize(await monitor(args.url, args.jobs, args.seed))
        return
    async with JobServer(auto_run=True) as server:
        summarize(await monitor(server.url, args.jobs, args.seed, server))


if __name__ == "__main__":
    asyncio.run(main())
