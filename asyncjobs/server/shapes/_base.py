"""The base of the route modules that serve another API's shape on the shared job store.

A shape (one per built-in profile but ``native``) mounts that API's real routes under its own base
path, authenticates callers the API's way, renders each job version the API's way (memoised per
version on the :class:`~asyncjobs.server.Snapshot`), and renders every error with the API's error
body (unknown routes under its base path included). The job rules (ownership, states, the
simulated runner) stay in :class:`~asyncjobs.server.JobService`.

Words an API has beyond the five statuses (``scheduled``, ``retrying``, ``RETRY``, ``error``,
``NOT_STARTED``) are set with :meth:`Shape.set_status`, a test hook reachable as
``server.app[SHAPE]``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from aiohttp import web

from asyncjobs._models import JobStatus
from asyncjobs.server._errors import ApiError
from asyncjobs.server._service import JobService
from asyncjobs.server._snapshot import EVERYONE, Owner, Snapshot, UnknownJobError
from asyncjobs.server._sse import StreamHub
from asyncjobs.server._store import JobStore

__all__ = ["CELERY_WORDS", "Handler", "Shape", "ShapedStore", "naive_time"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CELERY_WORDS: Mapping[JobStatus, str] = {
    JobStatus.PENDING: "PENDING",
    JobStatus.RUNNING: "STARTED",
    JobStatus.COMPLETED: "SUCCESS",
    JobStatus.FAILED: "FAILURE",
    JobStatus.CANCELLED: "REVOKED",
}
"""Celery's task state for each status: the :attr:`Shape.words` of the APIs over Celery."""


def naive_time(value: datetime | None) -> str | None:
    """ISO 8601 without an offset (naive UTC), as ``datetime.utcnow().isoformat()`` prints."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat()


class ShapedStore(JobStore):
    """A job store whose fresh ids come from the API's id scheme (integers, UUIDs...)."""

    def __init__(self, new_id: Callable[[], str]) -> None:
        super().__init__()
        self._make_id = new_id

    def new_id(self) -> str:
        """A fresh id in the API's scheme."""
        while True:
            job_id = self._make_id()
            if job_id not in self:
                return job_id


class Shape:
    """One API's routes on the shared store (subclasses are the built-in shapes, and any
    custom API's shape: see docs/custom-shapes.md).

    A subclass sets :attr:`name` (and :attr:`words` when the API has its own status words),
    and defines :meth:`base_path` and :meth:`add_to`; it overrides :meth:`authenticate`,
    :meth:`error_response`, :meth:`id_factory` and :meth:`check_options` where the API
    differs from the defaults (bearer tokens, native JSON errors, UUID ids, no options), sets
    :attr:`LIVE_TRANSPORTS` when the API has fewer live-update transports than the server, and
    overrides :meth:`setup` to make its own state.

    Args:
        service: The job operations (ownership, state rules, runner).
        streams: The server's SSE streams (for shapes with a stream).
        transports: The live-update transports to offer, among those the API has.
        options: The shape's options (see each shape's ``OPTIONS``); unknown ones are refused.

    Raises:
        ValueError: an unknown option or a bad option value.
    """

    name: ClassVar[str]
    """The profile name the shape serves."""
    words: ClassVar[Mapping[JobStatus, str]] = {
        status: status.value for status in JobStatus if status is not JobStatus.UNKNOWN
    }
    """The API's word for each status (what a job's status renders as by default); the native
    words unless the API has its own."""
    extra_words: ClassVar[Mapping[str, JobStatus]] = {}
    """The API's other words and the status they stand for (set with :meth:`set_status`)."""
    OPTIONS: ClassVar[frozenset[str]] = frozenset()
    """The option names the shape accepts."""
    LIVE_TRANSPORTS: ClassVar[frozenset[str] | None] = None
    """The live-update transports the API has (:attr:`transports` keeps only these of those
    the server offers); None: whichever the server offers."""

    def __init__(
        self,
        service: JobService,
        streams: StreamHub,
        *,
        transports: Collection[str] = (),
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.options: dict[str, Any] = self.check_options(options)
        self.service = service
        self.store = service.store
        self.streams = streams
        self.transports = frozenset(transports)
        if self.LIVE_TRANSPORTS is not None:
            self.transports &= self.LIVE_TRANSPORTS
        self._words: dict[str, tuple[JobStatus, str]] = {}
        # Follows every job, to forget a word override once its job's status changes.
        self.store.subscribe(self, scope=EVERYONE)
        self.setup()

    def setup(self) -> None:
        """Make the shape's own state and check its own options: the last step of
        ``__init__``, once :attr:`options` is checked (a subclass's hook; nothing by default).

        Raises:
            ValueError: a bad option value.
        """

    # -- the store's Subscriber ---------------------------------------------------------------

    def deliver(self, snapshot: Snapshot) -> None:
        """Forget the job's word override once its status changes."""
        override = self._words.get(snapshot.job_id)
        if override is not None and override[0] is not snapshot.job.status:
            del self._words[snapshot.job_id]

    def job_deleted(self, job_id: str) -> None:
        """Forget the job's word override."""
        self._words.pop(job_id, None)

    # -- class-level facts -------------------------------------------------------------------

    @classmethod
    def check_options(cls, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """The options, checked against :attr:`OPTIONS`.

        Raises:
            ValueError: an option the shape does not know.
        """
        given = dict(options or {})
        unknown = sorted(set(given) - cls.OPTIONS)
        if unknown:
            known = ", ".join(sorted(cls.OPTIONS)) or "none"
            raise ValueError(
                f"profile_options: the {cls.name!r} shape has no option "
                f"{', '.join(map(repr, unknown))}; known: {known}"
            )
        return given

    @classmethod
    def base_path(cls, options: Mapping[str, Any]) -> str:
        """Where the API's job routes begin: the path of the base URL a client is given."""
        raise NotImplementedError

    @classmethod
    def id_factory(cls, options: Mapping[str, Any]) -> Callable[[], str]:
        """Makes fresh job ids in the API's scheme (default: UUID strings)."""
        return lambda: str(uuid.uuid4())

    # -- routes ------------------------------------------------------------------------------

    def add_to(self, app: web.Application) -> None:
        """Register the API's routes (and a catch-all answering 404 the API's way)."""
        raise NotImplementedError

    def add_catch_all(self, app: web.Application, prefix: str) -> None:
        """Answer every other path under ``prefix`` with the API's 404 (register it last)."""
        app.router.add_route("*", prefix + "/{tail:.*}", self.handle(self._no_route))

    async def _no_route(self, request: web.Request) -> web.StreamResponse:
        raise ApiError(404, f"no route for {request.method} {request.path}")

    def handle(self, handler: Handler) -> Handler:
        """Wrap a handler so every error it raises is rendered with the API's error body."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except ApiError as exc:
                return self.error_response(exc)
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                details = exc.text or exc.reason
                if exc.status == 413:
                    details = "the request body is too large"
                return self.error_response(ApiError(exc.status, details))

        return wrapped

    def error_response(self, exc: ApiError) -> web.Response:
        """The API's answer for an error (status, body, headers).

        By default the native JSON error body (``{"error", "details", "timestamp"}``); a shape
        whose API answers errors otherwise overrides it.
        """
        return exc.response()

    def authenticate(self, request: web.Request) -> Owner:
        """The caller a request stands for, the API's way.

        By default a bearer token (``Authorization: Bearer <token>``) when the server has
        tokens; a shape whose API authenticates otherwise overrides it, usually with
        :meth:`check_token`.

        Returns:
            The caller's token (the owner of the jobs it creates), or None on an open server.

        Raises:
            ApiError: 401 when tokens are configured and the request's credentials are not.
        """
        return self.service.authenticate(request.headers.get("Authorization"))

    def check_token(self, token: str | None, missing: str, invalid: str) -> Owner:
        """The owner for a credential: None on an open server, else ``token`` if configured.

        Raises:
            ApiError: 401 with ``missing`` (no credential) or ``invalid`` (unknown credential).
        """
        tokens = self.service.tokens
        if not tokens:
            return None
        if not token:
            raise ApiError(401, missing)
        if token not in tokens:
            raise ApiError(401, invalid)
        return token

    # -- rendering ---------------------------------------------------------------------------

    def word(self, snapshot: Snapshot) -> str:
        """The API's status word for this version (an override set by :meth:`set_status` while
        the job keeps the status it stands for, else the default word)."""
        override = self._words.get(snapshot.job_id)
        if override is not None and override[0] is snapshot.job.status:
            return override[1]
        return self.words[snapshot.job.status]

    def set_status(self, job_id: str, word: str, **changes: Any) -> Snapshot:
        """Test hook: put a job in the status an API word stands for, rendered as that word.

        E.g. ``set_status(job_id, "retrying")`` on the compileo shape makes the job running and
        its status read ``retrying`` until its status changes. The change takes a new version
        and reaches streams and long polls.

        Args:
            job_id: The job.
            word: One of the API's words (:attr:`words` values or :attr:`extra_words` keys).
            **changes: Other fields to change at the same time (``progress``, ``message``...).

        Raises:
            ValueError: a word the API does not have.
            UnknownJobError: no such job.
        """
        status = self.extra_words.get(word)
        if status is None:
            for known, default in self.words.items():
                if default == word:
                    status = known
                    break
        if status is None:
            words = sorted({*self.words.values(), *self.extra_words})
            raise ValueError(f"word: the {self.name!r} API has no {word!r}; known: {words}")
        if job_id not in self.store:
            raise UnknownJobError(job_id)
        self._words.pop(job_id, None)
        if self.words[status] != word:
            self._words[job_id] = (status, word)
        return self.service.force_update(job_id, status=status, **changes)

    def memo_key(self, what: str) -> str:
        """A key for :meth:`Snapshot.memo` unique to this shape."""
        return f"{self.name}:{what}"
