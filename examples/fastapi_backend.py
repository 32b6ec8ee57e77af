"""The web backend of ``web_backend.py`` over FastAPI: the same page, routes and behaviour.

- one :class:`asyncjobs.Client` for the app's whole life, opened in its lifespan and handed to
  the routes as a typed dependency (``JobClient``);
- ``POST /start`` submits a job (201 ``{"id": ...}``, or a JSON 502/503 when the job server
  fails);
- ``GET /progress/{id}`` relays ``client.watch(id)`` as Server-Sent Events with a plain
  ``StreamingResponse`` (no extra package: the events, the heartbeat and the named
  ``job-not-found``/``job-error`` events come from ``job_events.py``);
- ``GET /`` serves the page.

When the browser goes away, Starlette cancels the streaming response (uvicorn reports the
disconnect), which closes the watch and its stream to the job server; the ``: ping`` comment
written every 2 s of silence makes a dead connection fail a write even on a quiet job.

Needs the ``examples`` extra (``pip install 'asyncjobs[examples]'``: fastapi and uvicorn). By
default it checks itself and exits, like ``web_backend.py``; ``--serve`` keeps it running::

    python examples/fastapi_backend.py
    python examples/fastapi_backend.py --serve --port 8080
    python examples/fastapi_backend.py --serve --url http://127.0.0.1:8000/api/v1
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from typing import Annotated

import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from job_events import HEARTBEAT, PAGE, error_answer, example_main, job_events

from asyncjobs import AsyncJobsError, Client, RetryPolicy

# A person is waiting on each answer: give up on the job server within seconds, not minutes.
RETRY = RetryPolicy(attempts=3, max_total=5.0)


def job_client(request: Request) -> Client:
    """The app's client, opened by its lifespan (a dependency of the routes)."""
    client: Client = request.state.client
    return client


JobClient = Annotated[Client, Depends(job_client)]


def make_app(jobs_url: str, *, heartbeat: float = HEARTBEAT) -> FastAPI:
    """The backend, talking to the job server at ``jobs_url``.

    Args:
        jobs_url: The job server's base URL.
        heartbeat: Seconds of silence after which a progress stream writes ``: ping``.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Client]]:
        async with Client(jobs_url, timeout=10.0, retry=RETRY) as client:
            yield {"client": client}  # the lifespan state: request.state.client

    app = FastAPI(title="asyncjobs web backend", lifespan=lifespan)

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return PAGE

    @app.post("/start")
    async def start(client: JobClient) -> JSONResponse:
        config = {"duration": random.uniform(1.0, 2.0), "steps": 8, "result": {"thumbnails": 24}}
        try:
            job = await client.submit_job("render-thumbnails", config)
        except AsyncJobsError as exc:
            status, body = error_answer(exc)
            return JSONResponse(body, status_code=status)
        return JSONResponse({"id": job.id}, status_code=201)

    @app.get("/progress/{job_id}")
    async def progress(job_id: str, client: JobClient) -> StreamingResponse:
        return StreamingResponse(
            job_events(client, job_id, heartbeat=heartbeat),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return app


@contextlib.asynccontextmanager
async def running(
    jobs_url: str, *, port: int = 0, heartbeat: float = HEARTBEAT
) -> AsyncIterator[str]:
    """Serve the backend with uvicorn on 127.0.0.1 while the block runs; yields its URL.

    Raises:
        RuntimeError: uvicorn did not start (its own log says why).
    """
    config = uvicorn.Config(
        make_app(jobs_url, heartbeat=heartbeat),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                await serving
                raise RuntimeError("uvicorn stopped before it started serving")
            await asyncio.sleep(0.01)
        bound = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{bound}"
    finally:
        server.should_exit = True
        await serving


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(example_main(running, __doc__.splitlines()[0]))
