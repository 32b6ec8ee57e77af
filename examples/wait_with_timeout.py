"""Submit jobs and wait for each with a timeout, handling every way that can end.

Submitting and waiting ends in one of these ways, each with its own exception class:

- the job completed: ``wait_for_job`` returns the final :class:`~asyncjobs.Job`;
- the job failed: :class:`~asyncjobs.JobFailedError` (``.job``, ``.details["failure_reason"]``);
- the job was cancelled (here by an operator, elsewhere): :class:`~asyncjobs.JobCancelledError`;
- the timeout ran out first: :class:`~asyncjobs.JobTimeoutError` (also a builtin
  ``TimeoutError``; ``.job`` is the last state seen). The job still runs on the server, so this
  script cancels it;
- the server refused (bad input, unknown job, bad token...): :class:`~asyncjobs.APIError` and
  its subclasses, with ``.status``, ``.error`` and ``.details``;
- the server could not be reached: :class:`~asyncjobs.TransportError`.

Run it against the embedded reference server (the default) or your own::

    python examples/wait_with_timeout.py
    python examples/wait_with_timeout.py --url http://127.0.0.1:8000/api/v1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any

from asyncjobs import (
    APIError,
    Client,
    ConflictError,
    JobCancelledError,
    JobFailedError,
    JobTimeoutError,
    RetryPolicy,
    TransportError,
)
from asyncjobs.testing import JobServer


async def submit_and_wait(
    client: Client,
    name: str,
    config: dict[str, Any],
    *,
    timeout: float,  # noqa: ASYNC109 - the wait's own timeout, passed on
) -> str:
    """Submit a job and wait for it with a timeout; return a line saying how it ended."""
    try:
        job = await client.submit_job(name, config)
        job = await client.wait_for_job(job.id, timeout=timeout)
    except JobFailedError as exc:
        return f"failed: {exc.details['failure_reason']}"
    except JobCancelledError as exc:
        return f"cancelled at {exc.job.progress or 0:.0f}%"
    except JobTimeoutError as exc:
        with contextlib.suppress(ConflictError):  # it may have ended meanwhile
            await client.cancel_job(exc.job_id)
        progress = exc.job.progress if exc.job and exc.job.progress is not None else 0
        return f"timed out after {exc.timeout:g} s at {progress:.0f}%, so cancelled it"
    except APIError as exc:
        return f"refused: {exc.status} {exc.error}: {exc.details}"
    except TransportError as exc:
        return f"server unreachable: {exc}"
    return f"completed: result {job.result}"


async def operator(client: Client, name: str) -> None:
    """Someone else cancels the running job called ``name`` once it is under way."""
    while True:
        await asyncio.sleep(0.2)
        async for job in client.list_jobs(status="running"):
            if job.name == name and (job.progress or 0) >= 20:
                await client.cancel_job(job.id)
                return


async def run(url: str) -> None:
    cases: list[tuple[str, dict[str, Any], float]] = [
        ("quick", {"duration": 0.3, "steps": 3, "result": 42}, 10),
        ("broken", {"duration": 0.3, "steps": 3, "fail": True, "error": "disk full"}, 10),
        ("doomed", {"duration": 5, "steps": 10}, 10),
        ("slow", {"duration": 30, "steps": 30}, 1),
        ("invalid", {"duration": -1}, 10),
    ]
    async with Client(url) as client:
        # The waits run at once; each timeout bounds its own wait only.
        lines = await asyncio.gather(
            *(submit_and_wait(client, name, config, timeout=t) for name, config, t in cases),
            operator(client, "doomed"),
        )
        for (name, _, _), line in zip(cases, lines, strict=False):
            print(f"{name:<8} {line}")

    # A server that is not there (retries turned off, so the answer comes at once).
    async with Client("http://127.0.0.1:9/api/v1", retry=RetryPolicy(attempts=1)) as nowhere:
        print(f"{'offline':<8} {await submit_and_wait(nowhere, 'any', {}, timeout=10)}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a job server's base URL (default: start one here)")
    args = parser.parse_args()
    if args.url:
        await run(args.url)
        return
    async with JobServer(auto_run=True) as server:
        await run(server.url)


if __name__ == "__main__":
    asyncio.run(main())
