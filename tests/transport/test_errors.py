"""Error answers and aiohttp errors (``_transport/_errors.py``, ``_response.py``): each becomes
the documented exception, naming what came, and no aiohttp class goes unmapped."""

from __future__ import annotations

import aiohttp
import pytest
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from asyncjobs import (
    Client,
    JobNotFoundError,
    ProtocolError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from asyncjobs._transport import Response, translate_error
from asyncjobs.testing import JobServer

pytestmark = pytest.mark.anyio


async def test_error_answer_carries_status_error_details_and_body(server: JobServer) -> None:
    """A 404 reads "404 Not Found from GET /jobs/nope: <details>" and keeps the body."""
    async with Client(server.url) as client:
        with pytest.raises(JobNotFoundError) as caught:
            await client.get_job("nope")
    error = caught.value
    assert str(error).startswith("404 Not Found from GET /jobs/nope: ")
    assert error.details is not None and error.details in str(error)
    assert error.error == "Not Found"
    assert isinstance(error.body, dict) and error.body["details"] == error.details
    assert error.job_ids == ("nope",)
    assert error.method == "GET"
    assert error.url == server.url + "/jobs/nope"


async def test_non_json_body_raises_protocol_error(server: JobServer) -> None:
    """A 200 whose body is not JSON: ProtocolError naming the operation, status and body."""
    server.fail_next(1, 200, body="<html>oops</html>", path="/stats")
    async with Client(server.url) as client:
        with pytest.raises(ProtocolError) as caught:
            await client.queue_stats()
    message = str(caught.value)
    assert "GET /stats" in message and "stats" in message and "200" in message
    assert "<html>oops</html>" in message


async def test_non_json_error_body_is_kept_as_text(server: JobServer) -> None:
    """An error answer that is not JSON still maps by status; its text is the body."""
    server.fail_next(1, 502, body="Bad gateway from the proxy", path="/stats")
    async with Client(server.url, retry=RetryPolicy(attempts=1)) as client:
        with pytest.raises(ServerError) as caught:
            await client.queue_stats()
    assert caught.value.body == "Bad gateway from the proxy"
    assert "Bad gateway from the proxy" in str(caught.value)


def _request_info() -> aiohttp.RequestInfo:
    url = URL("http://h/x")
    return aiohttp.RequestInfo(url, "GET", CIMultiDictProxy(CIMultiDict()), url)


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (aiohttp.ServerDisconnectedError(), TransportError),
        (aiohttp.ClientPayloadError("cut"), TransportError),
        (aiohttp.ServerTimeoutError("slow"), TransportError),
        (aiohttp.SocketTimeoutError("slow"), TransportError),
        (aiohttp.ClientOSError(104, "reset"), TransportError),
        (aiohttp.ClientConnectionResetError("reset"), TransportError),
        (TimeoutError(), TransportError),
        (aiohttp.InvalidURL("nope"), ProtocolError),
        (aiohttp.ClientResponseError(_request_info(), ()), ProtocolError),
        (aiohttp.TooManyRedirects(_request_info(), ()), ProtocolError),
    ],
)
def test_aiohttp_errors_are_translated(exc: BaseException, kind: type[Exception]) -> None:
    """Each kind of aiohttp failure maps onto the tree, naming the request."""
    translated = translate_error(exc, method="GET", path="/jobs/x")
    assert type(translated) is kind
    assert "GET /jobs/x" in str(translated)


_MAPPED_TO_PROTOCOL = {
    "ClientResponseError",
    "ContentTypeError",
    "WSServerHandshakeError",
    "ClientHttpProxyError",
    "TooManyRedirects",
    "InvalidURL",
    "InvalidUrlClientError",
    "InvalidUrlRedirectClientError",
    "RedirectClientError",
    "NonHttpUrlClientError",
    "NonHttpUrlRedirectClientError",
}
_MAPPED_TO_TRANSPORT = {
    "ClientError",
    "ClientConnectionError",
    "ClientConnectionResetError",
    "ClientOSError",
    "ClientConnectorError",
    "ClientConnectorDNSError",
    "ClientProxyConnectionError",
    "UnixClientConnectorError",
    "ClientSSLError",
    "ClientConnectorSSLError",
    "ClientConnectorCertificateError",
    "ServerConnectionError",
    "ServerDisconnectedError",
    "ServerTimeoutError",
    "ConnectionTimeoutError",
    "SocketTimeoutError",
    "ServerFingerprintMismatch",
    "ClientPayloadError",
    "UploadAbortedError",
}


def test_every_aiohttp_client_error_class_has_a_mapping() -> None:
    """If aiohttp grows a new ClientError subclass, decide (here) how it maps."""
    found: set[str] = set()
    todo: list[type[BaseException]] = [aiohttp.ClientError]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("aiohttp"):
            found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    unmapped = found - _MAPPED_TO_PROTOCOL - _MAPPED_TO_TRANSPORT
    assert not unmapped, f"aiohttp exceptions without a decided mapping: {sorted(unmapped)}"
    for name in _MAPPED_TO_PROTOCOL & found:
        cls = getattr(aiohttp, name, None) or getattr(aiohttp.client_exceptions, name)
        assert issubclass(
            cls,
            aiohttp.ClientResponseError
            | aiohttp.InvalidURL
            | aiohttp.RedirectClientError
            | aiohttp.NonHttpUrlClientError,
        ), name


def test_response_json_and_text() -> None:
    """Response.json parses; .text honours the charset; bad JSON names what came."""
    headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "text/plain; charset=latin-1"}))
    response = Response(200, headers, "café".encode("latin-1"), "log", "GET", "/jobs/x/log")
    assert response.text() == "café"
    with pytest.raises(ProtocolError, match=r"GET /jobs/x/log \(log, 200\)"):
        response.json()
    assert Response(200, {}, b'{"a": 1}').json() == {"a": 1}
