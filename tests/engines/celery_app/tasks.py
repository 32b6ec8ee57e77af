"""The Celery app the engine tests run their tasks on (started by ``.ci/engines/engines.sh``).

The worker and Flower import it as ``-A tasks`` with this directory on ``PYTHONPATH``; the
broker and the result backend are the Redis at ``$ASYNCJOBS_CELERY_BROKER``. The pytest run never
imports it (it needs Celery, which lives in the engines' own venv): tests name its tasks.

Sent events are on (``task_send_sent_event``), so Flower knows a task while it still waits in
the queue, and so are task events (``worker_send_task_events``, like ``worker -E``).
"""

from __future__ import annotations

import os
import time

from celery import Celery

BROKER = os.environ.get("ASYNCJOBS_CELERY_BROKER", "redis://127.0.0.1:6379/0")

app = Celery("tasks", broker=BROKER, backend=BROKER)
app.conf.update(
    task_send_sent_event=True,
    worker_send_task_events=True,
    task_track_started=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    result_expires=3600,
)


@app.task(name="tasks.add")
def add(x: int, y: int) -> int:
    """x + y."""
    return x + y


@app.task(name="tasks.echo")
def echo(value: object) -> object:
    """Its argument, as the task's result (any JSON data)."""
    return value


@app.task(name="tasks.sleep")
def sleep(seconds: float) -> dict[str, float]:
    """Sleep, then say how long."""
    time.sleep(seconds)
    return {"slept": seconds}


@app.task(name="tasks.fail")
def fail(message: str) -> None:
    """Raise ValueError(message)."""
    raise ValueError(message)
