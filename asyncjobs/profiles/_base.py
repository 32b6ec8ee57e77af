"""Profiles: where each operation of a job API lives and how its payloads become models (sans-I/O).

A :class:`Profile` is data (a name, the routes, the auth scheme, the transports offered, default
headers) plus small hooks, methods that a subclass overrides for whatever differs between APIs:
how a payload becomes a :class:`Job`, how a list page or a batch answer reads, how an error body
reads, which query parameters an operation takes. The defaults implement the native protocol
(DESIGN.md section 2) and are lenient where that costs nothing (a bare JSON array is a list page,
an answer that is only an id or a message makes the client read the job).

A new API in a few lines::

    class TasksProfile(Profile):
        def parse_job(self, payload):
            return Job(id=payload["uuid"], status=status_from_word(payload["state"]), raw=payload)

    tasks = TasksProfile(
        name="tasks",
        routes={"get": "GET /tasks/{job_id}", "cancel": "POST /tasks/{job_id}/abort"},
        auth="header:X-Token",
        transports=("poll",),
    )
    client = Client("https://tasks.example/api", token="...", profile=tasks)

``attrs.evolve(profile, name=..., routes=...)`` derives one profile from another.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import attrs

from asyncjobs._converter import cleanup_result_from, job_from_native, queue_stats_from
from asyncjobs._exceptions import APIError, ProtocolError
from asyncjobs._models import (
    TRANSPORT_OPERATION,
    CleanupResult,
    Job,
    JobStatus,
    QueueStats,
    Transport,
)
from asyncjobs._urls import encode_ids

from ._checks import (
    check_auth,
    check_grace,
    check_paging,
    frozen_headers,
    takes_keyword,
    to_transports,
    token_headers,
)
from ._fields import error_fields, id_in, list_field, snippet
from ._route import OPERATIONS, Route, to_routes

__all__ = ["OPERATIONS", "Profile", "Route"]


@attrs.frozen(kw_only=True)
class Profile:
    """How one job API is spoken: routes and auth as data, payload shapes as overridable hooks.

    Attributes:
        name: The profile's name (built-in ones are the keys of :data:`PROFILES`).
        routes: Operation name (see :data:`OPERATIONS`) to :class:`Route`; a ``"METHOD /path"``
            string is accepted too. An operation the API lacks is simply absent: calling it
            raises :class:`UnsupportedOperationError`.
        auth: How ``Client(token=...)`` is sent: ``"bearer"`` (``Authorization: Bearer``),
            ``"header:<Name>"`` (the token as that header), ``"basic"`` (the token as the user
            name of HTTP basic auth, empty password) or ``"none"`` (no token accepted).
        transports: The ways to follow a job the API offers, best first (``"sse"``,
            ``"long-poll"``, ``"poll"``); the matching route must exist too.
        headers: Headers sent with every request (below the user's ``headers=``).
        idempotency_header: The header carrying a submit's idempotency key, or None when the
            API has none (then give the submit route ``idempotent=False``).
        max_batch: The most ids one ``get_many`` request may carry.
        max_page_size: The largest page ``list`` may ask for.
        ids_param: The query parameter of ``get_many`` (and ``events_many``) holding the ids.
        paging: How ``list`` pages: ``"cursor"`` (each page names the next one's cursor) or
            ``"offset"`` (the client counts: :meth:`list_params` gets the offset of the page
            as its ``cursor``, and a page shorter than asked for is the last).
        batch_via_list: Without a ``get_many`` route, read many jobs at once by paging through
            the ``list`` route (newest first) and picking the ids wanted, instead of one GET
            per job; ids not met in the first pages are read one by one.
        not_found_grace: Seconds after this client submitted a job during which a 404 for it
            means "not visible yet" (the job reads as PENDING), for APIs that learn of a job a
            moment after accepting it; 0 trusts every 404.
    """

    _submit_takes_key: ClassVar[bool] = True

    name: str
    routes: Mapping[str, Route] = attrs.field(converter=to_routes)
    auth: str = attrs.field(default="bearer", validator=check_auth)
    transports: tuple[Transport, ...] = attrs.field(
        default=("sse", "long-poll", "poll"), converter=to_transports
    )
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=frozen_headers)
    idempotency_header: str | None = "Idempotency-Key"
    max_batch: int = 100
    max_page_size: int = 100
    ids_param: str = "ids"
    paging: Literal["cursor", "offset"] = attrs.field(default="cursor", validator=check_paging)
    batch_via_list: bool = False
    not_found_grace: float = attrs.field(default=0.0, validator=check_grace)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A subclass written before submit_body took the idempotency key still works.
        cls._submit_takes_key = takes_keyword(cls.submit_body, "idempotency_key")

    # -- routing -------------------------------------------------------------------------

    def route(self, operation: str) -> Route | None:
        """The route of ``operation``, or None when the API has no such operation."""
        return self.routes.get(operation)

    def offers(self, transport: Transport) -> bool:
        """Whether the API offers ``transport`` (listed in :attr:`transports`, route present)."""
        if transport not in self.transports:
            return False
        return TRANSPORT_OPERATION[transport] in self.routes

    # -- requests ------------------------------------------------------------------------

    def auth_headers(self, token: str) -> dict[str, str]:
        """The headers that carry ``token`` (see :attr:`auth`).

        Raises:
            ValueError: the profile takes no token (``auth="none"``).
        """
        return token_headers(self.auth, token, profile=self.name)

    def path_params(
        self, operation: str, *, job_id: str | None = None, name: str | None = None
    ) -> dict[str, str]:
        """The values of ``operation``'s path placeholders, from the call.

        Default: ``{job_id}`` is the job's id and ``{name}`` the name given to ``submit_job``
        (e.g. ``"POST /task/async-apply/{name}"`` puts the task's name in the path). Override
        to fill other placeholders, e.g. an id made of two parts.

        Raises:
            ValueError: the route has a placeholder the call gives no value for.
        """
        params: dict[str, str] = {}
        if job_id is not None:
            params["job_id"] = job_id
        if name is not None:
            params["name"] = name
        route = self.routes.get(operation)
        if route is not None:
            missing = [name for name in route.placeholders if name not in params]
            if missing:
                needs = ", ".join(f"{{{name}}}" for name in missing)
                hint = " (give submit_job a name)" if "name" in missing else ""
                raise ValueError(
                    f"the {self.name!r} profile's {operation} route {route.path!r} needs "
                    f"{needs}, which this call does not give{hint}"
                )
        return params

    def operation_params(self, operation: str, *, job_id: str | None = None) -> dict[str, str]:
        """The query of ``operation`` beyond what its own hook gives (:meth:`list_params`,
        :meth:`poll_params`...), e.g. ``{"terminate": "true"}`` for a cancel.

        Default: :meth:`get_params` for ``"get"``, nothing otherwise.
        """
        return self.get_params() if operation == "get" else {}

    def operation_body(self, operation: str, *, job_id: str | None = None) -> Any:
        """The JSON body of a cancel, restart, delete, get, log, stats or cleanup, or None (the
        default) for none: e.g. a cancel that is a state change, ``{"state": "CANCELLING"}``.
        A submit's body is :meth:`submit_body`, a list's :meth:`list_body`."""
        return None

    def submit_body(
        self,
        *,
        name: str | None,
        config: Mapping[str, Any] | None,
        priority: int,
        idempotency_key: str | None = None,
    ) -> Any:
        """The JSON body of a submit. Native: ``{"name", "config", "priority"}``.

        Args:
            name: The name given to ``submit_job``.
            config: The config given to ``submit_job``.
            priority: 1..4.
            idempotency_key: The submit's key (also sent in :attr:`idempotency_header` when
                there is one): an API whose clients choose the job's id uses it as the id, so
                a repeated submit cannot create a second job (see :meth:`existing_job_id`).

        Raises:
            ValueError: the config lacks what the API needs (the message names it).
        """
        return {"name": name, "config": dict(config or {}), "priority": priority}

    def existing_job_id(self, idempotency_key: str) -> str | None:
        """The id of the job a submit with ``idempotency_key`` created, for an API that
        answers a repeated client-chosen id with an error (classified as a
        :class:`ConflictError`): the client then reads and returns that job. Default: None
        (the API deduplicates by :attr:`idempotency_header`, or not at all)."""
        return None

    def list_params(
        self, *, status: JobStatus | None, page_size: int | None, cursor: str | None
    ) -> dict[str, str]:
        """The query of one list page. Native: ``status``, ``limit``, then only ``cursor``.

        Args:
            status: Only jobs with this status, or None for all.
            page_size: Jobs wanted in this page (1..100), or None for the server's default.
            cursor: The previous page's ``next_cursor``, or None for the first page (native
                cursors carry the filter, so later pages send only the cursor and the size).
        """
        params: dict[str, str] = {}
        if cursor is not None:
            params["cursor"] = cursor
        elif status is not None:
            params["status"] = status.value
        if page_size is not None:
            params["limit"] = str(page_size)
        return params

    def list_body(
        self, *, status: JobStatus | None, page_size: int | None, cursor: str | None
    ) -> Any:
        """The JSON body of one list page, for an API that lists by POST with a filter body
        (then :meth:`list_params` usually returns ``{}``); None (the default) for none."""
        return None

    def many_params(self, job_ids: Sequence[str]) -> dict[str, str]:
        """The query of a ``get_many`` (or ``events_many``) request for ``job_ids``.

        Native: ``ids=a,b,c``, each id percent-encoded so a comma only ever separates ids.
        """
        return {self.ids_param: encode_ids(job_ids)}

    def poll_params(self, *, job: Job | None, timeout: float) -> dict[str, str]:
        """The query of a long poll. Native: ``after=<version>&timeout=<seconds>``.

        Args:
            job: The last state the caller has seen, or None (then answer at once).
            timeout: How long the server may hold the request, in seconds (clamped to 1..300).
        """
        seconds = min(300, max(1, math.ceil(timeout)))
        params = {"timeout": str(seconds)}
        if job is not None and job.version is not None:
            params["after"] = str(job.version)
        return params

    def get_params(self) -> dict[str, str]:
        """The query of a get (of one job). Native: none."""
        return {}

    def cleanup_params(self, *, max_age_hours: int) -> dict[str, str]:
        """The query of a cleanup. Native: ``max_age_hours=<H>``."""
        return {"max_age_hours": str(max_age_hours)}

    # -- answers -------------------------------------------------------------------------

    def unwrap(self, payload: Any, *, operation: str, job_id: str | None = None) -> Any:
        """Take the interesting part out of a JSON answer, before the ``parse_*`` hook sees it.

        The native protocol has no envelope, so this returns ``payload``; an API that answers
        ``{"data": {...}}`` or ``{"job": {...}}`` returns the inside.

        Args:
            payload: The decoded JSON answer.
            operation: The operation it answers, e.g. ``"get"``.
            job_id: The job the request was about, when there is one (for APIs whose answer
                does not repeat the id).
        """
        return payload

    def parse_job(self, payload: Any) -> Job:
        """Build a :class:`Job` from a job object (a get answer, a list item, an event).

        Raises:
            ProtocolError: the payload is not a job object.
        """
        return job_from_native(payload)

    def parse_list(self, payload: Any) -> tuple[list[Job], str | None]:
        """Read one list page: its jobs and the cursor of the next page (None at the end).

        Native: ``{"jobs": [...], "next_cursor": ...}``; a bare JSON array is a single page.

        Raises:
            ProtocolError: the page has no list of jobs or a cursor that is not a string.
        """
        if isinstance(payload, list):
            return [self.parse_job(item) for item in payload], None
        jobs = list_field(payload, "jobs", "list")
        cursor = payload.get("next_cursor")
        if cursor is not None and not isinstance(cursor, str):
            raise ProtocolError(f"list answer: 'next_cursor' must be a string, got {cursor!r}")
        return [self.parse_job(item) for item in jobs], cursor or None

    def parse_many(self, payload: Any, *, job_ids: Sequence[str]) -> tuple[list[Job], list[str]]:
        """Read a batch answer: the jobs found (any order) and the ids reported not found.

        Native: ``{"jobs": [...], "not_found": [...]}``. Ids that are in neither list count as
        not found too, so an API without ``not_found`` needs no override.

        Raises:
            ProtocolError: the answer has no list of jobs.
        """
        jobs = list_field(payload, "jobs", "get_many")
        missing = payload.get("not_found") or []
        if not isinstance(missing, list):
            raise ProtocolError(f"get_many answer: 'not_found' must be a list, got {missing!r}")
        return [self.parse_job(item) for item in jobs], [str(item) for item in missing]

    def parse_action(self, payload: Any, *, operation: str, job_id: str | None) -> Job | str:
        """Read the answer of a submit, cancel or restart.

        Returns a :class:`Job` when the answer is a job object; otherwise the id of the job to
        read (the client then GETs it), so an answer that is only ``{"job_id": ...}``,
        ``{"id": ...}`` or a message still makes the method return the job.

        Args:
            payload: The unwrapped JSON answer (None for an empty or non-JSON body).
            operation: ``"submit"``, ``"cancel"`` or ``"restart"``.
            job_id: The job acted on (None for a submit).

        Raises:
            ProtocolError: a submit answer that names no job.
        """
        if isinstance(payload, dict):
            if "status" in payload and "id" in payload:
                return self.parse_job(payload)
            inner = payload.get("job")
            if isinstance(inner, dict):
                return self.parse_action(inner, operation=operation, job_id=job_id)
        if job_id is not None:
            return job_id
        found = id_in(payload)
        if found is not None:
            return found
        raise ProtocolError(
            f"{operation} answer names no job (expected a job object or a job id), "
            f"got {snippet(payload)}"
        )

    def parse_stats(self, payload: Any) -> QueueStats:
        """Build :class:`QueueStats` (``total_jobs`` counts as ``total``)."""
        return queue_stats_from(payload)

    def parse_cleanup(self, payload: Any) -> CleanupResult:
        """Build :class:`CleanupResult` (``cleaned_jobs`` or ``removed_jobs``)."""
        return cleanup_result_from(payload)

    def classify_error(
        self, status: int, body: Any, *, operation: str | None
    ) -> type[APIError] | None:
        """The exception class of an error answer, where the status alone would mislead;
        None (the default) goes by the status (404 :class:`JobNotFoundError`, 409
        :class:`ConflictError`, 5xx :class:`ServerError`...).

        An answer classified as anything but :class:`ServerError` or
        :class:`RateLimitError` is not retried. E.g. an API that answers a duplicate id or a
        delete of a running job with a 500 returns :class:`ConflictError`.

        Args:
            status: The HTTP status.
            body: The decoded JSON body, or the body's text when it is not JSON.
            operation: The operation answered (e.g. ``"delete"``), when known.
        """
        return None

    def parse_log(self, text: str) -> str:
        """The log text out of a ``log`` answer's body. Default: the body itself."""
        return text

    def failure_details(self, job: Job) -> dict[str, Any]:
        """What a failed job adds to :attr:`JobFailedError.details` (beyond ``job_id`` and
        ``failure_reason``, which is ``job.error``). Default: ``error_reason`` when the
        payload has one (Celery-style APIs name the exception's class there)."""
        raw = job.raw
        if isinstance(raw, Mapping) and raw.get("error_reason") is not None:
            return {"error_reason": raw["error_reason"]}
        return {}

    def parse_error(self, body: Any) -> tuple[str | None, str | None]:
        """Read an error answer's reason and details: ``(error, details)``, each maybe None.

        Understands every shape of the known APIs: native ``{"error", "details"}``, FastAPI
        ``{"detail": str | [{"loc", "msg"}]}``, ``{"error": {"code", "message"}}`` envelopes,
        ``{"errorType", "message", "detailedMessage"}`` and ``{"error", "message"}``.

        Args:
            body: The decoded JSON body, or the body's text when it is not JSON.
        """
        return error_fields(body)
