"""RetryPolicy: full-jitter backoff within its bounds, Retry-After in both forms, validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncjobs import RetryPolicy
from asyncjobs._transport import DEFAULT_RETRY, parse_retry_after


def test_default_policy_retries_the_documented_statuses() -> None:
    """The default retries 429, 502, 503 and 504, and nothing else."""
    policy = RetryPolicy()
    assert policy == DEFAULT_RETRY
    assert policy.statuses == frozenset({429, 502, 503, 504})
    for status in (429, 502, 503, 504):
        assert policy.retries_status(status)
    for status in (400, 401, 404, 409, 413, 500, 501):
        assert not policy.retries_status(status)
    assert policy.attempts > 1
    assert policy.retry_connection_errors


def test_attempts_one_means_no_retries() -> None:
    """``RetryPolicy(attempts=1)`` is how retries are turned off."""
    assert RetryPolicy(attempts=1).attempts == 1


@given(
    attempt=st.integers(min_value=1, max_value=2000),
    base=st.floats(min_value=0, max_value=100, allow_nan=False),
    cap=st.floats(min_value=0, max_value=1000, allow_nan=False),
)
def test_backoff_stays_within_full_jitter_bounds(attempt: int, base: float, cap: float) -> None:
    """Every delay is in [0, min(cap, base * 2**(attempt-1))], however large the attempt."""
    policy = RetryPolicy(backoff_base=base, backoff_cap=cap)
    bound = policy.max_backoff(attempt)
    assert 0 <= bound <= cap
    assert 0 <= policy.backoff(attempt) <= bound


def test_max_backoff_doubles_then_hits_the_cap() -> None:
    """The bound doubles with each retry until the cap."""
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=3.0)
    assert [policy.max_backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_backoff_is_jittered_across_the_whole_range() -> None:
    """Full jitter: delays spread over the range, from near 0 to near the bound."""
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=1.0)
    delays = [policy.backoff(1) for _ in range(2000)]
    assert min(delays) < 0.1
    assert max(delays) > 0.9
    assert len(set(delays)) > 1900


def test_backoff_rejects_attempt_zero() -> None:
    """Retries count from 1."""
    with pytest.raises(ValueError, match="attempt"):
        RetryPolicy().backoff(0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("attempts", 0),
        ("attempts", True),
        ("attempts", 1.5),
        ("backoff_base", -1),
        ("backoff_cap", float("inf")),
        ("max_total", float("nan")),
    ],
)
def test_invalid_fields_are_rejected_by_name(field: str, value: object) -> None:
    """A bad field raises ValueError naming it."""
    with pytest.raises(ValueError, match=field):
        RetryPolicy(**{field: value})  # type: ignore[arg-type]


def test_policy_is_frozen_and_keyword_only() -> None:
    """A policy is an immutable value."""
    policy = RetryPolicy(attempts=3, statuses={503})
    assert policy.statuses == frozenset({503})
    with pytest.raises(AttributeError):
        policy.attempts = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        RetryPolicy(3)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0.0), ("1", 1.0), (" 120 ", 120.0), ("1.5", 1.5), ("-1", None), ("soon", None)],
)
def test_retry_after_in_seconds(value: str, expected: float | None) -> None:
    """Delay-seconds are read (a fractional value too); nonsense is ignored."""
    assert parse_retry_after({"Retry-After": value}) == expected


def test_retry_after_as_http_date() -> None:
    """An HTTP-date becomes the seconds until then; a date in the past means now."""
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert later.endswith("GMT")
    assert parse_retry_after({"Retry-After": later}, now=now) == pytest.approx(90)
    earlier = format_datetime(now - timedelta(hours=1), usegmt=True)
    assert parse_retry_after({"Retry-After": earlier}, now=now) == 0


def test_retry_after_absent() -> None:
    """No header, no delay."""
    assert parse_retry_after({}) is None
