"""An async web backend that runs jobs for its users and relays their progress to browsers.

The backend (aiohttp.web) holds one :class:`asyncjobs.Client` for its whole life and offers:

- ``POST /start``: submits a job to the job server and answers ``{"id": ...}``;
- ``GET /progress/{id}``: a Server-Sent Events stream for the browser, relaying
  ``client.watch(id)``: one ``progress`` event per change, until the job ends;
- ``GET /``: a tiny page with a button that starts a job and draws its progress bar.

By default it checks itself and exits: it starts the embedded job server and the backend, then
plays the browser (starts a job, reads the progress stream to the end). ``--serve`` keeps it
running so you can open the page::

    python examples/web_backend.py
    python examples/web_backend.py --serve --port 8080
    python examples/web_backend.py --serve --url http://127.0.0.1:8000/api/v1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from asyncjobs import Client, Job, JobNotFoundError, JobTimeoutError
from asyncjobs.sse import SSEDecoder
from asyncjobs.testing import JobServer

CLIENT = web.AppKey("client", Client)

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>asyncjobs web backend</title>
<style>
  body { font: 15px system-ui, sans-serif; margin: 2rem; }
  .job { margin: .4rem 0; } progress { width: 18rem; vertical-align: middle; }
</style>
<h1>Thumbnails</h1>
<button id="start">Render thumbnails</button>
<div id="jobs"></div>
<script>
document.getElementById("start").onclick = async () => {
  const { id } = await (await fetch("/start", { method: "POST" })).json();
  const row = document.createElement("div");
  row.className = "job";
  row.innerHTML = '<code></code> <progress max="100" value="0"></progress> <span>pending</span>';
  row.querySelector("code").textContent = id;
  document.getElementById("jobs").prepend(row);
  const stream = new EventSource(`/progress/${encodeURIComponent(id)}`);
  stream.addEventListener("progress", (event) => {
    const job = JSON.parse(event.data);
    row.querySelector("progress").value = job.progress ?? 0;
    row.querySelector("span").textContent =
      job.status === "completed" ? `done: ${JSON.stringify(job.result)}`
      : job.status === "failed" ? `failed: ${job.error}`
      : `${job.status} ${job.message ?? ""}`;
    if (["completed", "failed", "cancelled"].includes(job.status)) stream.close();
  });
};
</script>
"""


def progress_event(job: Job) -> bytes:
    """The SSE event the browser gets for one state of a job."""
    payload = {
        "id": job.id,
        "status": job.status.value,
        "progress": job.progress,
        "message": job.message,
        "result": job.result,
        "error": job.error,
    }
    return f"event: progress\ndata: {json.dumps(payload)}\n\n".encode()


async def index(request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html")


async def start(request: web.Request) -> web.Response:
    client = request.app[CLIENT]
    config = {"duration": random.uniform(1.0, 2.0), "steps": 8, "result": {"thumbnails": 24}}
    job = await client.submit_job("render-thumbnails", config)
    return web.json_response({"id": job.id}, status=201)


async def progress(request: web.Request) -> web.StreamResponse:
    client = request.app[CLIENT]
    job_id = request.match_info["job_id"]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    # aclosing: when the browser goes away mid-stream, the watch (and its connection to the job
    # server) is closed right here rather than whenever the generator is garbage collected.
    try:
        async with contextlib.aclosing(client.watch(job_id, timeout=600)) as updates:
            async for job in updates:
                await response.write(progress_event(job))
    except (JobNotFoundError, JobTimeoutError) as exc:
        await response.write(f"event: error\ndata: {json.dumps(str(exc))}\n\n".encode())
    except ConnectionResetError:
        pass  # the browser left
    return response


def make_app(jobs_url: str) -> web.Application:
    """The backend, talking to the job server at ``jobs_url``."""

    async def job_client(app: web.Application) -> AsyncIterator[None]:
        async with Client(jobs_url) as client:
            app[CLIENT] = client
            yield

    app = web.Application()
    app.cleanup_ctx.append(job_client)
    app.add_routes(
        [
            web.get("/", index),
            web.post("/start", start),
            web.get("/progress/{job_id}", progress),
        ]
    )
    return app


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


async def run(jobs_url: str, *, serve: bool, port: int) -> None:
    runner = web.AppRunner(make_app(jobs_url))
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        host, bound = runner.addresses[0][:2]
        backend = f"http://{host}:{bound}"
        if serve:
            print(f"backend on {backend}/ (jobs at {jobs_url}); Ctrl-C to stop")
            await asyncio.Event().wait()
        else:
            await play_browser(backend)
    finally:
        await runner.cleanup()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a job server's base URL (default: start one here)")
    parser.add_argument("--serve", action="store_true", help="keep serving the page")
    parser.add_argument("--port", type=int, default=0, help="the backend's port (default: any)")
    args = parser.parse_args()
    if args.url:
        await run(args.url, serve=args.serve, port=args.port)
        return
    async with JobServer(auto_run=True) as server:
        await run(server.url, serve=args.serve, port=args.port)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
