"""An async web backend that runs jobs for its users and relays their progress to browsers.

The backend (aiohttp.web) holds one :class:`asyncjobs.Client` for its whole life and offers:

- ``POST /start``: submits a job to the job server and answers ``{"id": ...}`` (201), or a JSON
  error, 502 or 503, when the job server fails (the page shows it);
- ``GET /progress/{id}``: a Server-Sent Events stream for the browser, relaying
  ``client.watch(id)``: a ``progress`` event per state, ``pending`` included, until the job
  ends; an unknown id ends the stream with a ``job-not-found`` event (never ``error``, which
  is EventSource's own), after which the page stops reconnecting;
- ``GET /``: the page (``progress_page.html``): a button that starts a job, a bar per job.

When the browser goes away, the watch and its stream to the job server end within moments,
also on a job that is quiet: the server cancels the handler when the connection drops
(``handler_cancellation=True``), and a ``: ping`` comment every 2 s of silence makes a write
fail on a connection that died without a word. The framework-neutral part (the events, the
heartbeat, the error answers) is ``job_events.py``, shared with ``fastapi_backend.py``.

By default it checks itself and exits: it starts the embedded job server and the backend, then
plays the browser (starts a job, reads the progress stream to the end). ``--serve`` keeps it
running so you can open the page::

    python examples/web_backend.py
    python examples/web_backend.py --serve --port 8080
    python examples/web_backend.py --serve --url http://127.0.0.1:8000/api/v1
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator

from aiohttp import web
from job_events import HEARTBEAT, PAGE, error_answer, example_main, job_events

from asyncjobs import AsyncJobsError, Client, RetryPolicy

CLIENT = web.AppKey("client", Client)
HEARTBEAT_KEY = web.AppKey("heartbeat", float)

# A person is waiting on each answer: give up on the job server within seconds, not minutes.
RETRY = RetryPolicy(attempts=3, max_total=5.0)


async def index(request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html")


async def start(request: web.Request) -> web.Response:
    client = request.app[CLIENT]
    config = {"duration": random.uniform(1.0, 2.0), "steps": 8, "result": {"thumbnails": 24}}
    try:
        job = await client.submit_job("render-thumbnails", config)
    except AsyncJobsError as exc:
        status, body = error_answer(exc)
        return web.json_response(body, status=status)
    return web.json_response({"id": job.id}, status=201)


async def progress(request: web.Request) -> web.StreamResponse:
    client = request.app[CLIENT]
    job_id = request.match_info["job_id"]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # a proxy in front must not hold the events back
        }
    )
    await response.prepare(request)
    # aclosing: when a write fails because the browser left, the watch (and its stream to the
    # job server) ends right here, not whenever the generator is garbage collected. When the
    # server cancels this handler instead, the cancellation closes it the same way.
    events = job_events(client, job_id, heartbeat=request.app[HEARTBEAT_KEY])
    try:
        async with contextlib.aclosing(events):
            async for chunk in events:
                await response.write(chunk)
    except ConnectionResetError:
        pass  # the browser left
    return response


def make_app(jobs_url: str, *, heartbeat: float = HEARTBEAT) -> web.Application:
    """The backend, talking to the job server at ``jobs_url``.

    Args:
        jobs_url: The job server's base URL.
        heartbeat: Seconds of silence after which a progress stream writes ``: ping``.
    """

    async def job_client(app: web.Application) -> AsyncIterator[None]:
        async with Client(jobs_url, timeout=10.0, retry=RETRY) as client:
            app[CLIENT] = client
            yield

    app = web.Application()
    app[HEARTBEAT_KEY] = heartbeat
    app.cleanup_ctx.append(job_client)
    app.add_routes(
        [
            web.get("/", index),
            web.post("/start", start),
            web.get("/progress/{job_id}", progress),
        ]
    )
    return app


@contextlib.asynccontextmanager
async def running(
    jobs_url: str, *, port: int = 0, heartbeat: float = HEARTBEAT
) -> AsyncIterator[str]:
    """Serve the backend on 127.0.0.1 while the block runs; yields its URL.

    ``handler_cancellation=True``: a handler is cancelled when its client disconnects, so a
    progress stream whose browser left ends at once.
    """
    runner = web.AppRunner(
        make_app(jobs_url, heartbeat=heartbeat), handler_cancellation=True, shutdown_timeout=1.0
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        host, bound = runner.addresses[0][:2]
        yield f"http://{host}:{bound}"
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(example_main(running, __doc__.splitlines()[0]))
