"""Where an operation lives: :class:`Route` (method and path template) and the one list of
operations a profile may route (sans-I/O)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

__all__ = ["OPERATIONS", "Route", "to_routes"]

OPERATIONS = frozenset(
    {
        "submit",  # create a job
        "get",  # read one job
        "get_many",  # read many jobs in one request
        "list",  # list jobs, page by page
        "cancel",
        "restart",
        "delete",
        "log",  # the job's log, as text
        "poll",  # long poll: answers when the job changes
        "events",  # SSE stream of one job
        "events_many",  # SSE stream of many jobs, ids in the query
        "events_many_post",  # the same, ids in a JSON body
        "stats",
        "cleanup",
    }
)
"""The operation names a profile routes (the keys of :attr:`Profile.routes`)."""

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_METHOD = re.compile(r"[A-Z]+")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _upper(value: str) -> str:
    return value.upper()


def _check_method(instance: Route, attribute: attrs.Attribute[str], value: str) -> None:
    if not _METHOD.fullmatch(value):
        raise ValueError(f"Route method must be an HTTP method such as 'GET', got {value!r}")


def _check_path(instance: Route, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.startswith("/") or "?" in value or "#" in value:
        raise ValueError(
            f"Route path must start with '/' and have no query or fragment, got {value!r}"
        )


@attrs.frozen
class Route:
    """Where an operation lives: an HTTP method and a path template under the base URL.

    Attributes:
        method: The HTTP method, e.g. ``"POST"``.
        path: The path after the base URL, with placeholders such as ``{job_id}`` that are each
            filled with one percent-encoded path segment, e.g. ``"/jobs/{job_id}/cancel"``.
        idempotent: Whether the request may be repeated safely (so the retry policy may repeat
            it); None means "by method": GET, HEAD, OPTIONS, PUT and DELETE are.
    """

    method: str = attrs.field(converter=_upper, validator=_check_method)
    path: str = attrs.field(validator=_check_path)
    idempotent: bool | None = attrs.field(default=None, kw_only=True)

    @property
    def safe(self) -> bool:
        """True when the request may be repeated (see :attr:`idempotent`)."""
        if self.idempotent is not None:
            return self.idempotent
        return self.method in _SAFE_METHODS

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The names of the path's placeholders, in order."""
        return tuple(_PLACEHOLDER.findall(self.path))

    @classmethod
    def parse(cls, spec: str, *, idempotent: bool | None = None) -> Route:
        """Build a route from ``"METHOD /path"``, e.g. ``Route.parse("GET /jobs/{job_id}")``.

        Raises:
            ValueError: ``spec`` is not a method, one space and a path.
        """
        method, _, path = spec.strip().partition(" ")
        if not path:
            raise ValueError(f"expected a route such as 'GET /jobs/{{job_id}}', got {spec!r}")
        return cls(method, path.strip(), idempotent=idempotent)


def to_routes(value: Mapping[str, Route | str]) -> Mapping[str, Route]:
    routes: dict[str, Route] = {}
    for operation, route in value.items():
        if operation not in OPERATIONS:
            known = ", ".join(sorted(OPERATIONS))
            raise ValueError(f"unknown operation {operation!r} in routes; known: {known}")
        routes[operation] = route if isinstance(route, Route) else Route.parse(route)
    return routes
