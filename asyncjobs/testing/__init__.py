"""Test your code against a real job server on loopback instead of mocks.

:class:`JobServer` runs the reference server (:mod:`asyncjobs.server`) on 127.0.0.1 and a free
port, like :class:`aiohttp.test_utils.TestServer`, and lets a test drive job states and the
network directly::

    from asyncjobs.testing import JobServer

    async with JobServer() as server:
        job = server.create_job(name="export")
        ...                                   # point your code at server.url
        server.update_job(job.id, status="running", progress=40, message="step 2")
        server.update_job(job.id, status="completed", result={"rows": 10})

Changes made with :meth:`~JobServer.create_job` and :meth:`~JobServer.update_job` reach SSE
streams and long polls at once, exactly like changes made through the API.

Test hooks (all synchronous, usable between awaits of the test):

- what arrived: :attr:`~JobServer.requests`, :meth:`~JobServer.request_count`;
- connections: :attr:`~JobServer.connections_opened`, :attr:`~JobServer.open_connections`,
  :attr:`~JobServer.open_streams`;
- faults: :meth:`~JobServer.fail_next` (answer with an error status instead),
  :meth:`~JobServer.drop_next` (close the connection without an answer, optionally after
  handling the request), :meth:`~JobServer.cut_streams` and :meth:`~JobServer.cut_streams_after`
  (close SSE connections mid-stream), :meth:`~JobServer.stall_streams` /
  :meth:`~JobServer.resume_streams` (streams go silent without closing),
  :meth:`~JobServer.set_heartbeat`;
- waiting: :meth:`~JobServer.wait_until` polls a condition (e.g. "one stream is open").

:class:`FaultProxy` is a loopback TCP proxy to put in front of a JobServer (or any server) to
inject network faults: resets or clean closes after N bytes or inside an SSE event, stalls,
corrupted or replaced bytes, refused connections, a slow drip, and seeded random chaos::

    async with JobServer() as server, FaultProxy(server.host, server.port) as proxy:
        url = proxy.url_for(server.url)   # point your code here
        proxy.reset(on_request="/events", in_event=True)

To test a client profile of your own API offline, write a small :class:`Shape` for that API
and serve it with ``JobServer(profile=MyShape)`` (docs/custom-shapes.md).

The pytest plugin (:mod:`asyncjobs.testing._plugin`, registered when asyncjobs is installed)
gives tests the fixtures ``job_server`` (a running :class:`JobServer`) and ``job_client`` (a
client on it), for anyio's pytest plugin.

The names are imported on first use, so that the pytest plugin, which pytest imports at start-up,
does not load the server with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asyncjobs.server import RecordedRequest, UnknownJobError
    from asyncjobs.server.shapes import Shape

    from ._proxy import FaultProxy, ProxyFault
    from ._server import JobServer

__all__ = [
    "FaultProxy",
    "JobServer",
    "ProxyFault",
    "RecordedRequest",
    "Shape",
    "UnknownJobError",
]


def __getattr__(name: str) -> Any:
    if name == "JobServer":
        from ._server import JobServer

        return JobServer
    if name in ("FaultProxy", "ProxyFault"):
        from . import _proxy

        return getattr(_proxy, name)
    if name in ("RecordedRequest", "UnknownJobError"):
        from asyncjobs import server

        return getattr(server, name)
    if name == "Shape":
        from asyncjobs.server.shapes import Shape

        return Shape
    raise AttributeError(f"module 'asyncjobs.testing' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
