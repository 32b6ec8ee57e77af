"""The converter's cache of times (created_at and started_at repeat on every update of a job):
a time always comes from its own exact text, UTC and tz-aware, never from another text's entry,
and the cache stays bounded. Run once per JSON backend, as a stream's events are decoded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from asyncjobs import ProtocolError, _json
from asyncjobs import _times as times_module
from asyncjobs._converter import job_from_native, parse_time


def payload(created: Any, started: Any = None, **more: Any) -> Any:
    job = {
        "id": "j-1",
        "name": None,
        "status": "running",
        "progress": 10,
        "message": None,
        "result": None,
        "error": None,
        "priority": 0,
        "config": {},
        "created_at": created,
        "updated_at": "2024-01-21T10:31:00Z",
        "started_at": started,
        "completed_at": None,
        "version": 3,
        **more,
    }
    return _json.loads(json.dumps(job))


TEXTS = [
    "2024-01-21T10:30:00Z",
    "2024-01-21T10:30:01Z",
    "2024-01-21T10:30:00+00:00",  # the same instant as the first, another text
    "2024-01-21T12:30:00+02:00",  # not UTC: converted, never cached
    "2024-01-21T10:30:00",  # naive: taken as UTC, never cached
    "2024-01-21T10:30:00.123456Z",
    "2024-01-21 10:30:00Z",
]


def expected(text: str) -> datetime:
    value = parse_time(text)
    assert value is not None and value.tzinfo is UTC
    return value


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    times_module._times.clear()


def test_each_text_gives_its_own_time_however_they_interleave(json_backend: str) -> None:
    for _ in range(3):
        for created in TEXTS:
            for started in TEXTS:
                job = job_from_native(payload(created, started))
                assert job.created_at == expected(created)
                assert job.started_at == expected(started)
                assert job.created_at.tzinfo is UTC and job.started_at.tzinfo is UTC
    assert job.started_at is not None and job.started_at.utcoffset() == timedelta(0)
    # Only UTC texts are cached, each under its exact text.
    assert set(times_module._times) == {TEXTS[0], TEXTS[1], TEXTS[2], TEXTS[5], TEXTS[6]}
    for text, value in times_module._times.items():
        assert value == datetime.fromisoformat(text) and value.tzinfo is UTC


def test_a_text_next_to_a_cached_one_is_not_taken_for_it(json_backend: str) -> None:
    first = job_from_native(payload("2024-01-21T10:30:00Z", "2024-01-21T10:30:00Z"))
    second = job_from_native(payload("2024-01-21T10:30:00.5Z", "2024-01-21T10:30:01Z"))
    assert first.created_at == datetime(2024, 1, 21, 10, 30, tzinfo=UTC)
    assert second.created_at == datetime(2024, 1, 21, 10, 30, 0, 500000, tzinfo=UTC)
    assert second.started_at == datetime(2024, 1, 21, 10, 30, 1, tzinfo=UTC)


def test_a_bad_time_after_good_ones_is_still_named(json_backend: str) -> None:
    job_from_native(payload("2024-01-21T10:30:00Z", "2024-01-21T10:30:00Z"))
    with pytest.raises(ProtocolError, match="'created_at': expected an RFC 3339 time"):
        job_from_native(payload("2024-01-21T10:30:00Zz"))
    with pytest.raises(ProtocolError, match="'started_at': expected an RFC 3339 time"):
        job_from_native(payload("2024-01-21T10:30:00Z", "soon"))
    with pytest.raises(ProtocolError, match="'started_at': expected an RFC 3339 time"):
        job_from_native(payload("2024-01-21T10:30:00Z", ["2024-01-21T10:30:00Z"]))


def test_the_cache_is_bounded_and_right_after_it_is_emptied(json_backend: str) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(3 * times_module._TIMES_KEPT + 5):
        text = (start + timedelta(seconds=n)).isoformat().replace("+00:00", "Z")
        job = job_from_native(payload(text, "2024-01-21T10:30:00Z"))
        assert job.created_at == start + timedelta(seconds=n)
        assert job.started_at == datetime(2024, 1, 21, 10, 30, tzinfo=UTC)
        assert len(times_module._times) <= times_module._TIMES_KEPT


class Lying(str):
    """A str subclass equal to (and hashing like) a cached text while it spells another."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return hash("2024-01-21T10:30:00Z")


def test_only_exact_strings_are_looked_up() -> None:
    job_from_native(payload("2024-01-21T10:30:00Z"))
    raw = payload("2024-01-21T10:30:00Z")
    raw["created_at"] = Lying("2030-05-05T05:05:05Z")
    assert job_from_native(raw).created_at == datetime(2030, 5, 5, 5, 5, 5, tzinfo=UTC)
