"""The OpenTelemetry recipe (``asyncjobs.contrib.otel``, the ``otel`` extra) against a real
JobServer, its spans caught by the SDK's in-memory exporter. The ``test`` extra installs the
SDK, so this runs in CI (no skip when it is missing: that is a broken install)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from _live_helpers import bounded, wait_until
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

from asyncjobs import Client, Job, JobStatus, RetryPolicy
from asyncjobs.contrib.otel import otel_hooks
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(attempts=3, backoff_base=0.01, backoff_cap=0.02, max_total=5.0)


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """A tracer provider of the test's own (the global one is left alone) and its exporter."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def named(found: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in found if span.name == name]


async def test_each_attempt_is_a_client_span_under_the_callers_span_and_a_retry_an_event(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    """A get answered 503 then 200, inside the caller's span: two CLIENT spans named by the
    route, children of the caller's span, the first an error, the second a resend; the retry
    is an event on the caller's span."""
    provider, exporter = spans
    tracer = provider.get_tracer("the app")
    async with JobServer() as server:
        job = server.create_job(name="x")
        server.fail_next(1, 503)
        async with Client(server.url, retry=FAST, hooks=otel_hooks(tracer_provider=provider)) as c:
            with tracer.start_as_current_span("handler") as handler:
                await c.get_job(job.id)
    found = exporter.get_finished_spans()
    (parent,) = named(found, "handler")
    attempts = named(found, "GET /jobs/{job_id}")
    assert [a.attributes["http.response.status_code"] for a in attempts] == [503, 200]  # type: ignore[index]
    for attempt in attempts:
        assert attempt.kind is SpanKind.CLIENT
        assert attempt.parent is not None
        assert attempt.parent.span_id == handler.get_span_context().span_id
        assert attempt.attributes is not None
        assert attempt.attributes["url.full"] == f"{server.url}/jobs/{job.id}"
        assert attempt.attributes["server.port"] == server.port
        assert attempt.start_time is not None
        assert attempt.end_time is not None
        assert attempt.start_time <= attempt.end_time
    failed, worked = attempts
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes is not None
    assert failed.attributes["error.type"] == "503"
    assert worked.status.status_code is StatusCode.UNSET
    assert worked.attributes is not None
    assert worked.attributes["http.request.resend_count"] == 1
    (retry,) = [event for event in parent.events if event.name == "asyncjobs.retry"]
    assert retry.attributes is not None
    assert retry.attributes["asyncjobs.attempt"] == 1
    assert retry.attributes["http.response.status_code"] == 503


async def test_a_reconnect_and_a_transport_choice_become_spans_of_their_own(
    spans: tuple[TracerProvider, InMemorySpanExporter], fast: None
) -> None:
    """Outside any span of the caller: the shared stream's choice and its reconnect after
    ``cut_streams()`` are short spans with the event's fields; the stream's opening is a
    long-lived CLIENT span."""
    provider, exporter = spans
    async with (
        JobServer() as server,
        Client(server.url, hooks=otel_hooks(tracer_provider=provider)) as client,
    ):
        job = server.create_job(name="x")
        seen: list[Job] = []

        async def follow() -> None:
            async for update in client.watch_jobs([job.id]):
                seen.append(update)

        watching = asyncio.create_task(follow())
        await wait_until(lambda: seen and server.open_streams == 1, message="no stream open")
        server.cut_streams()
        await wait_until(
            lambda: named(exporter.get_finished_spans(), "asyncjobs.reconnect"),
            message="no reconnect span",
        )
        server.update_job(job.id, status="completed")
        await bounded(watching, "the watch did not end")
    assert seen[-1].status is JobStatus.COMPLETED
    found = exporter.get_finished_spans()
    (reconnect,) = named(found, "asyncjobs.reconnect")
    assert reconnect.attributes is not None
    assert reconnect.attributes["asyncjobs.stream"] == "multiplexed"
    assert reconnect.attributes["asyncjobs.resume_id"] == str(seen[0].version)
    assert reconnect.attributes["asyncjobs.job_ids"] == (job.id,)
    assert reconnect.attributes["asyncjobs.job_count"] == 1
    (chosen,) = named(found, "asyncjobs.transport")
    assert chosen.attributes is not None
    assert chosen.attributes["asyncjobs.action"] == "chosen"
    assert chosen.attributes["asyncjobs.transport"] == "sse-multiplexed"
    streams = named(found, "GET /events")
    assert len(streams) == 2  # the first connection and the reconnect
    assert all(s.attributes is not None and s.attributes["asyncjobs.long_lived"] for s in streams)
    assert trace.get_current_span() is trace.INVALID_SPAN
