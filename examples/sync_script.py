"""A plain (not async) script using :class:`asyncjobs.SyncClient`: no ``await`` anywhere.

SyncClient runs the async client in a background thread and offers the same methods as
blocking calls; ``watch``, ``watch_jobs``, ``as_completed`` and ``list_jobs`` are plain
iterators. This script submits a job and prints its progress, waits for a batch, handles a
failed job, and lists what ran.

Run it against the embedded reference server (the default) or your own::

    python examples/sync_script.py
    python examples/sync_script.py --url http://127.0.0.1:8000/api/v1
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

from anyio.from_thread import start_blocking_portal

from asyncjobs import JobFailedError, SyncClient
from asyncjobs.testing import JobServer


def run(url: str) -> None:
    with SyncClient(url) as client:
        # One job, followed live: a plain for loop over its states.
        job = client.submit_job("export-report", {"duration": 1.0, "steps": 4})
        for update in client.watch(job.id, timeout=30):
            print(f"export-report: {update.status.value:<9} {update.progress or 0:3.0f}%")
        print(f"export-report result: {client.get_job(job.id).result}")

        # A batch, waited for at once; a failure raises JobFailedError with the details.
        ids = [
            client.submit_job(f"resize-{i}", {"duration": 0.2 * i, "steps": 2}).id
            for i in range(1, 4)
        ]
        done = client.wait_for_jobs(ids, timeout=30)
        print(f"batch: {len(done)} jobs completed")

        broken = client.submit_job("import", {"duration": 0.2, "fail": True, "error": "bad CSV"})
        try:
            client.wait_for_job(broken.id, timeout=30)
        except JobFailedError as exc:
            print(f"import failed: {exc.details['failure_reason']}")

        # Leaving a loop early (break) closes the iterator and whatever it held open.
        for count, recent in enumerate(client.list_jobs(), start=1):
            print(f"recent: {recent.name} {recent.status.value}")
            if count == 3:
                break


@contextlib.contextmanager
def embedded_server() -> Iterator[str]:
    """Run the reference job server in a background thread; yield its URL."""
    with start_blocking_portal() as portal:
        server = portal.call(lambda: JobServer(auto_run=True))
        with portal.wrap_async_context_manager(server):
            yield server.url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a job server's base URL (default: start one here)")
    args = parser.parse_args()
    if args.url:
        run(args.url)
        return
    with embedded_server() as url:
        run(url)


if __name__ == "__main__":
    main()
