"""The dataiku shape: a data-science platform's project jobs (seeds/ROUTES.md section 5).

Mounted at ``/dip/publicapi/projects/<KEY>`` (the SDK's prefix) and at
``/public/api/projects/<KEY>`` (the REST document's), trailing slashes as the SDK sends them::

    GET  /jobs/                 [{"def": {"id", ...}, "state", "stableState", "startTime", ...}]
    POST /jobs/                 a job definition -> {"id", "projectKey"}
    GET  /jobs/{job_id}/        {"baseStatus": {"def": {...}, "state", "startTime", ...}}
    POST /jobs/{job_id}/abort   {"message"} (a finished job is left as it is)
    GET  /jobs/{job_id}/log     text/plain

``/jobs`` and ``/jobs/{job_id}`` without the slash answer 404, as the real server does. States:
``NOT_STARTED RUNNING DONE FAILED ABORTED``. Times are epoch milliseconds (0: not yet). Ids look
like ``build_job1000_NP_2015-09-28T09-17-37.455``.

Auth: HTTP basic with the API key as the user name (empty password), or ``X-DKU-APITicket``.
Errors: ``{"errorType", "message", "detailedMessage"}``.

Options: ``project_key`` (default ``"DEMO"``) and ``api_prefix`` (``"/dip/publicapi"``, the
default, or ``"/public/api"``): the base path the server's ``url`` uses.
"""

from __future__ import annotations

import base64
import binascii
import itertools
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from aiohttp import web

from asyncjobs._models import JobStatus
from asyncjobs.server._errors import ApiError
from asyncjobs.server._json import dumps
from asyncjobs.server._params import read_json_object
from asyncjobs.server._snapshot import Owner, Snapshot, utc_now

from ._base import Shape

__all__ = ["DataikuShape"]

_JSON = "application/json"
_PREFIXES = ("/dip/publicapi", "/public/api")
_ERROR_TYPES = {
    400: "java.lang.IllegalArgumentException",
    401: "com.dataiku.dip.exceptions.UnauthorizedException",
    403: "com.dataiku.dip.exceptions.UnauthorizedException",
    404: "com.dataiku.dip.server.controllers.NotFoundException",
}


def _ms(value: datetime | None) -> int:
    return 0 if value is None else int(value.timestamp() * 1000)


class DataikuShape(Shape):
    """The platform's job routes on the shared store (see the module docstring)."""

    name: ClassVar[str] = "dataiku"
    words: ClassVar[Mapping[JobStatus, str]] = {
        JobStatus.PENDING: "NOT_STARTED",
        JobStatus.RUNNING: "RUNNING",
        JobStatus.COMPLETED: "DONE",
        JobStatus.FAILED: "FAILED",
        JobStatus.CANCELLED: "ABORTED",
    }
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"project_key", "api_prefix"})

    @classmethod
    def check_options(cls, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Also check ``project_key`` and ``api_prefix``."""
        checked = super().check_options(options)
        key = checked.setdefault("project_key", "DEMO")
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(f"project_key: expected a key such as 'MYPROJECT', got {key!r}")
        prefix = checked.setdefault("api_prefix", _PREFIXES[0])
        if prefix not in _PREFIXES:
            raise ValueError(f"api_prefix: expected one of {_PREFIXES}, got {prefix!r}")
        return checked

    @classmethod
    def base_path(cls, options: Mapping[str, Any]) -> str:
        """``<api_prefix>/projects/<project_key>``."""
        checked = cls.check_options(options)
        return f"{checked['api_prefix']}/projects/{checked['project_key']}"

    @classmethod
    def id_factory(cls, options: Mapping[str, Any]) -> Callable[[], str]:
        """``build_job<n>_NP_<time to the millisecond>``."""
        counter = itertools.count(1000)

        def new_id() -> str:
            stamp = utc_now().strftime("%Y-%m-%dT%H-%M-%S.%f")[:-3]
            return f"build_job{next(counter)}_NP_{stamp}"

        return new_id

    def add_to(self, app: web.Application) -> None:
        """Register the routes under both prefixes."""
        router = app.router
        key = self.options["project_key"]
        for api in _PREFIXES:
            prefix = f"{api}/projects/{key}"
            router.add_get(f"{prefix}/jobs/", self.handle(self.list), allow_head=False)
            router.add_post(f"{prefix}/jobs/", self.handle(self.start))
            router.add_get(f"{prefix}/jobs/{{job_id}}/", self.handle(self.status), allow_head=False)
            router.add_post(f"{prefix}/jobs/{{job_id}}/abort", self.handle(self.abort))
            router.add_get(f"{prefix}/jobs/{{job_id}}/log", self.handle(self.log), allow_head=False)
            self.add_catch_all(app, api)

    # -- the API's ways ----------------------------------------------------------------------

    def error_response(self, exc: ApiError) -> web.Response:
        """``{"errorType", "message", "detailedMessage"}``."""
        error_type = _ERROR_TYPES.get(exc.status, "com.dataiku.dip.exceptions.DataikuException")
        body = {"errorType": error_type, "message": exc.details, "detailedMessage": exc.details}
        return web.Response(
            status=exc.status, body=dumps(body), content_type=_JSON, headers=exc.headers
        )

    def authenticate(self, request: web.Request) -> Owner:
        """HTTP basic's user name (the API key), or the ``X-DKU-APITicket``."""
        key = request.headers.get("X-DKU-APITicket")
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.strip().partition(" ")
        if key is None and scheme.lower() == "basic":
            try:
                key = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                key = ""
        return self.check_token(
            key or None,
            "You need to provide an API key (HTTP basic auth user name)",
            "Invalid API key",
        )

    def _job(self, request: web.Request) -> tuple[Owner, Snapshot]:
        caller = self.authenticate(request)
        job_id = request.match_info["job_id"]
        snapshot = self.store.get(job_id)
        if snapshot is None or not self.service.can_see(caller, snapshot):
            raise ApiError(404, f"Job {self.options['project_key']}.{job_id} does not exist")
        return caller, snapshot

    def _definition(self, snapshot: Snapshot) -> dict[str, Any]:
        job = snapshot.job
        return {
            **job.config,
            "id": job.id,
            "name": job.name or job.id,
            "projectKey": self.options["project_key"],
            "initiationTimestamp": _ms(job.created_at),
            "initiator": "API",
            "triggeredFrom": "API",
            "type": job.config.get("type", "NON_RECURSIVE_FORCED_BUILD"),
        }

    def _summary(self, snapshot: Snapshot) -> dict[str, Any]:
        job = snapshot.job
        return {
            "def": self._definition(snapshot),
            "state": self.word(snapshot),
            "stableState": job.is_terminal,
            "startTime": _ms(job.started_at),
            "endTime": _ms(job.completed_at),
            "warningsCount": 0,
        }

    def _status(self, snapshot: Snapshot) -> dict[str, Any]:
        job = snapshot.job
        return {
            "baseStatus": {
                "def": self._definition(snapshot),
                "state": self.word(snapshot),
                "startTime": _ms(job.started_at),
                "endTime": _ms(job.completed_at),
                "warningsCount": 0,
            }
        }

    # -- handlers ----------------------------------------------------------------------------

    async def list(self, request: web.Request) -> web.Response:
        """``GET /jobs/``: every job of the caller, newest first."""
        caller = self.authenticate(request)
        key = self.memo_key("summary")
        items = [
            s.memo(key, self._summary) for s in self.store.snapshots(self.service.scope(caller))
        ]
        items.reverse()
        return web.Response(body=dumps(items), content_type=_JSON)

    async def start(self, request: web.Request) -> web.Response:
        """``POST /jobs/``: start a job from a definition."""
        caller = self.authenticate(request)
        definition = await read_json_object(request, required=True)
        outputs = definition.get("outputs", [])
        if not isinstance(outputs, list):
            raise ApiError(400, "outputs: expected a list of outputs")
        name = definition.get("name")
        if not isinstance(name, str) or not name:
            first = outputs[0] if outputs and isinstance(outputs[0], dict) else {}
            name = f"build_{first.get('id', 'job')}_NP"
        snapshot, _ = self.service.submit(caller, name=name, config=definition)
        body = {"id": snapshot.job_id, "projectKey": self.options["project_key"]}
        return web.Response(body=dumps(body), content_type=_JSON)

    async def status(self, request: web.Request) -> web.Response:
        """``GET /jobs/{job_id}/``."""
        _, snapshot = self._job(request)
        body = snapshot.memo(self.memo_key("status"), self._status)
        return web.Response(body=dumps(body), content_type=_JSON)

    async def abort(self, request: web.Request) -> web.Response:
        """``POST /jobs/{job_id}/abort``: a running or waiting job is aborted."""
        _, snapshot = self._job(request)
        if not snapshot.is_terminal:
            self.service.cancel(snapshot.owner, snapshot.job_id)
        body = {"message": f"Abort requested for job {snapshot.job_id}"}
        return web.Response(body=dumps(body), content_type=_JSON)

    async def log(self, request: web.Request) -> web.Response:
        """``GET /jobs/{job_id}/log`` as text."""
        _, snapshot = self._job(request)
        text = "".join(f"{line}\n" for line in self.store.log(snapshot.job_id))
        return web.Response(text=text, content_type="text/plain")
