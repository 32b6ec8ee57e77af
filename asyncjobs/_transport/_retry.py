"""When and how long to wait before repeating a request: :class:`RetryPolicy` (sans-I/O).

The policy only answers questions (may this be retried, how long to wait, is that within the
budget); the request pipeline in :mod:`._http` does the waiting.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

import attrs

from asyncjobs._exceptions import APIError, TransportError

__all__ = [
    "DEFAULT_RETRY",
    "NOT_OFFERED",
    "Backoff",
    "NotOffered",
    "RetryPolicy",
    "doubling",
    "is_transient",
    "parse_retry_after",
]


def doubling(first: float, cap: float, count: int) -> float:
    """``first`` doubled ``count - 1`` times, at most ``cap``: the bound of an exponential backoff
    after ``count`` failures (``count`` >= 1)."""
    # 2 ** 1024 overflows a float: past 64 doublings the cap has long been reached.
    return min(cap, first * 2.0 ** min(count - 1, 64))


def _positive_int(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"RetryPolicy.{attribute.name} must be an integer >= 1, got {value!r}")


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(
            f"RetryPolicy.{attribute.name} must be a finite number >= 0, got {value!r}"
        )


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How the client repeats a request that failed in a way worth repeating.

    Only requests that are safe to repeat are retried: GET and DELETE, cancel and restart, and
    submit (which carries an ``Idempotency-Key``, so the server creates one job however often it
    sees it). A connection that could not be established is retried for any request, since
    nothing was sent. Each retry waits the server's ``Retry-After`` when it sent one, else a
    random delay with *full jitter*: uniform between 0 and ``min(backoff_cap, backoff_base *
    2 ** (retry - 1))``.

    ``RetryPolicy(attempts=1)`` turns retries off.

    The default is bounded by time more than by count: up to 12 attempts, delays doubling from
    0.5 s up to 5 s, within 30 s in all. It rides out an outage of about 10 s (connections
    refused or reset) for every request safe to repeat, a keyed submit included (no duplicate
    job), and gives up within about 30 s when the server is really gone. For fail-fast code,
    ``RetryPolicy(attempts=2, max_total=2)`` or ``attempts=1``.

    Attributes:
        attempts: Attempts in all, the first included (so ``12`` means up to 11 retries).
        backoff_base: Upper bound in seconds of the first retry's random delay; it doubles with
            each further retry.
        backoff_cap: The most any computed (jittered) delay may be, in seconds.
        max_total: The budget in seconds for one call, from its first attempt: a retry whose
            wait would end past it is not made, and the last error is raised instead (for a
            ``Retry-After`` that is too long, a :class:`RateLimitError` with ``retry_after``
            set, rather than a sleep past the budget).
        statuses: HTTP statuses that are retried.
        retry_connection_errors: Whether connection errors, resets and read timeouts are
            retried (for requests that are safe to repeat).
    """

    attempts: int = attrs.field(default=12, validator=_positive_int)
    backoff_base: float = attrs.field(default=0.5, validator=_non_negative)
    backoff_cap: float = attrs.field(default=5.0, validator=_non_negative)
    max_total: float = attrs.field(default=30.0, validator=_non_negative)
    statuses: frozenset[int] = attrs.field(
        default=frozenset({429, 502, 503, 504}), converter=frozenset
    )
    retry_connection_errors: bool = True

    def backoff(self, attempt: int) -> float:
        """The delay before retry number ``attempt`` when the server did not say how long.

        Args:
            attempt: 1 for the first retry (after the first attempt failed), 2 for the second...

        Returns:
            A random number of seconds in ``[0, min(backoff_cap, backoff_base * 2 **
            (attempt - 1))]`` (full jitter).

        Raises:
            ValueError: ``attempt`` is less than 1.
        """
        return random.uniform(0.0, self.max_backoff(attempt))

    def max_backoff(self, attempt: int) -> float:
        """The upper bound of :meth:`backoff` for retry number ``attempt`` (no jitter).

        Raises:
            ValueError: ``attempt`` is less than 1.
        """
        if attempt < 1:
            raise ValueError(f"attempt counts from 1, got {attempt}")
        return doubling(self.backoff_base, self.backoff_cap, attempt)

    def retries_status(self, status: int) -> bool:
        """Whether an answer with this HTTP status is worth another attempt."""
        return status in self.statuses


DEFAULT_RETRY = RetryPolicy()
"""The policy of a client created with ``retry=None``."""


def parse_retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header: delay-seconds or an HTTP-date.

    Args:
        headers: The response headers (a case-insensitive mapping, as aiohttp gives).
        now: The current time, for an HTTP-date (default: the clock); for tests.

    Returns:
        Seconds to wait (0 for a date in the past), or None when the header is absent or
        unreadable.
    """
    value = headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # Not what RFC 9110 allows, but servers send "1.5": take it if it makes sense.
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


NOT_OFFERED: Final = frozenset({404, 405, 406, 501})
"""Statuses with which a server says it has no such route (after the job itself was read)."""


class NotOffered(Exception):
    """The server does not offer this transport (404/405/406/501, or not an event stream).

    Attributes:
        remember: Whether the client should remember it (False when only this job cannot be
            served this way right now, e.g. a stream that answered with an error event).
    """

    def __init__(self, message: str, *, remember: bool = True) -> None:
        super().__init__(message)
        self.remember = remember


def is_transient(exc: BaseException) -> bool:
    """Whether an error is worth retrying later: no answer, 408, 425, 429, or a 5xx but 501."""
    if isinstance(exc, TransportError):
        return True
    if isinstance(exc, APIError):
        status = exc.status
        return status in (408, 425, 429) or (status >= 500 and status not in NOT_OFFERED)
    return False


class Backoff:
    """Jittered exponential delays for one run of failures, and the budget of that run.

    Args:
        base: The first delay's upper bound in seconds; it doubles with each failure.
        cap: The largest upper bound.
        budget: Seconds a run of failures may last before :meth:`exhausted` is true.
    """

    __slots__ = ("_base", "_budget", "_cap", "_since", "failures")

    def __init__(self, *, base: float, cap: float, budget: float) -> None:
        self._base = base
        self._cap = cap
        self._budget = budget
        self._since: float | None = None
        self.failures = 0

    def reset(self) -> None:
        """Something worked: the next failure starts a new run."""
        self.failures = 0
        self._since = None

    def delay(self, hint: float | None = None) -> float:
        """Count a failure and return how long to wait before the next attempt.

        Args:
            hint: The server's preferred first delay (an SSE ``retry:``), in seconds.

        Returns:
            A random delay in the upper half of ``min(cap, first * 2 ** (failures - 1))``.
        """
        if self._since is None:
            self._since = time.monotonic()
        self.failures += 1
        first = self._base if hint is None else hint
        bound = doubling(first, max(self._cap, first), self.failures)
        return random.uniform(bound / 2, bound)

    def exhausted(self) -> bool:
        """Whether the current run of failures has lasted longer than the budget."""
        return self._since is not None and time.monotonic() - self._since >= self._budget
