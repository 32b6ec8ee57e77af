"""What a client remembers of its server: the operations it was seen not to offer, and the jobs
it submitted moments ago (which the server may not show yet) (sans-I/O)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from collections.abc import Set as AbstractSet

from ._models import Job, JobStatus
from ._tuning import TUNING

__all__ = ["RecentSubmits", "Unoffered"]


class Unoffered(AbstractSet[str]):
    """The operations a server was seen not to offer: a set whose members expire.

    Each is forgotten ``TUNING.unoffered_ttl`` seconds after it was added, so one odd answer
    (an error page where an event stream was expected) does not cost the client that transport
    for the rest of its life: it is tried again after a while.
    """

    __slots__ = ("_until",)

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def add(self, operation: str) -> None:
        """Remember that the server lacks ``operation`` (for ``TUNING.unoffered_ttl``)."""
        self._until[operation] = time.monotonic() + TUNING.unoffered_ttl

    def __contains__(self, operation: object) -> bool:
        until = self._until.get(operation) if isinstance(operation, str) else None
        if until is None:
            return False
        if time.monotonic() >= until:
            del self._until[operation]  # type: ignore[arg-type]
            return False
        return True

    def _current(self) -> list[str]:
        return [name for name in list(self._until) if name in self]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())

    def __repr__(self) -> str:
        return f"Unoffered({set(self._current())!r})"


class RecentSubmits:
    """The jobs this client submitted within the profile's ``not_found_grace``: a 404 for one
    of them means "not visible yet", and it reads as PENDING."""

    __slots__ = ("_grace", "_names", "_order")

    def __init__(self, grace: float) -> None:
        self._grace = grace
        self._names: dict[str, str | None] = {}
        self._order: deque[tuple[float, str]] = deque()

    def add(self, job_id: str, name: str | None) -> None:
        if self._grace <= 0:
            return
        self._expire()
        self._names[job_id] = name
        self._order.append((time.monotonic() + self._grace, job_id))

    def pending(self, job_id: str) -> Job | None:
        """The PENDING job ``job_id`` is while it may not be visible yet, else None."""
        self._expire()
        if job_id not in self._names:
            return None
        return Job(id=job_id, status=JobStatus.PENDING, name=self._names[job_id])

    def _expire(self) -> None:
        order = self._order
        now = time.monotonic()
        while order and order[0][0] <= now:
            _, job_id = order.popleft()
            self._names.pop(job_id, None)
