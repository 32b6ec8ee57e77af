"""The transport layer: the only part of the client that imports aiohttp.

- :mod:`._http`: :class:`HTTPClient`, the request pipeline (session, URLs, auth, redirects,
  timeouts, retries, the shared ``Retry-After`` pause, separate budgets for requests and
  streams); :mod:`._attempt`, one attempt of a request;
- :mod:`._errors`: aiohttp's exceptions translated onto the asyncjobs tree, once;
- :mod:`._stream`: :class:`EventStream`, one resumable SSE subscription (stalls, pacing);
- :mod:`._retry`: :class:`RetryPolicy`, :class:`Backoff` and what counts as transient;
- :mod:`._response`, :mod:`._pause`: complete answers and the pause gate;
- :mod:`._observe`: the request and response hooks around each attempt.
"""

from __future__ import annotations

from ._errors import FOREIGN_ERRORS, translate_error
from ._http import HTTPClient
from ._response import Response
from ._retry import (
    DEFAULT_RETRY,
    NOT_OFFERED,
    Backoff,
    NotOffered,
    RetryPolicy,
    is_transient,
    parse_retry_after,
)
from ._stream import EventStream

__all__ = [
    "DEFAULT_RETRY",
    "FOREIGN_ERRORS",
    "NOT_OFFERED",
    "Backoff",
    "EventStream",
    "HTTPClient",
    "NotOffered",
    "Response",
    "RetryPolicy",
    "is_transient",
    "parse_retry_after",
    "translate_error",
]
