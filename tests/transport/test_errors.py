"""Error answers and aiohttp errors (``_transport/_errors.py``, ``_response.py``): each becomes
the documented exception, naming what came, and no aiohttp class goes unmapped."""

from __future__ import annotations

from unittest import mock

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
from asyncjobs._transport import translate_error
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


# Every exception class aiohttp exposes, and what it becomes. WebSocket errors and EofStream
# (aiohttp's own end-of-stream signal, never raised to callers) concern code the client does
# not use. A class aiohttp adds fails the test below until it is mapped and listed here.
_EXPECTED: dict[str, type[Exception] | None] = {
    "ClientConnectionError": TransportError,
    "ClientConnectionResetError": TransportError,
    "ClientConnectorCertificateError": TransportError,
    "ClientConnectorDNSError": TransportError,
    "ClientConnectorError": TransportError,
    "ClientConnectorSSLError": TransportError,
    "ClientError": TransportError,
    "ClientHttpProxyError": ProtocolError,
    "ClientOSError": TransportError,
    "ClientPayloadError": TransportError,
    "ClientProxyConnectionError": TransportError,
    "ClientResponseError": ProtocolError,
    "ClientSSLError": TransportError,
    "ConnectionTimeoutError": TransportError,
    "ContentTypeError": ProtocolError,
    "EofStream": None,
    "InvalidURL": ProtocolError,
    "InvalidUrlClientError": ProtocolError,
    "InvalidUrlRedirectClientError": ProtocolError,
    "NonHttpUrlClientError": ProtocolError,
    "NonHttpUrlRedirectClientError": ProtocolError,
    "RedirectClientError": ProtocolError,
    "ServerConnectionError": TransportError,
    "ServerDisconnectedError": TransportError,
    "ServerFingerprintMismatch": TransportError,
    "ServerTimeoutError": TransportError,
    "SocketTimeoutError": TransportError,
    "TooManyRedirects": ProtocolError,
    "UploadAbortedError": TransportError,
    "WSMessageTypeError": None,
    "WSServerHandshakeError": ProtocolError,
    "WebSocketError": None,
    # aiohttp.http_exceptions: raised by the pure-Python parser (PyPy, AIOHTTP_NO_EXTENSIONS=1)
    "BadHttpMessage": ProtocolError,
    "BadHttpMethod": ProtocolError,
    "BadStatusLine": ProtocolError,
    "ContentEncodingError": TransportError,
    "ContentLengthError": TransportError,
    "DecompressSizeError": TransportError,
    "HttpBadRequest": ProtocolError,
    "HttpProcessingError": ProtocolError,
    "InvalidHeader": ProtocolError,
    "InvalidURLError": ProtocolError,
    "LineTooLong": ProtocolError,
    "PayloadEncodingError": TransportError,
    "TransferEncodingError": TransportError,
}


def _aiohttp_exception_classes() -> dict[str, type[BaseException]]:
    from aiohttp import http_exceptions

    found: dict[str, type[BaseException]] = {}
    for module in (aiohttp, http_exceptions):
        for name in dir(module):
            value = getattr(module, name)
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and not issubclass(value, Warning)
            ):
                found[name] = value
    return found


def _instance(cls: type[BaseException]) -> BaseException:
    """An instance of an aiohttp exception class, whatever its constructor wants."""
    key = mock.Mock(host="h", port=1, ssl=True)
    for args in (
        (key, OSError(104, "reset")),
        (_request_info(), ()),
        (b"expected", b"got", "h", 1),
        ("message",),
        (),
    ):
        try:
            instance = cls(*args)
            str(instance)
        except Exception:
            continue
        return instance
    raise AssertionError(f"cannot make an instance of {cls.__name__}")


def test_every_aiohttp_exception_class_is_known_and_translated() -> None:
    """Each exception class of aiohttp (http_exceptions included) is caught at the transport
    boundary and becomes the listed asyncjobs exception; a class aiohttp adds fails here."""
    from asyncjobs._transport import FOREIGN_ERRORS

    classes = _aiohttp_exception_classes()
    unknown = sorted(set(classes) - set(_EXPECTED))
    assert not unknown, (
        f"aiohttp has exception classes this test does not know: {unknown}; map them in "
        "asyncjobs/_transport/_errors.py and list them in _EXPECTED"
    )
    for name, cls in classes.items():
        expected = _EXPECTED[name]
        if expected is None:
            continue
        assert issubclass(cls, FOREIGN_ERRORS), f"aiohttp.{name} escapes FOREIGN_ERRORS"
        error = translate_error(_instance(cls), method="GET", path="/jobs/x")
        assert type(error) is expected, f"aiohttp.{name} became {type(error).__name__}"
        assert "GET /jobs/x" in str(error)
