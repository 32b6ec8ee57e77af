"""The sans-I/O models: status vocabulary, Job from JSON, stats and cleanup answers.

The tests of JSON to ``Job`` run once per JSON backend (``json_backend``: orjson, the standard
library), the payload decoded from its JSON text by the backend, as a stream's events are."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from asyncjobs import CleanupResult, Job, JobStatus, ProtocolError, QueueStats, _json
from asyncjobs._converter import (
    cleanup_result_from,
    converter,
    format_time,
    job_from_native,
    job_to_native,
    parse_time,
    queue_stats_from,
)
from asyncjobs._models import status_from_word

# Every status word of every document in shared/seeds, with what it means.
SEED_WORDS = {
    # rest-status-poll-stream.md (and its source's extra words)
    "pending": JobStatus.PENDING,
    "scheduled": JobStatus.PENDING,
    "running": JobStatus.RUNNING,
    "retrying": JobStatus.RUNNING,
    "completed": JobStatus.COMPLETED,
    "failed": JobStatus.FAILED,
    "cancelled": JobStatus.CANCELLED,
    # sdk-jobs-api-int-ids.md
    "success": JobStatus.COMPLETED,
    "failure": JobStatus.FAILED,
    "processing": JobStatus.RUNNING,
    "error": JobStatus.FAILED,
    # sdk-job-celery-states.md
    "PENDING": JobStatus.PENDING,
    "STARTED": JobStatus.RUNNING,
    "SUCCESS": JobStatus.COMPLETED,
    "FAILURE": JobStatus.FAILED,
    "RETRY": JobStatus.RUNNING,
    "REVOKED": JobStatus.CANCELLED,
    # sdk-dss-jobs.md
    "NOT_STARTED": JobStatus.PENDING,
    "RUNNING": JobStatus.RUNNING,
    "DONE": JobStatus.COMPLETED,
    "FAILED": JobStatus.FAILED,
    "ABORTED": JobStatus.CANCELLED,
    # other spellings
    "canceled": JobStatus.CANCELLED,
    "queued": JobStatus.PENDING,
}


@pytest.mark.parametrize(("word", "expected"), sorted(SEED_WORDS.items()))
def test_every_seed_status_word_maps_to_its_status(word: str, expected: JobStatus) -> None:
    assert status_from_word(word) is expected


@pytest.mark.parametrize("word", ["Success", "sUcCeSs", " done ", "Canceled", "In-Progress"])
def test_status_words_are_case_insensitive(word: str) -> None:
    assert status_from_word(word) is not JobStatus.UNKNOWN


@pytest.mark.parametrize("word", ["", "paused", "weird", "SUCCESSFUL?"])
def test_unknown_words_are_unknown_never_an_error(word: str) -> None:
    status = status_from_word(word)
    assert status is JobStatus.UNKNOWN
    assert not status.is_terminal


def test_extra_vocabulary_takes_precedence() -> None:
    assert status_from_word("Paused", {"paused": JobStatus.PENDING}) is JobStatus.PENDING
    assert status_from_word("error", {"error": JobStatus.RUNNING}) is JobStatus.RUNNING


def test_terminal_statuses() -> None:
    terminal = {s for s in JobStatus if s.is_terminal}
    assert terminal == {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}


NATIVE = {
    "id": "j-1",
    "name": "resize",
    "status": "running",
    "progress": 40,
    "message": "step 2/5",
    "result": None,
    "error": None,
    "priority": 3,
    "config": {"duration": 2},
    "created_at": "2024-01-21T10:30:00Z",
    "updated_at": "2024-01-21T10:31:00.250000+00:00",
    "started_at": "2024-01-21T12:30:05+02:00",
    "completed_at": None,
    "version": 17,
    "extra": {"kept": True},
}


def decoded(payload: object) -> Any:
    """``payload`` through its JSON text and the JSON backend in use (as an event's data)."""
    return _json.loads(json.dumps(payload))


def test_native_job_is_built_with_every_field(json_backend: str) -> None:
    job = job_from_native(decoded(NATIVE))
    assert job.id == "j-1"
    assert job.status is JobStatus.RUNNING
    assert (job.name, job.progress, job.message, job.priority) == ("resize", 40, "step 2/5", 3)
    assert job.config == {"duration": 2}
    assert job.created_at == datetime(2024, 1, 21, 10, 30, tzinfo=UTC)
    assert job.updated_at == datetime(2024, 1, 21, 10, 31, 0, 250000, tzinfo=UTC)
    assert job.started_at == datetime(2024, 1, 21, 10, 30, 5, tzinfo=UTC)
    assert job.started_at is not None and job.started_at.utcoffset() == timedelta(0)
    assert job.completed_at is None
    assert job.version == 17
    assert job.raw["extra"] == {"kept": True}
    assert not job.is_terminal


def test_converter_structures_a_job_and_round_trips(json_backend: str) -> None:
    job = converter.structure(decoded(NATIVE), Job)
    again = job_from_native(decoded(job_to_native(job)))
    assert again == job
    assert converter.unstructure(job)["created_at"] == "2024-01-21T10:30:00.000000Z"


def test_job_is_frozen_and_raw_is_not_compared() -> None:
    job = job_from_native(NATIVE)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        job.status = JobStatus.FAILED  # type: ignore[misc]
    assert job == attrs.evolve(job, raw={"other": 1})
    assert "raw" not in repr(job)


def test_naive_time_is_taken_as_utc() -> None:
    assert parse_time("2024-01-21T10:30:00") == datetime(2024, 1, 21, 10, 30, tzinfo=UTC)
    aware = datetime(2024, 1, 21, 11, 30, tzinfo=timezone(timedelta(hours=1)))
    assert parse_time(aware) == datetime(2024, 1, 21, 10, 30, tzinfo=UTC)
    assert format_time(datetime(2024, 1, 21, 10, 30)) == "2024-01-21T10:30:00.000000Z"


def test_integer_ids_become_strings(json_backend: str) -> None:
    assert job_from_native(decoded({"id": 42, "status": "success"})).id == "42"


def test_minimal_job_has_defaults(json_backend: str) -> None:
    job = job_from_native(decoded({"id": "x", "status": "pending"}))
    assert job.progress is None and job.config == {} and job.version is None


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("id", None, "'id': expected a string"),
        ("id", 1.5, "'id': expected a string"),
        ("status", 3, "'status': expected a string"),
        ("progress", "40%", "'progress': expected a number or null"),
        ("priority", "high", "'priority': expected an integer"),
        ("version", "7", "'version': expected an integer"),
        ("config", [1], "'config': expected an object"),
        ("created_at", "yesterday", "'created_at': expected an RFC 3339 time"),
        ("updated_at", 12, "'updated_at': expected an RFC 3339 time"),
        ("name", ["x"], "'name': expected a string or null"),
        ("started_at", ["2024-01-21T10:30:00Z"], "'started_at': expected an RFC 3339 time"),
        ("completed_at", {"at": 1}, "'completed_at': expected an RFC 3339 time"),
        ("completed_at", 1.5, "'completed_at': expected an RFC 3339 time"),
    ],
)
def test_a_bad_field_is_named_in_the_protocol_error(
    field: str, value: object, expected: str, json_backend: str
) -> None:
    with pytest.raises(ProtocolError, match=expected):
        job_from_native(decoded({**NATIVE, field: value}))


@pytest.mark.parametrize("payload", [["id", "status"], "job", 3, None])
def test_a_job_that_is_not_an_object_is_a_protocol_error(
    payload: object, json_backend: str
) -> None:
    with pytest.raises(ProtocolError, match="expected a job object, got"):
        job_from_native(decoded(payload))


def test_job_management_payload_from_the_seed_document(json_backend: str) -> None:
    """rest-job-management.md's job object: native names, extra fields kept in raw."""
    payload = {
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
        "result_files": ["/results/job_12345678/matched_results.json"],
        "user_id": "admin",
        "duration": 600,
        "estimated_remaining": 0,
    }
    job = job_from_native(decoded(payload))
    assert job.status is JobStatus.COMPLETED and job.is_terminal
    assert job.completed_at == datetime(2025, 1, 27, 10, 15, tzinfo=UTC)
    assert job.raw["result_files"] == ["/results/job_12345678/matched_results.json"]


def test_queue_stats_native_and_job_management_shapes() -> None:
    native = {
        "total": 10,
        "pending": 1,
        "running": 2,
        "completed": 5,
        "failed": 1,
        "cancelled": 1,
        "active_workers": 2,
        "total_workers": 8,
    }
    assert queue_stats_from(native) == QueueStats(**native)
    # rest-job-management.md: total_jobs; rest-status-poll-stream.md: *_jobs counts.
    stats = queue_stats_from({"total_jobs": 54, "pending_jobs": 3, "queue_type": "redis"})
    assert (stats.total, stats.pending, stats.running) == (54, 3, None)
    assert stats.raw["queue_type"] == "redis"
    assert converter.structure(native, QueueStats).total == 10


def test_queue_stats_with_a_non_numeric_count_names_it() -> None:
    with pytest.raises(ProtocolError, match="'running': expected a count"):
        queue_stats_from({"running": "two"})


@pytest.mark.parametrize("key", ["cleaned_jobs", "removed_jobs"])
def test_cleanup_result_accepts_both_names(key: str) -> None:
    result = cleanup_result_from({"success": True, key: 4, "freed_space_mb": 12.5})
    assert result == CleanupResult(cleaned_jobs=4)
    assert result.raw["freed_space_mb"] == 12.5


def test_cleanup_result_without_a_count_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="neither 'cleaned_jobs' nor 'removed_jobs'"):
        cleanup_result_from({"success": True})


def test_the_fast_job_builder_sets_every_field_in_order() -> None:
    """job_from_native bypasses attrs' __init__: it must know every field of Job, and what
    both of its paths build is a plain, frozen, complete Job (a slot it forgot to set would
    raise AttributeError when read)."""
    fields = [field.name for field in attrs.fields(Job)]
    complete = {**NATIVE, "result": {"frames": 3}, "completed_at": "2024-01-21T10:32:00Z"}
    fast = job_from_native(complete)  # every field present and well typed: the fast path
    checked = job_from_native({**complete, "id": 7})  # an integer id: the checked path
    for built in (fast, checked):
        assert type(built) is Job
        assert built == Job(**{name: getattr(built, name) for name in fields})
        assert attrs.asdict(built, recurse=False).keys() == set(fields)
        assert built.raw is complete or built.raw["id"] == 7
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            built.version = 1  # type: ignore[misc]
    assert fast.result == {"frames": 3} and fast.completed_at is not None
    assert attrs.evolve(checked, id="j-1") == fast
