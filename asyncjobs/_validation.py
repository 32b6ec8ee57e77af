"""Checks of the arguments users pass, with errors that say what was expected and what came.

Sans-I/O; shared by :class:`Client` and the watch and wait code (``check_job_id(s)``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Final

from yarl import URL

from ._models import TRANSPORTS, JobStatus

__all__ = [
    "check_base_url",
    "encode_config",
    "check_header_value",
    "check_headers",
    "check_int",
    "check_job_id",
    "check_job_ids",
    "check_seconds",
    "check_status",
    "check_timeout",
    "check_transport",
]


def check_job_id(job_id: object, name: str = "job_id") -> str:
    """Validate a job id and return it as a string (integer ids are accepted).

    Raises:
        TypeError: it is neither a str nor an int.
        ValueError: it is empty.
    """
    if isinstance(job_id, str):
        if not job_id:
            raise ValueError(f"{name} must be a non-empty string, got ''")
        return job_id
    if isinstance(job_id, int) and not isinstance(job_id, bool):
        return str(job_id)
    raise TypeError(f"{name} must be a str or an int, got {type(job_id).__name__}")


def check_job_ids(job_ids: Iterable[str | int], name: str = "job_ids") -> list[str]:
    """Validate many job ids (order and duplicates kept).

    Raises:
        TypeError: ``job_ids`` is a single string or not iterable, or an id is neither a str
            nor an int.
        ValueError: an id is empty.
    """
    if isinstance(job_ids, str | bytes):
        raise TypeError(f"{name} must be an iterable of ids, not a single {type(job_ids).__name__}")
    if not isinstance(job_ids, Iterable):
        raise TypeError(f"{name} must be an iterable of ids, got {type(job_ids).__name__}")
    return [check_job_id(job_id, f"{name}[{index}]") for index, job_id in enumerate(job_ids)]


def check_base_url(base_url: object) -> str:
    if not isinstance(base_url, str | URL):
        raise TypeError(f"base_url must be a str, got {type(base_url).__name__}")
    example = "e.g. 'http://127.0.0.1:8000/api/v1'"
    try:
        url = URL(str(base_url))
    except ValueError as exc:
        raise ValueError(f"base_url is not a valid URL ({exc}); {example}") from None
    if url.user is not None or url.password is not None:
        # Never echo the URL: it holds a credential.
        raise ValueError("base_url must not contain credentials: pass token= or headers=")
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(
            f"base_url must be an http(s) URL with a host, {example}; got {base_url!r}"
        )
    if url.query_string or url.fragment:
        raise ValueError(f"base_url must have no query or fragment, got {base_url!r}")
    return str(url).rstrip("/")


def check_header_value(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if "\r" in value or "\n" in value:
        raise ValueError(f"{name} must not contain line breaks")
    return value


def check_headers(headers: object) -> dict[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise TypeError(f"headers must be a mapping of str to str, got {type(headers).__name__}")
    checked = {}
    for key, value in headers.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"headers keys must be non-empty strings, got {key!r}")
        checked[key] = check_header_value(f"headers[{key!r}]", value)
    return checked


def check_timeout(timeout: object) -> float | None:
    if timeout is None:
        return None
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
    return float(timeout)


def check_int(name: str, value: object, low: int, high: int | None, meaning: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {bounds}{meaning}, got {value}")
    return value


def check_status(status: JobStatus | str | None) -> JobStatus | None:
    if status is None:
        return None
    known = [s.value for s in JobStatus if s is not JobStatus.UNKNOWN]
    try:
        wanted = JobStatus(status)
    except ValueError:
        wanted = None
    if wanted is None or wanted is JobStatus.UNKNOWN:
        raise ValueError(f"status must be one of {', '.join(known)}, got {status!r}")
    return wanted


_WATCH_TRANSPORTS: Final = frozenset({"auto", *TRANSPORTS})


def check_transport(transport: object) -> str:
    """Validate a ``transport=`` argument.

    Raises:
        ValueError: not one of ``"auto"``, ``"sse"``, ``"long-poll"``, ``"poll"``.
    """
    if not isinstance(transport, str) or transport not in _WATCH_TRANSPORTS:
        raise ValueError(
            f"transport must be 'auto', 'sse', 'long-poll' or 'poll', got {transport!r}"
        )
    return transport


def check_seconds(name: str, value: object, *, zero: bool) -> float | None:
    """Validate a ``timeout=`` or ``poll_interval=`` argument (None allowed).

    Raises:
        TypeError: not a number.
        ValueError: negative (or zero when ``zero`` is false), or not finite.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds or None, got {value!r}")
    seconds = float(value)
    if not (seconds >= 0 if zero else seconds > 0) or seconds == float("inf"):
        bound = ">= 0" if zero else "> 0"
        raise ValueError(
            f"{name} must be a finite number of seconds {bound} or None, got {value!r}"
        )
    return seconds


def encode_config(config: object) -> None:
    """Check that a submit's ``config`` can be sent as JSON.

    Raises:
        TypeError: not a mapping, or not JSON-serialisable (the message says why).
    """
    if config is None:
        return
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a mapping or None, got {type(config).__name__}")
    try:
        json.dumps(config)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"config must be JSON-serialisable: {exc}") from None
