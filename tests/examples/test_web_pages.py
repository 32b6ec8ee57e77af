"""Both example backends' page in a real headless Chromium: live bars, a closed tab, an unknown
id, a job server that is down.

Each test runs once per backend (aiohttp.web and FastAPI) against a real JobServer whose jobs
the test drives, and counts on the server what the browser's visit cost.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest
from _example_backends import KINDS, serve

from asyncjobs.testing import JobServer

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

# Every wait in the page is bounded by this many milliseconds (Playwright's unit).
WAIT_MS = 10_000


async def job_rows(page: Any) -> list[dict[str, Any]]:
    """Each job row of the page: its id, status class, bar value and status text."""
    rows: list[dict[str, Any]] = await page.evaluate(
        """() => [...document.querySelectorAll("#jobs .job")].map((row) => ({
            id: row.dataset.jobId,
            state: row.className.replace("job job-", ""),
            value: row.querySelector("progress").value,
            text: row.querySelector(".status").textContent,
        }))"""
    )
    return rows


async def wait_for_rows(page: Any, condition: str) -> None:
    """Wait until every job row satisfies ``condition`` (a JS expression on ``row``)."""
    await page.wait_for_function(
        f"""() => {{
            const rows = [...document.querySelectorAll("#jobs .job")];
            return rows.length > 0 && rows.every((row) => {condition});
        }}""",
        timeout=WAIT_MS,
    )


@pytest.mark.parametrize("kind", KINDS)
async def test_three_concurrent_jobs_show_moving_bars_and_results(
    kind: str, page: Any, server: JobServer, screenshots: Path
) -> None:
    """Three jobs started from the page: pending shown, bars follow progress, results shown."""
    async with serve(kind, server.url) as backend:
        await page.goto(backend + "/")
        for _ in range(3):
            await page.click("#start")
        await server.wait_until(lambda: len(server.jobs) == 3)
        await wait_for_rows(page, "row.className === 'job job-pending'")
        rows = await job_rows(page)
        assert len(rows) == 3
        assert {row["id"] for row in rows} == {job.id for job in server.jobs}
        assert all(row["text"] == "pending: waiting for a worker" for row in rows)

        ids = [row["id"] for row in rows]
        for percent in (10, 40, 70):
            for step, job_id in enumerate(ids):
                server.update_job(
                    job_id, status="running", progress=percent - step, message=f"frame {percent}"
                )
            await wait_for_rows(
                page,
                f"row.querySelector('progress').value >= {percent - 2}"
                f" && row.querySelector('progress').value <= {percent}",
            )
        rows = await job_rows(page)
        assert sorted(row["value"] for row in rows) == [68, 69, 70]
        assert all(row["state"] == "running" for row in rows)
        assert sorted(row["text"] for row in rows) == [
            f"running {n}% frame 70" for n in (68, 69, 70)
        ]
        await page.screenshot(path=str(screenshots / f"{kind}-mid-progress.png"))

        for n, job_id in enumerate(ids):
            server.update_job(job_id, status="completed", progress=100, result={"thumbnails": n})
        await wait_for_rows(page, "row.className === 'job job-completed'")
        rows = await job_rows(page)
        assert all(row["value"] == 100 for row in rows)
        results = {row["id"]: row["text"] for row in rows}
        expected = {job_id: f'completed: {{"thumbnails":{n}}}' for n, job_id in enumerate(ids)}
        assert results == expected
        await page.screenshot(path=str(screenshots / f"{kind}-end.png"))
        # Each terminal state ended its stream: nothing left open on the job server.
        await server.wait_until(lambda: server.open_streams == 0)


@pytest.mark.parametrize("kind", KINDS)
async def test_closed_tab_releases_the_stream_to_the_job_server(
    kind: str, page: Any, server: JobServer
) -> None:
    """A tab closed while its job is quiet frees the backend's stream and connection in < 5 s."""
    job = server.create_job(name="quiet")
    async with serve(kind, server.url) as backend:
        await page.goto(f"{backend}/?job={job.id}")
        await wait_for_rows(page, "row.className === 'job job-pending'")
        await server.wait_until(lambda: server.open_streams == 1)
        streaming = server.open_connections
        closed_at = time.monotonic()
        await page.close()
        await server.wait_until(lambda: server.open_streams == 0, timeout=5.0)
        await server.wait_until(lambda: server.open_connections < streaming, timeout=5.0)
        assert time.monotonic() - closed_at < 5.0
        # The job never changed: nothing but the browser leaving ended the watch.
        assert server.get_job(job.id).version == job.version


@pytest.mark.parametrize("kind", KINDS)
async def test_unknown_job_id_ends_the_stream_without_reconnecting(
    kind: str, page: Any, server: JobServer
) -> None:
    """An unknown id: one request, a job-not-found event shown, the EventSource closed."""
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    async with serve(kind, server.url) as backend:
        await page.goto(f"{backend}/?job=no-such-job")
        await wait_for_rows(page, "row.className === 'job job-missing'")
        [row] = await job_rows(page)
        assert row["text"] == "no such job: no job 'no-such-job'"
        # readyState 2 (CLOSED): the page closed it, so the browser can never reconnect.
        state = await page.evaluate("() => window.jobStreams.get('no-such-job').readyState")
        assert state == 2
        streams = [url for url in requests if "/progress/" in url]
        assert streams == [f"{backend}/progress/no-such-job"]
        assert server.request_count(path="/jobs/no-such-job*") <= 2
        assert await page.text_content("#error") == ""


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("kind", KINDS)
async def test_job_server_down_shows_an_error(kind: str, page: Any, screenshots: Path) -> None:
    """The job server unreachable: /start answers a JSON 502 and the page shows why."""
    answers: list[int] = []
    page.on(
        "response",
        lambda response: answers.append(response.status) if "/start" in response.url else None,
    )
    async with serve(kind, f"http://127.0.0.1:{closed_port()}/api/v1") as backend:
        await page.goto(backend + "/")
        await page.click("#start")
        error = page.locator("#error")
        await error.wait_for(state="visible", timeout=WAIT_MS)
        text = await error.text_content()
        assert text is not None
        assert text.startswith("Could not start a job (502): ")
        assert "cannot connect" in text
        assert answers == [502]
        assert await job_rows(page) == []
        await page.screenshot(path=str(screenshots / f"{kind}-job-server-down.png"))
