"""What a web backend relays to its browsers, whatever its framework: the part both examples share.

- :data:`PAGE`: the page (``progress_page.html``): a button that starts a job and a live bar per
  job, fed by an ``EventSource``;
- :func:`job_events`: the Server-Sent Events of one job for the browser, as bytes, from
  ``client.watch()``: a ``progress`` event per state, a ``: ping`` comment after every
  ``heartbeat`` seconds of silence (so a browser that left is noticed even on a quiet job: the
  write fails), and a last *named* event when the job cannot be followed;
- :func:`error_answer`: the JSON error (502 or 503) a backend answers when the job server fails.

The event names are ``progress``, ``job-not-found`` and ``job-error``: never ``error``, which is
also the name of the event ``EventSource`` fires by itself when its connection drops, so a page
could not tell the two apart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import aiohttp

from asyncjobs import APIError, AsyncJobsError, Client, Job, JobNotFoundError, RateLimitError
from asyncjobs.sse import SSEDecoder
from asyncjobs.testing import JobServer

__all__ = [
    "HEARTBEAT",
    "PAGE",
    "RETRY_MS",
    "Running",
    "error_answer",
    "example_main",
    "job_events",
    "play_browser",
    "progress_payload",
]

PAGE = (Path(__file__).parent / "progress_page.html").read_text(encoding="utf-8")

HEARTBEAT = 2.0
"""Seconds of silence after which the stream writes a ``: ping`` comment."""

RETRY_MS = 2000
"""How long the browser waits before it reconnects a dropped stream (the ``retry:`` field)."""


def progress_payload(job: Job) -> dict[str, Any]:
    """The fields of a job the page shows."""
    return {
        "id": job.id,
        "status": job.status.value,
        "progress": job.progress,
        "message": job.message,
        "result": job.result,
        "error": job.error,
    }


def _event(name: str, data: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


async def job_events(
    client: Client, job_id: str, *, heartbeat: float = HEARTBEAT, retry_ms: int = RETRY_MS
) -> AsyncGenerator[bytes, None]:
    """The event stream of one job for a browser, until the job ends.

    The watch runs in a task of its own so that the stream can write a heartbeat while the job
    is quiet. Close this generator (``contextlib.aclosing``) or cancel the task iterating it, and
    the watch ends at once, with its stream to the job server.

    Args:
        client: The backend's client.
        job_id: The job to follow.
        heartbeat: Seconds of silence after which a ``: ping`` comment is written.
        retry_ms: The reconnect delay sent to the browser.

    Yields:
        Chunks of ``text/event-stream``: ``retry:`` first, then a ``progress`` event per state
        (the current one first, the terminal one last), ``: ping`` comments, and instead of
        the states a ``job-not-found`` or ``job-error`` event when the job cannot be followed.
    """
    updates: asyncio.Queue[Job | AsyncJobsError | None] = asyncio.Queue()

    async def watch() -> None:
        try:
            async with contextlib.aclosing(client.watch(job_id)) as states:
                async for job in states:
                    updates.put_nowait(job)
        except AsyncJobsError as exc:
            updates.put_nowait(exc)
        else:
            updates.put_nowait(None)

    task = asyncio.create_task(watch())
    try:
        yield f"retry: {retry_ms}\n\n".encode()
        while True:
            try:
                # asyncio.timeout, not wait_for: on Python 3.11, wait_for can lose the
                # cancellation of a handler whose browser left.
                async with asyncio.timeout(heartbeat):
                    item = await updates.get()
            except TimeoutError:
                yield b": ping\n\n"
                continue
            if item is None:
                return
            if isinstance(item, JobNotFoundError):
                yield _event("job-not-found", {"id": job_id, "details": f"no job {job_id!r}"})
                return
            if isinstance(item, AsyncJobsError):
                yield _event("job-error", {"id": job_id, "details": str(item)})
                return
            yield _event("progress", progress_payload(item))
    finally:
        task.cancel()
        # gather: the watch's own CancelledError is collected, a cancellation of ours is not.
        await asyncio.gather(task, return_exceptions=True)


def error_answer(exc: AsyncJobsError) -> tuple[int, dict[str, Any]]:
    """The status and JSON body a backend answers when the job server failed it.

    503 when the job server is overloaded (429, 503), else 502 (unreachable, or any other
    error): the failure is the job server's, not this backend's, so never a bare 500.
    """
    status = exc.status if isinstance(exc, APIError) else None
    if isinstance(exc, RateLimitError) or status == 503:
        return 503, {"error": "job server busy", "details": str(exc)}
    if status is None:
        return 502, {"error": "job server unreachable", "details": str(exc)}
    return 502, {"error": "job server error", "details": str(exc)}


Running = Callable[..., AbstractAsyncContextManager[str]]
"""A backend example's ``running(jobs_url, *, port=0)``: serves it, yields its base URL."""


async def play_browser(backend: str) -> None:
    """What the page does: start a job, then read its progress stream to the end."""
    async with aiohttp.ClientSession() as session:
        async with session.get(backend + "/") as page:
            assert "EventSource" in await page.text()
        async with session.post(backend + "/start") as answer:
            job_id = (await answer.json())["id"]
        print(f"browser: started job {job_id}")
        decoder = SSEDecoder()
        async with session.get(f"{backend}/progress/{job_id}") as stream:
            async for chunk in stream.content.iter_any():
                for event in decoder.feed(chunk):
                    job = json.loads(event.data)
                    detail = job["result"] if job["status"] == "completed" else job["message"]
                    print(f"browser: {event.event} {job['status']:<9} {job['progress']}% {detail}")


async def _run(running: Running, jobs_url: str, *, serve: bool, port: int) -> None:
    async with running(jobs_url, port=port) as backend:
        if serve:
            print(f"backend on {backend}/ (jobs at {jobs_url}); Ctrl-C to stop")
            await asyncio.Event().wait()
        else:
            await play_browser(backend)


async def example_main(running: Running, description: str) -> None:
    """The command line of a backend example: with ``--url`` (a job server's base URL) or an
    embedded ``JobServer``, start the backend (``running``), then play the browser once, or
    with ``--serve`` keep serving the page."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", help="a job server's base URL (default: start one here)")
    parser.add_argument("--serve", action="store_true", help="keep serving the page")
    parser.add_argument("--port", type=int, default=0, help="the backend's port (default: any)")
    args = parser.parse_args()
    if args.url:
        await _run(running, args.url, serve=args.serve, port=args.port)
        return
    async with JobServer(auto_run=True) as server:
        await _run(running, server.url, serve=args.serve, port=args.port)
