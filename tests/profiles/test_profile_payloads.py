"""The built-in profiles read each API's real payloads (sans-I/O: dicts and strings only).

Payloads are taken verbatim from the documents in shared/seeds and from ROUTES.md (the APIs'
source code), so every status word, nesting, id type, failure-reason place and naive time of
the five APIs is covered.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from asyncjobs import Job, JobStatus, ProtocolError
from asyncjobs.live import job_error
from asyncjobs.profiles import NATIVE, PROFILES, Profile, get_profile
from asyncjobs.profiles._compileo import COMPILEO, StreamError
from asyncjobs.profiles._dataiku import DATAIKU
from asyncjobs.profiles._fiddler import FIDDLER
from asyncjobs.profiles._flower import FLOWER
from asyncjobs.profiles._job_management import JOB_MANAGEMENT
from asyncjobs.profiles._mammoth import MAMMOTH
from asyncjobs.profiles._ray import RAY

UTC_TIME = datetime(2024, 1, 21, 10, 30, tzinfo=UTC)


def _details(job: Job, profile: Profile = NATIVE) -> dict[str, Any]:
    """The details of the JobFailedError a wait raises for this job (read by ``profile``)."""
    error = job_error(job, profile)
    assert error is not None
    return error.details


def test_every_builtin_profile_is_registered_under_its_fixed_name() -> None:
    """The eight names of DESIGN.md section 5 resolve to profiles of that name."""
    names = ["native", "compileo", "job-management", "mammoth", "fiddler", "dataiku"]
    names += ["ray", "flower"]
    assert sorted(PROFILES) == sorted(names)
    for name in names:
        assert get_profile(name).name == name


@pytest.mark.parametrize(
    ("profile", "headers"),
    [
        (COMPILEO, {"X-API-Key": "k1"}),
        (JOB_MANAGEMENT, {"Authorization": "Bearer k1"}),
        (MAMMOTH, {"X-API-KEY": "k1"}),
        (FIDDLER, {"Authorization": "Bearer k1"}),
        (DATAIKU, {"Authorization": "Basic " + base64.b64encode(b"k1:").decode()}),
        (FLOWER, {"Authorization": "Basic " + base64.b64encode(b"k1:").decode()}),
        (RAY, {"Authorization": "Bearer k1"}),
    ],
    ids=lambda value: value.name if isinstance(value, Profile) else "",
)
def test_token_is_sent_the_way_each_api_expects(profile: Profile, headers: dict[str, str]) -> None:
    """Bearer, an API-key header, or HTTP basic with the key as user name and no password."""
    assert profile.auth_headers("k1") == headers


def test_a_user_and_password_token_is_http_basic_with_both() -> None:
    """DESIGN.md section 5: a ``"user:password"`` token is both; only the first colon splits."""
    expected = "Basic " + base64.b64encode(b"user:pa:ss").decode()
    assert FLOWER.auth_headers("user:pa:ss") == {"Authorization": expected}


@pytest.mark.parametrize(
    ("profile", "operations"),
    [
        (COMPILEO, {"get", "poll", "events", "stats", "cancel", "restart"}),
        (
            JOB_MANAGEMENT,
            {"submit", "list", "get", "delete", "cancel", "stats", "cleanup"},
        ),
        (MAMMOTH, {"get", "get_many"}),
        (FIDDLER, {"get"}),
        (DATAIKU, {"list", "submit", "get", "cancel", "log"}),
        (RAY, {"submit", "get", "list", "cancel", "delete", "log"}),
        (FLOWER, {"submit", "get", "list", "cancel", "stats"}),
    ],
    ids=lambda value: value.name if isinstance(value, Profile) else "",
)
def test_each_profile_routes_exactly_the_operations_its_api_has(
    profile: Profile, operations: set[str]
) -> None:
    """An operation the API lacks is absent, so calling it raises UnsupportedOperationError."""
    assert set(profile.routes) == operations


# -- compileo --------------------------------------------------------------------------------

# rest-status-poll-stream.md, "GET /status/{job_id}" response.
COMPILEO_STATUS = {
    "job_id": "123e4567-e89b-12d3-a456-426614174000",
    "status": "running",
    "progress": 65.5,
    "current_step": "Processing document 3 of 5",
    "result": None,
    "error": None,
    "created_at": "2024-01-21T10:30:00Z",
    "started_at": "2024-01-21T10:30:05Z",
    "completed_at": None,
    "updated_at": "2024-01-21T10:35:22Z",
}


def test_compileo_status_response_becomes_a_job() -> None:
    """job_id, current_step and the times map; updated_at ("now" for a live job) is dropped."""
    job = COMPILEO.parse_job(COMPILEO_STATUS)
    assert job.id == "123e4567-e89b-12d3-a456-426614174000"
    assert job.status is JobStatus.RUNNING
    assert job.progress == 65.5
    assert job.message == "Processing document 3 of 5"
    assert job.result is None and job.error is None
    assert job.created_at == UTC_TIME
    assert job.started_at == datetime(2024, 1, 21, 10, 30, 5, tzinfo=UTC)
    assert job.updated_at is None
    assert job.raw is COMPILEO_STATUS


def test_compileo_naive_times_are_utc_and_updated_at_never_makes_a_change() -> None:
    """The source serialises naive utcnow() times; two answers differing only in updated_at are
    the same state."""
    first = {
        **COMPILEO_STATUS,
        "created_at": "2024-01-21T10:30:00",
        "updated_at": "2024-01-21T10:35:22.5",
    }
    second = {**first, "updated_at": "2024-01-21T10:35:23.9"}
    assert COMPILEO.parse_job(first).created_at == UTC_TIME
    assert COMPILEO.parse_job(first) == COMPILEO.parse_job(second)


def test_compileo_terminal_job_uses_completed_at_as_updated_at() -> None:
    """updated_at = completed_at or now: once completed it is stable."""
    payload = {
        **COMPILEO_STATUS,
        "status": "failed",
        "error": "parse failed",
        "completed_at": "2024-01-21T10:40:00",
        "updated_at": "2024-01-21T10:40:00",
    }
    job = COMPILEO.parse_job(payload)
    assert job.status is JobStatus.FAILED
    assert job.error == "parse failed"
    assert job.updated_at == job.completed_at == datetime(2024, 1, 21, 10, 40, tzinfo=UTC)
    assert _details(job) == {"job_id": job.id, "failure_reason": "parse failed"}


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("pending", JobStatus.PENDING),
        ("scheduled", JobStatus.PENDING),
        ("running", JobStatus.RUNNING),
        ("retrying", JobStatus.RUNNING),
        ("completed", JobStatus.COMPLETED),
        ("failed", JobStatus.FAILED),
        ("cancelled", JobStatus.CANCELLED),
        ("paused", JobStatus.UNKNOWN),
    ],
)
def test_compileo_every_status_word(word: str, status: JobStatus) -> None:
    """All seven words of the API's enum (scheduled and retrying are not in its document)."""
    assert COMPILEO.parse_job({**COMPILEO_STATUS, "status": word}).status is status


def test_compileo_long_poll_sends_the_last_status_word_seen() -> None:
    """The poll takes current_status (the API's own word, e.g. scheduled), not a version."""
    job = COMPILEO.parse_job({**COMPILEO_STATUS, "status": "scheduled"})
    assert COMPILEO.poll_params(job=job, timeout=30) == {
        "timeout": "30",
        "current_status": "scheduled",
    }
    assert COMPILEO.poll_params(job=None, timeout=500.0) == {"timeout": "300"}
    assert COMPILEO.poll_params(job=None, timeout=0.2) == {"timeout": "1"}


# rest-status-poll-stream.md, "GET /status/{job_id}/stream" response.
COMPILEO_STREAM = [
    '{"job_id": "123e4567-e89b-12d3-a456-426614174000", "status": "running", "progress": 10.0, "current_step": "Initializing", "timestamp": "2024-01-21T10:30:05Z"}',  # noqa: E501
    '{"job_id": "123e4567-e89b-12d3-a456-426614174000", "status": "running", "progress": 25.0, "current_step": "Processing document 1", "timestamp": "2024-01-21T10:31:15Z"}',  # noqa: E501
    '{"job_id": "123e4567-e89b-12d3-a456-426614174000", "status": "completed", "progress": 100.0, "current_step": "Job completed successfully", "timestamp": "2024-01-21T10:35:22Z"}',  # noqa: E501
]


def test_compileo_stream_events_are_laid_over_the_last_full_state() -> None:
    """An event carries status, progress and step; the rest comes from the state before."""
    previous = COMPILEO.parse_job(COMPILEO_STATUS)
    first = COMPILEO.parse_event(COMPILEO_STREAM[0], previous)
    assert first is not None
    assert (first.status, first.progress, first.message) == (
        JobStatus.RUNNING,
        10.0,
        "Initializing",
    )
    assert first.created_at == previous.created_at
    assert first.started_at == previous.started_at
    second = COMPILEO.parse_event(COMPILEO_STREAM[1], first)
    assert second is not None and second.progress == 25.0
    last = COMPILEO.parse_event(COMPILEO_STREAM[2], second)
    assert last is not None
    assert last.status is JobStatus.COMPLETED
    assert last.completed_at == datetime(2024, 1, 21, 10, 35, 22, tzinfo=UTC)
    assert last.result is None  # the event has no result: the watch reads the job


def test_compileo_stream_event_without_a_previous_state() -> None:
    """The first event alone is a partial job (no times but completed_at when terminal)."""
    job = COMPILEO.parse_event(COMPILEO_STREAM[0], None)
    assert job == Job(
        id="123e4567-e89b-12d3-a456-426614174000",
        status=JobStatus.RUNNING,
        progress=10.0,
        message="Initializing",
    )


def test_compileo_status_change_clears_the_previous_result_and_error() -> None:
    """A restarted job's event must not keep the error of the failed state before it."""
    failed = COMPILEO.parse_job({**COMPILEO_STATUS, "status": "failed", "error": "boom"})
    event = json.dumps(
        {
            "job_id": failed.id,
            "status": "pending",
            "progress": 0.0,
            "current_step": "",
            "timestamp": "2024-01-21T10:50:00",
        }
    )
    job = COMPILEO.parse_event(event, failed)
    assert job is not None
    assert job.status is JobStatus.PENDING and job.error is None and job.message is None


def test_compileo_stream_skips_lines_that_are_not_valid_json(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The API builds events with f-strings: a '"' in the step breaks the JSON; skip, log."""
    broken = (
        '{"job_id": "j1", "status": "running", "progress": 50.0, '
        '"current_step": "Reading "report.pdf"", "timestamp": "2024-01-21T10:31:15"}'
    )
    assert COMPILEO.parse_event(broken, None) is None
    assert COMPILEO.parse_event("[1, 2]", None) is None
    assert COMPILEO.parse_event('{"job_id": "j1", "status": 3}', None) is None
    assert "not JSON" in caplog.text


def test_compileo_stream_error_event_says_the_stream_cannot_serve_the_job() -> None:
    """``{"error": ...}`` (no manager, job not found) raises, so the watch falls back."""
    with pytest.raises(StreamError, match="Job queue manager not initialized"):
        COMPILEO.parse_event('{"error": "Job queue manager not initialized"}', None)
    assert issubclass(StreamError, ProtocolError)


def test_compileo_queue_stats_count_scheduled_as_pending_and_retrying_as_running() -> None:
    """rest-status-poll-stream.md "GET /queue/stats"; the rest stays in raw."""
    payload = {
        "pending_jobs": 3,
        "running_jobs": 2,
        "scheduled_jobs": 1,
        "completed_jobs": 45,
        "failed_jobs": 2,
        "cancelled_jobs": 1,
        "retrying_jobs": 0,
        "total_jobs": 54,
        "queue_type": "redis",
        "cache_size": 12,
        "cpu_usage_percent": 45.2,
        "memory_usage_mb": 234.8,
        "active_workers": 3,
        "queue_health": {
            "status": "healthy",
            "resource_utilization": "optimal",
            "limit_enforcement": "active",
        },
    }
    stats = COMPILEO.parse_stats(payload)
    assert (stats.total, stats.pending, stats.running) == (54, 4, 2)
    assert (stats.completed, stats.failed, stats.cancelled) == (45, 2, 1)
    assert (stats.active_workers, stats.total_workers) == (3, None)
    assert stats.raw["queue_health"]["status"] == "healthy"


def test_compileo_cancel_and_restart_answer_only_a_message() -> None:
    """``{"message": ...}``: the client reads the job it acted on."""
    for operation, word in (("cancel", "cancelled"), ("restart", "restarted")):
        answer = {"message": f"Job 123e4567 {word} successfully"}
        assert COMPILEO.parse_action(answer, operation=operation, job_id="123e4567") == "123e4567"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"detail": "Job abc not found"}, (None, "Job abc not found")),
        (
            {"error": "Unauthorized", "message": "Missing X-API-Key header"},
            ("Unauthorized", "Missing X-API-Key header"),
        ),
        (
            {"detail": "Too many requests. Please try again later."},
            (None, "Too many requests. Please try again later."),
        ),
        (
            {
                "detail": [
                    {
                        "loc": ["query", "timeout"],
                        "msg": "Input should be less than or equal to 300",
                    }
                ]
            },
            (None, "query.timeout: Input should be less than or equal to 300"),
        ),
    ],
)
def test_compileo_error_bodies(body: Any, expected: tuple[str | None, str | None]) -> None:
    """FastAPI's ``detail`` (a string or a validation list) and the auth middleware's body."""
    assert COMPILEO.parse_error(body) == expected


# -- job-management ---------------------------------------------------------------------------

# rest-job-management.md, "GET /jobs/{job_id}" response.
JM_JOB = {
    "id": "job_12345678-1234-1234-1234-123456789abc",
    "name": "Customer Data Matching - Batch 1",
    "status": "completed",
    "priority": 2,
    "created_at": "2025-01-27T10:00:00Z",
    "started_at": "2025-01-27T10:05:00Z",
    "completed_at": "2025-01-27T10:15:00Z",
    "progress": 100,
    "message": "Processing completed successfully",
    "error_message": None,
    "result_files": [
        "/results/job_12345678/matched_results.json",
        "/results/job_12345678/unmatched_1.json",
        "/results/job_12345678/unmatched_2.json",
    ],
    "user_id": "admin",
    "duration": 600,
    "estimated_remaining": 0,
}

# rest-job-management.md, "GET /jobs/list" response.
JM_LIST = [
    {
        "id": "job_12345678-1234-1234-1234-123456789abc",
        "name": "Customer Data Matching - Batch 1",
        "status": "running",
        "priority": 2,
        "created_at": "2025-01-27T10:00:00Z",
        "started_at": "2025-01-27T10:05:00Z",
        "completed_at": None,
        "progress": 45,
        "message": "Processing records...",
        "error_message": None,
        "result_files": [],
        "user_id": "admin",
        "duration": 300,
        "estimated_remaining": 360,
    }
]


def test_job_management_job_becomes_a_job() -> None:
    """result_files is the result, priority and times map, config is not returned."""
    job = JOB_MANAGEMENT.parse_job(JM_JOB)
    assert job.id == "job_12345678-1234-1234-1234-123456789abc"
    assert job.name == "Customer Data Matching - Batch 1"
    assert job.status is JobStatus.COMPLETED
    assert job.priority == 2
    assert job.progress == 100
    assert job.message == "Processing completed successfully"
    assert job.result == JM_JOB["result_files"]
    assert job.error is None
    assert job.config == {}
    assert job.completed_at == datetime(2025, 1, 27, 10, 15, tzinfo=UTC)


def test_job_management_list_is_a_bare_array_without_pages() -> None:
    """The list answer is a JSON array; there is no next page."""
    jobs, cursor = JOB_MANAGEMENT.parse_list(JM_LIST)
    assert cursor is None
    assert [(job.status, job.progress, job.result) for job in jobs] == [
        (JobStatus.RUNNING, 45, None)
    ]


def test_job_management_failed_job_reads_error_message_and_naive_times() -> None:
    """The source stores datetime.now() and prints isoformat(): naive, taken as UTC."""
    payload = {
        **JM_LIST[0],
        "status": "failed",
        "error_message": "File not found: a.csv",
        "message": "Processing failed: File not found: a.csv",
        "created_at": "2025-01-27T10:00:00.250000",
        "completed_at": "2025-01-27T10:01:00",
    }
    job = JOB_MANAGEMENT.parse_job(payload)
    assert job.error == "File not found: a.csv"
    assert _details(job)["failure_reason"] == "File not found: a.csv"
    assert job.created_at == datetime(2025, 1, 27, 10, 0, 0, 250000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("pending", JobStatus.PENDING),
        ("running", JobStatus.RUNNING),
        ("completed", JobStatus.COMPLETED),
        ("failed", JobStatus.FAILED),
        ("cancelled", JobStatus.CANCELLED),
        ("archived", JobStatus.UNKNOWN),
    ],
)
def test_job_management_every_status_word(word: str, status: JobStatus) -> None:
    """The five words of the API's enum; anything else is UNKNOWN."""
    assert JOB_MANAGEMENT.parse_job({**JM_JOB, "status": word}).status is status


def test_job_management_submit_and_cancel_answer_an_id_or_a_message() -> None:
    """``{"job_id", "message"}`` names the new job; ``{"success", "message"}`` the acted one."""
    submitted = {
        "job_id": "job_12345678-1234-1234-1234-123456789abc",
        "message": "Job submitted successfully",
    }
    assert (
        JOB_MANAGEMENT.parse_action(submitted, operation="submit", job_id=None)
        == submitted["job_id"]
    )
    cancelled = {"success": True, "message": "Job cancelled successfully"}
    assert JOB_MANAGEMENT.parse_action(cancelled, operation="cancel", job_id="j9") == "j9"


def test_job_management_submit_body_and_list_query() -> None:
    """The submit body is the document's; the list sends limit only for a limited total."""
    body = JOB_MANAGEMENT.submit_body(name="Urgent", config={"threshold": 80}, priority=3)
    assert body == {"name": "Urgent", "config": {"threshold": 80}, "priority": 3}
    assert JOB_MANAGEMENT.idempotency_header is None
    assert not JOB_MANAGEMENT.routes["submit"].safe
    everything = JOB_MANAGEMENT.list_params(
        status=None, page_size=JOB_MANAGEMENT.max_page_size, cursor=None
    )
    assert everything == {}
    limited = JOB_MANAGEMENT.list_params(status=JobStatus.RUNNING, page_size=10, cursor=None)
    assert limited == {"status": "running", "limit": "10"}


def test_job_management_stats_and_both_cleanup_counts() -> None:
    """total_jobs is total; the document's cleaned_jobs and the source's removed_jobs both count."""
    stats = JOB_MANAGEMENT.parse_stats(
        {
            "total_jobs": 150,
            "pending": 5,
            "running": 2,
            "completed": 140,
            "failed": 2,
            "cancelled": 1,
            "active_workers": 2,
            "total_workers": 4,
        }
    )
    assert (stats.total, stats.pending, stats.running, stats.completed) == (150, 5, 2, 140)
    assert (stats.failed, stats.cancelled, stats.active_workers, stats.total_workers) == (
        2,
        1,
        2,
        4,
    )
    documented = {
        "success": True,
        "cleaned_jobs": 25,
        "freed_space_mb": 1024,
        "message": "Cleaned up 25 old jobs, freed 1024 MB",
    }
    assert JOB_MANAGEMENT.parse_cleanup(documented).cleaned_jobs == 25
    source = {"success": True, "removed_jobs": 3, "message": "Cleaned up 3 old jobs"}
    assert JOB_MANAGEMENT.parse_cleanup(source).cleaned_jobs == 3


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {
                "error": "Not Found",
                "details": "Job not found: job_invalid_id",
                "timestamp": "2025-01-27T00:00:00Z",
            },
            ("Not Found", "Job not found: job_invalid_id"),
        ),
        (
            {
                "error": "Forbidden",
                "details": "Access denied to this job",
                "timestamp": "2025-01-27T00:00:00Z",
            },
            ("Forbidden", "Access denied to this job"),
        ),
        (
            {
                "error": "Bad Request",
                "details": "Priority must be between 1 (low) and 4 (urgent)",
                "timestamp": "2025-01-27T00:00:00Z",
            },
            ("Bad Request", "Priority must be between 1 (low) and 4 (urgent)"),
        ),
    ],
)
def test_job_management_error_bodies(body: Any, expected: tuple[str, str]) -> None:
    """The document's 404, 403 and 400 bodies."""
    assert JOB_MANAGEMENT.parse_error(body) == expected


# -- mammoth ----------------------------------------------------------------------------------

MAMMOTH_JOB = {
    "id": 456,
    "status": "success",
    "response": {"ds_id": 789},
    "last_updated_at": "2025-06-01T12:00:05",
    "created_at": "2025-06-01T12:00:00",
    "path": "/api/v2/workspaces/1/projects/1/files",
    "operation": "upload",
}


def test_mammoth_job_wrapped_in_job_becomes_a_job() -> None:
    """``{"job": JobSchema}``: the integer id becomes a string, response is the result."""
    payload = {"job": MAMMOTH_JOB}
    job = MAMMOTH.parse_job(MAMMOTH.unwrap(payload, operation="get", job_id="456"))
    assert job.id == "456"
    assert job.status is JobStatus.COMPLETED
    assert job.result == {"ds_id": 789}
    assert job.error is None
    assert job.name == "upload"
    assert job.created_at == datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert job.updated_at == datetime(2025, 6, 1, 12, 0, 5, tzinfo=UTC)
    # Newer servers answer the job unwrapped; parse_job accepts the wrapper too.
    assert MAMMOTH.parse_job(MAMMOTH_JOB) == job == MAMMOTH.parse_job(payload)


@pytest.mark.parametrize(
    "response",
    [
        {"failure_reason": "Invalid file format"},  # [MAM0] and the document
        {"error": "Invalid file format"},  # [MAM]
        {"response": {"detail": "Invalid file format"}},  # [MAM]
        {"response": {"error": "Invalid file format"}},  # [MAM]
    ],
    ids=["failure_reason", "error", "response.detail", "response.error"],
)
@pytest.mark.parametrize("word", ["failure", "error"])
def test_mammoth_failure_reason_is_found_in_every_historical_place(
    response: dict[str, Any], word: str
) -> None:
    """Job.error and JobFailedError.details["failure_reason"] come from wherever it sits."""
    job = MAMMOTH.parse_job({**MAMMOTH_JOB, "status": word, "response": response})
    assert job.status is JobStatus.FAILED
    assert job.error == "Invalid file format"
    assert _details(job) == {
        "job_id": "456",
        "failure_reason": "Invalid file format",
    }


def test_mammoth_failure_without_a_reason_and_structured_reasons() -> None:
    """No reason anywhere is None; a non-string reason (FastAPI's list) is kept as JSON."""
    assert MAMMOTH.parse_job({**MAMMOTH_JOB, "status": "failure", "response": {}}).error is None
    detail = [{"loc": ["body"], "msg": "bad"}]
    job = MAMMOTH.parse_job(
        {**MAMMOTH_JOB, "status": "error", "response": {"response": {"detail": detail}}}
    )
    assert job.error is not None and json.loads(job.error) == detail


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("processing", JobStatus.RUNNING),
        ("success", JobStatus.COMPLETED),
        ("failure", JobStatus.FAILED),
        ("error", JobStatus.FAILED),
        ("queued_remote", JobStatus.UNKNOWN),
    ],
)
def test_mammoth_every_status_word(word: str, status: JobStatus) -> None:
    """success, failure, processing, error; others are UNKNOWN (the SDK keeps polling)."""
    assert MAMMOTH.parse_job({**MAMMOTH_JOB, "status": word}).status is status


def test_mammoth_batch_read_uses_job_ids_and_leaves_out_unknown_ids() -> None:
    """``GET /jobs?job_ids=1,2,3`` answers ``{"jobs": [...]}``; omitted ids are not found."""
    assert MAMMOTH.many_params(["456", "457", "458"]) == {"job_ids": "456,457,458"}
    answer = {"jobs": [{**MAMMOTH_JOB, "id": 458}, MAMMOTH_JOB]}
    jobs, missing = MAMMOTH.parse_many(answer, job_ids=["456", "457", "458"])
    assert sorted(job.id for job in jobs) == ["456", "458"]
    assert missing == ["457"]
    with pytest.raises(ProtocolError, match="'jobs'"):
        MAMMOTH.parse_many({"job": MAMMOTH_JOB}, job_ids=["456"])


def test_mammoth_error_body_detail() -> None:
    """Its API errors carry ``detail`` (what MammothAPIError's message uses)."""
    assert MAMMOTH.parse_error({"detail": "Job not found"}) == (None, "Job not found")


# -- fiddler ----------------------------------------------------------------------------------

FIDDLER_JOB = {
    "id": "550e8400-e29b-41d4-a716-446655440000",
    "name": "Publish events",
    "status": "STARTED",
    "progress": 42.5,
    "info": {"resource_type": "EVENT", "resource_name": "bank_churn"},
    "error_message": None,
    "error_reason": None,
    "extras": None,
}


def test_fiddler_envelope_is_unwrapped() -> None:
    """``{"data": JobResp, "api_version": "3.0", "kind": "NORMAL"}``."""
    envelope = {"data": FIDDLER_JOB, "api_version": "3.0", "kind": "NORMAL"}
    job = FIDDLER.parse_job(FIDDLER.unwrap(envelope, operation="get", job_id=FIDDLER_JOB["id"]))
    assert job.id == "550e8400-e29b-41d4-a716-446655440000"
    assert job.name == "Publish events"
    assert job.status is JobStatus.RUNNING
    assert job.progress == 42.5
    assert job.raw["info"]["resource_name"] == "bank_churn"
    assert FIDDLER.parse_job(envelope) == job


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("PENDING", JobStatus.PENDING),
        ("STARTED", JobStatus.RUNNING),
        ("RETRY", JobStatus.RUNNING),
        ("SUCCESS", JobStatus.COMPLETED),
        ("FAILURE", JobStatus.FAILED),
        ("REVOKED", JobStatus.CANCELLED),
        ("RECEIVED", JobStatus.PENDING),
    ],
)
def test_fiddler_every_celery_state(word: str, status: JobStatus) -> None:
    """Celery's six states; RETRY is running, REVOKED cancelled."""
    assert FIDDLER.parse_job({**FIDDLER_JOB, "status": word}).status is status


def test_fiddler_error_message_is_the_error_and_error_reason_goes_into_details() -> None:
    """As AsyncJobFailed reads "failed with {error_reason}: {error_message}"."""
    job = FIDDLER.parse_job(
        {
            **FIDDLER_JOB,
            "status": "FAILURE",
            "error_message": "column 'age' has nulls",
            "error_reason": "ValueError",
        }
    )
    assert job.error == "column 'age' has nulls"
    assert _details(job, FIDDLER) == {
        "job_id": "550e8400-e29b-41d4-a716-446655440000",
        "failure_reason": "column 'age' has nulls",
        "error_reason": "ValueError",
    }


def test_fiddler_verbose_query_is_sent_as_the_sdk_sends_it() -> None:
    """None: no query (its watch); True/False: ``verbose=True``/``verbose=False`` (its get)."""
    assert FIDDLER.get_params() == {}
    assert attrs.evolve(FIDDLER, verbose=True).get_params() == {"verbose": "True"}
    assert attrs.evolve(FIDDLER, verbose=False).get_params() == {"verbose": "False"}


def test_fiddler_extras_are_the_result() -> None:
    """A finished job's extras (what it made) is Job.result."""
    job = FIDDLER.parse_job({**FIDDLER_JOB, "status": "SUCCESS", "extras": {"model_id": "m1"}})
    assert job.result == {"model_id": "m1"}


def test_fiddler_error_envelope() -> None:
    """``{"error": {"code", "message", "errors": [...]}, "kind": "ERROR"}``."""
    body = {
        "error": {
            "code": 404,
            "message": "Job not found",
            "errors": [{"reason": "ObjectNotFound", "message": "Job not found", "help": ""}],
        },
        "api_version": "3.0",
        "kind": "ERROR",
    }
    assert FIDDLER.parse_error(body) == ("404", "Job not found")


# -- dataiku ----------------------------------------------------------------------------------

# sdk-dss-jobs.md, list_jobs() item (the Python dict printed as JSON).
DSS_LIST_ITEM = {
    "def": {
        "id": "build_cat_train_hdfs_NP_2015-09-28T09-17-37.455",
        "initiationTimestamp": 1443431857455,
        "initiator": "API (aa)",
        "mailNotification": False,
        "name": "build_cat_train_hdfs_NP",
        "outputs": [
            {
                "targetDataset": "cat_train_hdfs",
                "targetDatasetProjectKey": "IMPALA",
                "targetPartition": "NP",
                "type": "DATASET",
            }
        ],
        "projectKey": "IMPALA",
        "refreshHiveMetastore": False,
        "refreshIntermediateMirrors": True,
        "refreshTargetMirrors": True,
        "triggeredFrom": "API",
        "type": "NON_RECURSIVE_FORCED_BUILD",
    },
    "endTime": 0,
    "stableState": True,
    "startTime": 0,
    "state": "ABORTED",
    "warningsCount": 0,
}


def test_dataiku_list_item_id_is_under_def() -> None:
    """A list item's id is def.id; def is the config; 0 times are "not yet"."""
    jobs, cursor = DATAIKU.parse_list([DSS_LIST_ITEM])
    assert cursor is None
    (job,) = jobs
    assert job.id == "build_cat_train_hdfs_NP_2015-09-28T09-17-37.455"
    assert job.status is JobStatus.CANCELLED
    assert job.name == "build_cat_train_hdfs_NP"
    assert job.created_at == datetime(2015, 9, 28, 9, 17, 37, 455000, tzinfo=UTC)
    assert job.started_at is None and job.completed_at is None
    assert job.config["type"] == "NON_RECURSIVE_FORCED_BUILD"


def test_dataiku_status_state_is_under_base_status() -> None:
    """get_status()["baseStatus"]["state"]; a status without def.id gets the requested id."""
    status = {"baseStatus": {"state": "RUNNING", "startTime": 1443431860000}}
    job = DATAIKU.parse_job(DATAIKU.unwrap(status, operation="get", job_id="build_x_NP"))
    assert job.id == "build_x_NP"
    assert job.status is JobStatus.RUNNING
    assert job.started_at == datetime(2015, 9, 28, 9, 17, 40, tzinfo=UTC)
    full = {"baseStatus": {"def": DSS_LIST_ITEM["def"], "state": "DONE", "endTime": 1443431957455}}
    unwrapped = DATAIKU.unwrap(full, operation="get", job_id="other")
    assert unwrapped is full
    assert DATAIKU.parse_job(unwrapped).id == "build_cat_train_hdfs_NP_2015-09-28T09-17-37.455"
    with pytest.raises(ProtocolError, match=r"baseStatus\.state"):
        DATAIKU.parse_job({"baseStatus": {"def": {"id": "x"}}})


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("NOT_STARTED", JobStatus.PENDING),
        ("RUNNING", JobStatus.RUNNING),
        ("DONE", JobStatus.COMPLETED),
        ("FAILED", JobStatus.FAILED),
        ("ABORTED", JobStatus.CANCELLED),
        ("COMPUTING_DEPS", JobStatus.UNKNOWN),
    ],
)
def test_dataiku_every_state(word: str, status: JobStatus) -> None:
    """Only DONE is success; ABORTED is cancelled."""
    assert DATAIKU.parse_job({**DSS_LIST_ITEM, "state": word}).status is status


def test_dataiku_start_answer_has_the_id_at_the_top_level() -> None:
    """start_job reads the top-level id of the answer; abort answers a message."""
    answer = {"id": "build_dataset_to_build_NP_2024-01-01T00-00-00.000", "projectKey": "IMPALA"}
    assert DATAIKU.parse_action(answer, operation="submit", job_id=None) == answer["id"]
    assert DATAIKU.parse_action({"message": "ok"}, operation="cancel", job_id="j1") == "j1"


def test_dataiku_submit_body_is_the_job_definition() -> None:
    """sdk-dss-jobs.md's definition goes as it is; the list takes no query."""
    definition = {
        "type": "NON_RECURSIVE_FORCED_BUILD",
        "outputs": [{"id": "dataset_to_build", "type": "DATASET", "partition": "NP"}],
    }
    assert DATAIKU.submit_body(name=None, config=definition, priority=2) == definition
    named = DATAIKU.submit_body(name="nightly", config=definition, priority=2)
    assert named == {**definition, "name": "nightly"}
    assert DATAIKU.list_params(status=JobStatus.RUNNING, page_size=5, cursor=None) == {}


def test_dataiku_routes_keep_the_sdks_trailing_slashes() -> None:
    """``jobs/`` and ``jobs/{id}/``, but no slash on ``/abort`` and ``/log``."""
    assert DATAIKU.routes["list"].path == "/jobs/"
    assert DATAIKU.routes["get"].path == "/jobs/{job_id}/"
    assert DATAIKU.routes["cancel"].path == "/jobs/{job_id}/abort"
    assert DATAIKU.routes["log"].path == "/jobs/{job_id}/log"


def test_dataiku_error_body() -> None:
    """``DataikuException("<errorType>: <detailedMessage|message>")`` reads these keys."""
    body = {
        "errorType": "com.dataiku.dip.server.controllers.NotFoundException",
        "message": "Job not found",
        "detailedMessage": "Job IMPALA.build_x does not exist",
    }
    assert DATAIKU.parse_error(body) == (
        "com.dataiku.dip.server.controllers.NotFoundException",
        "Job IMPALA.build_x does not exist",
    )


# -- payloads that break the protocol ---------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "payload", "field"),
    [
        (COMPILEO, {"status": "running"}, "job_id"),
        (COMPILEO, {"job_id": "j", "status": None}, "status"),
        (JOB_MANAGEMENT, {"id": "j", "status": "running", "priority": "high"}, "priority"),
        (JOB_MANAGEMENT, {"id": "j", "status": "running", "result_files": "a"}, "result_files"),
        (MAMMOTH, {"id": 1, "status": "success", "response": "ok"}, "response"),
        (MAMMOTH, {"id": True, "status": "success"}, "id"),
        (FIDDLER, {"id": "u", "status": "SUCCESS", "progress": "half"}, "progress"),
        (DATAIKU, {"def": {}, "state": "DONE"}, "id"),
        (DATAIKU, {"def": {"id": "x"}, "state": "DONE", "startTime": "soon"}, "startTime"),
    ],
)
def test_bad_payloads_raise_protocol_error_naming_the_field(
    profile: Profile, payload: dict[str, Any], field: str
) -> None:
    """A payload that breaks the API's shape raises ProtocolError naming the field."""
    with pytest.raises(ProtocolError, match=field):
        profile.parse_job(payload)
    with pytest.raises(ProtocolError):
        profile.parse_job(["not", "an", "object"])


@pytest.mark.parametrize(
    ("name", "payload", "field"),
    [
        ("compileo", {"job_id": "a"}, "status"),
        ("job-management", {"id": "a", "status": 3}, "status"),
        ("mammoth", {"job": {"id": 1, "status": None}}, "status"),
        ("fiddler", {"data": {"id": "a", "status": ["x"]}}, "status"),
        ("ray", {"submission_id": "a", "status": 1}, "status"),
        ("flower", {"uuid": "a", "state": 2}, "state"),
        ("dataiku", {"baseStatus": {"state": 7}}, "baseStatus.state"),
        ("dataiku", {"def": {"id": "a"}, "state": None}, "state"),
    ],
)
def test_every_profile_requires_its_status_word_as_a_string(
    name: str, payload: dict[str, Any], field: str
) -> None:
    with pytest.raises(
        ProtocolError, match=rf"^{name} job payload field '{field}': expected a str"
    ):
        get_profile(name).parse_job(payload)


def test_status_words_map_through_the_profile_words_first() -> None:
    from asyncjobs.profiles._fields import field_status

    words = {"odd": JobStatus.CANCELLED}
    assert field_status({"s": "ODD"}, "s", "api", words) is JobStatus.CANCELLED
    assert field_status({"s": "SUCCESS"}, "s", "api", words) is JobStatus.COMPLETED
    assert field_status({"s": "whatever"}, "s", "api") is JobStatus.UNKNOWN
    with pytest.raises(ProtocolError, match=r"^api job payload field 'a\.s': expected a string"):
        field_status({}, "s", "api", field="a.s")


def test_an_envelope_is_opened_only_around_an_object() -> None:
    from asyncjobs.profiles._fields import unwrapped

    assert unwrapped({"data": {"id": "a"}}, "data") == {"id": "a"}
    assert unwrapped({"data": [1], "id": "a"}, "data") == {"data": [1], "id": "a"}
    assert unwrapped({"id": "a"}, "data") == {"id": "a"}
    assert unwrapped([{"data": {}}], "data") == [{"data": {}}]
    assert get_profile("fiddler").parse_job({"data": {"id": "a", "status": "SUCCESS"}}).id == "a"
    assert get_profile("mammoth").parse_job({"job": {"id": 3, "status": "success"}}).id == "3"
