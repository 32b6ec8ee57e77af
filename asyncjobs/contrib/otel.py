"""OpenTelemetry spans from a client's hooks (the ``otel`` extra: ``opentelemetry-api``, and
``opentelemetry-sdk`` or another implementation to export them).

::

    from asyncjobs import Client
    from asyncjobs.contrib.otel import otel_hooks

    async with Client(url, hooks=otel_hooks()) as client:
        ...

What becomes what:

- each attempt of each request (a stream's opening and a long poll included) is a ``CLIENT``
  span named ``"{method} {route}"`` (e.g. ``GET /jobs/{job_id}``), with the HTTP semantic
  conventions' attributes (``http.request.method``, ``url.full``, ``server.address``,
  ``server.port``, ``http.response.status_code``, ``http.request.resend_count``,
  ``error.type``) and ``asyncjobs.operation`` / ``asyncjobs.long_lived``; its status is ERROR
  for no answer or a status of 400 or more. It is made when the attempt ends, with the
  attempt's own start and end times, as a child of the span current where the call was made;
- a retry, a stream's reconnect and a transport chosen or dropped are span events
  (``asyncjobs.retry``, ``asyncjobs.reconnect``, ``asyncjobs.transport``) on the span current
  where they happened when it is still recording, else short ``INTERNAL`` spans of those
  names. Their attributes are the event's fields under ``asyncjobs.`` (job ids only when
  there are at most 20 of them; ``asyncjobs.job_count`` always).

This module is the recipe as much as the tool: copy it to shape the spans your way.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

try:
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer, TracerProvider
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "asyncjobs.contrib.otel needs OpenTelemetry: pip install 'asyncjobs[otel]'"
    ) from exc

from asyncjobs._hooks import (
    Hooks,
    ReconnectEvent,
    ResponseEvent,
    RetryEvent,
    TransportEvent,
)
from asyncjobs._version import __version__

__all__ = ["otel_hooks"]

_MAX_IDS: Final = 20
"""Job ids are attached as an attribute only up to this many (a shared stream may carry
thousands)."""

_Attributes = Mapping[str, str | bool | int | float | tuple[str, ...]]


def otel_hooks(*, tracer_provider: TracerProvider | None = None) -> Hooks:
    """Hooks that record a client's requests, retries, reconnects and transport changes as
    OpenTelemetry spans and span events (see the module docstring).

    Args:
        tracer_provider: Where the spans go; None for the global one
            (``opentelemetry.trace.set_tracer_provider``).

    Returns:
        The :class:`~asyncjobs.Hooks` to pass to ``Client(..., hooks=...)``.
    """
    tracer = trace.get_tracer("asyncjobs", __version__, tracer_provider=tracer_provider)

    async def on_response(event: ResponseEvent) -> None:
        _attempt_span(tracer, event)

    async def on_retry(event: RetryEvent) -> None:
        attributes: dict[str, str | bool | int | float | tuple[str, ...]] = {
            "http.request.method": event.method,
            "asyncjobs.operation": event.operation,
            "asyncjobs.attempt": event.attempt,
            "asyncjobs.attempts": event.attempts,
            "asyncjobs.delay": event.delay,
            "asyncjobs.reason": event.reason,
        }
        if event.status is not None:
            attributes["http.response.status_code"] = event.status
        _point(tracer, "asyncjobs.retry", attributes)

    async def on_reconnect(event: ReconnectEvent) -> None:
        attributes: dict[str, str | bool | int | float | tuple[str, ...]] = {
            "asyncjobs.stream": event.stream,
            "asyncjobs.reason": event.reason,
            "asyncjobs.delay": event.delay,
            "asyncjobs.attempt": event.attempt,
            **_jobs(event.job_ids),
        }
        if event.resume_id is not None:
            attributes["asyncjobs.resume_id"] = event.resume_id
        _point(tracer, "asyncjobs.reconnect", attributes)

    async def on_transport(event: TransportEvent) -> None:
        attributes: dict[str, str | bool | int | float | tuple[str, ...]] = {
            "asyncjobs.action": event.action,
            "asyncjobs.transport": event.transport,
            **_jobs(event.job_ids),
        }
        if event.reason is not None:
            attributes["asyncjobs.reason"] = event.reason
        _point(tracer, "asyncjobs.transport", attributes)

    return Hooks(
        on_response=[on_response],
        on_retry=[on_retry],
        on_reconnect=[on_reconnect],
        on_transport=[on_transport],
    )


def _attempt_span(tracer: Tracer, event: ResponseEvent) -> None:
    start = int(event.started_at * 1e9)
    url = urlsplit(event.url)
    attributes: dict[str, str | bool | int | float | tuple[str, ...]] = {
        "http.request.method": event.method,
        "url.full": event.url,
        "server.address": url.hostname or "",
        "asyncjobs.operation": event.operation,
        "asyncjobs.long_lived": event.long_lived,
    }
    if url.port is not None:
        attributes["server.port"] = url.port
    if event.attempt > 1:
        attributes["http.request.resend_count"] = event.attempt - 1
    if event.status is not None:
        attributes["http.response.status_code"] = event.status
    span = tracer.start_span(
        f"{event.method} {event.route}",
        kind=SpanKind.CLIENT,
        attributes=attributes,
        start_time=start,
    )
    if event.error is not None:
        span.set_attribute("error.type", type(event.error).__name__)
        span.set_status(Status(StatusCode.ERROR, str(event.error)))
    elif event.status is not None and event.status >= 400:
        span.set_attribute("error.type", str(event.status))
        span.set_status(Status(StatusCode.ERROR))
    span.end(end_time=start + int(event.elapsed * 1e9))


def _point(tracer: Tracer, name: str, attributes: _Attributes) -> None:
    """An event on the current span if it is recording, else a span of no length."""
    current = trace.get_current_span()
    if current.is_recording():
        current.add_event(name, attributes)
        return
    now = time.time_ns()
    span = tracer.start_span(name, attributes=attributes, start_time=now)
    span.end(end_time=now)


def _jobs(job_ids: tuple[str, ...]) -> dict[str, int | tuple[str, ...]]:
    found: dict[str, int | tuple[str, ...]] = {"asyncjobs.job_count": len(job_ids)}
    if len(job_ids) <= _MAX_IDS:
        found["asyncjobs.job_ids"] = job_ids
    return found
