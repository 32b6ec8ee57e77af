"""Building request URLs by hand, so ids reach the server exactly as given (sans-I/O).

aiohttp and yarl re-encode and normalise what they are given: ``/jobs/..`` would become ``/``
and a ``%2F`` in an id would be decoded into a path separator. Here every path parameter becomes
exactly one percent-encoded segment and the query string is assembled already encoded; the
result is handed to yarl with ``encoded=True`` so nothing touches it again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote

from yarl import URL

__all__ = ["Encoded", "build_url", "encode_ids", "fill_path", "quote_component", "quote_segment"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Encoded(str):
    """A query value that is already percent-encoded: it goes into the URL verbatim.

    ``encode_ids`` returns one, so the commas between ids stay literal commas.
    """

    __slots__ = ()


def quote_component(value: str) -> str:
    """Percent-encode ``value`` for a path segment or a query key or value.

    Everything but RFC 3986 unreserved characters is encoded (UTF-8), so ``/``, ``?``, ``#``,
    ``%``, ``&``, ``=``, ``,``, ``+`` and spaces can never change the URL's structure.
    """
    return quote(value, safe="")


def quote_segment(value: str) -> str:
    """Percent-encode ``value`` as exactly one path segment.

    Like :func:`quote_component`, and ``.`` and ``..`` (which URL normalisation would resolve
    away) become ``%2E`` and ``%2E%2E``.
    """
    encoded = quote(value, safe="")
    if encoded in (".", ".."):
        return encoded.replace(".", "%2E")
    return encoded


def encode_ids(job_ids: Iterable[str]) -> Encoded:
    """Join ids for an ``ids=`` query value: each percent-encoded, separated by literal commas."""
    return Encoded(",".join(quote(job_id, safe="") for job_id in job_ids))


def fill_path(template: str, path_params: Mapping[str, str] | None) -> str:
    """Fill a path template's ``{name}`` placeholders, each with one encoded segment.

    Raises:
        KeyError: a placeholder has no value in ``path_params``.
    """
    if "{" not in template:
        return template
    params = path_params or {}

    def segment(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in params:
            raise KeyError(f"path template {template!r} needs a value for {name!r}")
        return quote_segment(params[name])

    return _PLACEHOLDER.sub(segment, template)


def build_query(params: Mapping[str, str] | None) -> str:
    """Encode a query string; :class:`Encoded` values are used as they are."""
    if not params:
        return ""
    parts = []
    for key, value in params.items():
        encoded = value if isinstance(value, Encoded) else quote_component(value)
        parts.append(f"{quote_component(key)}={encoded}")
    return "&".join(parts)


def build_url(base: str, path: str, params: Mapping[str, str] | None = None) -> URL:
    """Join an encoded base URL (no trailing slash), an encoded path and a query, as given.

    Args:
        base: The client's base URL, already encoded, without a trailing ``/``.
        path: The filled path (see :func:`fill_path`), starting with ``/``.
        params: The query parameters (values are encoded unless :class:`Encoded`).
    """
    query = build_query(params)
    return URL(f"{base}{path}?{query}" if query else f"{base}{path}", encoded=True)
