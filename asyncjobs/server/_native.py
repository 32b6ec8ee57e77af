"""The native protocol's routes (DESIGN.md section 2), on top of :class:`~._service.JobService`.

Each handler authenticates the caller, reads and checks its input (400 naming the bad field),
calls the service, and renders the answer. Job JSON comes from :attr:`Snapshot.json`, computed
once per version and shared with every SSE stream.
"""

from __future__ import annotations

from collections.abc import Collection

from aiohttp import web

from ._errors import bad_request
from ._json import dumps
from ._params import (
    MAX_GET_IDS,
    decode_cursor,
    encode_cursor,
    query_ids,
    read_int,
    read_json_object,
    read_last_event_id,
    read_number,
    read_status,
    read_submit,
)
from ._service import JobService
from ._snapshot import Owner, Snapshot
from ._sse import EventStream, StreamHub, native_event

__all__ = ["TRANSPORTS", "NativeRoutes"]

TRANSPORTS = frozenset({"sse", "long-poll"})
"""The live-update transports the native server can offer."""

_JSON = "application/json"


def _job_response(snapshot: Snapshot, status: int = 200) -> web.Response:
    return web.Response(status=status, body=snapshot.json, content_type=_JSON)


def _json_response(value: object, status: int = 200) -> web.Response:
    return web.Response(status=status, body=dumps(value), content_type=_JSON)


def _jobs_array(snapshots: list[Snapshot]) -> bytes:
    return b"[" + b",".join(snapshot.json for snapshot in snapshots) + b"]"


class NativeRoutes:
    """The handlers of the native protocol.

    Args:
        service: The job operations.
        streams: The server's open SSE streams and their settings.
        transports: The live-update transports offered: ``"sse"`` and/or ``"long-poll"``; a
            route of a transport left out is not registered (it answers 404).
    """

    def __init__(
        self,
        service: JobService,
        streams: StreamHub,
        *,
        transports: Collection[str] = ("sse", "long-poll"),
    ) -> None:
        unknown = set(transports) - TRANSPORTS
        if unknown:
            raise ValueError(
                f"transports: unknown {sorted(unknown)}; expected some of {sorted(TRANSPORTS)}"
            )
        self.service = service
        self.streams = streams
        self.transports = frozenset(transports)

    def add_to(self, app: web.Application, prefix: str = "/api/v1") -> None:
        """Register the routes under ``prefix`` (e.g. ``/api/v1``)."""
        router = app.router
        router.add_post(f"{prefix}/jobs", self.submit)
        router.add_get(f"{prefix}/jobs", self.list_or_batch, allow_head=False)
        router.add_get(f"{prefix}/jobs/{{job_id}}", self.get, allow_head=False)
        router.add_delete(f"{prefix}/jobs/{{job_id}}", self.delete)
        router.add_post(f"{prefix}/jobs/{{job_id}}/cancel", self.cancel)
        router.add_post(f"{prefix}/jobs/{{job_id}}/restart", self.restart)
        router.add_get(f"{prefix}/jobs/{{job_id}}/log", self.log, allow_head=False)
        if "long-poll" in self.transports:
            router.add_get(f"{prefix}/jobs/{{job_id}}/poll", self.poll, allow_head=False)
        if "sse" in self.transports:
            router.add_get(f"{prefix}/jobs/{{job_id}}/events", self.job_events, allow_head=False)
            router.add_get(f"{prefix}/events", self.events_get, allow_head=False)
            router.add_post(f"{prefix}/events", self.events_post)
        router.add_get(f"{prefix}/stats", self.stats, allow_head=False)
        router.add_post(f"{prefix}/cleanup", self.cleanup)

    def _caller(self, request: web.Request) -> Owner:
        return self.service.authenticate(request.headers.get("Authorization"))

    # -- jobs ----------------------------------------------------------------------------------

    async def submit(self, request: web.Request) -> web.Response:
        """``POST /jobs``: 201 with the new job; 200 with the first job for a repeated key."""
        caller = self._caller(request)
        key = request.headers.get("Idempotency-Key")
        if key is not None and not key.strip():
            raise bad_request("Idempotency-Key: expected a non-empty key, got an empty header")
        submit = read_submit(await read_json_object(request))
        snapshot, created = self.service.submit(
            caller,
            name=submit.name,
            config=submit.config,
            priority=submit.priority,
            idempotency_key=key,
        )
        return _job_response(snapshot, 201 if created else 200)

    async def get(self, request: web.Request) -> web.Response:
        """``GET /jobs/{id}``."""
        caller = self._caller(request)
        return _job_response(self.service.job(caller, request.match_info["job_id"]))

    async def list_or_batch(self, request: web.Request) -> web.Response:
        """``GET /jobs?ids=a,b`` (batch get) or ``GET /jobs?status=&limit=&cursor=`` (list)."""
        caller = self._caller(request)
        ids = query_ids(request)
        if ids is not None:
            mixed = sorted({"status", "limit", "cursor"} & set(request.query))
            if mixed:
                raise bad_request(f"ids: cannot be combined with {', '.join(mixed)}")
            if len(ids) > MAX_GET_IDS:
                raise bad_request(f"ids: at most {MAX_GET_IDS} ids per request, got {len(ids)}")
            found, missing = self.service.jobs(caller, ids)
            body = b'{"jobs":%s,"not_found":%s}' % (_jobs_array(found), dumps(missing))
            return web.Response(body=body, content_type=_JSON)
        query = request.query
        status = read_status(query)
        limit = read_int(query, "limit", default=50, low=1, high=100)
        assert limit is not None
        before: int | None = None
        cursor = query.get("cursor")
        if cursor:
            before, cursor_status = decode_cursor(cursor)
            if "status" in query and status is not cursor_status:
                raise bad_request(
                    f"status: the cursor was issued for status="
                    f"{cursor_status.value if cursor_status else '(any)'}; "
                    "a cursor carries its filter, leave status out"
                )
            status = cursor_status
        page, next_before = self.service.store.page(
            self.service.scope(caller), status=status, before=before, limit=limit
        )
        next_cursor = None if next_before is None else encode_cursor(next_before, status)
        body = b'{"jobs":%s,"next_cursor":%s}' % (_jobs_array(page), dumps(next_cursor))
        return web.Response(body=body, content_type=_JSON)

    async def cancel(self, request: web.Request) -> web.Response:
        """``POST /jobs/{id}/cancel``: 409 when the job has finished."""
        caller = self._caller(request)
        return _job_response(self.service.cancel(caller, request.match_info["job_id"]))

    async def restart(self, request: web.Request) -> web.Response:
        """``POST /jobs/{id}/restart``: 409 unless the job failed or was cancelled."""
        caller = self._caller(request)
        return _job_response(self.service.restart(caller, request.match_info["job_id"]))

    async def delete(self, request: web.Request) -> web.Response:
        """``DELETE /jobs/{id}``: 204; 409 unless the job has finished."""
        caller = self._caller(request)
        self.service.delete(caller, request.match_info["job_id"])
        return web.Response(status=204)

    async def log(self, request: web.Request) -> web.Response:
        """``GET /jobs/{id}/log`` as ``text/plain``, one line per entry."""
        caller = self._caller(request)
        lines = self.service.log(caller, request.match_info["job_id"])
        text = "".join(f"{line}\n" for line in lines)
        return web.Response(text=text, content_type="text/plain")

    async def poll(self, request: web.Request) -> web.Response:
        """``GET /jobs/{id}/poll?after=V&timeout=S``: answers once the version exceeds ``V``."""
        caller = self._caller(request)
        job_id = request.match_info["job_id"]
        self.service.job(caller, job_id)
        query = request.query
        after = read_int(query, "after", default=None, low=0)
        timeout = read_number(query, "timeout", default=30.0, low=1.0, high=300.0)
        snapshot = await self.service.store.wait_for_change(
            job_id, after=-1 if after is None else after, seconds=timeout
        )
        if snapshot is None:
            snapshot = self.service.job(caller, job_id)  # deleted meanwhile: 404
        return _job_response(snapshot)

    # -- streams -------------------------------------------------------------------------------

    async def job_events(self, request: web.Request) -> web.StreamResponse:
        """``GET /jobs/{id}/events``: the job's SSE stream, ending after its terminal event."""
        caller = self._caller(request)
        job_id = request.match_info["job_id"]
        self.service.job(caller, job_id)
        return await self._stream(request, caller, [job_id])

    async def events_get(self, request: web.Request) -> web.StreamResponse:
        """``GET /events?ids=a,b``: one stream of many jobs (all the caller's without ids)."""
        caller = self._caller(request)
        ids = query_ids(request)
        if ids is not None and len(ids) > MAX_GET_IDS:
            raise bad_request(
                f"ids: at most {MAX_GET_IDS} ids in a GET, got {len(ids)}; "
                'POST /events with {"ids": [...]} takes any number'
            )
        return await self._stream(request, caller, ids)

    async def events_post(self, request: web.Request) -> web.StreamResponse:
        """``POST /events`` with ``{"ids": [...]}``: one stream of any number of jobs."""
        caller = self._caller(request)
        body = await read_json_object(request)
        raw = body.get("ids")
        ids: list[str] | None = None
        if raw is not None:
            if not isinstance(raw, list) or not all(isinstance(i, str) and i for i in raw):
                raise bad_request("ids: expected an array of job id strings")
            if not raw:
                raise bad_request("ids: expected at least one job id (leave ids out for all jobs)")
            ids = list(dict.fromkeys(raw))
        return await self._stream(request, caller, ids)

    async def _stream(
        self, request: web.Request, caller: Owner, ids: list[str] | None
    ) -> web.StreamResponse:
        last_event_id = read_last_event_id(request)
        service = self.service
        stream = EventStream(self.streams, encode=native_event)
        if ids is None:
            scope = service.scope(caller)
            return await stream.serve(
                request,
                service.store,
                snapshots=lambda: service.store.snapshots(scope),
                scope=scope,
                last_event_id=last_event_id,
            )
        snapshots = service.jobs_strict(caller, ids)
        return await stream.serve(
            request,
            service.store,
            snapshots=lambda: [service.store[s.job_id] for s in snapshots],
            job_ids=ids,
            last_event_id=last_event_id,
        )

    # -- queue ---------------------------------------------------------------------------------

    async def stats(self, request: web.Request) -> web.Response:
        """``GET /stats``: counts of the caller's jobs by status, and the workers."""
        caller = self._caller(request)
        return _json_response(self.service.stats(caller))

    async def cleanup(self, request: web.Request) -> web.Response:
        """``POST /cleanup?max_age_hours=H``: delete jobs finished more than H hours ago."""
        caller = self._caller(request)
        hours = read_number(request.query, "max_age_hours", default=24.0, low=1.0, high=168.0)
        return _json_response({"cleaned_jobs": self.service.cleanup(caller, hours)})
